//! [`Server`]: one node of the SCIM service on 127.0.0.1 — `scim-host serve` or real `spin up`
//! ([`Runtime`]) — on a [`Backend`] (an SQLite file, or a Redis server shared by several
//! nodes). Stopped on drop; its output is kept and printed when a test panics.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::redis::{RedisServer, free_port};
use super::spin::{lay_out_app, spin_binary};
use super::{BIN, Client, TOKEN, scratch_dir};

/// How long a node may take to compile the component and bind (debug build, busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a node may take to exit after the stop signal before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How many ports `spin up` is given when the one picked was taken meanwhile.
const SPIN_PORT_ATTEMPTS: usize = 3;

/// What runs the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// `scim-host serve` (the binary under test).
    Serve,
    /// `spin up` with the project's `spin.toml` (see [`spin_binary`]).
    Spin,
}

/// Where a node keeps the `default` key-value store.
#[derive(Clone)]
pub enum Backend {
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A Redis server, kept running as long as a node or test holds it.
    Redis(Arc<RedisServer>),
    /// Whatever this runtime-config file names.
    ConfigFile(PathBuf),
}

impl Backend {
    /// A fresh Redis server for `label`.
    pub fn redis(label: &str) -> Backend {
        Backend::Redis(RedisServer::start(label))
    }

    /// The Spin runtime-config file putting the `default` store here (read by both
    /// `spin up` and `scim-host serve --runtime-config-file`).
    pub fn runtime_config(&self) -> String {
        match self {
            Backend::Sqlite(path) => {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                format!(
                    "[key_value_store.default]\ntype = \"spin\"\npath = {:?}\n",
                    path.display().to_string()
                )
            }
            Backend::Redis(redis) => format!(
                "[key_value_store.default]\ntype = \"redis\"\nurl = {:?}\n",
                redis.url()
            ),
            Backend::ConfigFile(path) => std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
        }
    }
}

/// A running node. Stopped with its stop signal (then killed if it lingers) on drop.
pub struct Server {
    child: Option<Child>,
    /// The address it serves on.
    pub addr: SocketAddr,
    /// What runs the component.
    pub runtime: Runtime,
    log: Arc<Mutex<String>>,
    /// Scratch directories made for this node, removed on drop unless the test failed.
    scratch: Vec<PathBuf>,
    /// Keeps a Redis server alive while its nodes run.
    _backend: Backend,
}

impl Server {
    /// `scim-host serve` on a fresh database in a new scratch directory.
    pub fn start(label: &str) -> Server {
        let dir = scratch_dir(label);
        let mut server = Server::start_on(&dir.join("kv.db"));
        server.adopt(dir);
        server
    }

    /// `scim-host serve` on `db` (created when missing).
    pub fn start_on(db: &Path) -> Server {
        Server::launch(Runtime::Serve, &Backend::Sqlite(db.to_path_buf()), &[])
    }

    /// A node of `runtime` on `backend`; `extra_args` go to `scim-host serve` or `spin up`.
    /// Panics for [`Runtime::Spin`] when there is no Spin binary (check [`spin_binary`]
    /// first to skip instead).
    pub fn launch(runtime: Runtime, backend: &Backend, extra_args: &[&str]) -> Server {
        let dir = scratch_dir(match runtime {
            Runtime::Serve => "serve-node",
            Runtime::Spin => "spin-node",
        });
        let mut server = match runtime {
            Runtime::Serve => launch_serve(&dir, backend, extra_args),
            Runtime::Spin => launch_spin(&dir, backend, extra_args),
        };
        server.adopt(dir);
        server
    }

    /// Makes `dir` this node's to remove on drop (unless the test failed).
    pub fn adopt(&mut self, dir: PathBuf) {
        self.scratch.push(dir);
    }

