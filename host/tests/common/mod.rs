//! Shared by the end-to-end tests: nodes of the service on 127.0.0.1 — `scim-host serve` or
//! real `spin up`, on SQLite or on a private Redis ([`Server`], [`Backend`], [`RedisServer`]),
//! the HTTP suite's targets ([`Target`]), a tiny HTTP/1.1 client over `std::net::TcpStream`
//! ([`Client`]) and SCIM helpers (bodies, ids, error assertions).

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(unused_imports, reason = "each test binary uses a different subset")]

mod node;
mod redis;
mod spin;
mod target;

pub use node::{Backend, Runtime, Server};
pub use redis::{RedisServer, Reply, free_port};
pub use spin::spin_binary;
pub use target::{Store, Target};

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_scim-host");
/// The bearer token every server is started with (`--variable scim_token=...`).
pub const TOKEN: &str = "e2e-token-7f3a9c1d2b";
/// The mount point of the SCIM API.
pub const BASE: &str = "/scim/v2";

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const WORKSPACE_ONE: &str = "urn:scim:schemas:extension:workspace:1.0";

/// Socket read/write timeout of one request.
const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// Says that `what` was skipped and why, on the real stderr: libtest captures `println!`
/// and `eprintln!` of passing tests, and a skip must be seen.
pub fn print_skip(what: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped {what}: {why}");
}

/// A fresh, empty directory under `CARGO_TARGET_TMPDIR` for one test.
pub fn scratch_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(format!("{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A response read off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the response) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body of a {} response is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// Asserts the status, showing the body when it differs; returns self for chaining.
    #[track_caller]
    pub fn expect(self, status: u16) -> Response {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// A successful PATCH's resource: the body of a 200, or — a group's PATCH answers 204 No
    /// Content (RFC 7644 §3.5.2) — the resource read back from `path`.
    #[track_caller]
    pub fn patched(self, client: &Client, path: &str) -> Value {
        match self.status {
            204 => {
                assert!(self.body.is_empty(), "a 204 has no body: {}", self.text());
                client.fetch(path)
            }
            _ => self.expect(200).json(),
        }
    }

    /// Asserts a SCIM Error document (RFC 7644 §3.12) with this status, scimType and (when
    /// given) detail; returns the document.
    #[track_caller]
    pub fn scim_error(&self, status: u16, scim_type: Option<&str>, detail: Option<&str>) -> Value {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/scim+json")
                || content_type.starts_with("application/json"),
            "an error must be JSON, got content-type {content_type:?}"
        );
        let doc = self.json();
        assert_scim_error_doc(&doc, status);
        assert_eq!(doc["scimType"].as_str(), scim_type, "scimType of {doc}");
        if let Some(detail) = detail {
            assert_eq!(doc["detail"].as_str(), Some(detail), "detail of {doc}");
        }
        doc
    }
}

/// Asserts `doc` is a SCIM Error document for `status`: the Error schema, `status` as a string.
#[track_caller]
pub fn assert_scim_error_doc(doc: &Value, status: u16) {
    assert_eq!(doc["schemas"], json!([ERROR_SCHEMA]), "schemas of {doc}");
    assert_eq!(
        doc["status"].as_str(),
        Some(status.to_string().as_str()),
        "status of {doc} (RFC 7644 §3.12: a string)"
    );
    assert!(
        doc["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "an error should say why: {doc}"
    );
}

/// A client for one server: every request is one connection with `Connection: close`.
#[derive(Debug, Clone)]
pub struct Client {
    pub addr: SocketAddr,
    /// Sent as `Authorization: Bearer ...` unless `None`.
    pub token: Option<String>,
}

/// One request being built; [`Request::send`] sends it.
pub struct Request<'c> {
    client: &'c Client,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    auth: Option<String>,
}

impl<'c> Request<'c> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A JSON body (`Content-Type: application/scim+json`).
    pub fn json(self, body: &Value) -> Self {
        self.raw("application/scim+json", body.to_string().into_bytes())
    }

    /// Any body with its content type.
    pub fn raw(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers
            .push(("Content-Type".into(), content_type.to_string()));
        self.body = Some(body);
        self
    }

    /// Sends no `Authorization` header.
    pub fn without_auth(mut self) -> Self {
        self.auth = None;
        self
    }

    /// Sends this `Authorization` header value instead of the client's.
    pub fn authorization(mut self, value: &str) -> Self {
        self.auth = Some(value.to_string());
        self
    }

    /// Sends the request and reads the whole response; panics on I/O failure.
    pub fn send(self) -> Response {
        let (method, target) = (self.method.clone(), self.target.clone());
        self.try_send()
            .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
    }

    /// Sends the request and reads the whole response.
    pub fn try_send(self) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(self.client.addr)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/scim+json\r\n",
            self.method, self.target, self.client.addr
        );
        if let Some(auth) = &self.auth {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = self.body.unwrap_or_default();
        if !body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let written = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(&body))
            .and_then(|()| stream.flush());
        match written {
            Ok(()) => {}
            // The server may answer (413) and close before reading a large body: read the answer.
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {}
            Err(e) => return Err(e),
        }
        let mut raw = Vec::new();
        let read = stream.read_to_end(&mut raw);
        match parse_response(&raw) {
            Some(response) => Ok(response),
            None => Err(read.err().unwrap_or_else(|| {
                std::io::Error::new(
                    ErrorKind::InvalidData,
                    format!(
                        "incomplete HTTP response: {:?}",
                        String::from_utf8_lossy(&raw)
                    ),
                )
            })),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a complete response (`None` when incomplete).
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let body = if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = get("content-length") {
        let length: usize = length.parse().ok()?;
        rest.get(..length)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// `/scim/v2` + `path`; an absolute URL (a `Location`) is reduced to its path, a path already
/// under `/scim/v2` is kept.
pub fn target(path: &str) -> String {
    if let Some(rest) = path
        .strip_prefix("http://")
        .or_else(|| path.strip_prefix("https://"))
    {
        return rest.find('/').map_or("/".into(), |i| rest[i..].to_string());
    }
    if path.starts_with(BASE) {
        path.to_string()
    } else {
        format!("{BASE}{path}")
    }
}

impl Client {
    /// A request to `path` (relative to `/scim/v2`, or a full `Location` URL).
    pub fn request(&self, method: &str, path: &str) -> Request<'_> {
        Request {
            client: self,
            method: method.to_string(),
            target: target(path),
            headers: Vec::new(),
            body: None,
            auth: self.token.as_ref().map(|t| format!("Bearer {t}")),
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path).send()
    }

    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path).send()
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.request("POST", path).json(body).send()
    }

    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.request("PUT", path).json(body).send()
    }

    pub fn patch(&self, path: &str, body: &Value) -> Response {
        self.request("PATCH", path).json(body).send()
    }

    /// Creates a resource (asserting 201) and returns it.
    #[track_caller]
    pub fn create(&self, endpoint: &str, body: &Value) -> Value {
        self.post(endpoint, body).expect(201).json()
    }

    /// Creates a user from [`user`] and returns it.
    #[track_caller]
    pub fn create_user(&self, user_name: &str) -> Value {
        self.create("/Users", &user(user_name))
    }

    /// GETs a resource (asserting 200) and returns it.
    #[track_caller]
    pub fn fetch(&self, path: &str) -> Value {
        self.get(path).expect(200).json()
    }

    /// PATCHes with a PatchOp of `ops` (asserting success) and returns the resource.
    #[track_caller]
    pub fn patch_ok(&self, path: &str, ops: Value) -> Value {
        self.patch(path, &patch_op(ops)).patched(self, path)
    }
}

