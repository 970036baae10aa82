//! [`KvStore`]: the key-value storage behind `spin:key-value@3.0.0` and
//! `wasi:keyvalue@0.2.0-draft2`, on one of Spin's backends, each laid out as Spin lays it out
//! so that a store written by `spin up` and one written by `scim-host serve` are
//! interchangeable:
//! - [`SqliteKv`]: Spin's `spin` store type, an SQLite file (`crates/key-value-spin`);
//! - [`RedisKv`]: Spin's `redis` store type, one Redis string per key
//!   (`crates/key-value-redis`).
//!
//! For tests only, a store can misreport compare-and-swap outcomes the way Spin's Redis
//! backend does ([`KvStore::misreporting_swaps`], see [`MisreportSwaps`]).

mod misreport;
mod redis;
mod sqlite;

use std::sync::Arc;

pub use self::redis::RedisKv;
pub use sqlite::SqliteKv;

use super::config::{KeyValueBackend, MisreportSwaps};
use misreport::Misreporter;

/// A failed key-value operation: the store could not be reached, read or written, or a value
/// had the wrong shape for the operation. The message is meant for logs and for the
/// `other(string)` case of the WIT error variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KvError(pub String);

/// Outcome of a compare-and-swap write ([`KvStore::swap`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapOutcome {
    /// The new value was written.
    Swapped,
    /// The stored value no longer equals the expected one (or the key was deleted): nothing
    /// was written.
    Conflict,
}

/// What a compare-and-swap handle knew about its key when `swap` was called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapExpectation {
    /// `current` was never called: the swap writes unconditionally (on every Spin backend).
    Unread,
    /// `current` found the key absent. Spin's SQLite backend then writes unconditionally; its
    /// Redis backend (WATCH) writes only if the key is still absent.
    Absent,
    /// `current` read this value: the swap writes only if the key still holds it.
    Value(Vec<u8>),
}

impl SwapExpectation {
    /// What `current` returned: the key's value, or `None` when it was absent.
    pub fn from_current(value: Option<Vec<u8>>) -> Self {
        value.map_or(SwapExpectation::Absent, SwapExpectation::Value)
    }
}

/// The key-value store every request shares: cheap to clone.
#[derive(Clone, Debug)]
pub struct KvStore {
    backend: Backend,
    /// Test-only: misreports some compare-and-swap outcomes.
    misreport: Option<Arc<Misreporter>>,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqliteKv),
    Redis(RedisKv),
}

impl From<SqliteKv> for KvStore {
    fn from(kv: SqliteKv) -> Self {
        KvStore {
            backend: Backend::Sqlite(kv),
            misreport: None,
        }
    }
}

impl From<RedisKv> for KvStore {
    fn from(kv: RedisKv) -> Self {
        KvStore {
            backend: Backend::Redis(kv),
            misreport: None,
        }
    }
}

/// Runs `$call` on whichever backend `$store` is.
macro_rules! on_backend {
    ($store:expr, $kv:ident => $call:expr) => {
        match &$store.backend {
            Backend::Sqlite($kv) => $call,
            Backend::Redis($kv) => $call,
        }
    };
}

