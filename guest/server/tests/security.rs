//! The attack review's findings, natively: write-only values never stored in plain text or
//! returned under any spelling and never usable in a filter; the method override obeyed only for
//! PATCH; one Authorization header; paging parameters of any size; and a rejected request of
//! any kind changes nothing stored.
mod support;

use serde_json::{Value, json};
use support::{Client, PATCH_OP, USER, encode, patch, store_contains, user};

const SECRET: &str = "pl41nSecretValue";

fn assert_no_secret(c: &Client, id: &str) {
    assert!(
        !store_contains(&c.kv, SECRET),
        "the plain password is nowhere in the store"
    );
    assert!(store_contains(&c.kv, "$argon2id$"), "its hash is");
    for target in [
        format!("/scim/v2/Users/{id}"),
        format!("/scim/v2/Users/{id}?attributes=password"),
        format!(
            "/scim/v2/Users/{id}?attributes=urn:ietf:params:scim:schemas:core:2.0:User:password"
        ),
        "/scim/v2/Users".to_string(),
        "/scim/v2/Users?attributes=password,userName".to_string(),
    ] {
        let (status, body) = c.json("GET", &target, None);
        assert_eq!(status, 200);
        assert!(!body.to_string().contains(SECRET), "{target}: {body}");
        assert!(
            !body.to_string().contains("password"),
            "{target} names no password: {body}"
        );
    }
    let (_, found) = c.json(
        "POST",
        "/scim/v2/Users/.search",
        Some(json!({"attributes": ["password"], "filter": "userName pr"})),
    );
    assert!(!found.to_string().contains("password"), "{found}");
}

#[test]
fn a_password_spelled_through_the_core_urn_is_hashed_and_never_returned() {
    let c = Client::new();
    let mut body = user("urn-key");
    body.as_object_mut().unwrap().remove("password");
    body["urn:ietf:params:scim:schemas:core:2.0:User:password"] = json!(SECRET);
    let (status, created) = c.json("POST", "/scim/v2/Users", Some(body));
    assert_eq!(status, 201, "{created}");
    assert!(!created.to_string().contains(SECRET));
    assert_no_secret(&c, created["id"].as_str().unwrap());
}

#[test]
fn a_password_inside_a_core_urn_object_is_hashed_and_never_returned() {
    let c = Client::new();
    let id = c.create_user_quickly("urn-object");
    let body = json!({"schemas": [USER], "userName": "urn-object",
                      "urn:ietf:params:scim:schemas:core:2.0:User": {"password": SECRET}});
    let (status, replaced) = c.json("PUT", &format!("/scim/v2/Users/{id}"), Some(body));
    assert_eq!(status, 200, "{replaced}");
    assert!(!replaced.to_string().contains(SECRET));
    assert_no_secret(&c, &id);
}

#[test]
fn a_password_set_by_patch_under_any_path_is_hashed_and_never_returned() {
    for path in [
        "password",
        "urn:ietf:params:scim:schemas:core:2.0:User:password",
        "PASSWORD",
    ] {
        let c = Client::new();
        let id = c.create_user_quickly("patched");
        let r = c.send(
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": path, "value": SECRET}]),
            )),
            &[],
        );
        assert_eq!(r.status, 200, "{path}");
        assert!(!String::from_utf8_lossy(&r.body).contains(SECRET));
        assert_no_secret(&c, &id);
        let pathless = patch(json!([{"op": "replace", "value": {path: SECRET}}]));
        assert_eq!(
            c.send(
                "PATCH",
                &format!("/scim/v2/Users/{id}"),
                Some(pathless),
                &[]
            )
            .status,
            200
        );
        assert_no_secret(&c, &id);
    }
}

#[test]
fn a_filter_on_a_write_only_attribute_is_refused() {
    let c = Client::new();
    c.create_user("oracle");
    for filter in [
        "password eq \"t1meMachine\"",
        "urn:ietf:params:scim:schemas:core:2.0:User:password eq \"t1meMachine\"",
        "userName pr and password pr",
        "not (password sw \"t\")",
    ] {
        let (status, err) = c.json(
            "GET",
            &format!("/scim/v2/Users?filter={}", encode(filter)),
            None,
        );
        assert_eq!(
            (status, err["scimType"].as_str()),
            (400, Some("invalidFilter")),
            "{filter}"
        );
        let (status, err) = c.json("POST", "/scim/v2/.search", Some(json!({"filter": filter})));
        assert_eq!(
            (status, err["scimType"].as_str()),
            (400, Some("invalidFilter")),
            "{filter}"
        );
    }
}

