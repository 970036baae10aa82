//! Unique-name claims (`n/{kind}/{name}`): a counter holding the sequence number of the resource
//! that owns a lower-cased userName or displayName (0: free). Changed only by verified
//! compare-and-swap from the owner the caller saw, so two creates cannot both take a name. Whether
//! an owner still holds its claim is decided by `lifecycle` (it may have crashed mid-create, been
//! renamed or deleted): a claim whose owner does not hold it can be taken over.
use super::cas::{self, CasError, Step};
use super::{Kind, keys};
use crate::kv::{Kv, StoreError};

/// The claimed owner of `lower_name`: its sequence number, 0 when free.
pub(crate) async fn owner<K: Kv>(kv: &K, kind: Kind, lower_name: &str) -> Result<u64, StoreError> {
    let value = cas::read_counter(kv, &keys::name_claim(kind, lower_name)).await?;
    Ok(u64::try_from(value).unwrap_or(0))
}

/// Moves the claim from `from` (0: free) to `to`; false when its owner is no longer `from`.
pub(crate) async fn take<K: Kv>(
    kv: &K,
    kind: Kind,
    lower_name: &str,
    from: u64,
    to: u64,
) -> Result<bool, StoreError> {
    let (from, to) = (as_counter(from)?, as_counter(to)?);
    let outcome = cas::update_counter(
        kv,
        &keys::name_claim(kind, lower_name),
        |current| {
            Ok::<_, ()>(if current == from {
                Step::Write(to, true)
            } else {
                Step::Keep(false)
            })
        },
        |read_back| read_back == to,
    )
    .await;
    match outcome {
        Ok(taken) => Ok(taken),
        Err(CasError::Store(e)) => Err(e),
        Err(CasError::Contended(key)) => Err(StoreError(format!("{key} kept changing"))),
        Err(CasError::Refused(())) => Ok(false),
    }
}

/// Frees `lower_name` if `seq` owns it.
pub(crate) async fn release<K: Kv>(
    kv: &K,
    kind: Kind,
    lower_name: &str,
    seq: u64,
) -> Result<(), StoreError> {
    if owner(kv, kind, lower_name).await? == seq {
        take(kv, kind, lower_name, seq, 0).await?;
    }
    Ok(())
}

fn as_counter(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError(format!("sequence number {seq} is out of range")))
}
