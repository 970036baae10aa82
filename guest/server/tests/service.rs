//! The SCIM service end to end over an in-memory store (the Spin glue is a thin adapter; the
//! HTTP tests through `scim-host serve` live in host/tests).
mod support;

use futures_executor::block_on;
use scim_spin::http::Request;
use scim_spin::service::handle;
use serde_json::{Value, json};
use support::{Client, TOKEN, header, patch, store_contains, user};

#[test]
fn create_get_patch_delete_a_user() {
    let c = Client::new();
    let r = c.send("POST", "/scim/v2/Users", Some(user("bjensen")), &[]);
    assert_eq!(r.status, 201);
    let created: Value = serde_json::from_slice(&r.body).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        created.get("password").is_none(),
        "password is never returned"
    );
    assert_eq!(created["meta"]["version"], "W/\"1\"");
    assert_eq!(
        header(&r, "location"),
        Some(format!("http://localhost:3000/scim/v2/Users/{id}").as_str())
    );
    assert_eq!(header(&r, "etag"), Some("W/\"1\""));
    assert!(
        store_contains(&c.kv, "$argon2id$") && !store_contains(&c.kv, "t1meMachine"),
        "only the password's hash is stored"
    );

    let (status, got) = c.json("GET", &format!("/scim/v2/Users/{id}"), None);
    assert_eq!((status, &got["userName"]), (200, &json!("bjensen")));

    let (status, patched) = c.json(
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(patch(
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )),
    );
    assert_eq!(status, 200);
    assert_eq!(patched["active"], false);
    assert_eq!(patched["meta"]["version"], "W/\"2\"");

    assert_eq!(
        c.send("DELETE", &format!("/scim/v2/Users/{id}"), None, &[])
            .status,
        204
    );
    let (status, err) = c.json("GET", &format!("/scim/v2/Users/{id}"), None);
    assert_eq!(status, 404);
    assert_eq!(err["detail"], "The specified user does not exist.");
    assert_eq!(
        err["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
}

#[test]
fn user_names_are_unique_case_insensitively_and_freed_on_delete() {
    let c = Client::new();
    let (_, first) = c.json("POST", "/scim/v2/Users", Some(user("alice")));
    let (status, err) = c.json("POST", "/scim/v2/Users", Some(user("ALICE")));
    assert_eq!(
        (status, err["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    let (_, bob) = c.json("POST", "/scim/v2/Users", Some(user("bob")));
    let (status, err) = c.json(
        "PATCH",
        &format!("/scim/v2/Users/{}", bob["id"].as_str().unwrap()),
        Some(patch(
            json!([{"op": "replace", "path": "userName", "value": "Alice"}]),
        )),
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    c.send(
        "DELETE",
        &format!("/scim/v2/Users/{}", first["id"].as_str().unwrap()),
        None,
        &[],
    );
    assert_eq!(c.json("POST", "/scim/v2/Users", Some(user("alice"))).0, 201);
}

#[test]
fn group_membership_is_reflected_in_user_groups() {
    let c = Client::new();
    let (_, u1) = c.json("POST", "/scim/v2/Users", Some(user("u1")));
    let (_, u2) = c.json("POST", "/scim/v2/Users", Some(user("u2")));
    let (id1, id2) = (
        u1["id"].as_str().unwrap().to_string(),
        u2["id"].as_str().unwrap().to_string(),
    );
    let (status, group) = c.json("POST", "/scim/v2/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins", "members": [{"value": id1}]})));
    assert_eq!(status, 201);
    let gid = group["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.json("GET", &format!("/scim/v2/Users/{id1}"), None).1["groups"][0]["value"],
        gid.as_str()
    );
    assert_eq!(
        c.json("GET", &format!("/scim/v2/Users/{id1}"), None).1["groups"][0]["display"],
        "Admins"
    );

    // Entra: add by value, remove by value list.
    c.json(
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        Some(patch(
            json!([{"op": "Add", "path": "members", "value": [{"value": id2}]}]),
        )),
    );
    c.json(
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        Some(patch(
            json!([{"op": "Remove", "path": "members", "value": [{"value": id1}]}]),
        )),
    );
    assert!(
        c.json("GET", &format!("/scim/v2/Users/{id1}"), None)
            .1
            .get("groups")
            .is_none()
    );
    assert_eq!(
        c.json("GET", &format!("/scim/v2/Users/{id2}"), None).1["groups"][0]["value"],
        gid.as_str()
    );
    let (_, filtered) = c.json(
        "GET",
        &format!("/scim/v2/Users?filter=groups.value%20eq%20%22{gid}%22"),
        None,
    );
    assert_eq!(filtered["totalResults"], 1);

    // groups is readOnly on the user.
    let (status, err) = c.json(
        "PATCH",
        &format!("/scim/v2/Users/{id2}"),
        Some(patch(
            json!([{"op": "add", "path": "groups", "value": [{"value": "x"}]}]),
        )),
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("mutability"))
    );

    // Deleting the user removes it from the group; deleting the group clears the users' groups.
    c.send("DELETE", &format!("/scim/v2/Users/{id2}"), None, &[]);
    assert!(
        c.json("GET", &format!("/scim/v2/Groups/{gid}"), None)
            .1
            .get("members")
            .is_none()
    );
    c.json(
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": id1}]}]),
        )),
    );
    c.send("DELETE", &format!("/scim/v2/Groups/{gid}"), None, &[]);
    assert!(
        c.json("GET", &format!("/scim/v2/Users/{id1}"), None)
            .1
            .get("groups")
            .is_none()
    );
}

