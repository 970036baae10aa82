//! The SCIM endpoints (RFC 7644 §3): routing, and the handlers for Users, Groups and discovery.
use scim_patch::json::{get_ci, take_ci};
use scim_patch::schema::WORKSPACE_ONE_USER;
use scim_patch::{Engine, ScimError, ScimType};
use serde_json::{Map, Value, json};

use crate::discovery;
use crate::http::{Request, Response, error};
use crate::kv::{Kv, StoreError};
use crate::list::{self, ListQuery};
use crate::project::project;
use crate::store::{Kind, Loaded, Store, Stored};

/// Largest request body accepted (Spin's key-value values are at most 1 MB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Attempts at a compare-and-swap update before answering 409 (retry).
const CAS_ATTEMPTS: usize = 16;
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Why a request failed: a SCIM error for the client, or a storage failure (logged, 500).
enum Failure {
    Scim(ScimError),
    Store(StoreError),
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

type Outcome = Result<Response, Failure>;

/// 409 uniqueness (RFC 7644 §3.12).
fn taken(kind: Kind, name: &str) -> Failure {
    Failure::Scim(ScimError::uniqueness(format!(
        "{} \"{name}\" is already in use",
        kind.unique_attribute()
    )))
}

fn bad(kind: ScimType, detail: impl Into<String>) -> Failure {
    Failure::Scim(ScimError::bad_request(kind, detail))
}

/// Everything one request needs.
pub struct Service<'a, K: Kv> {
    store: Store<'a, K>,
    /// `scheme://host/scim/v2` as this request sees the service.
    base: String,
    engine: &'a Engine,
    token: Option<&'a str>,
}

