//! [`SqliteKv`]: the key-value storage behind `spin:key-value` and `wasi:keyvalue`, one SQLite
//! database file laid out like Spin's default store.
//!
//! The table is Spin's own (`crates/key-value-spin`):
//! `spin_key_value(store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))`,
//! so a database written here can be read by `spin up` (`.spin/sqlite_key_value.db`) and back.
//!
//! Semantics follow Spin's SQLite backend:
//! - `set` is an upsert, `delete` of a missing key succeeds, last writer wins.
//! - `increment` treats a missing key as 0 and stores the result as the 8-byte **little-endian**
//!   two's-complement encoding of the `i64` (what Spin stores). A stored value that is not 8 bytes
//!   long is an error here (Spin panics), and so is an overflow (Spin wraps or panics).
//! - compare-and-swap: the expected value is the one [`SqliteKv::get`] returned to
//!   `cas.current()` (see `atomics` in [`super::host`]); [`SqliteKv::swap`] with an expected value
//!   updates the row only if it still holds exactly those bytes, and with no expected value
//!   (the key was absent, or `current` was never called) it upserts **unconditionally** — as
//!   Spin does, so a CAS cannot be used to claim a key that does not exist yet.
//!
//! Every multi-statement operation (`increment`, `swap`, `set_many`) runs in one
//! `BEGIN IMMEDIATE` transaction, so neither concurrent requests of this server nor another
//! process using the same file can interleave with it. A point operation (one key) runs on the
//! calling task when the connection is free, and everything else, or anything that would wait
//! for the connection, on tokio's blocking pool. The connection is shared behind a mutex, so
//! operations of concurrent requests are serialised; the file is in WAL mode with a busy
//! timeout so other readers of the file do not make requests fail, and `synchronous=NORMAL`
//! (consistent after a crash; a power cut may lose the last commits).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{KvError, SwapOutcome};

/// How long a statement waits for another process's lock on the database file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl KvError {
    fn sqlite(context: &str, error: rusqlite::Error) -> Self {
        KvError(format!("{context}: {error}"))
    }
}

/// The SQLite key-value database: cheap to clone (an `Arc`), shared by all requests.
#[derive(Clone)]
pub struct SqliteKv {
    inner: Arc<Inner>,
}

