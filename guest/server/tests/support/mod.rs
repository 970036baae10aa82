//! Shared by the service's native tests: a client that sends requests straight to
//! `service::handle` over any store, request bodies, and the consistency check every
//! fault-injection and race test ends with.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

use futures_executor::block_on;
use scim_patch::Engine;
use scim_spin::http::{Request, Response};
use scim_spin::kv::{Kv, MemoryKv};
use scim_spin::service::handle;
use serde_json::{Value, json};

pub use scim_spin::testing::{check_consistency, encode};

/// The bearer token every client sends.
pub const TOKEN: &str = "s3cret";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A request as a test writes it.
pub fn request(
    method: &str,
    target: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut all = vec![
        ("authorization".to_string(), format!("Bearer {TOKEN}")),
        ("host".to_string(), "localhost:3000".to_string()),
    ];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Request {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers: all,
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    }
}

/// A response's status and JSON body (`Null` when empty).
pub fn parsed(r: &Response) -> (u16, Value) {
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// The service over a store of its own.
pub struct Client<K: Kv = MemoryKv> {
    pub kv: K,
    pub engine: Engine,
}

impl Client<MemoryKv> {
    /// A service over a new, empty in-memory store.
    pub fn new() -> Self {
        Client::over(MemoryKv::default())
    }
}

impl<K: Kv> Client<K> {
    /// A service over `kv`.
    pub fn over(kv: K) -> Self {
        Client {
            kv,
            engine: Engine::default(),
        }
    }

    /// The same, strict profile.
    pub fn strict(kv: K) -> Self {
        let config = scim_patch::Config {
            profile: scim_patch::Profile::Strict,
            ..scim_patch::Config::default()
        };
        Client {
            kv,
            engine: Engine::new(config),
        }
    }

    pub fn send(
        &self,
        method: &str,
        target: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        block_on(self.send_async(method, target, body, headers))
    }

    pub async fn send_async(
        &self,
        method: &str,
        target: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        handle(
            &self.kv,
            &self.engine,
            Some(TOKEN),
            request(method, target, body.as_ref(), headers),
        )
        .await
    }

    pub fn json(&self, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
        parsed(&self.send(method, target, body, &[]))
    }

    /// Creates a user and answers its id.
    pub fn create_user(&self, name: &str) -> String {
        let (status, created) = self.json("POST", "/scim/v2/Users", Some(user(name)));
        assert_eq!(status, 201, "creating {name}: {created}");
        created["id"].as_str().expect("id").to_string()
    }

    /// Creates a user without a password (no hashing: quick, for tests that create many) and
    /// answers its id.
    pub fn create_user_quickly(&self, name: &str) -> String {
        let mut body = user(name);
        if let Some(map) = body.as_object_mut() {
            map.remove("password");
        }
        let (status, created) = self.json("POST", "/scim/v2/Users", Some(body));
        assert_eq!(status, 201, "creating {name}: {created}");
        created["id"].as_str().expect("id").to_string()
    }

    /// Creates a group with these member ids and answers its id.
    pub fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let (status, created) = self.json(
            "POST",
            "/scim/v2/Groups",
            Some(json!({"schemas": [GROUP], "displayName": name, "members": members})),
        );
        assert_eq!(status, 201, "creating {name}: {created}");
        created["id"].as_str().expect("id").to_string()
    }
}

impl<K: Kv> scim_spin::testing::Api for Client<K> {
    fn call(&self, method: &str, target: &str, body: Option<&Value>) -> (u16, Value) {
        self.json(method, target, body.cloned())
    }
}

pub fn header<'r>(r: &'r Response, name: &str) -> Option<&'r str> {
    r.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name, "name": {"givenName": "B", "familyName": "J"},
           "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true}],
           "active": true, "password": "t1meMachine"})
}

pub fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Whether the whole store holds `text` anywhere (keys or values).
pub fn store_contains(kv: &MemoryKv, text: &str) -> bool {
    kv.snapshot()
        .iter()
        .any(|(k, v)| k.contains(text) || String::from_utf8_lossy(v).contains(text))
}
