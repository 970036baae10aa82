//! The data of one instance's store (an instance serves many requests, see `worker`): WASI and
//! wasi:http contexts, the resource table, the memory cap, and handles to the shared key-value
//! store and variables.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::kv::{KvStore, SwapExpectation};
use super::variables::Variables;

/// The only key-value store label the component may open (Spin's `default` store); any other
/// label is `access-denied`, as for a store the manifest does not grant.
pub(crate) const DEFAULT_STORE: &str = "default";

/// How many stores (spin:key-value stores and wasi:keyvalue buckets together) and how many
/// compare-and-swap handles one instance may hold open at once, like Spin's tables.
pub(crate) const TABLE_CAPACITY: usize = 256;

/// What every instance shares.
pub(crate) struct Shared {
    pub(crate) kv: KvStore,
    pub(crate) variables: Arc<Variables>,
}

/// An open `spin:key-value` store or `wasi:keyvalue` bucket (both are Spin's `default` store).
pub struct OpenStore {
    pub(crate) label: String,
}

/// A `wasi:keyvalue/atomics.cas` handle: the key and what its last `current()` read.
pub struct CasHandle {
    pub(crate) label: String,
    pub(crate) key: String,
    pub(crate) expected: SwapExpectation,
}

/// The `T` of every instance's `Store<T>`.
pub(crate) struct InstanceState {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: NoOutbound,
    pub(crate) limits: StoreLimits,
    pub(crate) kv: KvStore,
    pub(crate) variables: Arc<Variables>,
    /// Stores and buckets open now (checked against [`TABLE_CAPACITY`]).
    pub(crate) open_stores: usize,
    /// CAS handles open now (checked against [`TABLE_CAPACITY`]).
    pub(crate) open_cas: usize,
}

impl InstanceState {
    pub(crate) fn new(shared: &Shared, max_memory_bytes: usize) -> Self {
        // The guest's stdout and stderr both go to our stderr (as `spin up` shows them on the
        // console), keeping our stdout for the `listening on` line. No environment, arguments,
        // preopened directories or sockets.
        let wasi = WasiCtx::builder()
            .stdout(std::io::stderr())
            .stderr(std::io::stderr())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        InstanceState {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            hooks: NoOutbound,
            limits: StoreLimitsBuilder::new()
                .memory_size(max_memory_bytes)
                .instances(64)
                .build(),
            kv: shared.kv.clone(),
            variables: Arc::clone(&shared.variables),
            open_stores: 0,
            open_cas: 0,
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// wasi:http hooks that refuse every outgoing request, as Spin does for a component with no
/// `allowed_outbound_hosts`.
struct NoOutbound;

impl WasiHttpHooks for NoOutbound {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
