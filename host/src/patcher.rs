//! [`Patcher`]: one sandboxed engine instance with one configuration.

use std::sync::Arc;

use wasmtime::component::ResourceAny;
use wasmtime::{Store, Trap};

use crate::bindings::PatchEngine as Bindings;
use crate::bindings::exports::scim::patch::engine::{GuestPatcher, ScimError};
use crate::engine::Shared;
use crate::sandbox::HostState;
use crate::{CpuLimit, HostError, ScimErrorDoc};

/// How much of the guest's stderr a trap report quotes.
const STDERR_IN_REPORT: usize = 4 << 10;

/// A configured engine instance: the WIT `patcher` resource living in its own wasmtime store.
///
/// Made by [`PatchEngine::patcher`](crate::PatchEngine::patcher). Calls take `&mut self` (a store
/// runs one call at a time); a `Patcher` is `Send`, so give each thread its own. Every call runs
/// under the engine's [`SandboxLimits`](crate::SandboxLimits): a fresh CPU allowance (fuel or deadline), the memory cap, the input cap.
///
/// After a call fails with a [`HostError`] (trap, fuel, memory) the instance is discarded and the
/// next call transparently instantiates a new one with the same configuration.
pub struct Patcher {
    shared: Arc<Shared>,
    config: String,
    live: Option<Live>,
    fuel_used: u64,
}

/// An instantiated component and its `patcher` resource.
struct Live {
    store: Store<HostState>,
    bindings: Bindings,
    handle: ResourceAny,
}

impl Patcher {
    pub(crate) fn new(shared: Arc<Shared>, config: &str) -> Result<Self, HostError> {
        shared.limits.check_input("config", config)?;
        let (live, fuel_used) = Live::instantiate(&shared, config)?;
        Ok(Patcher {
            shared,
            config: config.to_string(),
            live: Some(live),
            fuel_used,
        })
    }

    /// Applies `patch` (a PatchOp body, or a SCIM 1.1 partial resource in the compatible profile)
    /// to `resource`, both JSON text.
    ///
    /// Returns `Ok(Ok(patched_resource_json))`, `Ok(Err(scim_error))` when the engine rejects the
    /// patch, or `Err(host_error)` when the call could not complete (input too large, trap, fuel
    /// or memory exhausted).
    pub fn apply(
        &mut self,
        resource: &str,
        patch: &str,
    ) -> Result<Result<String, ScimErrorDoc>, HostError> {
        self.shared.limits.check_input("resource", resource)?;
        self.shared.limits.check_input("patch", patch)?;
        self.call(|guest, store, handle| guest.call_apply(store, handle, resource, patch))
    }

    /// Evaluates the SCIM filter expression `filter` (RFC 7644 §3.4.2.2) against `resource` (JSON
    /// text). Results as for [`Patcher::apply`].
    pub fn matches(
        &mut self,
        resource: &str,
        filter: &str,
    ) -> Result<Result<bool, ScimErrorDoc>, HostError> {
        self.shared.limits.check_input("resource", resource)?;
        self.shared.limits.check_input("filter", filter)?;
        self.call(|guest, store, handle| guest.call_matches(store, handle, resource, filter))
    }

    /// The fuel the most recent successful call consumed (for `create`, instantiation
    /// included): a measure for sizing a [`CpuLimit::Fuel`] budget. 0 under a
    /// [`CpuLimit::Deadline`].
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used
    }

    /// Runs one call with a fresh CPU allowance, (re)instantiating first if an earlier call failed.
    fn call<R>(
        &mut self,
        f: impl FnOnce(
            GuestPatcher<'_>,
            &mut Store<HostState>,
            ResourceAny,
        ) -> wasmtime::Result<Result<R, ScimError>>,
    ) -> Result<Result<R, ScimErrorDoc>, HostError> {
        let live = match &mut self.live {
            Some(live) => live,
            empty => empty.insert(Live::instantiate(&self.shared, &self.config)?.0),
        };
        prepare(&mut live.store, &self.shared)?;
        match f(
            live.bindings.scim_patch_engine().patcher(),
            &mut live.store,
            live.handle,
        ) {
            Ok(result) => {
                self.fuel_used = fuel_used(&live.store, &self.shared);
                Ok(result.map_err(ScimErrorDoc::from))
            }
            Err(error) => {
                let error = host_error(&live.store, &self.shared, error);
                // A trapped instance may not be entered again; drop it.
                self.live = None;
                Err(error)
            }
        }
    }
}

