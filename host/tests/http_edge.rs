//! What `scim-host serve` answers by itself at the HTTP edge, end to end over raw TCP (where
//! an ordinary client would refuse to send the bad request): every non-success is a SCIM Error
//! document (`schemas`, `status` as a string, `detail`; `application/scim+json`) — 404 outside
//! `/scim/v2`, 405, 400 for a request that is not HTTP, 413, 414, 431 and 500 — and a bad head
//! after good requests on a kept-alive connection is caught too.
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;

/// Writes `bytes` on a new connection, then reads until the server closes it.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    // The server may answer and close before reading everything: that is the point.
    let _ = stream.write_all(bytes);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    raw
}

/// The one response to `bytes` sent on a new connection.
fn answer(addr: SocketAddr, bytes: &[u8]) -> Response {
    let raw = exchange(addr, bytes);
    parse_response(&raw)
        .unwrap_or_else(|| panic!("no complete response: {:?}", String::from_utf8_lossy(&raw)))
}

/// Asserts a SCIM Error response with this status (and the SCIM content type).
#[track_caller]
fn assert_scim(response: &Response, status: u16) {
    response.scim_error(status, None, None);
    assert_eq!(
        response.header("content-type"),
        Some("application/scim+json"),
        "{response:?}"
    );
}

#[test]
fn every_answer_of_the_http_layer_is_a_scim_error() {
    let server = Server::start("http-edge");
    let addr = server.addr;
    let client = server.client();

    // Outside the component's route.
    for path in ["/", "/elsewhere", "/scim/v2x", "/scim"] {
        let response = client.request("GET", path).send();
        assert_scim(&response, 404);
    }
    // A method the endpoint does not have (answered by the component).
    assert_scim(&client.request("DELETE", "/Users").send(), 405);
    assert_scim(&client.request("PUT", "/ServiceProviderConfig").send(), 405);

    // Not HTTP, or HTTP that hyper would refuse.
    for (i, bad) in [
        &b"hello\r\n\r\n"[..],
        b"GET /scim/v2/Users HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET /scim/v2/Users HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
        b"GET /scim/v2/Users HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST /scim/v2/Users HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET /scim/v2/\x01 HTTP/1.1\r\n\r\n",
        // A target the HTTP parser takes but is no URI (hyper would refuse it).
        b"GET http://[::1/scim/v2 HTTP/1.1\r\n\r\n",
    ]
    .into_iter()
    .enumerate()
    {
        let response = answer(addr, bad);
        assert_eq!(response.status, 400, "case {i}: {response:?}");
        assert_scim(&response, 400);
    }

    // A body over the component's limit.
    let big = vec![b' '; 2 << 20];
    let response = client
        .request("POST", "/Users")
        .raw("application/scim+json", big)
        .send();
    assert_scim(&response, 413);

    // A huge target, sent whole and unfinished.
    let long = format!(
        "GET /scim/v2/Users?filter={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(40 << 10)
    );
    assert_scim(&answer(addr, long.as_bytes()), 414);
    let unfinished = format!("GET /scim/v2/Users?filter={}", "a".repeat(100 << 10));
    assert_scim(&answer(addr, unfinished.as_bytes()), 414);

    // A huge header, and too many headers.
    let huge_header = format!(
        "GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "v".repeat(200 << 10)
    );
    assert_scim(&answer(addr, huge_header.as_bytes()), 431);
    let mut many = String::from("GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    assert_scim(&answer(addr, many.as_bytes()), 431);

    // The server still serves after all of that.
    client.get("/ServiceProviderConfig").expect(200);
}

#[test]
fn a_bad_head_after_good_requests_on_one_connection_is_a_scim_400() {
    let server = Server::start("http-edge-keep-alive");
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":0}"#;
    let chunked = format!(
        "POST /scim/v2/Users/.search HTTP/1.1\r\nHost: x\r\n{auth}\
         Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let sized = format!(
        "POST /scim/v2/Users/.search HTTP/1.1\r\nHost: x\r\n{auth}\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let get = format!("GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\n{auth}\r\n");
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut raw = Vec::new();
    for request in [&chunked, &sized, &get] {
        stream.write_all(request.as_bytes()).expect("send");
        // Wait for each answer, as a client that does not pipeline.
        let mut buf = [0u8; 65536];
        loop {
            let n = stream.read(&mut buf).expect("read");
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&raw));
            raw.extend_from_slice(&buf[..n]);
            if parse_response(&raw).is_some() {
                break;
            }
        }
        let response = parse_response(&raw).expect("a response");
        assert_eq!(response.status, 200, "{}", response.text());
        raw.clear();
    }
    stream.write_all(b"NOT HTTP\r\n\r\n").expect("send");
    let _ = stream.read_to_end(&mut raw);
    let response = parse_response(&raw)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&raw)));
    assert_scim(&response, 400);
}

#[test]
fn a_request_the_component_cannot_finish_is_a_scim_500() {
    let dir = scratch_dir("http-edge-500");
    let mut server = Server::launch(
        Runtime::Serve,
        &Backend::Sqlite(dir.join("kv.db")),
        &["--request-timeout", "0.000001"],
    );
    server.adopt(dir);
    assert_scim(&server.client().get("/ServiceProviderConfig"), 500);
}
