//! [`RedisServer`]: a private `redis-server` for one test, on a free loopback port, without
//! persistence, stopped (and its directory removed) when dropped — also when the test panics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::scratch_dir;

/// How long redis-server may take to answer its first PING.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How many ports to try when another process takes the one picked (a race, rare).
const PORT_ATTEMPTS: usize = 5;

/// The `redis-server` to run: `SCIM_REDIS_SERVER`, else `redis-server` on `PATH`.
fn redis_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SCIM_REDIS_SERVER") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "these tests need redis-server and none was found on PATH: install it (Debian/Ubuntu: \
             `apt-get install redis-server`; macOS: `brew install redis`) or set SCIM_REDIS_SERVER \
             to its path (.ci/run installs it)"
        )
    })
}

/// A free TCP port on 127.0.0.1 (free when asked: the caller binds it soon after).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// One RESP reply (the types these tests need).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Status(String),
    /// `-ERR ...`
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$N` data, or `$-1` (none)
    Bulk(Option<Vec<u8>>),
}

/// A running redis-server owned by a test.
pub struct RedisServer {
    child: Option<Child>,
    /// Its address on 127.0.0.1.
    pub addr: SocketAddr,
    dir: PathBuf,
    log: Arc<Mutex<String>>,
}

impl RedisServer {
    /// Starts a redis-server in a new scratch directory and waits until it answers PING.
    pub fn start(label: &str) -> Arc<RedisServer> {
        let binary = redis_server_binary();
        let dir = scratch_dir(&format!("redis-{label}"));
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            let mut child = Command::new(&binary)
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(["--loglevel", "warning", "--dir"])
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let log = Arc::new(Mutex::new(String::new()));
            for stream in [
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
            ]
            .into_iter()
            .flatten()
            {
                let sink = Arc::clone(&log);
                std::thread::spawn(move || {
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
                        log.push_str(&line);
                        log.push('\n');
                    }
                });
            }
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut server = RedisServer {
                child: Some(child),
                addr,
                dir: dir.clone(),
                log,
            };
            if server.wait_ready() && server.is_ours() {
                return Arc::new(server);
            }
            last_log = server.log();
            server.stop();
        }
        panic!(
            "redis-server did not start after {PORT_ATTEMPTS} attempts; its output:\n{last_log}"
        );
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// What redis-server printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sends one command (RESP, arguments as bulk strings) and returns the reply: for looking
    /// at what a backend stored, independently of the Redis client under test.
    pub fn command(&self, args: &[&[u8]]) -> Reply {
        let mut stream = TcpStream::connect(self.addr)
            .unwrap_or_else(|e| panic!("cannot connect to redis-server at {}: {e}", self.addr));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        stream.write_all(&request).expect("send to redis-server");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a reply");
        let (kind, rest) = line.trim_end().split_at(1);
        match kind {
            "+" => Reply::Status(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Integer(rest.parse().expect("an integer reply")),
            "$" => {
                let Ok(len) = usize::try_from(rest.parse::<i64>().expect("a bulk length")) else {
                    return Reply::Bulk(None);
                };
                let mut data = vec![0_u8; len + 2];
                reader.read_exact(&mut data).expect("read a bulk reply");
                data.truncate(len);
                Reply::Bulk(Some(data))
            }
            other => panic!("unexpected Redis reply type {other:?} in {line:?}"),
        }
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            let answered = TcpStream::connect(self.addr).and_then(|mut stream| {
                stream.set_read_timeout(Some(Duration::from_secs(2)))?;
                stream.write_all(b"PING\r\n")?;
                let mut reply = [0_u8; 7];
                stream.read_exact(&mut reply)?;
                Ok(&reply == b"+PONG\r\n")
            });
            if answered.unwrap_or(false) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Whether the server answering on the port is the one this test started (and not
    /// another test's, which took the port first).
    fn is_ours(&self) -> bool {
        let Some(pid) = self.child.as_ref().map(Child::id) else {
            return false;
        };
        match self.command(&[b"INFO", b"server"]) {
            Reply::Bulk(Some(info)) => String::from_utf8_lossy(&info)
                .lines()
                .any(|line| line.trim() == format!("process_id:{pid}")),
            _ => false,
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            if !log.is_empty() {
                eprintln!("--- redis-server on {} ---\n{log}", self.addr);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