/// A minimal core User.
pub fn user(user_name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": user_name})
}

/// A core Group with these member ids.
pub fn group(display_name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let mut g = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name});
    if !members.is_empty() {
        g["members"] = Value::Array(members);
    }
    g
}

/// A PatchOp request with these operations.
pub fn patch_op(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// The `id` of a resource.
#[track_caller]
pub fn id(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id in {resource}"))
        .to_string()
}

/// `/Users/{id}`.
pub fn user_path(resource: &Value) -> String {
    format!("/Users/{}", id(resource))
}

/// `/Groups/{id}`.
pub fn group_path(resource: &Value) -> String {
    format!("/Groups/{}", id(resource))
}

/// `meta.version` of a resource.
#[track_caller]
pub fn version(resource: &Value) -> String {
    resource["meta"]["version"]
        .as_str()
        .unwrap_or_else(|| panic!("no meta.version in {resource}"))
        .to_string()
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub fn enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `value`s of a multi-valued attribute (e.g. `emails`, `members`, `groups`), in order.
pub fn values(resource: &Value, attribute: &str) -> Vec<String> {
    resource[attribute]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of the `Resources` of a ListResponse (asserting its schema).
#[track_caller]
pub fn listed(list: &Value, attribute: &str) -> Vec<String> {
    assert_eq!(
        list["schemas"],
        json!([LIST_SCHEMA]),
        "not a ListResponse: {list}"
    );
    list["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources in {list}"))
        .iter()
        .map(|r| r[attribute].as_str().unwrap_or_default().to_string())
        .collect()
}
