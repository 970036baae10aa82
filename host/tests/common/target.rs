//! [`Target`]: where the HTTP end-to-end suite runs. Each scenario is defined once, as a
//! function of its target, and run on every target: `scim-host serve` and real `spin up`, each
//! on SQLite and on Redis. A Spin target without a Spin binary is skipped with the reason
//! printed.

use std::path::{Path, PathBuf};

use super::node::{Backend, Runtime, Server};
use super::scratch_dir;
use super::spin::spin_binary;

/// One runtime on one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `scim-host serve --db FILE`.
    ServeSqlite,
    /// `scim-host serve --runtime-config-file` naming a private redis-server.
    ServeRedis,
    /// `spin up` with a runtime config naming an SQLite file.
    SpinSqlite,
    /// `spin up` with a runtime config naming a private redis-server.
    SpinRedis,
}

impl Target {
    fn runtime(self) -> Runtime {
        match self {
            Target::ServeSqlite | Target::ServeRedis => Runtime::Serve,
            Target::SpinSqlite | Target::SpinRedis => Runtime::Spin,
        }
    }

    /// Why this target cannot run on this machine, or `None` when it can.
    pub fn unavailable(self) -> Option<&'static str> {
        match self.runtime() {
            Runtime::Serve => None,
            Runtime::Spin => spin_binary().err(),
        }
    }

    /// Runs `scenario` on this target, or prints why the target is skipped here.
    pub fn run(self, name: &str, scenario: fn(Target)) {
        match self.unavailable() {
            Some(why) => super::print_skip(&format!("{name} on {self:?}"), why),
            None => scenario(self),
        }
    }

    /// A fresh, empty store for one scenario: a new SQLite file, or a new redis-server.
    pub fn store(self, label: &str) -> Store {
        let dir = scratch_dir(&format!("{label}-{self:?}"));
        let backend = match self {
            Target::ServeSqlite | Target::SpinSqlite => Backend::Sqlite(dir.join("kv.db")),
            Target::ServeRedis | Target::SpinRedis => Backend::redis(label),
        };
        Store {
            target: self,
            backend,
            dir: Some(dir),
        }
    }

    /// A node on a fresh store (kept as long as the node).
    pub fn start(self, label: &str) -> Server {
        let mut store = self.store(label);
        let mut server = store.start();
        if let Some(dir) = store.dir.take() {
            server.adopt(dir);
        }
        server
    }
}

/// A store that outlives its nodes (for restarts and for several nodes on one store).
pub struct Store {
    target: Target,
    backend: Backend,
    dir: Option<PathBuf>,
}

impl Store {
    /// A node of the store's target on it.
    pub fn start(&self) -> Server {
        Server::launch(self.target.runtime(), &self.backend, &[])
    }

    /// The backend, to start other nodes on it.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The SQLite file, for the SQLite targets.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(path) => Some(path),
            Backend::Redis(_) | Backend::ConfigFile(_) => None,
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take()
            && !std::thread::panicking()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
