//! [`MemoryKv`]: an in-memory [`Kv`] for native tests and the development server, with Spin's
//! SQLite semantics (increments are 8-byte little-endian integers; a swap compares the value its
//! read saw and writes only on a match).
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use super::{Kv, StoreError};

/// An in-memory store (single-threaded, like one wasm instance).
#[derive(Debug, Default)]
pub struct MemoryKv {
    data: RefCell<BTreeMap<String, Vec<u8>>>,
}

impl MemoryKv {
    /// Every key and value, in key order (tests compare whole stores).
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.data.borrow().clone()
    }

    /// A store holding exactly `data`.
    pub fn from_snapshot(data: BTreeMap<String, Vec<u8>>) -> Self {
        MemoryKv {
            data: RefCell::new(data),
        }
    }
}

/// A pending swap: the key and the value seen when it was read.
#[derive(Debug)]
pub struct MemorySwap {
    key: String,
    seen: Option<Vec<u8>>,
}

impl Kv for MemoryKv {
    type Swap = MemorySwap;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.data.borrow().get(key).cloned())
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let data = self.data.borrow();
        Ok(keys.iter().map(|k| data.get(k).cloned()).collect())
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
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut data = self.data.borrow_mut();
        for key in keys {
            data.remove(key);
        }
        Ok(())
    }
    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.data.borrow().keys().cloned().collect())
    }
    async fn read_for_swap(&self, key: &str) -> Result<(Option<Vec<u8>>, MemorySwap), StoreError> {
        let seen = self.data.borrow().get(key).cloned();
        Ok((
            seen.clone(),
            MemorySwap {
                key: key.to_string(),
                seen,
            },
        ))
    }
    async fn swap(&self, swap: MemorySwap, new: &[u8]) -> Result<bool, StoreError> {
        let mut data = self.data.borrow_mut();
        // Spin's SQLite backend upserts when the key was absent at the read.
        if swap.seen.is_some() && data.get(&swap.key) != swap.seen.as_ref() {
            return Ok(false);
        }
        data.insert(swap.key, new.to_vec());
        Ok(true)
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let mut data = self.data.borrow_mut();
        let current = match data.get(key) {
            None => 0,
            Some(v) => <[u8; 8]>::try_from(v.as_slice())
                .map(i64::from_le_bytes)
                .map_err(|_| StoreError(format!("increment of {key:?}: not a counter")))?,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| StoreError(format!("increment of {key:?} overflows")))?;
        data.insert(key.to_string(), next.to_le_bytes().to_vec());
        Ok(next)
    }
    async fn pause(&self, _pause: Duration) {}
}
