//! The SCIM endpoints (RFC 7644 §3): authentication, routing, and the error boundary. The
//! handlers live in the submodules: `create` (POST), `update` (PUT, PATCH), `remove` (DELETE),
//! `members` (a group PATCH's member changes), `search` (GET lists, `.search`), `render`
//! (what a resource looks like in a response), `body` (reading request bodies),
//! `preconditions` (ETags).
use scim_patch::{Engine, ScimError};
use serde_json::Value;

use crate::discovery;
use crate::http::{Request, Response, error};
use crate::kv::{Kv, StoreError};
use crate::list::ListQuery;
use crate::store::{Kind, Store};

mod body;
mod create;
mod member_scope;
mod members;
mod preconditions;
mod remove;
mod render;
mod rewrite;
mod search;
mod update;

pub use body::MAX_BODY_BYTES;

/// Why a request failed: a SCIM error for the client, a storage failure, or another failure
/// of the service itself (both logged with their cause, and answered with a bare 500).
pub(crate) enum Failure {
    Scim(ScimError),
    Store(StoreError),
    Internal(String),
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Scim(e) => write!(f, "{e}"),
            Failure::Store(e) => write!(f, "storage: {e}"),
            Failure::Internal(cause) => write!(f, "internal: {cause}"),
        }
    }
}

impl From<ScimError> for Failure {
    fn from(e: ScimError) -> Self {
        Failure::Scim(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

pub(crate) type Outcome = Result<Response, Failure>;

/// 409 uniqueness (RFC 7644 §3.12).
pub(crate) fn taken(kind: Kind, name: &str) -> Failure {
    Failure::Scim(ScimError::uniqueness(format!(
        "{} \"{name}\" is already in use",
        kind.unique_attribute()
    )))
}

/// 404 for a resource of `kind`.
pub(crate) fn not_found(kind: Kind) -> Failure {
    Failure::Scim(error(404, kind.not_found()))
}

/// Everything one request needs.
pub(crate) struct Service<'a, K: Kv> {
    pub(crate) store: Store<'a, K>,
    /// `scheme://host/scim/v2` as this request sees the service.
    pub(crate) base: String,
    pub(crate) engine: &'a Engine,
}

/// Checks the request's credentials (before its body is read): `Authorization: Bearer <token>`,
/// exactly one such header. The error is the 401 (or, with no token configured, a 500).
pub fn authenticate(request: &Request, token: Option<&str>) -> Result<(), Response> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        eprintln!("scim-spin: the scim_token variable is not set; refusing every request");
        return Err(Response::error(&error(500, "An unexpected error occurred")));
    };
    let mut given = request.headers_named("authorization");
    let (Some(only), None) = (given.next(), given.next()) else {
        return Err(unauthorized());
    };
    if crate::auth::authorized(Some(only), token) {
        Ok(())
    } else {
        Err(unauthorized())
    }
}

fn unauthorized() -> Response {
    Response::error(&error(401, "A valid bearer token is required"))
        .with_header("www-authenticate", "Bearer realm=\"scim\"")
}

/// What one instance of the service remembers between the requests it serves (a Spin
/// instance keeps to one store): that the store holds layout v2, checked once, not per request.
#[derive(Debug, Default)]
pub struct Instance {
    layout_checked: std::sync::atomic::AtomicBool,
}

