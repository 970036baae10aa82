//! [`ServeConfig`]: what [`Server::start`](super::Server::start) needs, and
//! [`RuntimeConfig`]: Spin's runtime-config file, which can put the `default` store elsewhere.

mod runtime_config;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::variables::Variables;
use crate::CompileCache;

pub use runtime_config::{RuntimeConfig, RuntimeConfigError};

/// Where the `default` key-value store lives: one of Spin's store types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValueBackend {
    /// Spin's `spin` type: an SQLite file (created if missing; its directory must exist).
    Sqlite(PathBuf),
    /// Spin's `spin` type without a `path`: an SQLite database in memory, gone at exit.
    SqliteInMemory,
    /// Spin's `redis` type: the Redis server at `url` (`redis://host:port[/db]`).
    Redis {
        /// The server's URL, as in the runtime config.
        url: String,
    },
}

/// Test-only: misreport compare-and-swap outcomes as Spin's Redis backend does, so that a
/// service's guard against it can be tested on any backend. Never for real data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MisreportSwaps {
    /// The probability in `[0, 1]` that one swap's outcome is reported the wrong way round
    /// (a landed write as failed, a dropped one as done).
    pub rate: f64,
    /// The seed of the draws, so that a run can be repeated.
    pub seed: u64,
}

/// The Spin component to serve.
#[derive(Debug, Clone, Default)]
pub enum ComponentSource {
    /// The `scim-spin` component built from `guest/server` by this crate's build script
    /// ([`EMBEDDED_SPIN_COMPONENT`](super::EMBEDDED_SPIN_COMPONENT)).
    #[default]
    Embedded,
    /// A component file.
    File(PathBuf),
    /// A component's binary encoding.
    Bytes(Vec<u8>),
}

/// Caps on running requests in the component: wall-clock time, instance memory, response size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// Wall-clock limit of one request, from its arrival to the last byte of the response
    /// body (default 30 s); past it the client gets the SCIM 500. Running guest code yields to
    /// the scheduler every epoch tick (50 ms), so a busy guest cannot hold a thread; an
    /// instance whose newest request is past the limit is dropped (as Spin drops it), and
    /// with it whatever it was still running.
    pub request_timeout: Duration,
    /// Maximum linear memory of one instance, in bytes (default 256 MiB), shared by the
    /// requests it serves at once. A guest that needs more traps, and the requests it was
    /// serving get the SCIM 500.
    pub max_memory_bytes: usize,
    /// Maximum response body, in bytes (default 64 MiB); a larger one becomes the SCIM 500.
    pub max_response_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            request_timeout: Duration::from_secs(30),
            max_memory_bytes: 256 << 20,
            max_response_bytes: 64 << 20,
        }
    }
}

/// How instances are reused, as Spin 4.1 runs a `wasi:http@0.3` component: an instance serves
/// up to `max_concurrent` requests at once and `max_requests` in all, and is dropped after
/// `idle_timeout` with nothing to do. [`InstanceReuse::single_use`] gives every request an
/// instance of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceReuse {
    /// Requests one instance serves before it is dropped (Spin's `--max-instance-reuse-count`,
    /// default 128); at least 1.
    pub max_requests: usize,
    /// Requests one instance serves at once (Spin's `--max-instance-concurrent-reuse-count`,
    /// default 16); at least 1.
    pub max_concurrent: usize,
    /// How long an instance with nothing to do is kept for the next request (Spin's
    /// `--idle-instance-timeout`, default 1 s).
    pub idle_timeout: Duration,
}

impl InstanceReuse {
    /// A fresh instance for every request (Spin's `--max-instance-reuse-count 1`).
    pub fn single_use() -> Self {
        InstanceReuse {
            max_requests: 1,
            max_concurrent: 1,
            ..InstanceReuse::default()
        }
    }
}

impl Default for InstanceReuse {
    fn default() -> Self {
        InstanceReuse {
            max_requests: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
        }
    }
}

/// Caps on one request head, checked before the head reaches hyper or the component; a head
/// over them is answered with a SCIM Error: 414 for the target, 431 for the head or the number
/// of header fields (400 for a head that is not valid HTTP/1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest request target (path and query), in bytes (default 32 KiB: a `filter` with a
    /// long value fits). At most 65,534 (hyper's own limit); larger values are lowered to it.
    pub max_uri_bytes: usize,
    /// Longest request head (request line and header fields), in bytes (default 128 KiB).
    pub max_head_bytes: usize,
    /// Most header fields in one request (default 100).
    pub max_headers: usize,
}

/// hyper's own cap on a request target, which a [`HeadLimits`] must stay under.
pub(crate) const HYPER_MAX_URI_BYTES: usize = u16::MAX as usize - 1;

