//! Shared by the service's native tests: a client that sends requests straight to
//! `service::handle` over any store, request bodies, and the consistency check every
//! fault-injection and race test ends with.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use futures_executor::block_on;
use scim_patch::Engine;
use scim_spin::http::{Request, Response};
use scim_spin::kv::{Kv, MemoryKv};
use scim_spin::service::handle;
use serde_json::{Value, json};

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

fn ids_of(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every resource of an endpoint, through paged lists.
fn list_all<K: Kv>(c: &Client<K>, endpoint: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut start = 1;
    loop {
        let (status, page) = c.json(
            "GET",
            &format!("/scim/v2/{endpoint}?startIndex={start}&count=1000"),
            None,
        );
        assert_eq!(status, 200, "{page}");
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        let total = page["totalResults"].as_u64().unwrap_or(0) as usize;
        let n = resources.len();
        all.extend(resources);
        if n == 0 || all.len() >= total {
            assert_eq!(
                all.len(),
                total,
                "totalResults of {endpoint} counts what the pages list"
            );
            return all;
        }
        start += n;
    }
}

/// Checks what the service shows is consistent, through its own API: lists agree with their
/// totals and with GET by id; every member a group lists exists and lists the group in its
/// `groups` (with the group's current displayName), and every group a user lists exists and
/// lists the user; names and externalIds are found by their `eq` filters.
///
/// A request interrupted by a crash is finished by the next request that reads the resource it
/// left half-done (its delete completed, its rename copied), so the check first reads every
/// resource once, as any client would, and then checks what the service shows.
pub fn check_consistency<K: Kv>(c: &Client<K>) {
    for endpoint in ["Groups", "Users"] {
        for r in list_all(c, endpoint) {
            let id = r["id"].as_str().expect("id");
            c.json("GET", &format!("/scim/v2/{endpoint}/{id}"), None);
        }
    }
    let users = list_all(c, "Users");
    let groups = list_all(c, "Groups");
    for (endpoint, resources, unique) in [
        ("Users", &users, "userName"),
        ("Groups", &groups, "displayName"),
    ] {
        for r in resources.iter() {
            let id = r["id"].as_str().expect("id");
            let (status, got) = c.json("GET", &format!("/scim/v2/{endpoint}/{id}"), None);
            assert_eq!(
                status, 200,
                "{endpoint}/{id} is listed, so it can be read: {got}"
            );
            let name = r[unique].as_str().expect("unique name");
            let filter = format!("{unique} eq \"{}\"", name.replace('"', "\\\""));
            let (_, found) = c.json(
                "GET",
                &format!("/scim/v2/{endpoint}?filter={}", encode(&filter)),
                None,
            );
            assert_eq!(
                ids_of(&found),
                [id.to_string()],
                "{filter} finds exactly {id}"
            );
        }
    }
    for g in &groups {
        let gid = g["id"].as_str().expect("id");
        let display = g["displayName"].as_str().expect("displayName");
        for m in g["members"].as_array().into_iter().flatten() {
            let mid = m["value"].as_str().expect("member value");
            let endpoint = if m["type"] == "Group" {
                "Groups"
            } else {
                "Users"
            };
            let (status, member) = c.json("GET", &format!("/scim/v2/{endpoint}/{mid}"), None);
            assert_eq!(status, 200, "group {gid} lists {mid}, which must exist");
            if endpoint == "Users" {
                let listed = member["groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|x| x["value"] == gid && x["display"] == display);
                assert!(
                    listed,
                    "user {mid} is in group {gid} ({display}), so its groups say so: {member}"
                );
            }
        }
    }
    for u in &users {
        let uid = u["id"].as_str().expect("id");
        for g in u["groups"].as_array().into_iter().flatten() {
            let gid = g["value"].as_str().expect("group value");
            let (status, group) = c.json("GET", &format!("/scim/v2/Groups/{gid}"), None);
            assert_eq!(
                status, 200,
                "user {uid} lists group {gid}, which must exist"
            );
            let has = group["members"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["value"] == uid);
            assert!(
                has,
                "user {uid} lists group {gid}, which must list the user: {group}"
            );
        }
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether the whole store holds `text` anywhere (keys or values).
pub fn store_contains(kv: &MemoryKv, text: &str) -> bool {
    kv.snapshot()
        .iter()
        .any(|(k, v)| k.contains(text) || String::from_utf8_lossy(v).contains(text))
}
