//! Resource ids. A resource created under layout v2 gets a UUID (version 8, RFC 9562 §5.8) whose
//! first 48 bits are its sequence number and whose other bits are random, so a lookup by id is one
//! read (`r/{kind}/{seq}`) and the stored document confirms the whole id. Resources migrated from
//! layout v1 keep their random (version 4) ids and are found through an alias key.

/// Sequence numbers above this do not fit an id (2^48 resources of one kind).
pub(crate) const MAX_SEQ: u64 = (1 << 48) - 1;

/// A fresh id for sequence number `seq`.
pub(crate) fn new_id(seq: u64) -> String {
    let mut random = [0u8; 10];
    if getrandom::fill(&mut random).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        random.copy_from_slice(&nanos.to_le_bytes()[..10]);
    }
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&(seq & MAX_SEQ).to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The sequence number inside an id made by [`new_id`]; `None` for any other text (a v1 id, or
/// something that is no id of ours).
pub(crate) fn seq_of(id: &str) -> Option<u64> {
    let b = id.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') || b[14] != b'8' {
        return None;
    }
    if !id
        .bytes()
        .all(|c| c == b'-' || c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return None;
    }
    let head = format!("{}{}", &id[0..8], &id[9..13]);
    u64::from_str_radix(&head, 16).ok().filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_sequence_number() {
        for seq in [1, 2, 4242, MAX_SEQ] {
            let id = new_id(seq);
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "8");
            assert_eq!(seq_of(&id), Some(seq));
        }
        assert_ne!(new_id(5), new_id(5), "the rest is random");
        assert_eq!(seq_of("2819c223-7f76-453a-919d-413861904646"), None);
        assert_eq!(seq_of("not-an-id"), None);
        assert_eq!(seq_of("00000000-0000-8000-8000-000000000000"), None);
    }
}