impl HeadLimits {
    /// The limits as they are enforced: the target cap no higher than hyper's.
    pub(crate) fn effective(self) -> Self {
        HeadLimits {
            max_uri_bytes: self.max_uri_bytes.min(HYPER_MAX_URI_BYTES),
            ..self
        }
    }
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_uri_bytes: 32 << 10,
            max_head_bytes: 128 << 10,
            max_headers: 100,
        }
    }
}

/// The route the component is mounted on, as in the `spin.toml` trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route prefix without the trailing `/...` wildcard, e.g. `/scim/v2`. Requests for
    /// this path or anything below it go to the component; others get a SCIM 404.
    pub prefix: String,
}

impl Route {
    /// A wildcard route `PREFIX/...`; `prefix` is normalised to start with `/` and not end
    /// with one (`/` itself means every path).
    pub fn wildcard(prefix: &str) -> Self {
        let trimmed = prefix.trim_matches('/');
        Route {
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("/{trimmed}")
            },
        }
    }

    /// The route as written in the manifest: `/scim/v2/...`.
    pub fn raw(&self) -> String {
        format!("{}/...", self.prefix)
    }

    /// The route without the wildcard (`spin-component-route`), `/` for the root route.
    pub fn component_route(&self) -> &str {
        if self.prefix.is_empty() {
            "/"
        } else {
            &self.prefix
        }
    }

    /// The part of `path` after the prefix (`spin-path-info`), or `None` when `path` is not
    /// under this route. `/scim/v2` gives `""`, `/scim/v2/Users` gives `/Users`, and
    /// `/scim/v2Users` is not under the route.
    pub fn path_info<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(self.prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }
}

impl Default for Route {
    fn default() -> Self {
        Route::wildcard("/scim/v2")
    }
}

/// Everything [`Server::start`](super::Server::start) needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port (see
    /// [`Server::local_addr`](super::Server::local_addr)).
    pub listen: SocketAddr,
    /// Where the `default` key-value store lives.
    pub key_value: KeyValueBackend,
    /// Test-only: misreport compare-and-swap outcomes (default `None`: report them truly).
    pub misreport_swaps: Option<MisreportSwaps>,
    /// The `spin:variables` values.
    pub variables: Variables,
    /// The component to run.
    pub component: ComponentSource,
    /// Where the compiled component is kept between starts (default:
    /// [`CompileCache::from_env`]).
    pub compile_cache: CompileCache,
    /// The route the component is mounted on (default `/scim/v2/...`).
    pub route: Route,
    /// Per-request caps: time, memory, response size.
    pub request_limits: RequestLimits,
    /// How instances serve more than one request (default: as Spin does).
    pub instance_reuse: InstanceReuse,
    /// Caps on a request head.
    pub head_limits: HeadLimits,
    /// How long [`Server::shutdown`](super::Server::shutdown) waits for in-flight requests
    /// before dropping them (default 10 s).
    pub shutdown_grace: Duration,
}

impl ServeConfig {
    /// A configuration with the defaults: the `default` store in the SQLite file `db`, the
    /// embedded component on `/scim/v2/...`, default limits, no variables.
    pub fn new(listen: SocketAddr, db: impl Into<PathBuf>) -> Self {
        Self::with_key_value(listen, KeyValueBackend::Sqlite(db.into()))
    }

    /// The same defaults with the `default` store on `key_value`.
    pub fn with_key_value(listen: SocketAddr, key_value: KeyValueBackend) -> Self {
        ServeConfig {
            listen,
            key_value,
            misreport_swaps: None,
            variables: Variables::new(),
            component: ComponentSource::Embedded,
            compile_cache: CompileCache::from_env(),
            route: Route::default(),
            request_limits: RequestLimits::default(),
            instance_reuse: InstanceReuse::default(),
            head_limits: HeadLimits::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_info_is_the_part_after_the_prefix() {
        let route = Route::default();
        assert_eq!(route.raw(), "/scim/v2/...");
        assert_eq!(route.component_route(), "/scim/v2");
        assert_eq!(route.path_info("/scim/v2"), Some(""));
        assert_eq!(route.path_info("/scim/v2/"), Some("/"));
        assert_eq!(route.path_info("/scim/v2/Users/1"), Some("/Users/1"));
        assert_eq!(route.path_info("/scim/v2Users"), None);
        assert_eq!(route.path_info("/other"), None);
        let root = Route::wildcard("/");
        assert_eq!(root.raw(), "/...");
        assert_eq!(root.component_route(), "/");
        assert_eq!(root.path_info("/x"), Some("/x"));
    }
}
