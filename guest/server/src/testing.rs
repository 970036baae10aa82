//! What the service's tests share across crates (feature `testing`): [`check_consistency`], the
//! check every crash and race test ends with, written once against any way of reaching the
//! service ([`Api`]: the native handler, or HTTP to a node).
use serde_json::Value;

/// `tests/fixtures/v1-store.json`: the store of the release with storage layout v1, after a
/// scripted session (see its `about`).
pub const V1_FIXTURE: &str = include_str!("../../../tests/fixtures/v1-store.json");

/// The fixture's rows as (key, value bytes) in the default store, and its `ids` (name -> id).
pub fn v1_store() -> (Vec<(String, Vec<u8>)>, Value) {
    let fixture: Value = serde_json::from_str(V1_FIXTURE).unwrap_or(Value::Null);
    let rows = fixture["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let key = row["key"].as_str()?.to_string();
            let value = if let Some(json) = row.get("json") {
                json.to_string().into_bytes()
            } else if let Some(text) = row["text"].as_str() {
                text.as_bytes().to_vec()
            } else {
                // Claim counters, as Spin's SQLite store writes `increment` results.
                row["counter"].as_i64()?.to_le_bytes().to_vec()
            };
            Some((key, value))
        })
        .collect();
    (rows, fixture["ids"].clone())
}

/// Sends one request to the service: method, target (`/scim/v2/...`), optional JSON body;
/// answers the status and the JSON body (`Null` when empty).
pub trait Api {
    /// One request.
    fn call(&self, method: &str, target: &str, body: Option<&Value>) -> (u16, Value);
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
fn list_all(c: &impl Api, endpoint: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut start = 1;
    loop {
        let (status, page) = c.call(
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
pub fn check_consistency(c: &impl Api) {
    for endpoint in ["Groups", "Users"] {
        for r in list_all(c, endpoint) {
            let id = r["id"].as_str().expect("id");
            c.call("GET", &format!("/scim/v2/{endpoint}/{id}"), None);
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
            let (status, got) = c.call("GET", &format!("/scim/v2/{endpoint}/{id}"), None);
            assert_eq!(
                status, 200,
                "{endpoint}/{id} is listed, so it can be read: {got}"
            );
            let name = r[unique].as_str().expect("unique name");
            let filter = format!("{unique} eq \"{}\"", name.replace('"', "\\\""));
            let (_, found) = c.call(
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
            let (status, member) = c.call("GET", &format!("/scim/v2/{endpoint}/{mid}"), None);
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
            let (status, group) = c.call("GET", &format!("/scim/v2/Groups/{gid}"), None);
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
