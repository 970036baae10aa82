//! Host implementations of `spin:key-value@3.0.0`, `spin:variables@3.0.0` and
//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) over [`KvStore`] (any backend) and
//! [`Variables`](super::variables::Variables), with Spin's observable behaviour.
//!
//! Compare-and-swap follows Spin: `cas.new` only records the key; `cas.current` reads the
//! value and remembers what it saw ([`SwapExpectation`]); `swap` writes only if the key still
//! matches (what happens when the key was absent at `current`, or `current` was never called,
//! is the backend's, as in Spin: see [`SwapExpectation`]). On a conflict `swap` returns
//! `cas-failed` with a fresh handle whose `current` has already been read.

use wasmtime::component::{Accessor, FutureReader, HasData, Resource, StreamReader};

use super::bindings::spin::key_value::key_value as spin_kv;
use super::bindings::spin::variables::variables as spin_vars;
use super::bindings::wasi::keyvalue::{atomics, batch, store as wasi_kv};
use super::kv::{KvError, KvStore, SwapExpectation, SwapOutcome};
use super::state::{CasHandle, DEFAULT_STORE, InstanceState, OpenStore, TABLE_CAPACITY};
use super::variables::VariableError;

/// Marker for the `Accessor`-style (WIT `async`) host functions: their data is the whole
/// [`InstanceState`].
pub(crate) struct SpinHost;

impl HasData for SpinHost {
    type Data<'a> = &'a mut InstanceState;
}

// ---------------------------------------------------------------------------------------------
// Store and CAS handles shared by both key-value interfaces.

/// Why opening a store failed, mapped to each interface's error variant by the caller.
enum OpenError {
    AccessDenied,
    TableFull,
    Other(String),
}

impl InstanceState {
    fn open_store(&mut self, label: String) -> Result<Resource<OpenStore>, OpenError> {
        if label != DEFAULT_STORE {
            return Err(OpenError::AccessDenied);
        }
        if self.open_stores >= TABLE_CAPACITY {
            return Err(OpenError::TableFull);
        }
        let handle = self
            .table
            .push(OpenStore { label })
            .map_err(|e| OpenError::Other(e.to_string()))?;
        self.open_stores += 1;
        Ok(handle)
    }

    fn close_store(&mut self, handle: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        self.open_stores = self.open_stores.saturating_sub(1);
        Ok(())
    }

    /// The label of an open store handle.
    fn store_label(&self, handle: &Resource<OpenStore>) -> Result<String, KvError> {
        self.table
            .get(handle)
            .map(|store| store.label.clone())
            .map_err(|e| KvError(format!("invalid store handle: {e}")))
    }

    fn push_cas(&mut self, cas: CasHandle) -> Result<Resource<CasHandle>, wasi_kv::Error> {
        if self.open_cas >= TABLE_CAPACITY {
            return Err(wasi_kv::Error::Other(
                "too many compare_and_swaps opened".into(),
            ));
        }
        let handle = self
            .table
            .push(cas)
            .map_err(|e| wasi_kv::Error::Other(e.to_string()))?;
        self.open_cas += 1;
        Ok(handle)
    }

    fn take_cas(&mut self, handle: Resource<CasHandle>) -> Result<CasHandle, KvError> {
        let cas = self
            .table
            .delete(handle)
            .map_err(|e| KvError(format!("invalid compare-and-swap handle: {e}")))?;
        self.open_cas = self.open_cas.saturating_sub(1);
        Ok(cas)
    }
}

// ---------------------------------------------------------------------------------------------
// spin:key-value/key-value@3.0.0

fn spin_error(error: KvError) -> spin_kv::Error {
    spin_kv::Error::Other(error.0)
}

impl spin_kv::Host for InstanceState {}

impl spin_kv::HostStore for InstanceState {
    fn drop(&mut self, handle: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.close_store(handle)
    }
}

/// The database and store label behind `handle`, read under the store lock.
fn spin_target<T>(
    accessor: &Accessor<T, SpinHost>,
    handle: &Resource<OpenStore>,
) -> Result<(KvStore, String), spin_kv::Error> {
    accessor.with(|mut access| {
        let state = access.get();
        let label = state.store_label(handle).map_err(spin_error)?;
        Ok((state.kv.clone(), label))
    })
}

