//! The service's guarantees end to end, through `scim-host serve`: a database written by the
//! previous release (storage layout v1) is served after the upgrade with nothing lost; `kill -9`
//! in the middle of a burst of creates, renames, deletes and member changes leaves consistent
//! data and no name blocked; and the HTTP edges an attack review probes: two Authorization
//! headers, a token checked before any body is read, and an oversized body that a client sends
//! whole before reading still gets a 413 it can read.
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use scim_spin::testing::{Api, check_consistency};
use serde_json::{Value, json};

impl Api for Client {
    fn call(&self, method: &str, target: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.request(method, target);
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send();
        let json = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        (r.status, json)
    }
}

/// Writes the v1 fixture's rows into a new SQLite file with Spin's table; answers its `ids`.
fn v1_database(path: &std::path::Path) -> Value {
    let (rows, ids) = scim_spin::testing::v1_store();
    let db = rusqlite::Connection::open(path).expect("open");
    db.execute(
        "CREATE TABLE spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))",
        [],
    )
    .expect("table");
    for (key, value) in rows {
        db.execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)",
            rusqlite::params![key, value],
        )
        .expect("insert");
    }
    ids
}

#[test]
fn a_database_of_the_previous_release_is_served_after_the_upgrade() {
    let dir = scratch_dir("v1-upgrade");
    let db = dir.join("kv.db");
    let ids = v1_database(&db);
    let id = |name: &str| ids[name].as_str().expect("id").to_string();
    let mut server = Server::start_on(&db);
    server.adopt(dir);
    let c = server.client();
    let users = c.fetch("/Users");
    assert_eq!(users["totalResults"], 5);
    let bjensen = c.fetch(&format!("/Users/{}", id("bjensen@example.com")));
    assert_eq!(bjensen["groups"][0]["display"], "Admins");
    let admins = c.fetch(&format!("/Groups/{}", id("Admins")));
    assert_eq!(values(&admins, "members").len(), 2);
    let jsmith = c
        .get(&format!("/Users/{}", id("jsmith@example.com")))
        .expect(200);
    assert!(!jsmith.text().contains("leakedPlainSecret"));
    c.post("/Users", &user("bjensen@example.com"))
        .scim_error(409, Some("uniqueness"), None);
    check_consistency(&c);
    // The store holds no v1 key and nothing of v1's plain password.
    let db = rusqlite::Connection::open(&db).expect("open");
    let mut rows = db
        .prepare("SELECT key, value FROM spin_key_value")
        .expect("select");
    let rows: Vec<(String, Vec<u8>)> = rows
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert!(!rows.is_empty());
    for (key, value) in rows {
        assert!(
            !["res/", "uniq/", "claim/", "memberof/"]
                .iter()
                .any(|p| key.starts_with(p)),
            "{key}"
        );
        assert!(
            !String::from_utf8_lossy(&value).contains("leakedPlainSecret"),
            "{key}"
        );
    }
}

#[test]
fn kill_9_in_the_middle_of_a_burst_leaves_consistent_data_and_usable_names() {
    let dir = scratch_dir("kill-9");
    let db = dir.join("kv.db");
    let server = Server::start_on(&db);
    let c = server.client();
    let group = c.create("/Groups", &group("Burst", &[]));
    let gpath = group_path(&group);
    let seeds: Vec<Value> = (0..6).map(|i| c.create_user(&format!("seed{i}"))).collect();
    for u in &seeds {
        c.patch_ok(
            &gpath,
            json!([{"op": "add", "path": "members", "value": [{"value": id(u)}]}]),
        );
    }
    let names: Vec<String> = (0..40).map(|i| format!("burst{i}")).collect();
    let killer = std::thread::spawn({
        let c = c.clone();
        move || {
            // Let the burst get going, then pull the plug.
            let deadline = Instant::now() + Duration::from_millis(400);
            while Instant::now() < deadline && c.get("/Users?count=0").status == 200 {}
        }
    });
    std::thread::scope(|scope| {
        for (i, name) in names.iter().enumerate() {
            let (c, gpath, seeds) = (c.clone(), gpath.clone(), &seeds);
            scope.spawn(move || {
                let Ok(r) = c.request("POST", "/Users").json(&user(name)).try_send() else {
                    return;
                };
                if r.status != 201 {
                    return;
                }
                let created = r.json();
                let path = user_path(&created);
                let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id(&created)}]}]));
                let _ = c.request("PATCH", &gpath).json(&add).try_send();
                let _ = match i % 3 {
                    0 => c.request("DELETE", &path).try_send(),
                    1 => c
                        .request("PATCH", &path)
                        .json(&patch_op(json!([{"op": "replace", "path": "userName", "value": format!("{name}-renamed")}])))
                        .try_send(),
                    _ => c.request("DELETE", &user_path(&seeds[i % seeds.len()])).try_send(),
                };
            });
        }
        killer.join().expect("killer");
        server.kill();
    });
    let mut server = Server::start_on(&db);
    server.adopt(dir);
    let c = server.client();
    check_consistency(&c);
    for name in names
        .iter()
        .flat_map(|n| [n.clone(), format!("{n}-renamed")])
    {
        let found = c.fetch(&format!(
            "/Users?filter={}",
            enc(&format!("userName eq \"{name}\""))
        ));
        if found["totalResults"] == 0 {
            c.post("/Users", &user(&name)).expect(201);
        }
    }
    check_consistency(&c);
}

/// Sends `head` and then `body` completely before reading anything, as Python's urllib does,
/// and returns what the server answered.
fn send_all_then_read(server: &Server, head: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("head");
    stream
        .write_all(body)
        .expect("the whole body is accepted (no broken pipe)");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no response: {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn an_oversized_body_sent_whole_before_reading_gets_a_readable_413() {
    let server = Server::start("send-all-first");
    let body = vec![b' '; 2 << 20];
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (status, error) = send_all_then_read(&server, &head, &body);
    assert_eq!(status, 413);
    assert_scim_error_doc(&error, 413);
    // And chunked, without a Content-Length to refuse up front.
    let mut chunked = Vec::new();
    for _ in 0..32 {
        chunked.extend_from_slice(format!("{:x}\r\n", 65_536).as_bytes());
        chunked.extend_from_slice(&[b' '; 65_536]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let (status, error) = send_all_then_read(&server, &head, &chunked);
    assert_eq!(status, 413);
    assert_scim_error_doc(&error, 413);
}

#[test]
fn the_token_is_checked_before_the_body_arrives() {
    let server = Server::start("auth-first");
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // A head promising a megabyte, with a wrong token, and no body at all.
    stream
        .write_all(
            b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\
              Content-Type: application/scim+json\r\nContent-Length: 1000000\r\n\r\n",
        )
        .expect("head");
    let started = Instant::now();
    let mut raw = [0u8; 4096];
    let n = stream.read(&mut raw).expect("an answer without the body");
    let text = String::from_utf8_lossy(&raw[..n]);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered without waiting for the body"
    );
}

#[test]
fn two_authorization_headers_are_refused() {
    let server = Server::start("two-auth");
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    let head = format!(
        "GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Authorization: Bearer other\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("head");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or_default())
        .expect("a SCIM error body");
    assert_scim_error_doc(&body, 401);
}