#[test]
fn list_filters_sorts_pages_and_projects() {
    let c = Client::new();
    for name in ["carol", "alice", "bob", "dave"] {
        c.json("POST", "/scim/v2/Users", Some(user(name)));
    }
    let (_, all) = c.json(
        "GET",
        "/scim/v2/Users?sortBy=userName&startIndex=2&count=2&attributes=userName",
        None,
    );
    assert_eq!(all["totalResults"], 4);
    assert_eq!(all["itemsPerPage"], 2);
    assert_eq!(all["startIndex"], 2);
    let names: Vec<&str> = all["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "carol"]);
    assert!(all["Resources"][0].get("emails").is_none() && all["Resources"][0].get("id").is_some());
    let (_, desc) = c.json(
        "GET",
        "/scim/v2/Users?sortBy=userName&sortOrder=descending&count=1",
        None,
    );
    assert_eq!(desc["Resources"][0]["userName"], "dave");
    let (_, hit) = c.json("GET", "/scim/v2/Users?filter=userName+eq+%22BOB%22", None);
    assert_eq!(hit["totalResults"], 1);
    let (status, err) = c.json("GET", "/scim/v2/Users?filter=userName+eq", None);
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
    let (_, searched) = c.json("POST", "/scim/v2/Users/.search", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"a\"", "attributes": ["userName"]})));
    assert_eq!(searched["totalResults"], 1);
    let (_, none) = c.json("GET", "/scim/v2/Users?count=0", None);
    assert_eq!(
        (
            none["totalResults"].as_u64(),
            none["Resources"].as_array().map(Vec::len)
        ),
        (Some(4), Some(0))
    );
}

#[test]
fn etags_guard_updates() {
    let c = Client::new();
    let (_, u) = c.json("POST", "/scim/v2/Users", Some(user("etag")));
    let path = format!("/scim/v2/Users/{}", u["id"].as_str().unwrap());
    let body = patch(json!([{"op": "replace", "path": "title", "value": "x"}]));
    assert_eq!(
        c.send(
            "PATCH",
            &path,
            Some(body.clone()),
            &[("if-match", "W/\"7\"")]
        )
        .status,
        412
    );
    assert_eq!(
        c.send(
            "PATCH",
            &path,
            Some(body.clone()),
            &[("if-match", "W/\"1\"")]
        )
        .status,
        200
    );
    assert_eq!(
        c.send("GET", &path, None, &[("if-none-match", "W/\"2\"")])
            .status,
        304
    );
    assert_eq!(
        c.send("DELETE", &path, None, &[("if-match", "W/\"1\"")])
            .status,
        412
    );
}

#[test]
fn bad_requests_get_scim_errors() {
    let c = Client::new();
    let unauthenticated = block_on(handle(
        &c.kv,
        &c.engine,
        Some(TOKEN),
        Request {
            method: "GET".into(),
            path: "/scim/v2/Users".into(),
            ..Default::default()
        },
    ));
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(
        header(&unauthenticated, "www-authenticate"),
        Some("Bearer realm=\"scim\"")
    );
    let twice = c.send(
        "GET",
        "/scim/v2/Users",
        None,
        &[("authorization", "Bearer nope")],
    );
    assert_eq!(
        twice.status, 401,
        "two Authorization headers (one of them right) are refused"
    );
    let mut r = c.send("POST", "/scim/v2/Users", None, &[]);
    r.body.truncate(200);
    assert_eq!(r.status, 400);
    let err: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(err["detail"], "The supplied JSON is incorrect");
    let (status, err) = c.json(
        "POST",
        "/scim/v2/Users",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})),
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let (status, err) = c.json(
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "x", "active": "maybe"})),
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    assert_eq!(c.json("GET", "/scim/v2/Nope", None).0, 404);
    assert_eq!(
        c.json(
            "PATCH",
            "/scim/v2/Users/missing",
            Some(patch(json!([{"op": "remove", "path": "title"}])))
        )
        .0,
        404
    );
    let big = json!({"userName": "x".repeat(2 << 20)});
    assert_eq!(c.json("POST", "/scim/v2/Users", Some(big)).0, 413);
}

