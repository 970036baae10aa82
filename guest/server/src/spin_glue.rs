//! The Spin adapter (wasm32 only): the HTTP handler, the `scim_token` and `scim_profile`
//! variables, and [`Kv`] over Spin's `default` store — plain operations through `spin:key-value`,
//! compare-and-swap and increment through `wasi:keyvalue/atomics`, batches through
//! `wasi:keyvalue/batch`, all on the same store.
//!
//! The bearer token is checked on the request's head, before any of its body is read (a refused
//! request is answered at once). An authenticated request's body is read up to
//! `MAX_BODY_BYTES`; past that, the rest is read and discarded (up to [`DRAIN_LIMIT`] bytes or
//! [`DRAIN_TIME`]) before the 413 goes out, so that a client that sends its whole body before
//! reading (Python's urllib does) gets the 413 instead of a broken pipe.
use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{HeaderMap, HeaderName, HeaderValue, IntoResponse, Request, StatusCode};
use spin_sdk::http_service;

use crate::http;
use crate::kv::{Kv, StoreError};
use crate::service::MAX_BODY_BYTES;

mod bindings {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        world: "server-imports",
        path: "wit",
        generate_all,
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store as wasi_store};

/// How much of an oversized body is read (and discarded) before the 413.
const DRAIN_LIMIT: usize = 16 << 20;
/// How long reading and discarding an oversized body may take.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// What this instance remembers between requests (it always serves the `default` store).
static INSTANCE: crate::service::Instance = crate::service::Instance::new();

/// Whether `wasi:keyvalue/batch` reads work on this store (cleared after the first failure:
/// an instance's store is the same for every request it serves).
static BATCH_READS: AtomicBool = AtomicBool::new(true);

/// The engine of each profile: immutable configuration, shared by the requests an instance
/// serves.
fn engine(strict: bool) -> &'static scim_patch::Engine {
    static COMPATIBLE: OnceLock<scim_patch::Engine> = OnceLock::new();
    static STRICT: OnceLock<scim_patch::Engine> = OnceLock::new();
    if strict {
        STRICT.get_or_init(|| {
            let config = scim_patch::Config {
                profile: scim_patch::Profile::Strict,
                ..scim_patch::Config::default()
            };
            scim_patch::Engine::new(config)
        })
    } else {
        COMPATIBLE.get_or_init(scim_patch::Engine::default)
    }
}

struct SpinKv {
    store: spin_sdk::key_value::Store,
    bucket: wasi_store::Bucket,
}

fn kv_error(e: impl std::fmt::Debug) -> StoreError {
    StoreError(format!("{e:?}"))
}

impl Kv for SpinKv {
    type Swap = atomics::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key).await.map_err(kv_error)
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        match keys {
            [] => return Ok(Vec::new()),
            // Spin's Redis backend sends `get-many` as `KEYS k1 …`: with one key that is a
            // valid KEYS whose answer its conversion cannot take (the host panics).
            [key] => return Ok(vec![self.get(key).await?]),
            _ => {}
        }
        if BATCH_READS.load(Ordering::Relaxed) {
            match batch::get_many(&self.bucket, keys) {
                // Spin's SQLite backend leaves absent keys out; others answer each with an option.
                Ok(found) => {
                    let found: HashMap<String, Option<Vec<u8>>> = found.into_iter().collect();
                    return Ok(keys
                        .iter()
                        .map(|k| found.get(k).cloned().flatten())
                        .collect());
                }
                Err(e) => {
                    // Spin's Redis backend sends `get-many` as `KEYS k1 k2 …`, which Redis
                    // refuses: read the keys one by one (concurrently) from then on.
                    eprintln!("scim-spin: batch reads failed ({e:?}); reading keys one by one");
                    BATCH_READS.store(false, Ordering::Relaxed);
                }
            }
        }
        futures::future::join_all(keys.iter().map(|k| self.store.get(k)))
            .await
            .into_iter()
            .map(|r| r.map_err(kv_error))
            .collect()
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.set(key, value).await.map_err(kv_error)
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(key).await.map_err(kv_error)
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        batch::delete_many(&self.bucket, keys).map_err(kv_error)
    }
    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.store
            .get_keys()
            .await
            .collect()
            .await
            .map_err(kv_error)
    }
    async fn read_for_swap(
        &self,
        key: &str,
    ) -> Result<(Option<Vec<u8>>, atomics::Cas), StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(kv_error)?;
        let current = cas.current().map_err(kv_error)?;
        Ok((current, cas))
    }
    async fn swap(&self, cas: atomics::Cas, new: &[u8]) -> Result<bool, StoreError> {
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(kv_error(e)),
        }
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(kv_error)
    }
    async fn pause(&self, pause: Duration) {
        spin_sdk::time::sleep(pause).await;
    }
}

/// The request's method, path, query and headers (every header, repeated ones included).
fn head(req: &Request) -> http::Request {
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
    http::Request {
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or_default().to_string(),
        headers,
        body: Vec::new(),
    }
}

/// Why the body could not be had.
enum BodyError {
    TooLarge,
    Broken,
}

/// Reads at most `MAX_BODY_BYTES` (a chunked body has no Content-Length to check up front);
/// past the limit, reads on and discards up to `DRAIN_LIMIT` so the client sees the 413.
async fn read_body(req: Request) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut chunks = req.into_body().stream();
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        drain(&mut chunks, 0).await;
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            drain(&mut chunks, body.len() + chunk.len()).await;
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads and discards the rest of a body, up to `DRAIN_LIMIT` bytes in all or `DRAIN_TIME`.
async fn drain<S, B, E>(chunks: &mut S, mut read: usize)
where
    S: futures::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut deadline = Box::pin(spin_sdk::time::sleep(DRAIN_TIME));
    while read < DRAIN_LIMIT {
        match futures::future::select(chunks.next(), &mut deadline).await {
            futures::future::Either::Left((Some(Ok(chunk)), _)) => read += chunk.as_ref().len(),
            _ => break,
        }
    }
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
    let mut request = head(&req);
    let token = spin_sdk::variables::get("scim_token").await.ok();
    if let Err(refused) = crate::service::authenticate(&request, token.as_deref()) {
        return Ok(into_response(refused));
    }
    let strict = match spin_sdk::variables::get("scim_profile").await {
        Err(_) => false,
        Ok(p) if p.is_empty() || p.eq_ignore_ascii_case("compatible") => false,
        Ok(p) if p.eq_ignore_ascii_case("strict") => true,
        Ok(p) => {
            eprintln!("scim-spin: scim_profile must be \"compatible\" or \"strict\", not {p:?}");
            return Ok(failure(500, "An unexpected error occurred"));
        }
    };
    request.body = match read_body(req).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return Ok(failure(
                413,
                &format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
            ));
        }
        Err(BodyError::Broken) => return Ok(failure(400, "The supplied JSON is incorrect")),
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
    let kv = SpinKv { store, bucket };
    let response =
        crate::service::handle_in(&INSTANCE, &kv, engine(strict), token.as_deref(), request).await;
    Ok(into_response(response))
}