impl std::fmt::Debug for Patcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patcher")
            .field("config", &self.config)
            .field("instantiated", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

impl Live {
    /// A new store and instance, and `patcher.create(config)` in it; also returns the fuel used.
    fn instantiate(shared: &Shared, config: &str) -> Result<(Live, u64), HostError> {
        let mut store = Store::new(&shared.engine, HostState::new(&shared.limits));
        store.limiter(|state| &mut state.memory);
        prepare(&mut store, shared)?;
        let bindings = match shared.pre.instantiate(&mut store) {
            Ok(bindings) => bindings,
            Err(error) => return Err(host_error(&store, shared, error)),
        };
        let created = bindings
            .scim_patch_engine()
            .patcher()
            .call_create(&mut store, config);
        match created {
            Ok(Ok(handle)) => {
                let fuel = fuel_used(&store, shared);
                Ok((
                    Live {
                        store,
                        bindings,
                        handle,
                    },
                    fuel,
                ))
            }
            Ok(Err(scim_error)) => Err(HostError::Config(scim_error.into())),
            Err(error) => Err(host_error(&store, shared, error)),
        }
    }
}

/// Per-call set-up of a store: refills the fuel or sets the deadline, and clears the
/// memory-refusal flag.
fn prepare(store: &mut Store<HostState>, shared: &Shared) -> Result<(), HostError> {
    store.data_mut().memory.reset();
    match shared.limits.cpu {
        CpuLimit::Fuel(fuel) => store.set_fuel(fuel).map_err(|e| HostError::Trap {
            message: format!("cannot set the fuel budget: {e:#}"),
        }),
        CpuLimit::Deadline(deadline) => {
            store.set_epoch_deadline(CpuLimit::deadline_ticks(deadline));
            Ok(())
        }
    }
}

/// The fuel consumed since the last [`prepare`] (0 when the CPU limit is a deadline).
fn fuel_used(store: &Store<HostState>, shared: &Shared) -> u64 {
    match shared.limits.cpu {
        CpuLimit::Fuel(fuel) => fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
        CpuLimit::Deadline(_) => 0,
    }
}

/// Classifies a failed call: fuel, memory, or any other trap (with the guest's stderr).
fn host_error(store: &Store<HostState>, shared: &Shared, error: wasmtime::Error) -> HostError {
    match (error.downcast_ref::<Trap>(), shared.limits.cpu) {
        (Some(Trap::OutOfFuel), CpuLimit::Fuel(budget)) => return HostError::OutOfFuel { budget },
        (Some(Trap::Interrupt), CpuLimit::Deadline(limit)) => return HostError::Timeout { limit },
        _ => {}
    }
    let state = store.data();
    if state.memory.refused {
        return HostError::OutOfMemory {
            limit: state.memory.limit,
        };
    }
    // The trap itself first, then what the guest said (a panic message), then where it was
    // (wasmtime puts the wasm backtrace in the outermost context).
    let mut message = error.root_cause().to_string();
    let stderr = state.stderr_tail(STDERR_IN_REPORT);
    if !stderr.is_empty() {
        message.push_str("\nguest stderr:\n");
        message.push_str(&stderr);
    }
    let outer = error.to_string();
    if outer != error.root_cause().to_string() {
        message.push('\n');
        message.push_str(&outer);
    }
    HostError::Trap { message }
}

impl From<ScimError> for ScimErrorDoc {
    fn from(e: ScimError) -> Self {
        ScimErrorDoc {
            status: e.status,
            scim_type: e.scim_type,
            detail: e.detail,
        }
    }
}
