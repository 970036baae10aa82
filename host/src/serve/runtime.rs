//! [`SpinRuntime`]: the Spin component compiled and linked once, and each request run in one of
//! its instances (reused as Spin reuses them: `worker`), its response collected under the caps.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi_http::handler::{ExpirationError, ProxyHandler};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use super::bindings;
use super::config::{InstanceReuse, RequestLimits};
use super::host::SpinHost;
use super::kv::KvStore;
use super::state::{InstanceState, Shared};
use super::variables::Variables;
use super::worker::Instances;
use crate::CompileCache;

/// How often the epoch advances: how often a running guest yields and checks its deadline.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(50);

/// Instances that may exist at once: the pooling allocator keeps this many slots (as Spin's
/// default does).
const MAX_INSTANCES: u32 = 1000;

/// Requests in the component at once; one beyond them waits instead of failing. Fewer than the
/// instance slots, so that a new instance always finds one.
const MAX_IN_FLIGHT: usize = MAX_INSTANCES as usize / 2;

/// Linear memory a freed slot keeps mapped for the next instance (the rest is decommitted): a
/// request's heap is mostly under this, so the next one starts without page faults.
const MEMORY_KEEP_RESIDENT: usize = 4 << 20;

/// The component, compiled and linked against the Spin host interfaces.
pub(crate) struct SpinRuntime {
    engine: Engine,
    handler: ProxyHandler<Instances>,
    limits: RequestLimits,
    /// One permit per request in the component.
    in_flight: Semaphore,
}

/// Why a request produced no response from the component. Every case becomes the generic
/// SCIM 500; the cause is only logged.
#[derive(Debug)]
pub(crate) enum RunError {
    /// Instantiation or the guest failed (a trap, exhausted memory, a `wasi:http` error code
    /// instead of a response, a runtime error).
    Trap(wasmtime::Error),
    /// The wall-clock limit passed before the response was complete.
    Timeout(Duration),
    /// The response body was larger than the limit.
    ResponseTooLarge(usize),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Trap(error) => write!(f, "the component failed: {error:?}"),
            RunError::Timeout(limit) => {
                write!(f, "the request took longer than {} s", limit.as_secs_f64())
            }
            RunError::ResponseTooLarge(limit) => {
                write!(f, "the response body is larger than {limit} bytes")
            }
        }
    }
}

/// A complete response: status and headers from the guest, the body collected.
pub(crate) type BufferedResponse = http::Response<Bytes>;

impl SpinRuntime {
    /// Compiles `component` (or loads it from `cache`) and links it with WASI 0.2/0.3, `wasi:http@0.3.0` and the Spin
    /// interfaces.
    pub(crate) fn new(
        component: &[u8],
        cache: &CompileCache,
        kv: KvStore,
        variables: Variables,
        limits: RequestLimits,
        reuse: InstanceReuse,
    ) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .wasm_component_model_async(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling()));
        let engine = Engine::new(&config)?;
        let component = cache.component(&engine, component)?;

        let mut linker = Linker::<InstanceState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        bindings::spin::key_value::key_value::add_to_linker::<_, SpinHost>(&mut linker, |s| s)?;
        bindings::spin::variables::variables::add_to_linker::<_, SpinHost>(&mut linker, |s| s)?;
        type Own = HasSelf<InstanceState>;
        bindings::wasi::keyvalue::store::add_to_linker::<_, Own>(&mut linker, |s| s)?;
        bindings::wasi::keyvalue::atomics::add_to_linker::<_, Own>(&mut linker, |s| s)?;
        bindings::wasi::keyvalue::batch::add_to_linker::<_, Own>(&mut linker, |s| s)?;

        let pre = ServicePre::new(linker.instantiate_pre(&component)?)?;
        let handler = ProxyHandler::new(Instances {
            engine: engine.clone(),
            pre,
            shared: Shared {
                kv,
                variables: Arc::new(variables),
            },
            limits: limits.clone(),
            reuse,
        });
        Ok(SpinRuntime {
            engine,
            handler,
            limits,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        })
    }

    /// Starts the thread that advances the engine's epoch every [`EPOCH_TICK`] until `stop` is
    /// set or the engine is gone.
    pub(crate) fn start_epoch_ticker(&self, stop: Arc<AtomicBool>) -> std::io::Result<()> {
        crate::epoch::start_ticker(&self.engine, EPOCH_TICK, stop)
    }

    /// Runs one request in an instance and returns the complete response.
    pub(crate) async fn handle<B>(
        &self,
        request: http::Request<B>,
    ) -> Result<BufferedResponse, RunError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let limit = self.limits.request_timeout;
        let started = Instant::now();
        match tokio::time::timeout(limit, self.run(request)).await {
            // A guest that never yields finishes inside one poll, so the timer alone cannot see
            // it overrun: a response that is ready only after the deadline is dropped as well.
            Ok(_) if started.elapsed() > limit => Err(RunError::Timeout(limit)),
            Ok(result) => result,
            Err(_elapsed) => Err(RunError::Timeout(limit)),
        }
    }

    async fn run<B>(&self, request: http::Request<B>) -> Result<BufferedResponse, RunError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let _permit =
            self.in_flight.acquire().await.map_err(|_| {
                RunError::Trap(wasmtime::format_err!("the runtime is shutting down"))
            })?;
        let request = request.map(|body| body.map_err(Into::into).boxed_unsync());
        let response = self.handler.handle((), request).await.map_err(|error| {
            if error.is::<ExpirationError>() {
                RunError::Timeout(self.limits.request_timeout)
            } else {
                RunError::Trap(error)
            }
        })?;
        let (parts, mut body) = response.into_parts();
        let max_body = self.limits.max_response_bytes;
        let mut collected = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                RunError::Trap(wasmtime::format_err!(
                    "reading the response body failed: {e:?}"
                ))
            })?;
            if let Ok(data) = frame.into_data() {
                if collected.len() + data.len() > max_body {
                    return Err(RunError::ResponseTooLarge(max_body));
                }
                collected.extend_from_slice(&data);
            }
        }
        Ok(http::Response::from_parts(parts, collected.freeze()))
    }
}

/// The pooling allocator's configuration (Spin runs its components on one too): instance slots
/// are made once and reused, so a request neither maps nor unmaps memory. A slot is as large as
/// any 32-bit memory; the per-request cap is the store's limiter (`ServeLimits::max_memory_bytes`),
/// so an instance over it fails as it would without the pool.
fn pooling() -> PoolingAllocationConfig {
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(MAX_INSTANCES)
        .total_core_instances(4 * MAX_INSTANCES)
        .total_memories(2 * MAX_INSTANCES)
        .total_tables(2 * MAX_INSTANCES)
        .total_stacks(MAX_INSTANCES)
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(64 << 10)
        // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), a freed slot resets only the pages
        // the request dirtied, not all it keeps resident.
        .pagemap_scan(Enabled::Auto);
    pooling
}
