//! Test doubles for the storage layer (feature `testing`): stores that fail the way real ones
//! do, to prove the service's guarantees.
//! - [`FaultyKv`] stops after its k-th write (a `kill -9` between two key-value operations):
//!   every operation from then on fails;
//! - [`MisreportingKv`] answers every compare-and-swap wrongly, both ways, as Spin's Redis
//!   backend does (a landed write reported failed, a dropped write reported done);
//! - [`InterleavingKv`] yields to the executor before each operation, so requests run on one
//!   thread with `join_all` interleave at every key-value call, in a seeded pseudo-random order
//!   (and a pause is a number of turns).
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Kv, StoreError};

/// A store that stops after `limit` writes (set, delete, swap, increment): the writes before
/// happen, everything after fails.
#[derive(Debug)]
pub struct FaultyKv<K> {
    inner: K,
    limit: usize,
    writes: Cell<usize>,
}

impl<K> FaultyKv<K> {
    /// `inner`, stopping after `limit` writes.
    pub fn new(inner: K, limit: usize) -> Self {
        FaultyKv {
            inner,
            limit,
            writes: Cell::new(0),
        }
    }

    /// The writes attempted so far (those past the limit included).
    pub fn writes(&self) -> usize {
        self.writes.get()
    }

    /// Whether the store has stopped.
    pub fn stopped(&self) -> bool {
        self.writes.get() > self.limit
    }

    /// The store underneath, as the crash left it.
    pub fn into_inner(self) -> K {
        self.inner
    }

    fn alive(&self) -> Result<(), StoreError> {
        if self.stopped() {
            Err(StoreError("the store stopped (injected fault)".into()))
        } else {
            Ok(())
        }
    }

    fn write(&self) -> Result<(), StoreError> {
        self.writes.set(self.writes.get() + 1);
        self.alive()
    }
}

impl<K: Kv> Kv for FaultyKv<K> {
    type Swap = K::Swap;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.alive()?;
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.alive()?;
        self.inner.get_many(keys).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write()?;
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.write()?;
        self.inner.delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        // Not atomic on every backend: each key is a write of its own.
        for key in keys {
            self.write()?;
            self.inner.delete(key).await?;
        }
        Ok(())
    }
    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.alive()?;
        self.inner.keys().await
    }
    async fn read_for_swap(&self, key: &str) -> Result<(Option<Vec<u8>>, K::Swap), StoreError> {
        self.alive()?;
        self.inner.read_for_swap(key).await
    }
    async fn swap(&self, swap: K::Swap, new: &[u8]) -> Result<bool, StoreError> {
        self.write()?;
        self.inner.swap(swap, new).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.write()?;
        self.inner.increment(key, delta).await
    }
    async fn pause(&self, pause: Duration) {
        self.inner.pause(pause).await;
    }
}

/// A store whose compare-and-swap always reports the opposite of what happened.
#[derive(Debug, Default)]
pub struct MisreportingKv<K> {
    inner: K,
    swaps: Cell<usize>,
}

impl<K> MisreportingKv<K> {
    /// `inner`, lying about every swap.
    pub fn new(inner: K) -> Self {
        MisreportingKv {
            inner,
            swaps: Cell::new(0),
        }
    }

    /// How many swaps it has misreported.
    pub fn lies(&self) -> usize {
        self.swaps.get()
    }

    /// The store underneath.
    pub fn inner(&self) -> &K {
        &self.inner
    }
}

impl<K: Kv> Kv for MisreportingKv<K> {
    type Swap = K::Swap;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.inner.get_many(keys).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete_many(keys).await
    }
    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.inner.keys().await
    }
    async fn read_for_swap(&self, key: &str) -> Result<(Option<Vec<u8>>, K::Swap), StoreError> {
        self.inner.read_for_swap(key).await
    }
    async fn swap(&self, swap: K::Swap, new: &[u8]) -> Result<bool, StoreError> {
        let landed = self.inner.swap(swap, new).await?;
        self.swaps.set(self.swaps.get() + 1);
        Ok(!landed)
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta).await
    }
    async fn pause(&self, pause: Duration) {
        self.inner.pause(pause).await;
    }
}

/// A store that yields to the executor 0–3 times (seeded) before every operation.
#[derive(Debug)]
pub struct InterleavingKv<K> {
    inner: K,
    state: Cell<u64>,
}

impl<K> InterleavingKv<K> {
    /// `inner`, interleaving by `seed`.
    pub fn new(inner: K, seed: u64) -> Self {
        InterleavingKv {
            inner,
            state: Cell::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        }
    }

    /// The store underneath.
    pub fn inner(&self) -> &K {
        &self.inner
    }

    async fn shuffle(&self) {
        // xorshift64
        let mut x = self.state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.set(x);
        for _ in 0..(x % 4) {
            YieldOnce(false).await;
        }
    }
}

/// Returns pending once (waking itself), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl<K: Kv> Kv for InterleavingKv<K> {
    type Swap = K::Swap;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.shuffle().await;
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.shuffle().await;
        self.inner.get_many(keys).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.shuffle().await;
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.shuffle().await;
        self.inner.delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.shuffle().await;
        self.inner.delete_many(keys).await
    }
    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.shuffle().await;
        self.inner.keys().await
    }
    async fn read_for_swap(&self, key: &str) -> Result<(Option<Vec<u8>>, K::Swap), StoreError> {
        self.shuffle().await;
        self.inner.read_for_swap(key).await
    }
    async fn swap(&self, swap: K::Swap, new: &[u8]) -> Result<bool, StoreError> {
        self.shuffle().await;
        self.inner.swap(swap, new).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.shuffle().await;
        self.inner.increment(key, delta).await
    }
    /// Time is scheduler turns here: a pause lets the other requests run about one
    /// operation per 20 µs asked for, as a real timer would.
    async fn pause(&self, pause: Duration) {
        let turns = (pause.as_micros() / 20).clamp(1, 2_000);
        for _ in 0..turns {
            YieldOnce(false).await;
        }
    }
}
