//! The externalId index. externalId is not unique (RFC 7643 §3.1), so each value has a list of
//! slots (`xq/{kind}/{value}` counts them, `xs/{kind}/{value}/{k}` holds a sequence number),
//! appended when a resource takes the value. A slot is a hint: lookups load the documents and keep
//! those that still carry the value, so a slot left behind by a change or a crash is harmless.
use super::{Kind, cas, keys};
use crate::kv::{Kv, StoreError};

/// Records that resource `seq` has `external_id`.
pub(crate) async fn add<K: Kv>(
    kv: &K,
    kind: Kind,
    external_id: &str,
    seq: u64,
) -> Result<(), StoreError> {
    let k = kv
        .increment(&keys::external_counter(kind, external_id), 1)
        .await?;
    kv.set(
        &keys::external_slot(kind, external_id, k),
        seq.to_string().as_bytes(),
    )
    .await
}

/// The sequence numbers that had `external_id` when they were written (deduplicated, ascending).
pub(crate) async fn candidates<K: Kv>(
    kv: &K,
    kind: Kind,
    external_id: &str,
) -> Result<Vec<u64>, StoreError> {
    let slots = cas::read_counter(kv, &keys::external_counter(kind, external_id)).await?;
    if slots <= 0 {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = (1..=slots)
        .map(|k| keys::external_slot(kind, external_id, k))
        .collect();
    let mut seqs: Vec<u64> = kv
        .get_many(&keys)
        .await?
        .into_iter()
        .flatten()
        .filter_map(|bytes| std::str::from_utf8(&bytes).ok()?.parse().ok())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    Ok(seqs)
}