#[test]
fn the_method_override_turns_a_post_into_a_patch_and_nothing_else() {
    let c = Client::new();
    let id = c.create_user_quickly("overridden");
    let path = format!("/scim/v2/Users/{id}");
    for method in ["DELETE", "PUT", "GET", "patchy"] {
        let r = c.send("POST", &path, None, &[("x-http-method-override", method)]);
        let (status, err) = support::parsed(&r);
        assert_eq!(status, 400, "{method}");
        assert_eq!(
            err["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert!(err["detail"].as_str().unwrap().contains("PATCH"), "{err}");
    }
    assert_eq!(
        c.json("GET", &path, None).0,
        200,
        "the user was not deleted"
    );
    let r = c.send(
        "POST",
        &path,
        Some(patch(
            json!([{"op": "replace", "path": "title", "value": "T"}]),
        )),
        &[("x-http-method-override", "patch")],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn two_authorization_headers_are_refused() {
    let c = Client::new();
    for second in ["Bearer s3cret", "Bearer wrong", "Basic eDp5"] {
        let r = c.send("GET", "/scim/v2/Users", None, &[("authorization", second)]);
        assert_eq!(r.status, 401, "{second}");
        assert_eq!(
            support::header(&r, "www-authenticate"),
            Some("Bearer realm=\"scim\"")
        );
    }
}

#[test]
fn paging_parameters_of_any_size_are_clamped_not_wrapped() {
    let c = Client::new();
    for name in ["p1", "p2", "p3"] {
        c.create_user_quickly(name);
    }
    let (_, page) = c.json("GET", "/scim/v2/Users?startIndex=4294967296", None);
    assert_eq!(page["startIndex"], 4_294_967_296u64);
    assert_eq!(
        (page["totalResults"].as_u64(), page["itemsPerPage"].as_u64()),
        (Some(3), Some(0))
    );
    let (_, page) = c.json(
        "GET",
        "/scim/v2/Users?startIndex=99999999999999999999999999",
        None,
    );
    assert_eq!(page["startIndex"], u64::MAX);
    assert_eq!(page["Resources"], json!([]));
    let (_, page) = c.json(
        "GET",
        "/scim/v2/Users?count=99999999999999999999&startIndex=-7",
        None,
    );
    assert_eq!(
        (page["startIndex"].as_u64(), page["itemsPerPage"].as_u64()),
        (Some(1), Some(3))
    );
    let (_, page) = c.json("GET", "/scim/v2/Users?count=-3", None);
    assert_eq!(page["itemsPerPage"], 0);
    let (status, err) = c.json("GET", "/scim/v2/Users?count=ten", None);
    assert_eq!(
        (status, err["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let (_, page) = c.json(
        "POST",
        "/scim/v2/Users/.search",
        Some(json!({"startIndex": 4294967296u64, "count": 1})),
    );
    assert_eq!(page["startIndex"], 4_294_967_296u64);
}

/// A request the service must refuse: method, target, body, headers, expected status.
type Rejected<'a> = (&'a str, String, Option<Value>, Vec<(&'a str, &'a str)>, u16);

#[test]
fn a_rejected_request_of_any_kind_changes_nothing_stored() {
    let c = Client::new();
    let alice = c.create_user("alice");
    let bob = c.create_user("bob");
    let mut external = user("external");
    external["urn:scim:schemas:extension:workspace:1.0"] =
        json!({"internalUserType": "PROVISIONED"});
    let (_, external) = c.json("POST", "/scim/v2/Users", Some(external));
    let external = external["id"].as_str().unwrap().to_string();
    let group = c.create_group("Team", &[&alice]);
    let other_group = c.create_group("Other", &[]);
    let strict = Client::strict(scim_spin::kv::MemoryKv::default());
    let rejected: Vec<Rejected> = vec![
        (
            "POST",
            "/scim/v2/Users".into(),
            Some(user("ALICE")),
            vec![],
            409,
        ),
        (
            "POST",
            "/scim/v2/Groups".into(),
            Some(json!({"displayName": "team"})),
            vec![],
            409,
        ),
        (
            "PATCH",
            format!("/scim/v2/Users/{bob}"),
            Some(patch(
                json!([{"op": "replace", "path": "userName", "value": "Alice"}]),
            )),
            vec![],
            409,
        ),
        (
            "PUT",
            format!("/scim/v2/Users/{bob}"),
            Some(json!({"schemas": [USER], "userName": "alice"})),
            vec![],
            409,
        ),
        (
            "PATCH",
            format!("/scim/v2/Groups/{other_group}"),
            Some(patch(
                json!([{"op": "replace", "path": "displayName", "value": "TEAM"}]),
            )),
            vec![],
            409,
        ),
        (
            "PATCH",
            format!("/scim/v2/Users/{bob}"),
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            )),
            vec![],
            400,
        ),
        (
            "PATCH",
            format!("/scim/v2/Users/{bob}"),
            Some(json!({"schemas": [PATCH_OP]})),
            vec![],
            400,
        ),
        (
            "PATCH",
            format!("/scim/v2/Groups/{group}"),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": bob}]}, {"op": "replace", "path": "id", "value": "x"}]),
            )),
            vec![],
            400,
        ),
        (
            "PATCH",
            format!("/scim/v2/Users/{bob}"),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
            vec![("if-match", "W/\"9\"")],
            412,
        ),
        (
            "PATCH",
            format!("/scim/v2/Groups/{group}"),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
            )),
            vec![("if-match", "W/\"9\"")],
            412,
        ),
        (
            "DELETE",
            format!("/scim/v2/Users/{bob}"),
            None,
            vec![("if-match", "W/\"9\"")],
            412,
        ),
        (
            "DELETE",
            format!("/scim/v2/Groups/{group}"),
            None,
            vec![("if-match", "W/\"9\"")],
            412,
        ),
        (
            "DELETE",
            format!("/scim/v2/Users/{external}"),
            None,
            vec![],
            403,
        ),
        (
            "PATCH",
            format!("/scim/v2/Users/{external}"),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
            vec![],
            403,
        ),
        (
            "POST",
            format!("/scim/v2/Users/{bob}"),
            None,
            vec![("x-http-method-override", "DELETE")],
            400,
        ),
        (
            "GET",
            "/scim/v2/Users".into(),
            None,
            vec![("authorization", "Bearer wrong")],
            401,
        ),
        ("DELETE", "/scim/v2/Users/nope".into(), None, vec![], 404),
        ("PUT", "/scim/v2/Schemas".into(), None, vec![], 405),
        (
            "POST",
            "/scim/v2/Users".into(),
            Some(json!({"userName": "x".repeat(5000)})),
            vec![],
            400,
        ),
        (
            "POST",
            "/scim/v2/Users".into(),
            Some(json!({"userName": "big", "title": "x".repeat(2 << 20)})),
            vec![],
            413,
        ),
        (
            "GET",
            format!("/scim/v2/Users?filter={}", encode("password eq \"x\"")),
            None,
            vec![],
            400,
        ),
    ];
    for (method, target, body, headers, status) in rejected {
        let before = c.kv.snapshot();
        let r = c.send(method, &target, body, &headers);
        assert_eq!(
            r.status,
            status,
            "{method} {target}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            c.kv.snapshot(),
            before,
            "{method} {target} ({status}) wrote nothing"
        );
    }
    // Strict refusals too: an unknown member, an unknown attribute.
    strict.create_user_quickly("s");
    let g = strict.create_group("S", &[]);
    let before = strict.kv.snapshot();
    let (status, _) = strict.json(
        "PATCH",
        &format!("/scim/v2/Groups/{g}"),
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]),
        )),
    );
    assert_eq!(status, 400);
    assert_eq!(strict.kv.snapshot(), before);
}
