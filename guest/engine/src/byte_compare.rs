//! Byte-string comparison eight bytes at a time, and on wasm32 the C `memcmp`/`bcmp` it serves.
//!
//! Rust compiles `==` and `cmp` on strings and byte slices (attribute names, schema URNs) to calls
//! of `memcmp` (C11 §7.24.4.1) or `bcmp`. Natively these are the C library's vectorised versions;
//! in the `wasm32-wasip2` component they are wasi-libc's, which compare one byte per loop
//! iteration, and a host's epoch interruption adds a deadline check to every iteration. The
//! component exports these instead (measured in the README's benchmarks): one 8-byte load per
//! operand per iteration, bytes only for the tail.

use std::cmp::Ordering;

use crate::byte_scan::be_word;

/// Compares two byte strings of equal length as `memcmp` does: the first differing byte decides,
/// compared as unsigned; equal strings give `Equal`. Only the common prefix is compared when the
/// lengths differ, so callers pass slices of one length.
pub(crate) fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let mut a_words = a.chunks_exact(8);
    let mut b_words = b.chunks_exact(8);
    for (x, y) in a_words.by_ref().zip(b_words.by_ref()) {
        let (x, y) = (be_word(x), be_word(y));
        if x != y {
            // Big-endian words order as their bytes do, so the words' order is the bytes'.
            return x.cmp(&y);
        }
    }
    for (x, y) in a_words.remainder().iter().zip(b_words.remainder()) {
        if x != y {
            return x.cmp(y);
        }
    }
    Ordering::Equal
}

/// `memcmp` for the component: negative, zero or positive as the first differing byte of `a` is
/// below, equal to or above `b`'s.
///
/// # Safety
/// As C's `memcmp`: `a` and `b` point to at least `n` readable bytes.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    if n == 0 {
        return 0;
    }
    // SAFETY: the caller guarantees `n` readable bytes at each pointer, and `n > 0` means the
    // pointers are not the dangling ones a zero-length call may pass.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, n),
            std::slice::from_raw_parts(b, n),
        )
    };
    match compare_bytes(a, b) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// `bcmp` for the component: zero when the `n` bytes are equal (LLVM calls it for equality tests).
///
/// # Safety
/// As C's `bcmp`: `a` and `b` point to at least `n` readable bytes.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract as `memcmp`.
    unsafe { memcmp(a, b, n) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_differing_byte_decides_as_unsigned() {
        assert_eq!(compare_bytes(b"", b""), Ordering::Equal);
        assert_eq!(compare_bytes(b"abcdefghij", b"abcdefghij"), Ordering::Equal);
        assert_eq!(compare_bytes(b"abcdefgh", b"abcdefgi"), Ordering::Less);
        assert_eq!(compare_bytes(b"b0000000", b"a9999999"), Ordering::Greater);
        assert_eq!(
            compare_bytes(b"12345678\x80", b"12345678\x7f"),
            Ordering::Greater
        );
        assert_eq!(compare_bytes(b"\x01\xff", b"\x02\x00"), Ordering::Less);
    }

    proptest! {
        #[test]
        fn it_orders_as_slices_do(a in proptest::collection::vec(any::<u8>(), 0..40), flips in proptest::collection::vec((0usize..40, any::<u8>()), 0..3)) {
            let mut b = a.clone();
            for (at, byte) in flips {
                if let Some(slot) = b.get_mut(at) {
                    *slot = byte;
                }
            }
            prop_assert_eq!(compare_bytes(&a, &b), a.cmp(&b));
        }
    }
}