    /// A client with the right token.
    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            token: Some(TOKEN.to_string()),
        }
    }

    /// What the node wrote on stdout and stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sends the stop signal (serve: SIGTERM; Spin: SIGINT, its Ctrl-C) and waits for the exit,
    /// killing the process after [`STOP_TIMEOUT`].
    pub fn stop(mut self) -> ExitStatus {
        self.terminate()
    }

    /// `kill -9`: no shutdown, no draining.
    pub fn kill(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the node is running");
        let _ = child.kill();
        child.wait().expect("wait for the killed node")
    }

    fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the node is running");
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        let signal = match self.runtime {
            Runtime::Serve => "-TERM",
            Runtime::Spin => "-INT",
        };
        let signalled = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if signalled {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    return status;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            eprintln!(
                "{:?} node ignored {signal} for {STOP_TIMEOUT:?}; killing it",
                self.runtime
            );
        }
        let _ = child.kill();
        child.wait().expect("wait for the node")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            let status = self.terminate();
            if std::thread::panicking() {
                eprintln!(
                    "--- {:?} node on {} (exit {status}) output ---\n{}",
                    self.runtime,
                    self.addr,
                    self.log()
                );
            }
        }
        if !std::thread::panicking() {
            for dir in self.scratch.drain(..) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

fn launch_serve(dir: &Path, backend: &Backend, extra_args: &[&str]) -> Server {
    let mut command = Command::new(BIN);
    // Every test process shares one compile cache, under the target directory.
    command.env(
        "SCIM_HOST_CACHE_DIR",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"),
    );
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    match backend {
        Backend::Sqlite(db) => {
            command.arg("--db").arg(db);
        }
        Backend::Redis(_) | Backend::ConfigFile(_) => {
            command
                .arg("--runtime-config-file")
                .arg(write_runtime_config(dir, backend));
        }
    }
    command
        .args(["--variable", &format!("scim_token={TOKEN}")])
        .args(extra_args)
        .env_remove("SPIN_VARIABLE_SCIM_TOKEN");
    let (server, started) = spawn(Runtime::Serve, command, backend, |line| {
        line.strip_prefix("listening on http://")
            .and_then(|addr| addr.trim().parse().ok())
    });
    started.unwrap_or_else(|why| {
        panic!(
            "scim-host serve did not start ({why}); output:\n{}",
            server.log()
        )
    });
    server
}

fn launch_spin(dir: &Path, backend: &Backend, extra_args: &[&str]) -> Server {
    let spin = spin_binary().unwrap_or_else(|why| panic!("cannot run Spin: {why}"));
    let manifest = lay_out_app(dir);
    let runtime_config = write_runtime_config(dir, backend);
    let mut failures = String::new();
    for _ in 0..SPIN_PORT_ATTEMPTS {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let mut command = Command::new(spin);
        command
            .arg("up")
            .arg("--from")
            .arg(&manifest)
            .args(["--listen", &addr.to_string()])
            .arg("--runtime-config-file")
            .arg(&runtime_config)
            .args(extra_args)
            .current_dir(dir)
            .env("SPIN_VARIABLE_SCIM_TOKEN", TOKEN);
        let (mut server, started) = spawn(Runtime::Spin, command, backend, |line| {
            line.contains("Serving http://").then_some(addr)
        });
        match started {
            Ok(()) => return server,
            Err(why) => {
                failures.push_str(&format!("{why}; output:\n{}\n", server.log()));
                server.terminate();
            }
        }
    }
    panic!("spin up did not start:\n{failures}");
}

fn write_runtime_config(dir: &Path, backend: &Backend) -> PathBuf {
    if let Backend::ConfigFile(path) = backend {
        return path.clone();
    }
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, backend.runtime_config())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// Starts `command`, collects its stdout and stderr into the log, and waits until a stdout
/// line gives the address (`ready`). The node is returned either way, so that a failure can
/// show its output.
fn spawn(
    runtime: Runtime,
    mut command: Command,
    backend: &Backend,
    ready: impl Fn(&str) -> Option<SocketAddr>,
) -> (Server, Result<(), String>) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let log = Arc::new(Mutex::new(String::new()));
    let (lines_tx, lines_rx) = mpsc::channel();
    let stdout = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    let stderr = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    for (stream, lines) in [(stdout, Some(lines_tx)), (stderr, None)] {
        let Some(stream) = stream else { continue };
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            // Drained for the life of the process.
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                {
                    let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(lines) = &lines {
                    let _ = lines.send(line);
                }
            }
        });
    }
    let mut server = Server {
        child: Some(child),
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        runtime,
        log,
        scratch: Vec::new(),
        _backend: backend.clone(),
    };
    let deadline = Instant::now() + START_TIMEOUT;
    let started = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = ready(&line) {
                    server.addr = addr;
                    break Ok(());
                }
            }
            Err(e) => {
                let status = server
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten());
                break Err(format!(
                    "no ready line on stdout ({e}; exit status {status:?})"
                ));
            }
        }
    };
    (server, started)
}
