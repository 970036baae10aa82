//! The Spin adapter (wasm32 only): the HTTP handler, the `scim_token` variable, and [`Kv`] over
//! Spin's `default` store — plain operations through `spin:key-value`, compare-and-swap and
//! increment through `wasi:keyvalue/atomics` on the same store.
use std::sync::OnceLock;

use futures::StreamExt;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{HeaderMap, HeaderName, HeaderValue, IntoResponse, Request, StatusCode};
use spin_sdk::http_service;

use crate::http;
use crate::kv::{Kv, StoreError};

mod bindings {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        world: "server-imports",
        path: "wit",
        generate_all,
    });
}

use bindings::wasi::keyvalue::{atomics, store as wasi_store};

/// The engine is immutable configuration, shared by the requests an instance serves.
fn engine() -> &'static scim_patch::Engine {
    static ENGINE: OnceLock<scim_patch::Engine> = OnceLock::new();
    ENGINE.get_or_init(scim_patch::Engine::default)
}

struct SpinKv {
    store: spin_sdk::key_value::Store,
    bucket: wasi_store::Bucket,
}

fn kv_error(e: impl std::fmt::Debug) -> StoreError {
    StoreError(format!("{e:?}"))
}

impl Kv for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key).await.map_err(kv_error)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.set(key, value).await.map_err(kv_error)
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(key).await.map_err(kv_error)
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let all = self
            .store
            .get_keys()
            .await
            .collect()
            .await
            .map_err(kv_error)?;
        Ok(all.into_iter().filter(|k| k.starts_with(prefix)).collect())
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(kv_error)?;
        // Spin's CAS upserts when the key was absent; we only swap documents that exist and match.
        if cas.current().map_err(kv_error)?.as_deref() != Some(expected) {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(kv_error(e)),
        }
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(kv_error)
    }
}

async fn into_request(req: Request) -> Result<http::Request, StatusCode> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > crate::service::MAX_BODY_BYTES) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Read at most the limit (a chunked body has no Content-Length to check up front).
    let mut body = Vec::new();
    let mut chunks = req.into_body().stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
        if body.len() + chunk.len() > crate::service::MAX_BODY_BYTES {
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(http::Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

type Body = http_body_util::Full<bytes::Bytes>;

fn into_response(response: http::Response) -> (StatusCode, HeaderMap, Body) {
    let mut headers = HeaderMap::new();
    for (name, value) in &response.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(n, v);
        }
    }
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        headers,
        Body::new(bytes::Bytes::from(response.body)),
    )
}

fn failure(status: u16, detail: &str) -> (StatusCode, HeaderMap, Body) {
    into_response(http::Response::error(&http::error(status, detail)))
}

#[http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let request = match into_request(req).await {
        Ok(r) => r,
        Err(StatusCode::PAYLOAD_TOO_LARGE) => {
            return Ok(failure(413, "the request body is too large"));
        }
        Err(_) => return Ok(failure(400, "The supplied JSON is incorrect")),
    };
    let store = match spin_sdk::key_value::Store::open_default().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scim-spin: cannot open the default key-value store: {e:?}");
            return Ok(failure(500, "An unexpected error occurred"));
        }
    };
    let bucket = match wasi_store::open("default") {
        Ok(b) => b,
        Err(e) => {
            eprintln!("scim-spin: cannot open the default wasi:keyvalue bucket: {e:?}");
            return Ok(failure(500, "An unexpected error occurred"));
        }
    };
    let token = spin_sdk::variables::get("scim_token").await.ok();
    let kv = SpinKv { store, bucket };
    let response = crate::service::handle(&kv, engine(), token.as_deref(), request).await;
    Ok(into_response(response))
}
