//! The key-value operations the service needs from its platform: Spin's `default` store (through
//! `spin:key-value` and `wasi:keyvalue`, see `spin_glue`) or, natively, memory ([`MemoryKv`]).
//!
//! What the service relies on, and nothing more (DESIGN.md §4, Spin's backends):
//! - `get`/`set`/`delete` with last-writer-wins, `get_many` in one call;
//! - `increment` is atomic and its answer is trusted (Spin's SQLite runs it in a transaction,
//!   Redis runs `INCRBY`); it is only ever applied to keys that hold counters (Spin's SQLite
//!   backend panics on any other value);
//! - compare-and-swap ([`Kv::read_for_swap`], then [`Kv::swap`]) is atomic on keys that exist, but
//!   its *answer* is not trusted: Spin's Redis backend reports landed writes as failed and dropped
//!   writes as done, so the store layer reads every swap back (`store::cas`);
//! - `keys` lists the whole store: it is used only by the one-time migration, never by a request.
use std::time::Duration;

mod memory;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use memory::MemoryKv;

/// A storage failure (reported to clients as a 500, logged with this text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Key-value storage with the atomic operations Spin links (`wasi:keyvalue/atomics`, `batch`).
#[allow(async_fn_in_trait)]
pub trait Kv {
    /// A compare-and-swap in progress: the key and the value [`Kv::read_for_swap`] saw.
    type Swap;

    /// The value at `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The values at `keys`, in the same order (`None` where absent).
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Sets `key` unconditionally (last writer wins).
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deletes `key` (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes every one of `keys` (absent ones are fine).
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError>;
    /// Every key of the store. Only the one-time migration may call this: on Spin's Redis
    /// backend it is `KEYS *` over the whole database.
    async fn keys(&self) -> Result<Vec<String>, StoreError>;
    /// Starts a compare-and-swap on `key`: its current value and the handle to swap with.
    async fn read_for_swap(&self, key: &str) -> Result<(Option<Vec<u8>>, Self::Swap), StoreError>;
    /// Writes `new` if the key still holds what [`Kv::read_for_swap`] saw. The answer may be
    /// wrong on some backends (see the module doc): callers verify by reading back.
    async fn swap(&self, swap: Self::Swap, new: &[u8]) -> Result<bool, StoreError>;
    /// Atomically adds `delta` to the counter at `key` (absent = 0) and returns the new value.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// Waits `pause` before a retry (the platform's timer; a no-op where there is none).
    async fn pause(&self, pause: Duration);
}