#[test]
fn method_override_and_scim_1_1_bodies_patch() {
    let c = Client::new();
    let (_, u) = c.json("POST", "/scim/v2/Users", Some(user("ws1")));
    let path = format!("/scim/v2/Users/{}", u["id"].as_str().unwrap());
    let r = c.send(
        "POST",
        &path,
        Some(json!({"schemas": ["urn:scim:schemas:core:1.0"], "displayName": "Workspace One"})),
        &[("x-http-method-override", "PATCH")],
    );
    assert_eq!(r.status, 200);
    let got: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(got["displayName"], "Workspace One");
}

#[test]
fn external_workspace_one_users_are_read_only() {
    let c = Client::new();
    let mut body = user("ext");
    body["urn:scim:schemas:extension:workspace:1.0"] = json!({"internalUserType": "PROVISIONED"});
    let (_, u) = c.json("POST", "/scim/v2/Users", Some(body));
    let path = format!("/scim/v2/Users/{}", u["id"].as_str().unwrap());
    let (status, err) = c.json(
        "PATCH",
        &path,
        Some(patch(
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )),
    );
    assert_eq!(
        (status, err["detail"].as_str()),
        (
            403,
            Some("The user is not a local user and can not be updated")
        )
    );
    assert_eq!(c.send("DELETE", &path, None, &[]).status, 403);
    assert_eq!(c.json("GET", &path, None).0, 200);
}

#[test]
fn discovery_endpoints_describe_the_service() {
    let c = Client::new();
    let (status, spc) = c.json("GET", "/scim/v2/ServiceProviderConfig", None);
    assert_eq!(
        (status, spc["patch"]["supported"].as_bool()),
        (200, Some(true))
    );
    let (_, types) = c.json("GET", "/scim/v2/ResourceTypes", None);
    assert_eq!(types["totalResults"], 2);
    let (_, schemas) = c.json("GET", "/scim/v2/Schemas", None);
    assert!(schemas["totalResults"].as_u64().unwrap() >= 3);
    let (status, user_schema) = c.json(
        "GET",
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        None,
    );
    assert_eq!(
        (status, user_schema["attributes"][0]["name"].as_str()),
        (200, Some("userName"))
    );
    assert_eq!(
        c.json("GET", "/scim/v2/ResourceTypes/User", None).1["endpoint"],
        "/Users"
    );
}

#[test]
fn put_replaces_the_resource_but_keeps_id_and_created() {
    let c = Client::new();
    let (_, u) = c.json("POST", "/scim/v2/Users", Some(user("put")));
    let path = format!("/scim/v2/Users/{}", u["id"].as_str().unwrap());
    let (status, replaced) = c.json("PUT", &path, Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "put", "id": "ignored", "title": "T"})));
    assert_eq!(status, 200);
    assert_eq!(replaced["id"], u["id"]);
    assert_eq!(replaced["meta"]["created"], u["meta"]["created"]);
    assert!(replaced.get("emails").is_none());
    assert_eq!(replaced["title"], "T");
}

#[test]
fn unknown_members_are_skipped_compatibly_and_refused_strictly() {
    let c = Client::new();
    let known = c.create_user("known");
    let (status, g) = c.json(
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "G", "members": [{"value": "no-such-id"}, {"value": known}]})),
    );
    assert_eq!(status, 201, "{g}");
    assert_eq!(g["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(g["members"][0]["value"], known.as_str());
    let path = format!("/scim/v2/Groups/{}", g["id"].as_str().unwrap());
    let r = c.send(
        "PATCH",
        &path,
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]),
        )),
        &[],
    );
    assert_eq!(r.status, 204, "one stale id does not block the batch");

    let strict = Client::strict(scim_spin::kv::MemoryKv::from_snapshot(c.kv.snapshot()));
    let before = strict.kv.snapshot();
    let (status, err) = strict.json(
        "PATCH",
        &path,
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}, {"value": "other-ghost"}]}]),
        )),
    );
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("ghost") && detail.contains("other-ghost"),
        "{detail}"
    );
    assert_eq!(
        strict.kv.snapshot(),
        before,
        "a refused PATCH writes nothing"
    );

    let (_, nested) = c.json(
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "Parent", "members": [{"value": g["id"], "type": "Group"}]})),
    );
    assert_eq!(
        nested["members"][0]["$ref"],
        format!(
            "http://localhost:3000/scim/v2/Groups/{}",
            g["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        nested["members"][0]["display"], "G",
        "display filled from the member"
    );
}

#[test]
fn locations_follow_the_request_host() {
    let c = Client::new();
    let (_, u) = c.json("POST", "/scim/v2/Users", Some(user("moved")));
    let path = format!("/scim/v2/Users/{}", u["id"].as_str().unwrap());
    let r = c.send(
        "GET",
        &path,
        None,
        &[("spin-full-url", &format!("https://scim.example.com{path}"))],
    );
    let got: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        got["meta"]["location"],
        format!("https://scim.example.com{path}")
    );
}
