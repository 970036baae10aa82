//! The key-value operations the service needs, over Spin's stores (see `spin_kv`) or, for native
//! tests, memory. Compare-and-swap guards every read-modify-write; increment claims unique names.
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A storage failure (reported to clients as a 500, logged with this text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

/// Key-value storage with the atomic operations Spin links (`wasi:keyvalue/atomics`).
#[allow(async_fn_in_trait)]
pub trait Kv {
    /// The value at `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sets `key` unconditionally (last writer wins).
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deletes `key` (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key starting with `prefix`.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Replaces the value at `key` with `new` only if it still equals `expected`; false when it
    /// changed meanwhile (the caller re-reads and retries).
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError>;
    /// Atomically adds `delta` to the counter at `key` (absent = 0) and returns the new value.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
}

/// An in-memory store for tests (single-threaded, like one wasm instance).
#[derive(Debug, Default)]
pub struct MemoryKv {
    data: RefCell<BTreeMap<String, Vec<u8>>>,
}

impl Kv for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.data.borrow().get(key).cloned())
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.data
            .borrow_mut()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.data.borrow_mut().remove(key);
        Ok(())
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .data
            .borrow()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let mut data = self.data.borrow_mut();
        if data.get(key).map(Vec::as_slice) != Some(expected) {
            return Ok(false);
        }
        data.insert(key.to_string(), new.to_vec());
        Ok(true)
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let mut data = self.data.borrow_mut();
        let current = data
            .get(key)
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(i64::from_le_bytes)
            .unwrap_or(0);
        let next = current.saturating_add(delta);
        data.insert(key.to_string(), next.to_le_bytes().to_vec());
        Ok(next)
    }
}
