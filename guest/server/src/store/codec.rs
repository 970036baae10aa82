//! How values are written: counters as the backend's own integers, documents as JSON envelopes
//! that carry their write's id and the ids of the writes they build on, so a compare-and-swap's
//! outcome can be checked by reading back (see `cas`).
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::kv::StoreError;

/// How a backend stores the integers `increment` makes: Spin's SQLite store writes 8 bytes,
/// little-endian; Redis writes decimal text. A swap on a counter writes back in the same form,
/// so a later `increment` of the key still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntForm {
    /// 8 bytes, little-endian two's complement.
    Binary,
    /// ASCII decimal.
    Decimal,
}

/// A counter's value and the form it was stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredInt {
    pub(crate) value: i64,
    pub(crate) form: IntForm,
}

/// Reads a counter. Decimal text is recognised first: no counter this service keeps is large
/// enough for its 8-byte form to consist of ASCII digits only.
pub(crate) fn read_int(key: &str, bytes: &[u8]) -> Result<StoredInt, StoreError> {
    let decimal = !bytes.is_empty()
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && *b == b'-' && bytes.len() > 1));
    if decimal && let Some(value) = std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok()) {
        return Ok(StoredInt {
            value,
            form: IntForm::Decimal,
        });
    }
    <[u8; 8]>::try_from(bytes)
        .map(|b| StoredInt {
            value: i64::from_le_bytes(b),
            form: IntForm::Binary,
        })
        .map_err(|_| StoreError(format!("{key} does not hold a counter")))
}

/// Writes a counter in `form`.
pub(crate) fn write_int(value: i64, form: IntForm) -> Vec<u8> {
    match form {
        IntForm::Binary => value.to_le_bytes().to_vec(),
        IntForm::Decimal => value.to_string().into_bytes(),
    }
}

/// How many earlier write ids a document keeps: a swap is recognised as landed as long as fewer
/// than this many writes followed it before it was read back.
pub(crate) const LINEAGE: usize = 16;

/// A stored document: `w`, the id of the write that produced it; `h`, the ids of the writes it
/// builds on (newest first); `d`, the payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) w: String,
    #[serde(default)]
    pub(crate) h: Vec<String>,
    pub(crate) d: T,
}

/// Just the write ids of an envelope (reading back a swap need not decode the payload).
#[derive(Debug, Deserialize)]
struct Lineage {
    w: String,
    #[serde(default)]
    h: Vec<String>,
}

impl<T: Serialize + DeserializeOwned> Envelope<T> {
    /// A first version of a document (no history).
    pub(crate) fn first(d: T) -> Self {
        Envelope {
            w: new_write_id(),
            h: Vec::new(),
            d,
        }
    }

    /// The version that follows write `previous_w` (whose own history is `previous_h`).
    pub(crate) fn next(previous_w: &str, previous_h: &[String], d: T) -> Self {
        let mut h = Vec::with_capacity(LINEAGE);
        h.push(previous_w.to_string());
        h.extend(previous_h.iter().take(LINEAGE - 1).cloned());
        Envelope {
            w: new_write_id(),
            h,
            d,
        }
    }

    /// Decodes a stored document.
    pub(crate) fn decode(key: &str, bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError(format!("{key} holds a corrupt document: {e}")))
    }

    /// Encodes for storage.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(self).map_err(|e| StoreError(format!("cannot encode a document: {e}")))
    }
}

/// Whether the stored `bytes` are the write `w` or build on it.
pub(crate) fn contains_write(bytes: &[u8], w: &str) -> bool {
    serde_json::from_slice::<Lineage>(bytes).is_ok_and(|l| l.w == w || l.h.iter().any(|h| h == w))
}

/// 16 random hex digits.
pub(crate) fn new_write_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: fall back to the clock, still distinct between writes in practice.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (nanos as u64).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_read_back_in_their_own_form() {
        let bin = read_int("k", &7i64.to_le_bytes()).unwrap();
        assert_eq!((bin.value, bin.form), (7, IntForm::Binary));
        let dec = read_int("k", b"12345678").unwrap();
        assert_eq!((dec.value, dec.form), (12_345_678, IntForm::Decimal));
        assert_eq!(read_int("k", b"-3").unwrap().value, -3);
        assert_eq!(write_int(5, IntForm::Decimal), b"5");
        assert!(read_int("k", b"{}").is_err());
    }

    #[test]
    fn a_write_is_found_in_its_successors_lineage() {
        let first = Envelope::first(1u8);
        let second = Envelope::next(&first.w, &first.h, 2u8);
        let bytes = second.encode().unwrap();
        assert!(contains_write(&bytes, &first.w) && contains_write(&bytes, &second.w));
        assert!(!contains_write(&bytes, "0000000000000000"));
        let mut env = second;
        for _ in 0..LINEAGE + 2 {
            env = Envelope::next(&env.w, &env.h, 0u8);
        }
        assert!(!contains_write(&env.encode().unwrap(), &first.w));
        assert_eq!(env.h.len(), LINEAGE);
    }
}
