//! [`Server`]: the tokio + hyper HTTP/1.1 front end: routing, Spin's request headers, the
//! per-request log line, the SCIM 500 for failures, graceful shutdown.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::config::{ComponentSource, HeadLimits, Route, ServeConfig};
use super::error_response;
use super::guarded_stream::GuardedStream;
use super::kv::KvStore;
use super::runtime::SpinRuntime;
use super::spin_request::prepare;
use super::{EMBEDDED_SPIN_COMPONENT, ServeError};

/// The body every failed request gets (with status 500): the cause is logged, never sent.
pub const INTERNAL_ERROR_BODY: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"An unexpected error occurred"}"#;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// hyper's smallest allowed read buffer.
const MIN_HYPER_BUFFER: usize = 8192;

/// A running server. Dropping it without [`Server::shutdown`] stops accepting and aborts
/// in-flight requests.
pub struct Server {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept: Option<JoinHandle<()>>,
    /// Set to stop the epoch thread.
    ticker: Arc<AtomicBool>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// What every connection needs.
struct Context {
    runtime: SpinRuntime,
    route: Route,
    head_limits: HeadLimits,
    local_addr: SocketAddr,
}

impl Server {
    /// Opens the database, compiles the component, binds the listener and starts serving.
    /// Returns once the server accepts connections.
    ///
    /// Must be called inside a multi-threaded tokio runtime (compilation and database work run
    /// on its blocking pool).
    pub async fn start(config: ServeConfig) -> Result<Server, ServeError> {
        let ServeConfig {
            listen,
            key_value,
            misreport_swaps,
            variables,
            component,
            compile_cache,
            route,
            request_limits,
            instance_reuse,
            head_limits,
            shutdown_grace,
        } = config;

        let kv = KvStore::open(&key_value, misreport_swaps)
            .await
            .map_err(ServeError::Database)?;
        let runtime = tokio::task::spawn_blocking(move || {
            let bytes: Cow<'static, [u8]> = match component {
                ComponentSource::Embedded => Cow::Borrowed(EMBEDDED_SPIN_COMPONENT),
                ComponentSource::Bytes(bytes) => Cow::Owned(bytes),
                ComponentSource::File(path) => {
                    Cow::Owned(std::fs::read(&path).map_err(|source| {
                        ServeError::ReadComponent {
                            path: path.clone(),
                            source,
                        }
                    })?)
                }
            };
            SpinRuntime::new(
                &bytes,
                &compile_cache,
                kv,
                variables,
                request_limits,
                instance_reuse,
            )
            .map_err(ServeError::Load)
        })
        .await
        .map_err(|e| ServeError::Load(wasmtime::format_err!("start-up task failed: {e}")))??;

        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;

        let ticker = Arc::new(AtomicBool::new(false));
        runtime
            .start_epoch_ticker(Arc::clone(&ticker))
            .map_err(|e| ServeError::Load(wasmtime::format_err!("cannot start a thread: {e}")))?;

        let context = Arc::new(Context {
            runtime,
            route,
            head_limits: head_limits.effective(),
            local_addr,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, context, shutdown_rx, shutdown_grace));
        Ok(Server {
            local_addr,
            shutdown,
            accept: Some(accept),
            ticker,
        })
    }

    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets in-flight requests finish (up to the configured
    /// grace period, then drops them) and closes idle connections.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
        self.ticker.store(true, Ordering::Relaxed);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.ticker.store(true, Ordering::Relaxed);
    }
}

async fn accept_loop(
    listener: TcpListener,
    context: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        peer,
                        Arc::clone(&context),
                        shutdown.clone(),
                    ));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("scim-host: accepting a connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);

    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drain).await.is_err() {
        eprintln!(
            "scim-host: {} connection(s) still busy after {} s; dropping them",
            connections.len(),
            grace.as_secs_f64()
        );
        connections.shutdown().await;
    }
}

/// Resolves once shutdown has been requested.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: the server was dropped, so stop too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Serves one connection with hyper, its request heads checked first ([`GuardedStream`]); a
/// refused head is answered here, after hyper has closed its side.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    context: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Responses go out as soon as they are written (no Nagle delay behind a delayed ACK).
    if let Err(error) = stream.set_nodelay(true) {
        eprintln!("scim-host: cannot set TCP_NODELAY: {error}");
    }
    let limits = context.head_limits;
    let mut guarded = GuardedStream::new(stream, limits);
    let service = service_fn(move |request| {
        let context = Arc::clone(&context);
        async move { Ok::<_, Infallible>(handle(&context, peer, request).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // Never stricter than the guard, so that hyper refuses no head the guard let through.
        .max_headers(limits.max_headers)
        .max_buf_size(limits.max_head_bytes.max(MIN_HYPER_BUFFER) * 2);
    {
        let mut connection = pin!(builder.serve_connection(TokioIo::new(&mut guarded), service));
        tokio::select! {
            _ = connection.as_mut() => {}
            () = stopped(&mut shutdown) => {
                // Finish the request in progress (if any), then close.
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    }
    if let Some(refusal) = guarded.take_refusal() {
        eprintln!(
            "scim-host: refused a request head from {peer}: {} ({})",
            refusal.status.as_u16(),
            refusal.detail
        );
        guarded.answer_refusal(&refusal).await;
    }
}

/// Serves one request and writes its log line.
async fn handle(
    context: &Context,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = dispatch(context, peer, request).await;
    eprintln!(
        "{method} {path} {} {:.1}ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

async fn dispatch(
    context: &Context,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Some(path_info) = context.route.path_info(request.uri().path()) else {
        let detail = format!(
            "no endpoint {}: the SCIM API is under {}",
            request.uri().path(),
            context.route.component_route()
        );
        return error_response::response(StatusCode::NOT_FOUND, &detail);
    };
    let path_info = path_info.to_owned();
    let request = match prepare(
        &context.route,
        context.local_addr,
        peer,
        &path_info,
        request,
    ) {
        Ok(request) => request,
        Err(cause) => {
            eprintln!("scim-host: cannot pass the request to the component: {cause}");
            return error_response::response(StatusCode::BAD_REQUEST, &cause);
        }
    };
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match context.runtime.handle(request).await {
        Ok(response) => response.map(Full::new),
        Err(cause) => {
            eprintln!("scim-host: {method} {path}: {cause}");
            internal_error()
        }
    }
}

/// The SCIM 500 ([`INTERNAL_ERROR_BODY`]).
fn internal_error() -> Response<Full<Bytes>> {
    error_response::with_body(
        StatusCode::INTERNAL_SERVER_ERROR,
        Bytes::from_static(INTERNAL_ERROR_BODY.as_bytes()),
    )
}
