//! [`PatchEngine`]: the engine component, compiled and linked once.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine};

use crate::bindings::PatchEnginePre;
use crate::sandbox::EPOCH_TICK;
use crate::sandbox::HostState;
use crate::{CompileCache, CpuLimit, HostError, Patcher, PatcherConfig, SandboxLimits};

/// The engine component built from `guest/engine` by this crate's build script, embedded in the
/// binary.
pub static EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("SCIM_PATCH_COMPONENT"));

/// The SCIM PATCH engine component, compiled once and ready to instantiate.
///
/// Compiling the component is the expensive step (see the crate docs); do it once per process
/// and share the result: `PatchEngine` is `Send + Sync` and cheap to clone (an `Arc`). Each
/// [`Patcher`] it makes is a separate sandboxed instance.
#[derive(Clone)]
pub struct PatchEngine {
    shared: Arc<Shared>,
}

/// What every [`Patcher`] of one [`PatchEngine`] shares.
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) pre: PatchEnginePre<HostState>,
    pub(crate) limits: SandboxLimits,
}

impl PatchEngine {
    /// Compiles the embedded engine component ([`EMBEDDED_COMPONENT`]) with the default
    /// [`SandboxLimits`] (or loads it from the compile cache: [`CompileCache::from_env`]).
    pub fn new() -> Result<Self, HostError> {
        Self::from_bytes(EMBEDDED_COMPONENT, SandboxLimits::default())
    }

    /// Compiles an engine component from its binary encoding, through the compile cache the
    /// environment asks for ([`CompileCache::from_env`]).
    ///
    /// Fails with [`HostError::Load`] when `bytes` is not a component wasmtime can compile, or
    /// when it does not fit the `scim:patch/engine` world with only WASI imports.
    pub fn from_bytes(bytes: &[u8], limits: SandboxLimits) -> Result<Self, HostError> {
        Self::from_bytes_with_cache(bytes, limits, &CompileCache::from_env())
    }

    /// As [`PatchEngine::from_bytes`], loading and keeping the compiled component in `cache`
    /// ([`CompileCache::Off`]: compile every time, write nothing).
    pub fn from_bytes_with_cache(
        bytes: &[u8],
        limits: SandboxLimits,
        cache: &CompileCache,
    ) -> Result<Self, HostError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        match limits.cpu {
            CpuLimit::Fuel(_) => config.consume_fuel(true),
            CpuLimit::Deadline(_) => config.epoch_interruption(true),
        };
        let engine = Engine::new(&config).map_err(HostError::Load)?;
        if let CpuLimit::Deadline(_) = limits.cpu {
            start_epoch_ticker(&engine)?;
        }
        let component = cache.component(&engine, bytes).map_err(HostError::Load)?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(HostError::Load)?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(HostError::Load)?;
        let pre = PatchEnginePre::new(instance_pre).map_err(HostError::Load)?;
        Ok(PatchEngine {
            shared: Arc::new(Shared {
                engine,
                pre,
                limits,
            }),
        })
    }

    /// Reads and compiles an engine component file (for example a newer build than the
    /// embedded one).
    pub fn from_file(path: impl AsRef<Path>, limits: SandboxLimits) -> Result<Self, HostError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| HostError::ReadComponent {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, limits)
    }

    /// The caps every call through this engine runs under.
    pub fn limits(&self) -> &SandboxLimits {
        &self.shared.limits
    }

    /// Instantiates the component in a fresh sandboxed store and creates a `patcher` with
    /// `config` (`&PatcherConfig::default()` gives the defaults).
    ///
    /// Fails with [`HostError::Config`] when the engine rejects the configuration (a schema
    /// document it cannot read, a limit out of range).
    pub fn patcher(&self, config: &PatcherConfig) -> Result<Patcher, HostError> {
        Patcher::new(Arc::clone(&self.shared), &config.to_json())
    }

    /// As [`PatchEngine::patcher`], with the configuration already in the engine's JSON form
    /// (`wit/engine.wit`, `patcher.create`; `"{}"` gives the defaults): for configurations kept
    /// as JSON, such as test fixtures.
    pub fn patcher_from_json(&self, config_json: &str) -> Result<Patcher, HostError> {
        Patcher::new(Arc::clone(&self.shared), config_json)
    }
}

/// Starts the thread that advances `engine`'s epoch every [`EPOCH_TICK`]; it ends once the
/// engine (every [`PatchEngine`] clone and [`Patcher`] holding it) is dropped.
fn start_epoch_ticker(engine: &Engine) -> Result<(), HostError> {
    crate::epoch::start_ticker(engine, EPOCH_TICK, Arc::new(AtomicBool::new(false)))
        .map_err(|e| HostError::Load(wasmtime::format_err!("cannot start the epoch thread: {e}")))
}

impl std::fmt::Debug for PatchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchEngine")
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}
