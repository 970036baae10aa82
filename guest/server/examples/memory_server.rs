//! A development aid: the SCIM service natively over an in-memory store, on plain HTTP/1.1
//! (one connection at a time, no keep-alive). Not the product — `scim-host serve` runs the real
//! Spin component — but it starts in a second, which makes conformance debugging quick.
//!
//! `cargo run -p scim-spin --example memory_server -- 127.0.0.1:3001 TOKEN`
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use scim_spin::http::Request;
use scim_spin::kv::MemoryKv;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3001".into());
    let token = args.next().unwrap_or_else(|| "dev-token".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on http://{}", listener.local_addr()?);
    let (kv, engine) = (MemoryKv::default(), scim_patch::Engine::default());
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("GET").to_string(),
            parts.next().unwrap_or("/").to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0usize);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let request = Request {
            method,
            path: path.into(),
            query: query.into(),
            headers,
            body,
        };
        let response = futures_executor::block_on(scim_spin::service::handle(
            &kv,
            &engine,
            Some(&token),
            request,
        ));
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
            response.status,
            response.body.len()
        );
        for (k, v) in &response.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(&response.body)?;
    }
    Ok(())
}