impl<T> spin_kv::HostStoreWithStore<T> for SpinHost {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> Result<Resource<OpenStore>, spin_kv::Error> {
        accessor.with(|mut access| {
            access.get().open_store(label).map_err(|e| match e {
                OpenError::AccessDenied => spin_kv::Error::AccessDenied,
                OpenError::TableFull => spin_kv::Error::StoreTableFull,
                OpenError::Other(message) => spin_kv::Error::Other(message),
            })
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, spin_kv::Error> {
        let (kv, label) = spin_target(accessor, &handle)?;
        kv.get(&label, &key).await.map_err(spin_error)
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), spin_kv::Error> {
        let (kv, label) = spin_target(accessor, &handle)?;
        kv.set(&label, &key, value).await.map_err(spin_error)
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
    ) -> Result<(), spin_kv::Error> {
        let (kv, label) = spin_target(accessor, &handle)?;
        kv.delete(&label, &key).await.map_err(spin_error)
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
    ) -> Result<bool, spin_kv::Error> {
        let (kv, label) = spin_target(accessor, &handle)?;
        kv.exists(&label, &key).await.map_err(spin_error)
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
    ) -> wasmtime::Result<(
        StreamReader<String>,
        FutureReader<Result<(), spin_kv::Error>>,
    )> {
        // The keys are read in one query, then handed to the guest through the stream as it
        // reads; the future reports whether the listing was complete.
        let listed = match spin_target(accessor, &handle) {
            Ok((kv, label)) => kv.keys(&label).await.map_err(spin_error),
            Err(error) => Err(error),
        };
        let (keys, result) = match listed {
            Ok(keys) => (keys, Ok(())),
            Err(error) => (Vec::new(), Err(error)),
        };
        accessor.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let future =
                FutureReader::new(
                    &mut access,
                    async move { wasmtime::Result::<_>::Ok(result) },
                )?;
            Ok((stream, future))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// spin:variables/variables@3.0.0

impl spin_vars::Host for InstanceState {}

impl<T> spin_vars::HostWithStore<T> for SpinHost {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> Result<String, spin_vars::Error> {
        accessor.with(|mut access| {
            access
                .get()
                .variables
                .get(&name)
                .map(str::to_owned)
                .map_err(|e| match e {
                    VariableError::InvalidName(message) => spin_vars::Error::InvalidName(message),
                    VariableError::Undefined(message) => spin_vars::Error::Undefined(message),
                })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// wasi:keyvalue@0.2.0-draft2

fn wasi_error(error: KvError) -> wasi_kv::Error {
    wasi_kv::Error::Other(error.0)
}

impl InstanceState {
    fn wasi_target(
        &self,
        handle: &Resource<OpenStore>,
    ) -> Result<(KvStore, String), wasi_kv::Error> {
        let label = self.store_label(handle).map_err(wasi_error)?;
        Ok((self.kv.clone(), label))
    }
}

impl wasi_kv::Host for InstanceState {
    async fn open(&mut self, identifier: String) -> Result<Resource<OpenStore>, wasi_kv::Error> {
        self.open_store(identifier).map_err(|e| match e {
            OpenError::AccessDenied => wasi_kv::Error::AccessDenied,
            OpenError::TableFull => wasi_kv::Error::Other("store table full".into()),
            OpenError::Other(message) => wasi_kv::Error::Other(message),
        })
    }
}

impl wasi_kv::HostBucket for InstanceState {
    async fn get(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, wasi_kv::Error> {
        let (kv, label) = self.wasi_target(&bucket)?;
        kv.get(&label, &key).await.map_err(wasi_error)
    }

    async fn set(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), wasi_kv::Error> {
        let (kv, label) = self.wasi_target(&bucket)?;
        kv.set(&label, &key, value).await.map_err(wasi_error)
    }

    async fn delete(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> Result<(), wasi_kv::Error> {
        let (kv, label) = self.wasi_target(&bucket)?;
        kv.delete(&label, &key).await.map_err(wasi_error)
    }

    async fn exists(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> Result<bool, wasi_kv::Error> {
        let (kv, label) = self.wasi_target(&bucket)?;
        kv.exists(&label, &key).await.map_err(wasi_error)
    }

    /// All keys in one response; a cursor is an error (Spin does not support paging either).
    async fn list_keys(
        &mut self,
        bucket: Resource<OpenStore>,
        cursor: Option<String>,
    ) -> Result<wasi_kv::KeyResponse, wasi_kv::Error> {
        if cursor.is_some() {
            return Err(wasi_kv::Error::Other(
                "list_keys: cursor not supported".into(),
            ));
        }
        let (kv, label) = self.wasi_target(&bucket)?;
        let keys = kv.keys(&label).await.map_err(wasi_error)?;
        Ok(wasi_kv::KeyResponse { keys, cursor: None })
    }

    async fn drop(&mut self, bucket: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.close_store(bucket)
    }
}

impl atomics::Host for InstanceState {
    async fn increment(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
        delta: i64,
    ) -> Result<i64, wasi_kv::Error> {
        let (kv, label) = self.wasi_target(&bucket)?;
        kv.increment(&label, &key, delta).await.map_err(wasi_error)
    }

    async fn swap(
        &mut self,
        cas: Resource<CasHandle>,
        value: Vec<u8>,
    ) -> Result<(), atomics::CasError> {
        let cas = self
            .take_cas(cas)
            .map_err(|e| atomics::CasError::StoreError(wasi_error(e)))?;
        let outcome = self
            .kv
            .swap(&cas.label, &cas.key, cas.expected, value)
            .await
            .map_err(|e| atomics::CasError::StoreError(wasi_error(e)))?;
        match outcome {
            SwapOutcome::Swapped => Ok(()),
            SwapOutcome::Conflict => {
                // Like Spin: hand back a new handle on the same key, already `current`-read.
                let current = self
                    .kv
                    .get(&cas.label, &cas.key)
                    .await
                    .map_err(|e| atomics::CasError::StoreError(wasi_error(e)))?;
                let fresh = self
                    .push_cas(CasHandle {
                        label: cas.label,
                        key: cas.key,
                        expected: SwapExpectation::from_current(current),
                    })
                    .map_err(atomics::CasError::StoreError)?;
                Err(atomics::CasError::CasFailed(fresh))
            }
        }
    }
}

impl atomics::HostCas for InstanceState {
    /// Records the key only; the value to compare against is read by `current` (Spin's
    /// behaviour).
    async fn new(
        &mut self,
        bucket: Resource<OpenStore>,
        key: String,
    ) -> Result<Resource<CasHandle>, wasi_kv::Error> {
        let label = self.store_label(&bucket).map_err(wasi_error)?;
        self.push_cas(CasHandle {
            label,
            key,
            expected: SwapExpectation::Unread,
        })
    }

    /// Reads the key's value and remembers it as the value `swap` expects.
    async fn current(
        &mut self,
        cas: Resource<CasHandle>,
    ) -> Result<Option<Vec<u8>>, wasi_kv::Error> {
        let (label, key) = {
            let handle = self
                .table
                .get(&cas)
                .map_err(|e| wasi_kv::Error::Other(e.to_string()))?;
            (handle.label.clone(), handle.key.clone())
        };
        let value = self.kv.get(&label, &key).await.map_err(wasi_error)?;
        let handle = self
            .table
            .get_mut(&cas)
            .map_err(|e| wasi_kv::Error::Other(e.to_string()))?;
        handle.expected = SwapExpectation::from_current(value.clone());
        Ok(value)
    }

    async fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        self.open_cas = self.open_cas.saturating_sub(1);
        Ok(())
    }
}

impl batch::Host for InstanceState {
    /// The existing keys only, as Spin's SQLite backend answers (absent keys are left out).
    async fn get_many(
        &mut self,
        bucket: Resource<OpenStore>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, wasi_kv::Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (kv, label) = self.wasi_target(&bucket)?;
        let found = kv.get_many(&label, keys).await.map_err(wasi_error)?;
        Ok(found.into_iter().map(|(k, v)| (k, Some(v))).collect())
    }

    async fn set_many(
        &mut self,
        bucket: Resource<OpenStore>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), wasi_kv::Error> {
        if key_values.is_empty() {
            return Ok(());
        }
        let (kv, label) = self.wasi_target(&bucket)?;
        kv.set_many(&label, key_values).await.map_err(wasi_error)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<OpenStore>,
        keys: Vec<String>,
    ) -> Result<(), wasi_kv::Error> {
        if keys.is_empty() {
            return Ok(());
        }
        let (kv, label) = self.wasi_target(&bucket)?;
        kv.delete_many(&label, keys).await.map_err(wasi_error)
    }
}
