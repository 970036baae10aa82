//! Whole-text byte tests eight bytes at a time (SWAR: "SIMD within a register").
//!
//! The writer and the raw-text searches ask one question of a whole text before deciding how to
//! handle it (does it need escaping, may it be searched as bytes). Asked one byte per loop
//! iteration, that costs the component several wasm instructions per byte plus a host's epoch
//! check per iteration; here a loop iteration tests a 64-bit word with a few integer operations
//! (the bit tricks of Hacker's Delight §6-1), which native code runs as fast as the vectorised
//! byte loop it replaces (README Benchmarks).

/// `0x01` in every byte of a word.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// The high bit of every byte of a word.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// An 8-byte chunk as a big-endian word, so words order as their bytes do.
pub(crate) fn be_word(chunk: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(chunk);
    u64::from_be_bytes(bytes)
}

/// Whether some byte of `word` is below `limit` (at most 0x80). Exact for the word as a whole:
/// a borrow only runs past a byte that is itself below the limit.
fn has_below(word: u64, limit: u8) -> bool {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS != 0
}

/// Whether some byte of `word` is `byte`.
fn has_byte(word: u64, byte: u8) -> bool {
    has_below(word ^ (ONES * u64::from(byte)), 1)
}

/// `0x80` in exactly the bytes of `word` that are zero, `0` in the others (no borrows cross
/// bytes: each byte's low seven bits are added apart from its high bit).
fn zero_bytes(word: u64) -> u64 {
    let low7 = !HIGHS;
    !(((word & low7).wrapping_add(low7)) | word | low7)
}

/// Whether some byte of `word` is not ASCII.
fn has_non_ascii(word: u64) -> bool {
    word & HIGHS != 0
}

/// Whether any byte of `bytes` passes: `in_word` tests 8 bytes at once, `in_byte` the tail. No
/// early exit: the texts asked about are mostly clean, and a loop without one vectorises.
fn any_byte(bytes: &[u8], in_word: impl Fn(u64) -> bool, in_byte: impl Fn(u8) -> bool) -> bool {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    chunks.fold(false, |found, chunk| found | in_word(be_word(chunk)))
        || tail.iter().any(|&b| in_byte(b))
}

/// Whether `bytes` holds a byte a JSON string must escape (RFC 8259 §7): a control character, a
/// quotation mark or a backslash.
pub(crate) fn needs_json_escape(bytes: &[u8]) -> bool {
    any_byte(
        bytes,
        |w| has_below(w, 0x20) | has_byte(w, b'"') | has_byte(w, b'\\'),
        |b| b < 0x20 || b == b'"' || b == b'\\',
    )
}

/// Whether `bytes` holds a backslash or a byte outside ASCII.
pub(crate) fn has_backslash_or_non_ascii(bytes: &[u8]) -> bool {
    any_byte(
        bytes,
        |w| has_non_ascii(w) | has_byte(w, b'\\'),
        |b| b >= 0x80 || b == b'\\',
    )
}

/// How many bytes of `bytes` are `[` or `{` (the two differ only in bit 0x20).
pub(crate) fn count_opening_brackets(bytes: &[u8]) -> usize {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let in_words: u64 = chunks
        .map(|chunk| {
            let marks =
                zero_bytes((be_word(chunk) | (ONES * 0x20)) ^ (ONES * u64::from(b'{'))) >> 7;
            // The marks are 0 or 1 per byte: the top byte of the product is their sum.
            marks.wrapping_mul(ONES) >> 56
        })
        .sum();
    let in_tail = tail.iter().filter(|&&b| b == b'[' || b == b'{').count();
    usize::try_from(in_words).map_or(usize::MAX, |n| n + in_tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_position_of_a_word_and_the_tail_is_seen() {
        for len in 0..20 {
            let clean = vec![b'a'; len];
            assert!(!needs_json_escape(&clean));
            assert!(!has_backslash_or_non_ascii(&clean));
            for at in 0..len {
                for (byte, escape, odd) in [
                    (b'"', true, false),
                    (b'\\', true, true),
                    (0x1f, true, false),
                    (0x00, true, false),
                    (0x20, false, false),
                    (0x7f, false, false),
                    (0x80, false, true),
                    (0xff, false, true),
                ] {
                    let mut text = clean.clone();
                    text[at] = byte;
                    assert_eq!(
                        needs_json_escape(&text),
                        escape,
                        "{byte:#x} at {at} of {len}"
                    );
                    assert_eq!(
                        has_backslash_or_non_ascii(&text),
                        odd,
                        "{byte:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn brackets_are_counted_in_words_and_tail() {
        assert_eq!(count_opening_brackets(b""), 0);
        assert_eq!(count_opening_brackets(b"[[[[{{{{[{"), 10);
        assert_eq!(
            count_opening_brackets(b"{\"a\":[1,{\"b\":[]}],\"c\":\"{\"}"),
            5
        );
        assert_eq!(
            count_opening_brackets(&[0x5b, 0x7b, 0x5a, 0x7a, 0x5c, 0x7c, 0xdb, 0xfb, 0x1b]),
            2
        );
    }

    proptest! {
        #[test]
        fn the_word_tests_agree_with_the_byte_tests(
            bytes in proptest::collection::vec(prop_oneof![8 => 0x20u8..0x7f, 1 => any::<u8>()], 0..40)
        ) {
            prop_assert_eq!(
                needs_json_escape(&bytes),
                bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
            );
            prop_assert_eq!(
                has_backslash_or_non_ascii(&bytes),
                bytes.iter().any(|&b| b >= 0x80 || b == b'\\')
            );
            prop_assert_eq!(
                count_opening_brackets(&bytes),
                bytes.iter().filter(|&&b| b == b'[' || b == b'{').count()
            );
        }
    }
}
