//! The sandbox: per-store memory and CPU caps, input size caps and the (empty) WASI context.

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Resource caps applied to every call into the engine. The defaults admit real directories
/// (groups of 100k+ members, patches of 1,000 operations) while keeping a hostile input from
/// stalling or exhausting the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Maximum linear memory of one engine instance, in bytes (default 256 MiB). Growing past it
    /// fails the call with [`HostError::OutOfMemory`](crate::HostError::OutOfMemory).
    pub max_memory_bytes: usize,
    /// How long one call (`create`, `apply` or `matches`) may compute (default: a 10 s
    /// deadline).
    pub cpu: CpuLimit,
    /// Maximum size in bytes of each string passed to the engine: the configuration, the resource,
    /// the patch, the filter (default 32 MiB). Larger inputs fail with
    /// [`HostError::InputTooLarge`](crate::HostError::InputTooLarge) before the engine is entered.
    pub max_input_bytes: usize,
}

/// How the CPU time of one call is capped. The choice is made when the component is compiled
/// ([`PatchEngine::from_bytes`](crate::PatchEngine::from_bytes)): the two make different code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuLimit {
    /// A wall-clock deadline per call, checked by epoch interruption: a thread of the
    /// [`PatchEngine`](crate::PatchEngine) advances the epoch every [`EPOCH_TICK`], so the
    /// deadline holds to within a tick. The guest runs at full speed. Passing it fails the call
    /// with [`HostError::Timeout`](crate::HostError::Timeout).
    Deadline(Duration),
    /// A fuel budget per call (roughly, wasm instructions): deterministic (the same input
    /// always costs the same, whatever the machine's load), at the price of a counter update
    /// in every block of guest code (see the README's benchmarks). Running out fails the call
    /// with [`HostError::OutOfFuel`](crate::HostError::OutOfFuel).
    Fuel(u64),
}

/// How often a [`CpuLimit::Deadline`] engine advances its epoch: the deadline's resolution.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

impl CpuLimit {
    /// The epochs a call may run for: enough ticks to cover `deadline` even when the first
    /// one comes at once.
    pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
        let ticks = deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) + 1;
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            max_memory_bytes: 256 << 20,
            cpu: CpuLimit::Deadline(Duration::from_secs(10)),
            max_input_bytes: 32 << 20,
        }
    }
}

impl SandboxLimits {
    /// Fails with [`HostError::InputTooLarge`](crate::HostError::InputTooLarge) when `value` is
    /// over [`SandboxLimits::max_input_bytes`].
    pub(crate) fn check_input(
        &self,
        input: &'static str,
        value: &str,
    ) -> Result<(), crate::HostError> {
        if value.len() > self.max_input_bytes {
            return Err(crate::HostError::InputTooLarge {
                input,
                len: value.len(),
                limit: self.max_input_bytes,
            });
        }
        Ok(())
    }
}

/// How much of the guest's stderr one instance keeps (for trap reports).
const STDERR_CAPACITY: usize = 64 << 10;

/// The data of one store: a WASI context with nothing in it (no env, args, preopens or network;
/// stdin closed, stdout discarded, stderr captured) and the memory limiter.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    pub(crate) memory: MemoryCap,
}

impl HostState {
    pub(crate) fn new(limits: &SandboxLimits) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            stderr,
            memory: MemoryCap::new(limits.max_memory_bytes),
        }
    }

    /// The last `max` bytes the guest wrote to stderr, lossily decoded and trimmed.
    pub(crate) fn stderr_tail(&self, max: usize) -> String {
        let bytes = self.stderr.contents();
        let tail = &bytes[bytes.len().saturating_sub(max)..];
        String::from_utf8_lossy(tail).trim().to_string()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// [`StoreLimits`] plus a record of whether a memory growth was refused, so that the trap a
/// refused allocation ends in can be reported as [`HostError::OutOfMemory`](crate::HostError::OutOfMemory).
pub(crate) struct MemoryCap {
    limits: StoreLimits,
    /// The memory limit in bytes.
    pub(crate) limit: usize,
    /// Set when a growth was refused since the last [`MemoryCap::reset`].
    pub(crate) refused: bool,
}

impl MemoryCap {
    fn new(limit: usize) -> Self {
        MemoryCap {
            limits: StoreLimitsBuilder::new().memory_size(limit).build(),
            limit,
            refused: false,
        }
    }

    /// Forgets earlier refusals (called before each call into the guest).
    pub(crate) fn reset(&mut self) {
        self.refused = false;
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
