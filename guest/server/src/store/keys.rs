//! The key layout of storage model v2 (README "Storage model"): one function per key family, so
//! the layout is written down once. Every key stays well under Spin's 256-byte limit whatever the
//! names: ids are validated before they reach a key ([`valid_id`]) and long or unusual texts are
//! hashed ([`text_key`]).
use sha2::{Digest, Sha256};

use super::Kind;

/// Set to `"2"` once the store holds layout v2 (after the migration from v1, or on a new store).
pub(crate) const LAYOUT: &str = "scim/layout";

/// Counter: the last sequence number given to a resource of `kind`.
pub(crate) fn seq_counter(kind: Kind) -> String {
    format!("q/{}", kind.tag())
}

/// The resource document of `kind` with sequence number `seq`.
pub(crate) fn resource(kind: Kind, seq: u64) -> String {
    format!("r/{}/{seq}", kind.tag())
}

/// A resource that kept its v1 id: the id's sequence number.
pub(crate) fn alias(kind: Kind, id: &str) -> String {
    format!("a/{}/{id}", kind.tag())
}

/// Counter: one word of the liveness map (two bits per sequence number).
pub(crate) fn live_word(kind: Kind, word: u64) -> String {
    format!("b/{}/{word}", kind.tag())
}

/// Counter: the sequence number of the resource holding the unique name (0: free).
pub(crate) fn name_claim(kind: Kind, lower_name: &str) -> String {
    format!("n/{}/{}", kind.tag(), text_key(lower_name))
}

/// Counter: how many slots the externalId `external_id` has had.
pub(crate) fn external_counter(kind: Kind, external_id: &str) -> String {
    format!("xq/{}/{}", kind.tag(), text_key(external_id))
}

/// Slot `k` of an externalId: the sequence number of a resource that had it when written.
pub(crate) fn external_slot(kind: Kind, external_id: &str, k: i64) -> String {
    format!("xs/{}/{}/{k}", kind.tag(), text_key(external_id))
}

/// The member-of index of a user or group `id`: which groups list it.
pub(crate) fn member_of(id: &str) -> String {
    format!("mo/{id}")
}

/// Counter: member `member_id`'s state in group `group_seq` (slot, version, present).
pub(crate) fn member_state(group_seq: u64, member_id: &str) -> String {
    format!("gm/{group_seq}/{member_id}")
}

/// Counter: how many member slots group `group_seq` has handed out.
pub(crate) fn member_counter(group_seq: u64) -> String {
    format!("gq/{group_seq}")
}

/// Member slot `k` of group `group_seq`: which member, its type and display.
pub(crate) fn member_slot(group_seq: u64, k: u64) -> String {
    format!("gs/{group_seq}/{k}")
}

/// Group `group_seq`'s version (its ETag) and last-modified time, stepped by every change,
/// members included.
pub(crate) fn group_version(group_seq: u64) -> String {
    format!("gv/{group_seq}")
}

/// The longest text kept readable in a key; longer ones are hashed.
const READABLE_TEXT: usize = 100;

/// A key part for arbitrary text: `=text` when it is short and printable, else `#` and the
/// SHA-256 of the text in hex (the two forms cannot collide).
pub(crate) fn text_key(text: &str) -> String {
    if text.len() <= READABLE_TEXT && !text.chars().any(char::is_control) {
        format!("={text}")
    } else {
        let digest = Sha256::digest(text.as_bytes());
        let mut out = String::with_capacity(1 + 2 * digest.len());
        out.push('#');
        for byte in digest {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `id` can be a resource id of this service (ours or a v1 one): 1–64 characters of
/// `[0-9A-Za-z-_.]`. Anything else names nothing, and never reaches a key.
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_or_odd_texts_are_hashed_and_keys_stay_short() {
        assert_eq!(text_key("bjensen@example.com"), "=bjensen@example.com");
        let long = "x".repeat(10_000);
        let hashed = text_key(&long);
        assert!(hashed.starts_with('#') && hashed.len() == 65);
        assert_ne!(text_key("a\nb"), "=a\nb");
        assert!(name_claim(Kind::User, &long).len() < 256);
        assert!(external_slot(Kind::Group, &long, i64::MAX).len() < 256);
        assert!(member_state(u64::MAX, &"i".repeat(64)).len() < 256);
    }

    #[test]
    fn ids_are_checked_before_they_reach_a_key() {
        assert!(valid_id("2819c223-7f76-453a-919d-413861904646"));
        assert!(!valid_id(""));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(&"a".repeat(65)));
    }
}
