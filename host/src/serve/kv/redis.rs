//! [`RedisKv`]: Spin's `redis` key-value store type, laid out as Spin's own backend lays it
//! out (`crates/key-value-redis`), so that `spin up` and `scim-host serve` can share one Redis:
//! - every key is a plain Redis string under exactly the key the guest named; the store label
//!   is ignored (Spin ignores it too: two labels on one Redis share one key space);
//! - values are the guest's bytes, unchanged (`SET`/`GET`, `MSET`/`MGET`);
//! - `increment` is `INCRBY`, so a counter is a decimal string, and a value that is not one
//!   is Redis's error with nothing written.
//!
//! Compare-and-swap is one Lua script run atomically by Redis, comparing the value the
//! handle's `current` read with the stored one ([`SwapExpectation`]). Spin instead WATCHes the key
//! and sends MULTI/SET/EXEC; Spin 4.1's version misreports the result both ways (an `UNWATCH`
//! with an argument, which Redis refuses, turns a landed write into a failure, and an aborted
//! EXEC converts to success). The script gives the same answer as a correct WATCH would,
//! except that a value changed and changed back in between (A-B-A) still matches, as it does
//! on Spin's SQLite backend.
//!
//! One multiplexed connection ([`ConnectionManager`]) serves every request and reconnects
//! by itself; commands time out after [`RESPONSE_TIMEOUT`].

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncConnectionConfig, Client, Script};

use super::{KvError, SwapExpectation, SwapOutcome};

/// How long connecting may take (at start-up and on every reconnect).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one command may wait for Redis's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a lost connection is retried before a command fails.
const RECONNECT_RETRIES: usize = 3;
/// Keys asked for per `SCAN` step when listing.
const SCAN_BATCH: usize = 1000;

/// The compare-and-swap script. `ARGV[1]` says what the handle expected: `value` (then
/// `ARGV[2]` is the expected value), `absent`, or `unread` (write unconditionally). Returns 1
/// when the new value (`ARGV[3]`) was written, 0 when not.
const SWAP_SCRIPT: &str = r"
local mode = ARGV[1]
if mode == 'value' then
  if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
elseif mode == 'absent' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
";

/// A connection to one Redis server (or cluster proxy): cheap to clone, shared by all
/// requests.
#[derive(Clone)]
pub struct RedisKv {
    connection: ConnectionManager,
    address: String,
    swap: Script,
}

impl std::fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKv")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn redis_error(operation: &str, error: redis::RedisError) -> KvError {
    KvError(format!("Redis {operation} failed: {error}"))
}

impl RedisKv {
    /// Connects to the Redis server at `url` (`redis://[user:password@]host[:port][/db]` or
    /// `redis+unix:///path`) and checks that it answers `PING`. Fails on a malformed URL, a
    /// TLS URL (`rediss://`: not built in), or a server that cannot be reached within 5 s.
    pub async fn connect(url: &str) -> Result<Self, KvError> {
        let client =
            Client::open(url).map_err(|e| KvError(format!("invalid Redis URL {url:?}: {e}")))?;
        let address = client.get_connection_info().addr().to_string();
        if url.starts_with("rediss:") {
            return Err(KvError(format!(
                "cannot connect to Redis at {address}: TLS (rediss://) is not supported by scim-host serve"
            )));
        }
        // The first connection is made once, with the connect timeout and no retries, so
        // an unreachable server fails fast; the manager then reconnects on its own.
        let probe = client
            .get_multiplexed_async_connection_with_config(
                &AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(CONNECT_TIMEOUT)),
            )
            .await;
        let mut probe =
            probe.map_err(|e| KvError(format!("cannot connect to Redis at {address}: {e}")))?;
        redis::cmd("PING")
            .query_async::<()>(&mut probe)
            .await
            .map_err(|e| KvError(format!("Redis at {address} does not answer PING: {e}")))?;
        drop(probe);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| KvError(format!("cannot connect to Redis at {address}: {e}")))?;
        Ok(RedisKv {
            connection,
            address,
            swap: Script::new(SWAP_SCRIPT),
        })
    }

    async fn query<T: redis::FromRedisValue>(
        &self,
        operation: &str,
        command: &redis::Cmd,
    ) -> Result<T, KvError> {
        command
            .query_async(&mut self.connection.clone())
            .await
            .map_err(|e| redis_error(operation, e))
    }

    /// `GET key` (the store label is ignored, as by Spin).
    pub async fn get(&self, _store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.query("GET", redis::cmd("GET").arg(key)).await
    }

    /// `SET key value`.
    pub async fn set(&self, _store: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.query("SET", redis::cmd("SET").arg(key).arg(value))
            .await
    }

    /// `DEL key`; deleting an absent key succeeds.
    pub async fn delete(&self, _store: &str, key: &str) -> Result<(), KvError> {
        self.query::<i64>("DEL", redis::cmd("DEL").arg(key))
            .await
            .map(drop)
    }

    /// `EXISTS key`.
    pub async fn exists(&self, _store: &str, key: &str) -> Result<bool, KvError> {
        self.query("EXISTS", redis::cmd("EXISTS").arg(key)).await
    }

    /// Every key of the database (`SCAN`, which does not block the server as `KEYS *`
    /// would), sorted.
    pub async fn keys(&self, _store: &str) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor = 0_u64;
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .query(
                    "SCAN",
                    redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(SCAN_BATCH),
                )
                .await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key more than once while the key space is being rehashed.
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// `MGET`: the existing keys' values, in the order of `keys` (absent keys left out).
    pub async fn get_many(
        &self,
        _store: &str,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Vec<u8>)>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<Vec<u8>>> =
            self.query("MGET", redis::cmd("MGET").arg(&keys)).await?;
        Ok(keys
            .into_iter()
            .zip(values)
            .filter_map(|(key, value)| value.map(|value| (key, value)))
            .collect())
    }

    /// `MSET`: all pairs written at once.
    pub async fn set_many(
        &self,
        _store: &str,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), KvError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut command = redis::cmd("MSET");
        for (key, value) in &pairs {
            command.arg(key).arg(value);
        }
        self.query("MSET", &command).await
    }

    /// `DEL key...`: all removed at once.
    pub async fn delete_many(&self, _store: &str, keys: Vec<String>) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.query::<i64>("DEL", redis::cmd("DEL").arg(&keys))
            .await
            .map(drop)
    }

    /// `INCRBY key delta`: the counter is a decimal string; a missing key counts from 0, a
    /// value that is not an integer or a sum that overflows is an error (nothing written).
    pub async fn increment(&self, _store: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        self.query("INCRBY", redis::cmd("INCRBY").arg(key).arg(delta))
            .await
            .map_err(|KvError(message)| KvError(format!("cannot increment {key:?}: {message}")))
    }

    /// The compare-and-swap write, one atomic script (see the module doc).
    pub async fn swap(
        &self,
        key: &str,
        expected: SwapExpectation,
        value: Vec<u8>,
    ) -> Result<SwapOutcome, KvError> {
        let mut invocation = self.swap.key(key);
        match expected {
            SwapExpectation::Value(old) => invocation.arg("value").arg(old),
            SwapExpectation::Absent => invocation.arg("absent").arg(""),
            SwapExpectation::Unread => invocation.arg("unread").arg(""),
        };
        invocation.arg(value);
        let written: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(|e| redis_error("compare-and-swap", e))?;
        Ok(if written == 1 {
            SwapOutcome::Swapped
        } else {
            SwapOutcome::Conflict
        })
    }
}