struct Inner {
    path: Option<PathBuf>,
    connection: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteKv")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteKv {
    /// Opens (creating if needed) the database file at `path`, switches it to WAL mode and
    /// creates Spin's `spin_key_value` table if it is missing. The parent directory must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, KvError> {
        let path = path.as_ref();
        let connection = Connection::open(path)
            .map_err(|e| KvError::sqlite(&format!("cannot open database {}", path.display()), e))?;
        connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(|e| KvError::sqlite("cannot switch the database to WAL mode", e))?;
        // In WAL mode NORMAL still never corrupts the file; a power cut may lose the last
        // commits. Spares an fsync per write, which a local runner does not need.
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| KvError::sqlite("cannot set synchronous mode", e))?;
        Self::setup(connection, Some(path.to_path_buf()))
    }

    /// A private in-memory database (for tests): gone when the last clone is dropped.
    pub fn open_in_memory() -> Result<Self, KvError> {
        let connection = Connection::open_in_memory()
            .map_err(|e| KvError::sqlite("cannot open an in-memory database", e))?;
        Self::setup(connection, None)
    }

    fn setup(connection: Connection, path: Option<PathBuf>) -> Result<Self, KvError> {
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| KvError::sqlite("cannot set the busy timeout", e))?;
        connection
            .execute(
                "CREATE TABLE IF NOT EXISTS spin_key_value (
                    store TEXT NOT NULL,
                    key   TEXT NOT NULL,
                    value BLOB NOT NULL,

                    PRIMARY KEY (store, key)
                )",
                [],
            )
            .map_err(|e| KvError::sqlite("cannot create the spin_key_value table", e))?;
        Ok(SqliteKv {
            inner: Arc::new(Inner {
                path,
                connection: Mutex::new(connection),
            }),
        })
    }

    /// The database file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Runs a point operation (one key, a statement or two): right here when the connection
    /// is free — handing a statement of a few microseconds to the blocking pool costs more than
    /// the statement — else on the blocking pool, so waiting for a busy connection never holds
    /// an async worker.
    async fn with_connection_quick<R, F>(&self, work: F) -> Result<R, KvError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, KvError> + Send + 'static,
    {
        match run_if_free(&self.inner.connection, work) {
            Ok(done) => done,
            Err(work) => self.with_connection(work).await,
        }
    }

    /// Runs `work` with the connection on tokio's blocking pool.
    async fn with_connection<R, F>(&self, work: F) -> Result<R, KvError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, KvError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&mut lock(&inner.connection)))
            .await
            .map_err(|e| KvError(format!("key-value task failed: {e}")))?
    }

    /// The value of `key` in `store`, or `None` when it is absent.
    pub async fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.with_connection_quick(move |conn| select_value(conn, &store, &key))
            .await
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub async fn set(&self, store: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.with_connection_quick(move |conn| upsert(conn, &store, &key, &value))
            .await
    }

    /// Removes `key`; removing an absent key succeeds.
    pub async fn delete(&self, store: &str, key: &str) -> Result<(), KvError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.with_connection_quick(move |conn| {
            conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")
                .and_then(|mut stmt| stmt.execute(params![store, key]))
                .map(drop)
                .map_err(|e| KvError::sqlite("delete failed", e))
        })
        .await
    }

    /// Whether `key` has a value.
    pub async fn exists(&self, store: &str, key: &str) -> Result<bool, KvError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.with_connection_quick(move |conn| {
            conn.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")
                .and_then(|mut stmt| stmt.exists(params![store, key]))
                .map_err(|e| KvError::sqlite("exists failed", e))
        })
        .await
    }

    /// All keys of `store`, in key order.
    pub async fn keys(&self, store: &str) -> Result<Vec<String>, KvError> {
        let store = store.to_owned();
        self.with_connection(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")
                .map_err(|e| KvError::sqlite("listing keys failed", e))?;
            let rows = stmt
                .query_map(params![store], |row| row.get::<_, String>(0))
                .map_err(|e| KvError::sqlite("listing keys failed", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| KvError::sqlite("listing keys failed", e))
        })
        .await
    }

    /// The values of those of `keys` that exist, as `(key, value)` pairs in the order of
    /// `keys`. Absent keys are left out, as Spin's SQLite `get-many` does.
    pub async fn get_many(
        &self,
        store: &str,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Vec<u8>)>, KvError> {
        let store = store.to_owned();
        self.with_connection(move |conn| {
            let mut found = Vec::new();
            for key in keys {
                if let Some(value) = select_value(conn, &store, &key)? {
                    found.push((key, value));
                }
            }
            Ok(found)
        })
        .await
    }

    /// Stores every pair in one transaction: all are written or none.
    pub async fn set_many(
        &self,
        store: &str,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), KvError> {
        let store = store.to_owned();
        self.with_connection(move |conn| {
            in_transaction(conn, |tx| {
                for (key, value) in &pairs {
                    upsert(tx, &store, key, value)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Removes every key in one transaction.
    pub async fn delete_many(&self, store: &str, keys: Vec<String>) -> Result<(), KvError> {
        let store = store.to_owned();
        self.with_connection(move |conn| {
            in_transaction(conn, |tx| {
                let mut stmt = tx
                    .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")
                    .map_err(|e| KvError::sqlite("delete failed", e))?;
                for key in &keys {
                    stmt.execute(params![store, key])
                        .map_err(|e| KvError::sqlite("delete failed", e))?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Adds `delta` to the counter under `key` (0 when absent) atomically and returns the new
    /// value, stored as 8 little-endian bytes like Spin does.
    ///
    /// Fails without writing when the stored value is not 8 bytes long or the sum overflows.
    pub async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.with_connection_quick(move |conn| {
            in_transaction(conn, |tx| {
                let current = match select_value(tx, &store, &key)? {
                    None => 0,
                    Some(bytes) => decode_counter(&bytes).ok_or_else(|| {
                        KvError(format!(
                            "cannot increment {key:?}: its value is {} bytes, not an 8-byte little-endian integer",
                            bytes.len()
                        ))
                    })?,
                };
                let next = current.checked_add(delta).ok_or_else(|| {
                    KvError(format!(
                        "cannot increment {key:?}: {current} + {delta} overflows a 64-bit integer"
                    ))
                })?;
                upsert(tx, &store, &key, &next.to_le_bytes())?;
                Ok(next)
            })
        })
        .await
    }

    /// The compare-and-swap write: with `expected = Some(old)`, writes `value` only if the key
    /// still holds exactly `old`; with `expected = None`, upserts unconditionally (Spin's
    /// behaviour when the key was absent or never read). Atomic (one transaction).
    pub async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<SwapOutcome, KvError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.with_connection_quick(move |conn| {
            in_transaction(conn, |tx| {
                let changed = match &expected {
                    Some(old) => tx
                        .prepare_cached(
                            "UPDATE spin_key_value SET value = ?4 \
                             WHERE store = ?1 AND key = ?2 AND value = ?3",
                        )
                        .and_then(|mut stmt| stmt.execute(params![store, key, old, value]))
                        .map_err(|e| KvError::sqlite("compare-and-swap failed", e))?,
                    None => {
                        upsert(tx, &store, &key, &value)?;
                        1
                    }
                };
                Ok(if changed == 1 {
                    SwapOutcome::Swapped
                } else {
                    SwapOutcome::Conflict
                })
            })
        })
        .await
    }
}

/// Locks the connection; a poisoned lock (a panic while it was held) is recovered, since any
/// transaction open at the panic was rolled back when it was dropped.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `work` on the connection if nobody holds it (recovering a poisoned lock as [`lock`]
/// does), else hands `work` back.
fn run_if_free<R, F>(connection: &Mutex<Connection>, work: F) -> Result<Result<R, KvError>, F>
where
    F: FnOnce(&mut Connection) -> Result<R, KvError>,
{
    match connection.try_lock() {
        Ok(mut connection) => Ok(work(&mut connection)),
        Err(TryLockError::Poisoned(poisoned)) => Ok(work(&mut poisoned.into_inner())),
        Err(TryLockError::WouldBlock) => Err(work),
    }
}

/// Decodes a counter written by `increment`.
fn decode_counter(bytes: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(bytes).ok().map(i64::from_le_bytes)
}

fn select_value(conn: &Connection, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    conn.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![store, key], |row| row.get::<_, Vec<u8>>(0))
                .optional()
        })
        .map_err(|e| KvError::sqlite("get failed", e))
}

fn upsert(conn: &Connection, store: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
    conn.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut stmt| stmt.execute(params![store, key, value]))
    .map(drop)
    .map_err(|e| KvError::sqlite("set failed", e))
}

/// Runs `work` in a `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so a
/// read-modify-write cannot interleave with another writer), committing on success.
fn in_transaction<R>(
    conn: &mut Connection,
    work: impl FnOnce(&Connection) -> Result<R, KvError>,
) -> Result<R, KvError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| KvError::sqlite("cannot begin a transaction", e))?;
    let result = work(&tx)?;
    tx.commit()
        .map_err(|e| KvError::sqlite("cannot commit a transaction", e))?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORE: &str = "default";

    fn kv() -> SqliteKv {
        SqliteKv::open_in_memory().expect("in-memory database")
    }

    #[tokio::test]
    async fn get_set_delete_exists_keys() {
        let kv = kv();
        assert_eq!(kv.get(STORE, "a").await, Ok(None));
        assert_eq!(kv.exists(STORE, "a").await, Ok(false));
        kv.set(STORE, "b", b"2".to_vec()).await.expect("set");
        kv.set(STORE, "a", b"1".to_vec()).await.expect("set");
        kv.set(STORE, "a", b"one".to_vec())
            .await
            .expect("overwrite");
        kv.set("other", "z", b"x".to_vec()).await.expect("set");
        assert_eq!(kv.get(STORE, "a").await, Ok(Some(b"one".to_vec())));
        assert_eq!(kv.exists(STORE, "a").await, Ok(true));
        assert_eq!(kv.keys(STORE).await, Ok(vec!["a".into(), "b".into()]));
        kv.delete(STORE, "a").await.expect("delete");
        kv.delete(STORE, "a")
            .await
            .expect("deleting an absent key succeeds");
        assert_eq!(kv.keys(STORE).await, Ok(vec!["b".into()]));
        assert_eq!(kv.keys("other").await, Ok(vec!["z".into()]));
    }

    #[tokio::test]
    async fn increment_counts_from_zero_in_little_endian() {
        let kv = kv();
        assert_eq!(kv.increment(STORE, "n", 1).await, Ok(1));
        assert_eq!(kv.increment(STORE, "n", 2).await, Ok(3));
        assert_eq!(kv.increment(STORE, "n", -10).await, Ok(-7));
        assert_eq!(
            kv.get(STORE, "n").await,
            Ok(Some((-7i64).to_le_bytes().to_vec()))
        );
    }

    #[tokio::test]
    async fn increment_rejects_non_counters_and_overflow() {
        let kv = kv();
        kv.set(STORE, "s", b"hello".to_vec()).await.expect("set");
        assert!(kv.increment(STORE, "s", 1).await.is_err());
        assert_eq!(kv.get(STORE, "s").await, Ok(Some(b"hello".to_vec())));
        kv.set(STORE, "m", i64::MAX.to_le_bytes().to_vec())
            .await
            .expect("set");
        assert!(kv.increment(STORE, "m", 1).await.is_err());
        assert_eq!(kv.increment(STORE, "m", -1).await, Ok(i64::MAX - 1));
    }

    #[tokio::test]
    async fn concurrent_increments_lose_nothing() {
        let kv = kv();
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let kv = kv.clone();
                tokio::spawn(async move { kv.increment(STORE, "c", 1).await })
            })
            .collect();
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.expect("join").expect("increment"));
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=32).collect::<Vec<i64>>());
    }

    #[tokio::test]
    async fn swap_succeeds_when_unchanged_and_fails_after_a_write() {
        let kv = kv();
        kv.set(STORE, "k", b"v1".to_vec()).await.expect("set");
        let seen = kv.get(STORE, "k").await.expect("get");
        assert_eq!(
            kv.swap(STORE, "k", seen.clone(), b"v2".to_vec()).await,
            Ok(SwapOutcome::Swapped)
        );
        // The same expectation is now stale.
        assert_eq!(
            kv.swap(STORE, "k", seen, b"v3".to_vec()).await,
            Ok(SwapOutcome::Conflict)
        );
        assert_eq!(kv.get(STORE, "k").await, Ok(Some(b"v2".to_vec())));
        // A delete also makes the swap fail.
        kv.delete(STORE, "k").await.expect("delete");
        assert_eq!(
            kv.swap(STORE, "k", Some(b"v2".to_vec()), b"v4".to_vec())
                .await,
            Ok(SwapOutcome::Conflict)
        );
        assert_eq!(kv.get(STORE, "k").await, Ok(None));
    }

    #[tokio::test]
    async fn swap_without_expectation_upserts_unconditionally() {
        let kv = kv();
        assert_eq!(
            kv.swap(STORE, "new", None, b"a".to_vec()).await,
            Ok(SwapOutcome::Swapped)
        );
        // Spin's behaviour: even though the key now exists, a swap that expected "absent"
        // still overwrites it.
        assert_eq!(
            kv.swap(STORE, "new", None, b"b".to_vec()).await,
            Ok(SwapOutcome::Swapped)
        );
        assert_eq!(kv.get(STORE, "new").await, Ok(Some(b"b".to_vec())));
    }

    #[tokio::test]
    async fn batch_operations() {
        let kv = kv();
        kv.set_many(
            STORE,
            vec![("x".into(), b"1".to_vec()), ("y".into(), b"2".to_vec())],
        )
        .await
        .expect("set_many");
        assert_eq!(
            kv.get_many(STORE, vec!["y".into(), "missing".into(), "x".into()])
                .await,
            Ok(vec![
                ("y".into(), b"2".to_vec()),
                ("x".into(), b"1".to_vec())
            ])
        );
        kv.delete_many(STORE, vec!["x".into(), "missing".into()])
            .await
            .expect("delete_many");
        assert_eq!(kv.keys(STORE).await, Ok(vec!["y".into()]));
    }

    #[tokio::test]
    async fn data_survives_reopening_the_file() {
        let dir = std::env::temp_dir().join(format!("scim-host-kv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("kv.db");
        let _ = std::fs::remove_file(&path);
        {
            let kv = SqliteKv::open(&path).expect("open");
            kv.set(STORE, "k", b"kept".to_vec()).await.expect("set");
        }
        let kv = SqliteKv::open(&path).expect("reopen");
        assert_eq!(kv.get(STORE, "k").await, Ok(Some(b"kept".to_vec())));
        drop(kv);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
