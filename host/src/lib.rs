//! A wasmtime host for the `scim-patch` engine component (`wit/engine.wit`, world `patch-engine`),
//! and (`serve`, with the default feature of the same name) a local runner for the `scim-spin`
//! Spin HTTP component.
//!
//! The engine is a WebAssembly component built from `guest/engine` by this crate's build script
//! and embedded in the library ([`EMBEDDED_COMPONENT`]). [`PatchEngine`] compiles it once;
//! [`PatchEngine::patcher`] instantiates it in a sandboxed store and configures a [`Patcher`],
//! which applies SCIM PATCH requests and evaluates filters.
//!
//! ```
//! use scim_host::{PatchEngine, PatcherConfig};
//!
//! # fn main() -> Result<(), scim_host::HostError> {
//! let engine = PatchEngine::new()?; // compile once, share between threads
//! let mut patcher = engine.patcher(&PatcherConfig::default())?;
//! let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
//!                "id":"2819c223","userName":"bjensen"}"#;
//! let patch = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!                 "Operations":[{"op":"replace","path":"displayName","value":"Babs"}]}"#;
//! match patcher.apply(user, patch)? {
//!     Ok(patched) => println!("{patched}"),
//!     Err(scim_error) => println!("{}", scim_error.to_json()), // a 4xx for the client
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Sandbox: every store gets an empty WASI context (no environment, arguments, files or
//! network; stdin closed, stdout discarded, stderr kept for trap reports), a memory cap and a
//! per-call CPU cap, a deadline or a fuel budget ([`SandboxLimits`], [`CpuLimit`]). A trap, an
//! exhausted allowance, or an oversized input becomes a [`HostError`], never a panic of the host.

#![warn(missing_docs)]

mod bindings;
mod compile_cache;
mod config;
mod engine;
mod epoch;
mod error;
mod patcher;
mod sandbox;
#[cfg(feature = "serve")]
pub mod serve;

pub use compile_cache::{CACHE_DIR_ENV, CompileCache, NO_CACHE_ENV};
pub use config::{PatchLimits, PatcherConfig, Profile};
pub use engine::{EMBEDDED_COMPONENT, PatchEngine};
pub use error::{HostError, SCIM_ERROR_SCHEMA, ScimErrorDoc};
pub use patcher::Patcher;
pub use sandbox::{CpuLimit, EPOCH_TICK, SandboxLimits};