impl Instance {
    /// An instance that has checked nothing yet.
    pub const fn new() -> Self {
        Instance {
            layout_checked: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Handles one request. Never panics on input: every failure becomes a SCIM Error response.
pub async fn handle<K: Kv>(
    kv: &K,
    engine: &Engine,
    token: Option<&str>,
    request: Request,
) -> Response {
    handle_in(&Instance::default(), kv, engine, token, request).await
}

/// [`handle`] for an instance that serves many requests on the same store.
pub async fn handle_in<K: Kv>(
    instance: &Instance,
    kv: &K,
    engine: &Engine,
    token: Option<&str>,
    request: Request,
) -> Response {
    if let Err(refused) = authenticate(&request, token) {
        return refused;
    }
    let scrub = |res: &mut serde_json::Map<String, Value>| body::scrub_plain(engine, res);
    let outcome = match Store::open(kv, &scrub, &instance.layout_checked).await {
        Ok(store) => {
            let service = Service {
                store,
                base: base_url(&request),
                engine,
            };
            service.route(&request).await
        }
        Err(e) => Err(Failure::Store(e)),
    };
    match outcome {
        Ok(response) => response,
        Err(Failure::Scim(e)) => Response::error(&e),
        Err(Failure::Store(e)) => {
            eprintln!(
                "scim-spin: {} {}: storage failure: {}",
                request.method, request.path, e.0
            );
            Response::error(&error(500, "An unexpected error occurred"))
        }
        Err(Failure::Internal(cause)) => {
            eprintln!(
                "scim-spin: {} {}: internal failure: {cause}",
                request.method, request.path
            );
            Response::error(&error(500, "An unexpected error occurred"))
        }
    }
}

fn base_url(request: &Request) -> String {
    if let Some(full) = request.header("spin-full-url")
        && let Some(at) = full.find("/scim/v2")
    {
        return full[..at + "/scim/v2".len()].to_string();
    }
    let scheme = request.header("x-forwarded-proto").unwrap_or("http");
    format!(
        "{scheme}://{}/scim/v2",
        request.header("host").unwrap_or("localhost")
    )
}

fn segments(path: &str) -> Vec<String> {
    let path = path.strip_prefix("/scim/v2").unwrap_or(path);
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// The method a request stands for: POST with `X-HTTP-Method-Override: PATCH` is a PATCH
/// (Workspace ONE, PingFederate); any other override is refused, never obeyed.
fn effective_method(request: &Request) -> Result<String, Failure> {
    let method = request.method.to_ascii_uppercase();
    let Some(overridden) = request.header("x-http-method-override") else {
        return Ok(method);
    };
    let overridden = overridden.trim();
    if method == "POST" && overridden.eq_ignore_ascii_case("PATCH") {
        return Ok("PATCH".into());
    }
    Err(Failure::Scim(error(
        400,
        format!(
            "X-HTTP-Method-Override can only turn a POST into a PATCH, not {method} into {overridden:?}"
        ),
    )))
}

const DISCOVERY: [&str; 3] = ["ServiceProviderConfig", "ResourceTypes", "Schemas"];

impl<K: Kv> Service<'_, K> {
    async fn route(&self, request: &Request) -> Outcome {
        let method = effective_method(request)?;
        let segs = segments(&request.path);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let params = request.query_params();
        let kind = match segs.first() {
            Some(s) if s.eq_ignore_ascii_case("Users") => Some(Kind::User),
            Some(s) if s.eq_ignore_ascii_case("Groups") => Some(Kind::Group),
            _ => None,
        };
        match (method.as_str(), kind, segs.as_slice()) {
            ("GET", None, [s, rest @ ..])
                if rest.len() <= 1 && DISCOVERY.iter().any(|d| s.eq_ignore_ascii_case(d)) =>
            {
                self.discover(s, rest.first().copied())
            }
            (_, None, [s] | [s, _]) if DISCOVERY.iter().any(|d| s.eq_ignore_ascii_case(d)) => {
                Err(Failure::Scim(error(
                    405,
                    format!(
                        "{method} is not supported on {}: it is read-only",
                        request.path
                    ),
                )))
            }
            ("POST", None, [".search"]) => {
                let query = ListQuery::from_body(&body::parse(request)?, self.engine)?;
                self.search(&[Kind::User, Kind::Group], &query).await
            }
            ("POST", Some(kind), [_]) => self.create(kind, request, &params).await,
            ("GET", Some(kind), [_]) => {
                let query = ListQuery::from_params(&params, self.engine)?;
                self.search(&[kind], &query).await
            }
            ("POST", Some(kind), [_, ".search"]) => {
                let query = ListQuery::from_body(&body::parse(request)?, self.engine)?;
                self.search(&[kind], &query).await
            }
            ("GET", Some(kind), [_, id]) => self.get(kind, id, request, &params).await,
            ("PUT", Some(kind), [_, id]) => self.put(kind, id, request, &params).await,
            ("PATCH", Some(kind), [_, id]) => self.patch(kind, id, request, &params).await,
            ("DELETE", Some(kind), [_, id]) => self.delete(kind, id, request).await,
            (_, Some(_), [_] | [_, _]) => Err(Failure::Scim(error(
                405,
                format!("{method} is not supported on {}", request.path),
            ))),
            _ => Err(Failure::Scim(error(
                404,
                format!("no endpoint {}", request.path),
            ))),
        }
    }

    fn discover(&self, endpoint: &str, name: Option<&str>) -> Outcome {
        let (base, registry) = (&self.base, &self.engine.config().registry);
        let json = |doc: Value| Ok(Response::json(200, &doc));
        let missing = |what: &str, name: &str| {
            Err(Failure::Scim(error(404, format!("no {what} \"{name}\""))))
        };
        if endpoint.eq_ignore_ascii_case("ServiceProviderConfig") {
            return match name {
                None => json(discovery::service_provider_config(base)),
                Some(name) => missing("configuration", name),
            };
        }
        if endpoint.eq_ignore_ascii_case("ResourceTypes") {
            return match name {
                None => json(discovery::list(discovery::resource_types(registry, base))),
                Some(name) => match discovery::resource_type(registry, name, base) {
                    Some(doc) => json(doc),
                    None => missing("resource type", name),
                },
            };
        }
        match name {
            None => json(discovery::list(
                registry
                    .schemas()
                    .iter()
                    .filter(|sc| discovery::advertised(&sc.id))
                    .map(|sc| discovery::schema(sc, base))
                    .collect(),
            )),
            Some(id) => match registry.schema(id) {
                Some(sc) => json(discovery::schema(sc, base)),
                None => missing("schema", id),
            },
        }
    }
}
