//! `scim-host serve`: the runner's own behaviour (start-up line, routing, persistence, limits,
//! shutdown, exit codes), tested against the embedded `scim-spin` component.
//!
//! These tests check the runner, not SCIM: they rely only on the component answering
//! `GET /scim/v2/ServiceProviderConfig` with 200 when given the right bearer token, and on a
//! created resource being stored in the key-value store.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scim_host::serve::{
    INTERNAL_ERROR_BODY, InstanceReuse, RequestLimits, ServeConfig, Server, SqliteKv, Variables,
};
use support::cache_entries;

const BIN: &str = env!("CARGO_BIN_EXE_scim-host");
const TOKEN: &str = "test-token-0123456789";
const SPC: &str = "/scim/v2/ServiceProviderConfig";

/// A fresh directory for one test.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A response read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`, read to the end.
fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nAccept: application/scim+json\r\n"
    );
    if let Some(body) = body {
        head.push_str(&format!(
            "Content-Type: application/scim+json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    if let Some(body) = body {
        stream.write_all(body.as_bytes()).expect("send body");
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {text:?}"));
    let mut lines = head.lines();
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

/// A `scim-host serve` child process.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

impl Served {
    fn start(dir: &Path, db: &Path) -> Served {
        let stderr = dir.join(format!(
            "stderr-{}.log",
            Instant::now().elapsed().as_nanos()
        ));
        let log = std::fs::File::create(&stderr).expect("stderr file");
        let mut child = Command::new(BIN)
            .env(
                "SCIM_HOST_CACHE_DIR",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"),
            )
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(["--variable", &format!("scim_token={TOKEN}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start scim-host serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "unexpected first line {line:?}; stderr: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        let addr = addr.parse().expect("listen address");
        Served {
            child,
            addr,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    fn terminate(mut self) -> (ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, self.stderr());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "scim-host did not exit after SIGTERM; stderr: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_the_component_logs_requests_and_stops_cleanly_on_sigterm() {
    let dir = scratch_dir();
    let served = Served::start(&dir, &dir.join("data/kv.db"));

    let reply = request(served.addr, "GET", SPC, None);
    assert_eq!(reply.status, 200, "{reply:?}; stderr: {}", served.stderr());

    // Outside the route: a SCIM 404, without running the component.
    let reply = request(served.addr, "GET", "/elsewhere", None);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    assert!(reply.body.contains(r#""status":"404""#), "{reply:?}");
    let reply = request(served.addr, "GET", "/scim/v2x", None);
    assert_eq!(reply.status, 404);

    // Concurrent requests each get their own instance.
    let addr = served.addr;
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(move || request(addr, "GET", SPC, None).status))
        .collect();
    for thread in threads {
        assert_eq!(thread.join().expect("request thread"), 200);
    }

    let (status, stderr) = served.terminate();
    assert!(status.success(), "exit {status:?}; stderr: {stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&format!("GET {SPC} 200 ")) && l.ends_with("ms")),
        "no log line for the request in: {stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.starts_with("GET /elsewhere 404 ")),
        "{stderr}"
    );
    assert!(
        dir.join("data/kv.db").is_file(),
        "the database directory is created"
    );
}

#[test]
fn key_value_data_survives_a_restart() {
    let dir = scratch_dir();
    let db = dir.join("kv.db");

    let served = Served::start(&dir, &db);
    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"restart.probe@example.com"}"#;
    let reply = request(served.addr, "POST", "/scim/v2/Users", Some(user));
    assert!(
        (200..300).contains(&reply.status),
        "{reply:?}; stderr: {}",
        served.stderr()
    );
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");

    let stored = snapshot(&db);
    assert!(!stored.is_empty(), "the component stored nothing");

    let served = Served::start(&dir, &db);
    assert_eq!(request(served.addr, "GET", SPC, None).status, 200);
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");

    let after = snapshot(&db);
    for (key, value) in &stored {
        let kept = after.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        if key.contains("counter") {
            assert!(kept.is_some(), "{key} was lost");
        } else {
            assert_eq!(
                kept,
                Some(value),
                "{key} changed or was lost across the restart"
            );
        }
    }
}

/// Every key and value of the `default` store.
fn snapshot(db: &Path) -> Vec<(String, Vec<u8>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let kv = SqliteKv::open(db).expect("open the database");
        let mut pairs = Vec::new();
        for key in kv.keys("default").await.expect("keys") {
            let value = kv
                .get("default", &key)
                .await
                .expect("get")
                .unwrap_or_default();
            pairs.push((key, value));
        }
        pairs
    })
}

#[test]
fn start_up_failures_exit_2_with_a_message() {
    let dir = scratch_dir();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let cases: [(&[&str], &str); 4] = [
        (&["serve", "--listen", &addr], "cannot listen"),
        (
            &["serve", "--listen", "127.0.0.1:0", "--variable", "novalue"],
            "NAME=VALUE",
        ),
        (&["serve", "--listen", "nonsense"], "invalid"),
        (
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--component",
                "/nonexistent/x.wasm",
            ],
            "cannot read component",
        ),
    ];
    for (args, message) in cases {
        let output = Command::new(BIN)
            .env(
                "SCIM_HOST_CACHE_DIR",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"),
            )
            .args(args)
            .arg("--db")
            .arg(dir.join("kv.db"))
            .stdin(Stdio::null())
            .output()
            .expect("run scim-host");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    drop(taken);
}

/// Starts a server through the library API.
async fn start(limits: RequestLimits) -> (Server, PathBuf) {
    start_reusing(limits, InstanceReuse::default()).await
}

async fn start_reusing(limits: RequestLimits, reuse: InstanceReuse) -> (Server, PathBuf) {
    let dir = scratch_dir();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().expect("addr"), dir.join("kv.db"));
    let mut variables = Variables::new();
    variables.set("scim_token", TOKEN).expect("valid name");
    config.variables = variables;
    config.request_limits = limits;
    config.instance_reuse = reuse;
    (Server::start(config).await.expect("start"), dir)
}

async fn get(addr: SocketAddr, path: &'static str) -> Reply {
    tokio::task::spawn_blocking(move || request(addr, "GET", path, None))
        .await
        .expect("request task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_api_serves_and_shuts_down() {
    let (server, _dir) = start(RequestLimits::default()).await;
    let reply = get(server.local_addr(), SPC).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_served_whether_instances_are_reused_or_not() {
    // Spin's defaults; an instance per request; instances that take two requests at once,
    // three in all, and expire after 10 ms idle (so every part of their lifecycle is crossed).
    let settings = [
        InstanceReuse::default(),
        InstanceReuse::single_use(),
        InstanceReuse {
            max_requests: 3,
            max_concurrent: 2,
            idle_timeout: Duration::from_millis(10),
        },
    ];
    for reuse in settings {
        let (server, _dir) = start_reusing(RequestLimits::default(), reuse).await;
        let addr = server.local_addr();
        for round in 0..3 {
            for _ in 0..10 {
                assert_eq!(get(addr, SPC).await.status, 200, "{reuse:?}");
            }
            let at_once: Vec<_> = (0..24).map(|_| tokio::spawn(get(addr, SPC))).collect();
            for reply in at_once {
                let reply = reply.await.expect("request task");
                assert_eq!(reply.status, 200, "{reuse:?} round {round}: {reply:?}");
            }
            // Long enough for the short idle timeout to drop every instance.
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_failure_is_a_generic_scim_500() {
    // Too little memory for the component to even instantiate: the failure path of any trap.
    let (server, _dir) = start(RequestLimits {
        max_memory_bytes: 64 << 10,
        ..RequestLimits::default()
    })
    .await;
    let reply = get(server.local_addr(), SPC).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, INTERNAL_ERROR_BODY);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_time_limit_is_a_generic_scim_500() {
    let (server, _dir) = start(RequestLimits {
        request_timeout: Duration::from_micros(1),
        ..RequestLimits::default()
    })
    .await;
    let reply = get(server.local_addr(), SPC).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, INTERNAL_ERROR_BODY);
    server.shutdown().await;
}

/// Starts `scim-host serve` with its compile cache in `cache` (and `extra` arguments), waits for
/// the `listening on` line, and stops it.
fn start_with_cache(dir: &Path, cache: &Path, extra: &[&str]) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("kv.db"))
        .args(extra)
        .env("SCIM_HOST_CACHE_DIR", cache)
        .env_remove("SCIM_HOST_NO_CACHE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim-host serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("listening on http://"), "{line:?}");
}

#[test]
fn serve_keeps_the_compiled_component_and_replaces_a_corrupt_entry() {
    let dir = scratch_dir();
    let cache = dir.join("cache");
    start_with_cache(&dir, &cache, &["--no-cache"]);
    assert!(!cache.exists(), "--no-cache writes nothing");
    start_with_cache(&dir, &cache, &[]);
    let entries = cache_entries(&cache);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let good = std::fs::read(&entries[0]).expect("the entry");
    let mut damaged = good.clone();
    damaged[good.len() / 2] ^= 0x77;
    std::fs::write(&entries[0], &damaged).expect("damage the entry");
    start_with_cache(&dir, &cache, &[]);
    assert_eq!(
        std::fs::read(&entries[0]).expect("the entry"),
        good,
        "the damaged entry is compiled again and replaced"
    );
}
