//! A group's version (its ETag, RFC 7644 §3.14) and last-modified time (`gv/{seq}`). A group's
//! member changes do not rewrite its document, so its version lives in a small document of its
//! own, stepped by verified compare-and-swap once per write (members or attributes): an
//! If-Match write steps it from exactly the version the client names, so two such writes cannot
//! both succeed, and the write id in the envelope tells a landed step from a dropped one.
use serde::{Deserialize, Serialize};

use super::cas::{self, CasError, Step};
use super::codec::Envelope;
use super::keys;
use crate::kv::{Kv, StoreError};

/// What `gv/{seq}` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Version {
    v: u64,
    /// Last modified, seconds since the Unix epoch.
    t: i64,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A group's version and when it last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupVersion {
    /// The version number (1 for a new group).
    pub(crate) number: u64,
    /// Seconds since the Unix epoch.
    pub(crate) modified: i64,
}

/// The version document of a new group (or one migrated at `number`).
pub(crate) fn first(number: u64) -> Result<Vec<u8>, StoreError> {
    Envelope::first(Version {
        v: number,
        t: now(),
    })
    .encode()
}

/// Writes the version document of a new group (version 1).
pub(crate) async fn create<K: Kv>(kv: &K, seq: u64) -> Result<(), StoreError> {
    kv.set(&keys::group_version(seq), &first(1)?).await
}

/// The group's version (a group without a version document is at 1).
pub(crate) async fn read<K: Kv>(kv: &K, seq: u64) -> Result<GroupVersion, StoreError> {
    let key = keys::group_version(seq);
    Ok(match kv.get(&key).await? {
        Some(bytes) => {
            let Version { v, t } = Envelope::<Version>::decode(&key, &bytes)?.d;
            GroupVersion {
                number: v,
                modified: t,
            }
        }
        None => GroupVersion {
            number: 1,
            modified: 0,
        },
    })
}

/// Steps the version by one (from exactly `expected`, when given: `Ok(false)` when it is at
/// another version now). Creates the document when it is missing.
pub(crate) async fn step<K: Kv>(
    kv: &K,
    seq: u64,
    expected: Option<u64>,
) -> Result<bool, StoreError> {
    let key = keys::group_version(seq);
    if kv.get(&key).await?.is_none() {
        kv.set(&key, &first(1)?).await?;
    }
    let outcome = cas::update_doc(kv, &key, |current: Option<&Version>| {
        let v = current.map_or(1, |c| c.v);
        Ok::<_, ()>(match expected {
            Some(e) if e != v => Step::Keep(false),
            _ => Step::Write(Version { v: v + 1, t: now() }, true),
        })
    })
    .await;
    match outcome {
        Ok(stepped) => Ok(stepped),
        Err(CasError::Store(e)) => Err(e),
        Err(CasError::Contended(key)) => Err(StoreError(format!("{key} kept changing"))),
        Err(CasError::Refused(())) => Ok(false),
    }
}
