//! `scim-host serve`: runs a Spin (spin-sdk 7, WASIp3) HTTP component the way Spin >= 4.1 does,
//! with the `default` key-value store in SQLite or Redis (as Spin's runtime config chooses).
//!
//! ```no_run
//! use scim_host::serve::{ServeConfig, Server};
//!
//! # async fn run() -> Result<(), scim_host::serve::ServeError> {
//! let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), ".spin/sqlite_key_value.db");
//! config.variables.set("scim_token", "s3cret").unwrap();
//! let server = Server::start(config).await?;
//! println!("listening on http://{}", server.local_addr());
//! // ... requests to http://ADDR/scim/v2/... ...
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! What the component gets, as under `spin up`:
//! - `wasi:http/handler@0.3.0` requests for the route `/scim/v2/...` (other paths: a SCIM 404),
//!   with an absolute URI and Spin's headers (`spin-path-info`, `spin-full-url`,
//!   `spin-matched-route`, `spin-base-path`, `spin-raw-component-route`,
//!   `spin-component-route`, `spin-client-addr`); outgoing HTTP is denied;
//! - `spin:key-value@3.0.0` and `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) on the
//!   `default` store, backed by SQLite or Redis (`serve::kv`); any other store
//!   label is `access-denied`;
//! - `spin:variables@3.0.0` from [`Variables`];
//! - WASI 0.2 and 0.3 with no environment, files or sockets; the guest's stdout and stderr go to
//!   the host's stderr.
//!
//! HTTP edge: every answer serve gives by itself is a SCIM Error document
//! (`application/scim+json`): 404 outside the route; 400, 414 and 431 for a request head that
//! is not valid HTTP/1.1 or is over [`HeadLimits`] (checked before hyper or the component sees
//! it); 500 when the component fails. Accepted sockets have `TCP_NODELAY` set.
//!
//! Instance model, as Spin 4.1 runs a `wasi:http@0.3` component: instances come from a
//! component compiled and linked once (`InstancePre`), and each serves up to 16 requests at once
//! and 128 in all before it is dropped, or is dropped after 1 s with nothing to do
//! ([`InstanceReuse`], Spin's defaults; `InstanceReuse::single_use` for an instance per
//! request). A request runs under [`RequestLimits`]; a guest that computes yields to the
//! scheduler every 50 ms, so a busy request cannot starve the others. The component's response
//! body is collected before it is sent, so a trap at any point becomes a SCIM 500
//! ([`INTERNAL_ERROR_BODY`]) with the cause logged to stderr (a trap fails every request its
//! instance was serving, as in Spin).

mod bindings;
mod config;
mod error_response;
mod framing;
mod guarded_stream;
mod host;
// Parts of the stores' API only the tests use (exported with `testing`).
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
mod kv;
mod runtime;
mod server;
mod spin_request;
mod state;
mod variables;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use config::{
    ComponentSource, HeadLimits, InstanceReuse, KeyValueBackend, MisreportSwaps, RequestLimits,
    Route, RuntimeConfig, RuntimeConfigError, ServeConfig,
};
pub use kv::KvError;
/// The key-value stores' own API, for this crate's tests only (feature `testing`).
#[cfg(feature = "testing")]
pub use kv::{KvStore, RedisKv, SqliteKv, SwapExpectation, SwapOutcome};
pub use server::{INTERNAL_ERROR_BODY, Server};
pub use variables::{ENV_PREFIX, VariableError, Variables};

/// The `scim-spin` component built from `guest/server` by this crate's build script.
pub static EMBEDDED_SPIN_COMPONENT: &[u8] = include_bytes!(env!("SCIM_SPIN_COMPONENT"));

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The component file could not be read.
    #[error("cannot read component {path}")]
    ReadComponent {
        /// The file that was asked for.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The component could not be compiled or linked (for example it imports an interface
    /// this host does not provide, or does not export `wasi:http/handler@0.3.0`).
    #[error("cannot load the Spin component: {0:#}")]
    Load(wasmtime::Error),
    /// The key-value store could not be opened (an SQLite file) or reached (Redis).
    #[error("cannot open the key-value store: {0}")]
    Database(KvError),
    /// The listen address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