/// Handles one request. Never panics on input: every failure becomes a SCIM Error response.
pub async fn handle<K: Kv>(
    kv: &K,
    engine: &Engine,
    token: Option<&str>,
    request: Request,
) -> Response {
    let service = Service {
        store: Store::new(kv),
        base: base_url(&request),
        engine,
        token,
    };
    match service.route(&request).await {
        Ok(response) => response,
        Err(Failure::Scim(e)) => {
            let response = Response::error(&e);
            if e.status == 401 {
                response.with_header("www-authenticate", "Bearer realm=\"scim\"")
            } else {
                response
            }
        }
        Err(Failure::Store(e)) => {
            eprintln!(
                "scim-spin: {} {}: storage failure: {}",
                request.method, request.path, e.0
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

fn parse_body(request: &Request) -> Result<Value, Failure> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(Failure::Scim(error(
            413,
            format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
        )));
    }
    let value: Value = serde_json::from_slice(&request.body)
        .map_err(|_| bad(ScimType::InvalidSyntax, "The supplied JSON is incorrect"))?;
    if scim_patch::limits::json_depth(&value) > scim_patch::Limits::default().max_json_depth {
        return Err(bad(
            ScimType::InvalidValue,
            "The supplied JSON nests too deeply",
        ));
    }
    Ok(value)
}

fn version_number(resource: &Map<String, Value>) -> u64 {
    resource
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .and_then(|v| v.trim_start_matches("W/").trim_matches('"').parse().ok())
        .unwrap_or(0)
}

/// Marks `resource` as the write after `previous`: `meta.lastModified` now, `meta.version` + 1.
fn touch(resource: &mut Map<String, Value>, previous: &Map<String, Value>) {
    let version = format!("W/\"{}\"", version_number(previous) + 1);
    if let Value::Object(meta) = resource.entry("meta").or_insert_with(|| json!({})) {
        meta.insert(
            "lastModified".into(),
            Value::String(crate::clock::now_rfc3339()),
        );
        meta.insert("version".into(), Value::String(version));
    }
}

fn etag(resource: &Map<String, Value>) -> Option<String> {
    resource
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn strip_weak(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/").trim_matches('"')
}

/// RFC 7232 If-Match: `*` or a list of tags, compared weakly.
fn check_if_match(request: &Request, resource: &Map<String, Value>) -> Result<(), Failure> {
    let Some(wanted) = request.header("if-match") else {
        return Ok(());
    };
    let current = etag(resource).unwrap_or_default();
    let ok = wanted
        .split(',')
        .any(|t| t.trim() == "*" || strip_weak(t) == strip_weak(&current));
    if ok {
        Ok(())
    } else {
        Err(Failure::Scim(error(
            412,
            format!("If-Match {wanted} does not match the current version {current}"),
        )))
    }
}

/// Workspace ONE: users owned by an external directory are read-only here.
fn is_external_user(resource: &Map<String, Value>) -> bool {
    get_ci(resource, WORKSPACE_ONE_USER)
        .and_then(Value::as_object)
        .and_then(|ext| get_ci(ext, "internalUserType"))
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty() && !t.eq_ignore_ascii_case("local"))
}

fn refuse_external(kind: Kind, loaded: &Loaded) -> Result<(), Failure> {
    if kind == Kind::User && is_external_user(&loaded.stored.resource) {
        return Err(Failure::Scim(error(
            403,
            "The user is not a local user and can not be updated",
        )));
    }
    Ok(())
}

fn members_of(resource: &Map<String, Value>) -> Vec<String> {
    get_ci(resource, "members")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn query_param<'q>(params: &'q [(String, String)], name: &str) -> Option<&'q str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl<K: Kv> Service<'_, K> {
    async fn route(&self, request: &Request) -> Outcome {
        let Some(token) = self.token.filter(|t| !t.is_empty()) else {
            return Err(Failure::Store(StoreError(
                "the scim_token variable is not set".into(),
            )));
        };
        if !crate::auth::authorized(request.header("authorization"), token) {
            return Err(Failure::Scim(error(
                401,
                "A valid bearer token is required",
            )));
        }
        let mut method = request.method.to_ascii_uppercase();
        if method == "POST"
            && let Some(overridden) = request.header("x-http-method-override")
        {
            method = overridden.trim().to_ascii_uppercase();
        }
        let segs = segments(&request.path);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let base = &self.base;
        let registry = &self.engine.config().registry;
        let params = request.query_params();
        let kind = match segs.first() {
            Some(s) if s.eq_ignore_ascii_case("Users") => Some(Kind::User),
            Some(s) if s.eq_ignore_ascii_case("Groups") => Some(Kind::Group),
            _ => None,
        };
        match (method.as_str(), kind, segs.as_slice()) {
            ("GET", None, [s]) if s.eq_ignore_ascii_case("ServiceProviderConfig") => Ok(
                Response::json(200, &discovery::service_provider_config(base)),
            ),
            ("GET", None, [s]) if s.eq_ignore_ascii_case("ResourceTypes") => Ok(Response::json(
                200,
                &discovery::list(discovery::resource_types(registry, base)),
            )),
            ("GET", None, [s, name]) if s.eq_ignore_ascii_case("ResourceTypes") => {
                discovery::resource_type(registry, name, base)
                    .map(|doc| Response::json(200, &doc))
                    .ok_or_else(|| {
                        Failure::Scim(error(404, format!("no resource type \"{name}\"")))
                    })
            }
            ("GET", None, [s]) if s.eq_ignore_ascii_case("Schemas") => {
                let docs = registry
                    .schemas()
                    .iter()
                    .filter(|sc| discovery::advertised(&sc.id))
                    .map(|sc| discovery::schema(sc, base))
                    .collect();
                Ok(Response::json(200, &discovery::list(docs)))
            }
            ("GET", None, [s, id]) if s.eq_ignore_ascii_case("Schemas") => registry
                .schema(id)
                .map(|sc| Response::json(200, &discovery::schema(sc, base)))
                .ok_or_else(|| Failure::Scim(error(404, format!("no schema \"{id}\"")))),
            (_, None, [s] | [s, _])
                if ["ServiceProviderConfig", "ResourceTypes", "Schemas"]
                    .iter()
                    .any(|e| s.eq_ignore_ascii_case(e)) =>
            {
                Err(Failure::Scim(error(
                    405,
                    format!(
                        "{method} is not supported on {}: it is read-only",
                        request.path
                    ),
                )))
            }
            ("POST", None, [search]) if *search == ".search" => {
                let query = ListQuery::from_body(&parse_body(request)?, self.engine)?;
                self.search(&[Kind::User, Kind::Group], &query).await
            }
            ("POST", Some(kind), [_]) => self.create(kind, request, &params).await,
            ("GET", Some(kind), [_]) => {
                let query = ListQuery::from_params(&params, self.engine)?;
                self.search(&[kind], &query).await
            }
            ("POST", Some(kind), [_, search]) if *search == ".search" => {
                let query = ListQuery::from_body(&parse_body(request)?, self.engine)?;
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

    /// The resource as returned: stored attributes plus the derived `groups` of a user.
    /// Group members must be users or groups of this service (else a member could dangle for
    /// ever: nothing would remove it). Only newly added members are checked.
    async fn check_new_members(&self, before: &[String], after: &[String]) -> Result<(), Failure> {
        for id in after.iter().filter(|m| !before.contains(m)) {
            let exists = self.store.load(Kind::User, id).await?.is_some()
                || self.store.load(Kind::Group, id).await?.is_some();
            if !exists {
                return Err(bad(
                    ScimType::InvalidValue,
                    format!("member \"{id}\" is neither a user nor a group of this service"),
                ));
            }
        }
        Ok(())
    }

    /// `meta.location` and `$ref`s are computed from this request's base URL, so they stay right
    /// behind proxies and after the service moves.
    async fn render(&self, kind: Kind, stored: &Stored) -> Result<Map<String, Value>, StoreError> {
        let mut resource = stored.resource.clone();
        let location = format!("{}/{}/{}", self.base, kind.endpoint(), stored.id());
        if let Some(Value::Object(meta)) = resource.get_mut("meta") {
            meta.insert("location".into(), Value::String(location));
        }
        if kind == Kind::Group
            && let Some(Value::Array(members)) = resource.get_mut("members")
        {
            for member in members.iter_mut().filter_map(Value::as_object_mut) {
                let endpoint = match member.get("type").and_then(Value::as_str) {
                    Some(t) if t.eq_ignore_ascii_case("Group") => "Groups",
                    _ => "Users",
                };
                if let Some(id) = member.get("value").and_then(Value::as_str) {
                    let reference = format!("{}/{endpoint}/{id}", self.base);
                    member.insert("$ref".into(), Value::String(reference));
                }
            }
        }
        if kind == Kind::User {
            let mut groups = Vec::new();
            for group_id in self.store.member_of(stored.id()).await? {
                if let Some(group) = self.store.load(Kind::Group, &group_id).await? {
                    let location = format!("{}/Groups/{group_id}", self.base);
                    let display = group
                        .stored
                        .unique_name(Kind::Group)
                        .map(Value::from)
                        .unwrap_or(Value::Null);
                    groups.push(json!({"value": group_id, "$ref": location, "display": display, "type": "direct"}));
                }
            }
            if !groups.is_empty() {
                resource.insert("groups".into(), Value::Array(groups));
            }
        }
        Ok(resource)
    }

    async fn respond(
        &self,
        status: u16,
        kind: Kind,
        stored: &Stored,
        params: &[(String, String)],
    ) -> Outcome {
        let resource = self.render(kind, stored).await?;
        let tag = etag(&resource);
        let resource = project(
            kind,
            resource,
            query_param(params, "attributes"),
            query_param(params, "excludedAttributes"),
        );
        let mut response = Response::json(status, &Value::Object(resource));
        if let Some(tag) = tag {
            response = response.with_header("etag", tag);
        }
        Ok(response)
    }

    /// Validates a full resource body (POST/PUT) through the engine: types, canonical names,
    /// extension URNs. readOnly attributes in the body are ignored (RFC 7643 §7).
    fn build(
        &self,
        kind: Kind,
        body: Value,
        id: &str,
        meta: Value,
    ) -> Result<(Map<String, Value>, Option<String>), Failure> {
        let Value::Object(mut body) = body else {
            return Err(bad(
                ScimType::InvalidSyntax,
                "The supplied JSON is incorrect: the body must be an object",
            ));
        };
        for read_only in ["id", "meta", "groups"] {
            take_ci(&mut body, read_only);
        }
        let password = match take_ci(&mut body, "password") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if kind == Kind::User => Some(p),
            Some(_) => return Err(bad(ScimType::InvalidValue, "\"password\" must be a string")),
        };
        if let Some(schemas) = get_ci(&body, "schemas") {
            let listed = schemas.as_array().is_some_and(|s| {
                s.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(kind.schema()))
                })
            });
            if !listed {
                return Err(bad(
                    ScimType::InvalidValue,
                    format!("\"schemas\" must include {}", kind.schema()),
                ));
            }
        }
        let skeleton = json!({"schemas": [kind.schema()], "id": id, "meta": meta});
        let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "value": Value::Object(body)}]});
        let built = self
            .engine
            .apply_owned(skeleton, patch)
            .map_err(ScimError::without_site)?;
        let Value::Object(resource) = built else {
            return Err(Failure::Store(StoreError(
                "the engine returned a non-object".into(),
            )));
        };
        let name_ok = get_ci(&resource, kind.unique_attribute())
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !name_ok {
            return Err(bad(
                ScimType::InvalidValue,
                format!("\"{}\" is required", kind.unique_attribute()),
            ));
        }
        Ok((resource, password))
    }

    fn hash(password: Option<String>) -> Result<Option<String>, Failure> {
        password
            .map(|p| crate::password::hash(&p))
            .transpose()
            .map_err(|e| Failure::Store(StoreError(format!("password hashing failed: {e}"))))
    }

    async fn create(&self, kind: Kind, request: &Request, params: &[(String, String)]) -> Outcome {
        let body = parse_body(request)?;
        let base = &self.base;
        let id = crate::clock::new_id();
        let now = crate::clock::now_rfc3339();
        let location = format!("{base}/{}/{id}", kind.endpoint());
        let meta = json!({"resourceType": kind.name(), "created": now, "lastModified": now, "location": location, "version": "W/\"1\""});
        let (resource, password) = self.build(kind, body, &id, meta)?;
        let stored = Stored {
            resource,
            password_hash: Self::hash(password)?,
        };
        if kind == Kind::Group {
            self.check_new_members(&[], &members_of(&stored.resource))
                .await?;
        }
        let name = stored.unique_name(kind).unwrap_or_default().to_string();
        if !self.store.claim_name(kind, &name, &id).await? {
            return Err(taken(kind, &name));
        }
        if let Err(e) = self.store.insert(kind, &stored).await {
            self.store.release_name(kind, &name, &id).await?;
            return Err(e.into());
        }
        if kind == Kind::Group {
            for member in members_of(&stored.resource) {
                self.store.set_member_of(&member, &id, true, 1).await?;
            }
        }
        Ok(self
            .respond(201, kind, &stored, params)
            .await?
            .with_header("location", location))
    }

    async fn get(
        &self,
        kind: Kind,
        id: &str,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let loaded = self
            .store
            .load(kind, id)
            .await?
            .ok_or_else(|| Failure::Scim(error(404, kind.not_found())))?;
        if let (Some(wanted), Some(current)) = (
            request.header("if-none-match"),
            etag(&loaded.stored.resource),
        ) && wanted
            .split(',')
            .any(|t| t.trim() == "*" || strip_weak(t) == strip_weak(&current))
        {
            return Ok(Response::empty(304).with_header("etag", current));
        }
        self.respond(200, kind, &loaded.stored, params).await
    }

    /// The read-modify-write loop shared by PUT and PATCH: `change` computes the next resource
    /// (and a new password, if any) from the current one; the write is a compare-and-swap,
    /// retried when another request got there first.
    async fn update(
        &self,
        kind: Kind,
        id: &str,
        request: &Request,
        params: &[(String, String)],
        change: impl Fn(&Stored) -> Result<(Map<String, Value>, Option<String>), Failure>,
    ) -> Outcome {
        for _ in 0..CAS_ATTEMPTS {
            let loaded = self
                .store
                .load(kind, id)
                .await?
                .ok_or_else(|| Failure::Scim(error(404, kind.not_found())))?;
            refuse_external(kind, &loaded)?;
            check_if_match(request, &loaded.stored.resource)?;
            let (mut resource, password) = change(&loaded.stored)?;
            touch(&mut resource, &loaded.stored.resource);
            let next = Stored {
                resource,
                password_hash: match password {
                    Some(p) => Self::hash(Some(p))?,
                    None => loaded.stored.password_hash.clone(),
                },
            };
            let old_name = loaded
                .stored
                .unique_name(kind)
                .unwrap_or_default()
                .to_string();
            let new_name = next.unique_name(kind).unwrap_or_default().to_string();
            let renamed = old_name.to_lowercase() != new_name.to_lowercase();
            if kind == Kind::Group {
                self.check_new_members(
                    &members_of(&loaded.stored.resource),
                    &members_of(&next.resource),
                )
                .await?;
            }
            if renamed && !self.store.claim_name(kind, &new_name, id).await? {
                return Err(taken(kind, &new_name));
            }
            if self.store.replace(kind, &loaded, &next).await? {
                if renamed {
                    self.store.release_name(kind, &old_name, id).await?;
                }
                if kind == Kind::Group {
                    let written = version_number(&next.resource);
                    let (before, after) = (
                        members_of(&loaded.stored.resource),
                        members_of(&next.resource),
                    );
                    for gone in before.iter().filter(|m| !after.contains(m)) {
                        self.store.set_member_of(gone, id, false, written).await?;
                    }
                    for added in after.iter().filter(|m| !before.contains(m)) {
                        self.store.set_member_of(added, id, true, written).await?;
                    }
                }
                return self.respond(200, kind, &next, params).await;
            }
            if renamed {
                self.store.release_name(kind, &new_name, id).await?;
            }
        }
        Err(Failure::Scim(ScimError::new(
            409,
            None,
            "the resource kept changing under concurrent updates; retry the request",
        )))
    }

    async fn patch(
        &self,
        kind: Kind,
        id: &str,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let body = parse_body(request)?;
        self.update(kind, id, request, params, |current| {
            let patched = self
                .engine
                .apply_owned(Value::Object(current.resource.clone()), body.clone())?;
            let Value::Object(mut resource) = patched else {
                return Err(Failure::Store(StoreError(
                    "the engine returned a non-object".into(),
                )));
            };
            let password = match take_ci(&mut resource, "password") {
                Some(Value::String(p)) if kind == Kind::User => Some(p),
                _ => None,
            };
            Ok((resource, password))
        })
        .await
    }

    async fn put(
        &self,
        kind: Kind,
        id: &str,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let body = parse_body(request)?;
        self.update(kind, id, request, params, |current| {
            let meta = current
                .resource
                .get("meta")
                .cloned()
                .unwrap_or_else(|| json!({}));
            self.build(kind, body.clone(), id, meta)
        })
        .await
    }

    async fn delete(&self, kind: Kind, id: &str, request: &Request) -> Outcome {
        let loaded = self
            .store
            .load(kind, id)
            .await?
            .ok_or_else(|| Failure::Scim(error(404, kind.not_found())))?;
        refuse_external(kind, &loaded)?;
        check_if_match(request, &loaded.stored.resource)?;
        let groups = if kind == Kind::User {
            self.store.member_of(id).await?
        } else {
            Vec::new()
        };
        self.store.delete(kind, id).await?;
        if let Some(name) = loaded.stored.unique_name(kind) {
            self.store.release_name(kind, name, id).await?;
        }
        match kind {
            Kind::User => {
                for group_id in groups {
                    self.remove_member(&group_id, id).await?;
                }
            }
            Kind::Group => {
                for member in members_of(&loaded.stored.resource) {
                    self.store
                        .set_member_of(&member, id, false, u64::MAX)
                        .await?;
                }
            }
        }
        Ok(Response::empty(204))
    }

    /// Drops a deleted user from a group (compare-and-swap, retried).
    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(loaded) = self.store.load(Kind::Group, group_id).await? else {
                return Ok(());
            };
            let mut next = loaded.stored.clone();
            let Some(Value::Array(members)) = next.resource.get_mut("members") else {
                return Ok(());
            };
            let before = members.len();
            members.retain(|m| m.get("value").and_then(Value::as_str) != Some(user_id));
            if members.len() == before {
                return Ok(());
            }
            if members.is_empty() {
                next.resource.shift_remove("members");
            }
            touch(&mut next.resource, &loaded.stored.resource);
            if self.store.replace(Kind::Group, &loaded, &next).await? {
                return Ok(());
            }
        }
        Err(StoreError(format!(
            "group {group_id} kept changing while removing member {user_id}"
        )))
    }

    /// Lists (GET) or searches (POST .search) resources of the given kinds.
    async fn search(&self, kinds: &[Kind], query: &ListQuery) -> Outcome {
        let mut matched = Vec::new();
        for &kind in kinds {
            for stored in self.store.all(kind).await? {
                let value = Value::Object(self.render(kind, &stored).await?);
                let keep = match &query.filter {
                    Some(filter) => match self.engine.matches_parsed(&value, filter) {
                        Ok(keep) => keep,
                        // A filter naming an attribute of one type only does not fail the others.
                        Err(_) if kinds.len() > 1 => false,
                        Err(e) => return Err(e.into()),
                    },
                    None => true,
                };
                if keep && let Value::Object(resource) = value {
                    matched.push((kind, resource));
                }
            }
        }
        let page = list::page(matched, query);
        Ok(Response::json(200, &page))
    }
}
