//! Verified read-modify-write: the only way this service changes a key another request may be
//! changing at the same time. Each attempt reads the key for a compare-and-swap, computes the next
//! value, swaps, and then — whatever the backend answered — reads the key back and looks for its
//! own write (a document's write id, or a counter's expected value). Only a write that really did
//! not land is retried, after a jittered, growing pause; a change that landed is never applied
//! twice. This is what keeps Spin's Redis backend correct, whose swap reports landed writes as
//! failed and dropped writes as done (DESIGN.md §4, README "Storage model").
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec::{self, Envelope, StoredInt};
use crate::kv::{Kv, StoreError};

/// What a change decided for one attempt.
pub(crate) enum Step<T, R> {
    /// Write `T`, then answer `R`.
    Write(T, R),
    /// Write nothing, answer `R`.
    Keep(R),
}

/// Why a read-modify-write ended without its answer.
#[derive(Debug)]
pub(crate) enum CasError<E> {
    /// The change refused (its own error, e.g. a failed precondition).
    Refused(E),
    /// The storage failed.
    Store(StoreError),
    /// Every attempt met another writer (the key is too hot): the caller answers 409.
    Contended(String),
}

impl<E: std::fmt::Debug> CasError<E> {
    /// As a storage failure (for callers whose change never refuses, or reports refusals
    /// otherwise).
    pub(crate) fn into_store_error(self) -> StoreError {
        match self {
            CasError::Store(e) => e,
            CasError::Contended(key) => StoreError(format!("{key} kept changing")),
            CasError::Refused(e) => StoreError(format!("refused: {e:?}")),
        }
    }
}

impl<E> From<StoreError> for CasError<E> {
    fn from(e: StoreError) -> Self {
        CasError::Store(e)
    }
}

/// Attempts before giving up on a key that keeps changing. With the pauses below this spans
/// about two seconds: 32 writers on one document all get through (README "Concurrency").
pub(crate) const ATTEMPTS: u32 = 64;

/// The pause before retry `attempt` (0-based): 100 µs doubling up to 12.8 ms, times a random
/// factor in [0.5, 1.5) so colliding writers spread out.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << attempt.min(7);
    let mut byte = [0u8; 1];
    let jitter = if getrandom::fill(&mut byte).is_ok() {
        u64::from(byte[0])
    } else {
        128
    };
    Duration::from_micros(base / 2 + base * jitter / 256)
}

/// A document read for a compare-and-swap: its current version and the handle to swap it.
pub(crate) struct Pending<T, S> {
    key: String,
    current: Envelope<T>,
    swap: S,
}

impl<T, S> Pending<T, S> {
    /// The payload as read.
    pub(crate) fn doc(&self) -> &T {
        &self.current.d
    }
}

/// Reads the document at `key` for a swap (`None` when absent).
pub(crate) async fn begin<K, T>(
    kv: &K,
    key: &str,
) -> Result<Option<Pending<T, K::Swap>>, StoreError>
where
    K: Kv,
    T: Serialize + DeserializeOwned,
{
    let (raw, swap) = kv.read_for_swap(key).await?;
    let Some(raw) = raw else { return Ok(None) };
    Ok(Some(Pending {
        key: key.to_string(),
        current: Envelope::decode(key, &raw)?,
        swap,
    }))
}

/// Swaps in `next` and reads back: true only when this write is in place (or built upon).
pub(crate) async fn finish<K, T>(
    kv: &K,
    pending: Pending<T, K::Swap>,
    next: T,
) -> Result<bool, StoreError>
where
    K: Kv,
    T: Serialize + DeserializeOwned,
{
    let Pending { key, current, swap } = pending;
    let next = Envelope::next(&current.w, &current.h, next);
    kv.swap(swap, &next.encode()?).await?;
    Ok(kv
        .get(&key)
        .await?
        .is_some_and(|bytes| codec::contains_write(&bytes, &next.w)))
}

/// Changes the JSON document at `key`. `change` sees the current payload (`None` when the key
/// is absent) and decides; it is called again on every retry. Writing over an absent key is
/// refused as a storage error: a compare-and-swap cannot create a key safely (Spin's SQLite
/// backend upserts), so documents are created with a plain `set` under a fresh key.
pub(crate) async fn update_doc<K, T, R, E>(
    kv: &K,
    key: &str,
    mut change: impl FnMut(Option<&T>) -> Result<Step<T, R>, E>,
) -> Result<R, CasError<E>>
where
    K: Kv,
    T: Serialize + DeserializeOwned,
{
    for attempt in 0..ATTEMPTS {
        let pending = begin::<K, T>(kv, key).await?;
        match change(pending.as_ref().map(Pending::doc)).map_err(CasError::Refused)? {
            Step::Keep(answer) => return Ok(answer),
            Step::Write(next, answer) => {
                let Some(pending) = pending else {
                    return Err(CasError::Store(StoreError(format!(
                        "{key} vanished during an update"
                    ))));
                };
                if finish(kv, pending, next).await? {
                    return Ok(answer);
                }
            }
        }
        kv.pause(backoff(attempt)).await;
    }
    Err(CasError::Contended(key.to_string()))
}

/// Changes the counter at `key` (created as 0 by `increment` when absent, which is safe because
/// the key only ever holds a counter). `change` maps the current value to the next; `landed`
/// tells from the value read back whether this attempt's write is in place.
pub(crate) async fn update_counter<K, R, E>(
    kv: &K,
    key: &str,
    mut change: impl FnMut(i64) -> Result<Step<i64, R>, E>,
    landed: impl Fn(i64) -> bool,
) -> Result<R, CasError<E>>
where
    K: Kv,
{
    for attempt in 0..ATTEMPTS {
        let (raw, swap) = kv.read_for_swap(key).await?;
        let Some(raw) = raw else {
            kv.increment(key, 0).await?;
            continue;
        };
        let StoredInt { value, form } = codec::read_int(key, &raw)?;
        match change(value).map_err(CasError::Refused)? {
            Step::Keep(answer) => return Ok(answer),
            Step::Write(next, answer) => {
                kv.swap(swap, &codec::write_int(next, form)).await?;
                if let Some(bytes) = kv.get(key).await?
                    && landed(codec::read_int(key, &bytes)?.value)
                {
                    return Ok(answer);
                }
            }
        }
        kv.pause(backoff(attempt)).await;
    }
    Err(CasError::Contended(key.to_string()))
}

/// Reads the counter at `key` (absent = 0).
pub(crate) async fn read_counter<K: Kv>(kv: &K, key: &str) -> Result<i64, StoreError> {
    match kv.get(key).await? {
        Some(bytes) => Ok(codec::read_int(key, &bytes)?.value),
        None => Ok(0),
    }
}

/// Reads many counters (absent = 0), in the order of `keys`.
pub(crate) async fn read_counters<K: Kv>(kv: &K, keys: &[String]) -> Result<Vec<i64>, StoreError> {
    let values = kv.get_many(keys).await?;
    keys.iter()
        .zip(values)
        .map(|(key, value)| match value {
            Some(bytes) => Ok(codec::read_int(key, &bytes)?.value),
            None => Ok(0),
        })
        .collect()
}