impl KvStore {
    /// Opens the backend `config` names: creates or opens the SQLite file, or connects to
    /// Redis (failing when it cannot be reached, so a bad URL shows at start-up). With
    /// `misreport` (tests only), swap outcomes are then misreported as it says.
    pub async fn open(
        config: &KeyValueBackend,
        misreport: Option<MisreportSwaps>,
    ) -> Result<Self, KvError> {
        let store: KvStore = match config {
            KeyValueBackend::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || SqliteKv::open(path))
                    .await
                    .map_err(|e| KvError(format!("opening the database failed: {e}")))??
                    .into()
            }
            KeyValueBackend::SqliteInMemory => SqliteKv::open_in_memory()?.into(),
            KeyValueBackend::Redis { url } => RedisKv::connect(url).await?.into(),
        };
        Ok(match misreport {
            Some(settings) => store.misreporting_swaps(settings),
            None => store,
        })
    }

    /// This store, misreporting compare-and-swap outcomes as `settings` says (tests only).
    pub fn misreporting_swaps(mut self, settings: MisreportSwaps) -> Self {
        self.misreport = Some(Arc::new(Misreporter::new(settings)));
        self
    }

    /// The value of `key` in `store`, or `None` when it is absent.
    pub async fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        on_backend!(self, kv => kv.get(store, key).await)
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub async fn set(&self, store: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        on_backend!(self, kv => kv.set(store, key, value).await)
    }

    /// Removes `key`; removing an absent key succeeds.
    pub async fn delete(&self, store: &str, key: &str) -> Result<(), KvError> {
        on_backend!(self, kv => kv.delete(store, key).await)
    }

    /// Whether `key` has a value.
    pub async fn exists(&self, store: &str, key: &str) -> Result<bool, KvError> {
        on_backend!(self, kv => kv.exists(store, key).await)
    }

    /// All keys of `store`, in key order.
    pub async fn keys(&self, store: &str) -> Result<Vec<String>, KvError> {
        on_backend!(self, kv => kv.keys(store).await)
    }

    /// The values of those of `keys` that exist, as `(key, value)` pairs in the order of
    /// `keys` (absent keys are left out, as Spin's SQLite `get-many` does).
    pub async fn get_many(
        &self,
        store: &str,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Vec<u8>)>, KvError> {
        on_backend!(self, kv => kv.get_many(store, keys).await)
    }

    /// Stores every pair atomically: all are written or none.
    pub async fn set_many(
        &self,
        store: &str,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), KvError> {
        on_backend!(self, kv => kv.set_many(store, pairs).await)
    }

    /// Removes every key atomically.
    pub async fn delete_many(&self, store: &str, keys: Vec<String>) -> Result<(), KvError> {
        on_backend!(self, kv => kv.delete_many(store, keys).await)
    }

    /// Adds `delta` to the counter under `key` (0 when absent) atomically and returns the new
    /// value. The counter is stored as the backend's Spin stores it (SQLite: 8 little-endian
    /// bytes; Redis: a decimal string); a value that is not a counter is an error, with
    /// nothing written.
    pub async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        on_backend!(self, kv => kv.increment(store, key, delta).await)
    }

    /// The compare-and-swap write, atomic on every backend: `value` is written only if the
    /// key still matches `expected` (see [`SwapExpectation`] for what each backend does when
    /// the key was absent or never read).
    pub async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: SwapExpectation,
        value: Vec<u8>,
    ) -> Result<SwapOutcome, KvError> {
        let outcome = match &self.backend {
            Backend::Sqlite(kv) => {
                let old = match expected {
                    SwapExpectation::Value(old) => Some(old),
                    SwapExpectation::Unread | SwapExpectation::Absent => None,
                };
                kv.swap(store, key, old, value).await?
            }
            Backend::Redis(kv) => kv.swap(key, expected, value).await?,
        };
        Ok(match &self.misreport {
            Some(misreport) => misreport.report(key, outcome),
            None => outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORE: &str = "default";

    fn sqlite() -> KvStore {
        SqliteKv::open_in_memory()
            .expect("in-memory database")
            .into()
    }

    #[tokio::test]
    async fn on_sqlite_a_swap_that_expected_absence_upserts_as_spin_does() {
        let kv = sqlite();
        kv.set(STORE, "k", b"there".to_vec()).await.expect("set");
        for expected in [SwapExpectation::Absent, SwapExpectation::Unread] {
            assert_eq!(
                kv.swap(STORE, "k", expected, b"over".to_vec()).await,
                Ok(SwapOutcome::Swapped)
            );
        }
        assert_eq!(kv.get(STORE, "k").await, Ok(Some(b"over".to_vec())));
    }

    #[tokio::test]
    async fn a_misreporting_store_lies_about_swaps_only() {
        let kv = sqlite().misreporting_swaps(MisreportSwaps { rate: 1.0, seed: 5 });
        kv.set(STORE, "k", b"v1".to_vec()).await.expect("set");
        assert_eq!(
            kv.swap(
                STORE,
                "k",
                SwapExpectation::Value(b"v1".to_vec()),
                b"v2".to_vec()
            )
            .await,
            Ok(SwapOutcome::Conflict),
            "landed, reported as failed"
        );
        assert_eq!(kv.get(STORE, "k").await, Ok(Some(b"v2".to_vec())));
        assert_eq!(
            kv.swap(
                STORE,
                "k",
                SwapExpectation::Value(b"v1".to_vec()),
                b"v3".to_vec()
            )
            .await,
            Ok(SwapOutcome::Swapped),
            "dropped, reported as done"
        );
        assert_eq!(kv.get(STORE, "k").await, Ok(Some(b"v2".to_vec())));
        assert_eq!(
            kv.increment(STORE, "n", 2).await,
            Ok(2),
            "other operations are true"
        );
    }
}
