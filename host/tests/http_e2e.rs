//! The SCIM service end to end over HTTP: each scenario starts a node of the service on
//! 127.0.0.1 with its own empty store and talks to it with a plain HTTP/1.1 client. Every
//! scenario is defined once and run on each [`Target`] (module per target, see the end of
//! the file): `scim-host serve` (the Spin component under wasmtime) and real `spin up`, each
//! on SQLite and on a private redis-server. The Spin targets are skipped, with the reason
//! printed, when no Spin binary is found.
//!
//! Scenarios (issue 3): CRUD, every PATCH form (RFC 7644, Entra, Okta, SCIM 1.1 partial bodies,
//! `X-HTTP-Method-Override`), derived `User.groups`, list queries, ETags, auth, bad input,
//! concurrent PATCHes with no lost update, concurrent creates, restart durability.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// The user's `groups` as (group id, display) pairs, sorted.
fn groups_of(c: &Client, user_id: &str) -> Vec<(String, String)> {
    let user = c.fetch(&format!("/Users/{user_id}"));
    let mut groups: Vec<(String, String)> = user["groups"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|g| {
                    (
                        g["value"].as_str().unwrap_or_default().to_string(),
                        g["display"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    groups.sort();
    groups
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

fn pair(id: &str, display: &str) -> (String, String) {
    (id.to_string(), display.to_string())
}

/// Whether `resource` has a member named `name`, ignoring case (SCIM names are case-insensitive).
fn has_key_ci(resource: &Value, name: &str) -> bool {
    resource
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(name)))
}

fn users_crud(target: Target) {
    let server = target.start("users-crud");
    let c = server.client();
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "bjensen@example.com",
        "externalId": "bjensen",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "active": true,
        "password": "t1meMachine!",
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"}
    });
    let r = c.post("/Users", &body).expect(201);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/scim+json")),
        "content-type {:?}",
        r.header("content-type")
    );
    let created = r.json();
    let uid = id(&created);
    let location = format!("http://{}/scim/v2/Users/{uid}", server.addr);
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(created["meta"]["location"], location.as_str());
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(version(&created), "W/\"1\"");
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["created"], created["meta"]["lastModified"]);
    assert!(
        !has_key_ci(&created, "password"),
        "password is writeOnly: {created}"
    );
    assert_eq!(created["userName"], "bjensen@example.com");
    assert_eq!(created["externalId"], "bjensen");
    assert_eq!(created["name"]["givenName"], "Barbara");
    assert_eq!(created["name"]["familyName"], "Jensen");
    assert_eq!(created["displayName"], "Babs Jensen");
    assert_eq!(created["active"], true);
    assert_eq!(values(&created, "emails"), ["bjensen@example.com"]);
    assert_eq!(created["emails"][0]["primary"], true);
    assert_eq!(values(&created, "phoneNumbers"), ["555-555-8377"]);
    assert_eq!(created[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(created[ENTERPRISE]["department"], "Tour Operations");
    let schemas = created["schemas"].as_array().expect("schemas");
    assert!(schemas.contains(&json!(USER_SCHEMA)) && schemas.contains(&json!(ENTERPRISE)));

    // GET by the Location URL returns exactly what the create returned.
    let r = c.get(&location).expect(200);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.json(), created);

    // PUT replaces everything but id, meta.created (readOnly members of the body are ignored).
    let r = c
        .put(
            &location,
            &json!({"schemas": [USER_SCHEMA], "id": "not-the-id", "meta": {"version": "W/\"42\""},
                    "userName": "bjensen@example.com", "title": "Tour Guide", "active": false}),
        )
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let replaced = r.json();
    assert_eq!(id(&replaced), uid);
    assert_eq!(replaced["meta"]["created"], created["meta"]["created"]);
    assert_eq!(replaced["meta"]["location"], location.as_str());
    assert_eq!(version(&replaced), "W/\"2\"");
    assert!(replaced["meta"]["lastModified"].as_str() >= created["meta"]["lastModified"].as_str());
    assert_eq!(replaced["title"], "Tour Guide");
    assert_eq!(replaced["active"], false);
    for gone in ["emails", "name", "phoneNumbers", "externalId", ENTERPRISE] {
        assert!(replaced.get(gone).is_none(), "PUT kept {gone}: {replaced}");
    }
    assert_eq!(c.fetch(&location), replaced);

    // DELETE: 204 without a body, then the user is gone everywhere.
    let r = c.delete(&location).expect(204);
    assert!(r.body.is_empty(), "204 with a body: {}", r.text());
    for r in [
        c.get(&location),
        c.delete(&location),
        c.put(&location, &user("bjensen@example.com")),
        c.patch(
            &location,
            &patch_op(json!([{"op": "replace", "path": "title", "value": "x"}])),
        ),
    ] {
        r.scim_error(404, None, Some("The specified user does not exist."));
    }
    assert_eq!(c.fetch("/Users")["totalResults"], 0);
    c.get("/Users/no-such-id")
        .scim_error(404, None, Some("The specified user does not exist."));
}

fn groups_crud(target: Target) {
    let server = target.start("groups-crud");
    let c = server.client();
    let u1 = id(&c.create_user("u1"));
    let u2 = id(&c.create_user("u2"));

    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Tour Guides", "externalId": "tg",
                    "members": [{"value": u1, "display": "u1"}]}),
        )
        .expect(201);
    let created = r.json();
    let gid = id(&created);
    let location = format!("http://{}/scim/v2/Groups/{gid}", server.addr);
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(created["meta"]["resourceType"], "Group");
    assert_eq!(created["meta"]["location"], location.as_str());
    assert_eq!(created["schemas"], json!([GROUP_SCHEMA]));
    assert_eq!(created["displayName"], "Tour Guides");
    assert_eq!(created["externalId"], "tg");
    assert_eq!(values(&created, "members"), [u1.as_str()]);

    let r = c.get(&location).expect(200);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.json(), created);

    let replaced = c
        .put(
            &location,
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Guides", "members": [{"value": u2}]}),
        )
        .expect(200)
        .json();
    assert_eq!(id(&replaced), gid);
    assert_eq!(version(&replaced), "W/\"2\"");
    assert_eq!(replaced["meta"]["created"], created["meta"]["created"]);
    assert_eq!(replaced["displayName"], "Guides");
    assert_eq!(values(&replaced, "members"), [u2.as_str()]);
    assert!(replaced.get("externalId").is_none());

    let listed_groups = c.fetch("/Groups");
    assert_eq!(listed_groups["totalResults"], 1);
    assert_eq!(listed(&listed_groups, "displayName"), ["Guides"]);

    assert!(c.delete(&location).expect(204).body.is_empty());
    for r in [c.get(&location), c.delete(&location)] {
        r.scim_error(404, None, Some("The specified group does not exist."));
    }
    assert_eq!(c.fetch("/Groups")["totalResults"], 0);
    // The members survive their group.
    assert_eq!(c.fetch("/Users")["totalResults"], 2);
}

fn patch_rfc_operations(target: Target) {
    let server = target.start("patch-rfc");
    let c = server.client();
    let created = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "rfc", "name": {"givenName": "B", "familyName": "Jensen"},
                "emails": [{"value": "b@work.example", "type": "work", "primary": true},
                           {"value": "b@home.example", "type": "home"}],
                "phoneNumbers": [{"value": "555-0100", "type": "work"}]}),
    );
    let path = user_path(&created);

    let r = c
        .patch(
            &path,
            &patch_op(json!([
                {"op": "add", "path": "title", "value": "Engineer"},
                {"op": "replace", "path": "name.givenName", "value": "Barbara"},
                {"op": "add", "path": "emails", "value": [{"value": "b@other.example", "type": "other"}]},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "bj@work.example"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "remove", "path": "phoneNumbers"},
                {"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "R&D"},
                {"op": "replace", "path": "active", "value": false}
            ])),
        )
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let p = r.json();
    assert_eq!(version(&p), "W/\"2\"");
    assert!(p["meta"]["lastModified"].as_str() >= created["meta"]["lastModified"].as_str());
    assert_eq!(p["meta"]["created"], created["meta"]["created"]);
    assert_eq!(p["title"], "Engineer");
    assert_eq!(
        p["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen"})
    );
    assert_eq!(
        p["emails"],
        json!([{"value": "bj@work.example", "type": "work", "primary": true},
               {"value": "b@other.example", "type": "other"}])
    );
    assert!(p.get("phoneNumbers").is_none(), "{p}");
    assert_eq!(p[ENTERPRISE], json!({"department": "R&D"}));
    assert!(
        p["schemas"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(ENTERPRISE))),
        "adding an extension attribute lists the extension: {}",
        p["schemas"]
    );
    assert_eq!(p["active"], false);
    assert_eq!(c.fetch(&path), p, "GET shows what PATCH returned");

    // primary moves; a filtered sub-attribute remove; a value path replace of a whole value.
    let p = c.patch_ok(
        &path,
        json!([
            {"op": "add", "path": "emails", "value": [{"value": "new@work.example", "type": "work", "primary": true}]},
            {"op": "remove", "path": "emails[value eq \"b@other.example\"].type"},
            {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"},
            {"op": "remove", "path": "name.givenName"}
        ]),
    );
    assert_eq!(
        p["emails"],
        json!([{"value": "bj@work.example", "type": "work", "primary": false},
               {"value": "b@other.example"},
               {"value": "new@work.example", "type": "work", "primary": true}])
    );
    assert_eq!(p[ENTERPRISE]["department"], "Sales");
    assert_eq!(p["name"], json!({"familyName": "Jensen"}));
    assert_eq!(version(&p), "W/\"3\"");

    // Operations are atomic: one bad op and nothing changes.
    let before = c.fetch(&path);
    c.patch(
        &path,
        &patch_op(json!([
            {"op": "replace", "path": "title", "value": "Changed"},
            {"op": "remove", "path": "favouriteColour"}
        ])),
    )
    .scim_error(400, Some("invalidPath"), None);
    assert_eq!(
        c.fetch(&path),
        before,
        "a failed PATCH changed the resource"
    );

    // Errors of the request itself.
    let cases = [
        (json!([{"op": "remove", "path": "id"}]), "mutability"),
        (json!([{"op": "remove", "path": "userName"}]), "mutability"),
        (
            json!([{"op": "replace", "path": "meta.version", "value": "W/\"9\""}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq]", "value": "x"}]),
            "invalidFilter",
        ),
        (json!([{"op": "move", "path": "title"}]), "invalidSyntax"),
        (json!([{"op": "add", "path": "title"}]), "invalidSyntax"),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            "invalidValue",
        ),
        (json!([]), "invalidSyntax"),
    ];
    for (ops, scim_type) in cases {
        let r = c.patch(&path, &patch_op(ops.clone()));
        assert_eq!(r.status, 400, "{ops}: {}", r.text());
        r.scim_error(400, Some(scim_type), None);
    }
    assert_eq!(c.fetch(&path), before);

    // The PATCH response honours attributes / excludedAttributes.
    let r = c
        .request("PATCH", &format!("{path}?attributes=title"))
        .json(&patch_op(
            json!([{"op": "replace", "path": "title", "value": "Lead"}]),
        ))
        .send()
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"4\""));
    let narrowed = r.json();
    let keys: BTreeSet<&str> = narrowed
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "schemas", "title"]),
        "{narrowed}"
    );
    assert_eq!(narrowed["title"], "Lead");
    let r = c
        .request("PATCH", &format!("{path}?excludedAttributes=emails,meta"))
        .json(&patch_op(
            json!([{"op": "replace", "path": "title", "value": "Head"}]),
        ))
        .send()
        .expect(200)
        .json();
    assert!(r.get("emails").is_none() && r.get("meta").is_none(), "{r}");
    assert_eq!(
        (r["title"].as_str(), r["userName"].as_str()),
        (Some("Head"), Some("rfc"))
    );

    // RFC 7644 §3.5.2 group member operations.
    let (a, b) = (id(&c.create_user("a")), id(&c.create_user("b")));
    let g = c.create("/Groups", &group("RFC", &[]));
    let gpath = group_path(&g);
    let g2 = c.patch_ok(
        &gpath,
        json!([{"op": "add", "path": "members", "value": [{"value": a, "display": "a"}, {"value": b}]}]),
    );
    assert_eq!(values(&g2, "members"), [a.as_str(), b.as_str()]);
    assert_eq!(g2["members"][0]["display"], "a");
    let g3 = c.patch_ok(
        &gpath,
        json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
    );
    assert_eq!(values(&g3, "members"), [b.as_str()]);
    let g4 = c.patch_ok(
        &gpath,
        json!([{"op": "replace", "path": "members", "value": [{"value": a}]},
               {"op": "replace", "path": "displayName", "value": "RFC 7644"}]),
    );
    assert_eq!(values(&g4, "members"), [a.as_str()]);
    assert_eq!(g4["displayName"], "RFC 7644");
    let g5 = c.patch_ok(&gpath, json!([{"op": "remove", "path": "members"}]));
    assert!(g5.get("members").is_none(), "{g5}");
    assert_eq!(version(&g5), "W/\"5\"");
}

fn patch_entra_traffic(target: Target) {
    let server = target.start("patch-entra");
    let c = server.client();
    let manager = id(&c.create_user("manager@contoso.com"));
    let alice = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA, ENTERPRISE], "userName": "alice@contoso.com", "active": true,
                "displayName": "Alice", "emails": [{"value": "alice@home.example", "type": "home"}]}),
    );
    let path = user_path(&alice);

    // What the Entra provisioning service sends for an attribute update and a disable.
    let p = c.patch_ok(
        &path,
        json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "displayName", "value": "Alice Smith"},
            {"op": "Replace", "value": {
                "name.givenName": "Alicia",
                "name.familyName": "Smith",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Finance",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": manager
            }},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "alice@contoso.com"},
            {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 425 555 0199"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
            {"op": "Add", "path": "title", "value": "Accountant"}
        ]),
    );
    assert_eq!(p["active"], false, "\"False\" is the boolean false");
    assert_eq!(p["displayName"], "Alice Smith");
    assert_eq!(
        p["name"],
        json!({"givenName": "Alicia", "familyName": "Smith"})
    );
    assert_eq!(p[ENTERPRISE]["department"], "Finance");
    assert_eq!(p[ENTERPRISE]["manager"]["value"], manager.as_str());
    assert_eq!(
        p["emails"],
        json!([{"value": "alice@home.example", "type": "home"},
               {"type": "work", "value": "alice@contoso.com"}]),
        "the work email is created by the filtered path"
    );
    assert_eq!(
        p["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 425 555 0199"}])
    );
    assert_eq!(
        p["addresses"],
        json!([{"type": "work", "locality": "Redmond"}])
    );
    assert_eq!(p["title"], "Accountant");
    assert_eq!(version(&p), "W/\"2\"");

    // Re-enable with "True"; update the work email through a path-less dotted key; remove title.
    let p = c.patch_ok(
        &path,
        json!([
            {"op": "Replace", "path": "active", "value": "True"},
            {"op": "Add", "value": {"emails[type eq \"work\"].value": "alice.smith@contoso.com"}},
            {"op": "Remove", "path": "title"},
            {"op": "Replace", "path": "name.givenName", "value": null}
        ]),
    );
    assert_eq!(p["active"], true);
    assert_eq!(
        values(&p, "emails"),
        ["alice@home.example", "alice.smith@contoso.com"]
    );
    assert!(p.get("title").is_none());
    assert_eq!(p["name"], json!({"familyName": "Smith"}));
    assert_eq!(c.fetch(&path), p);

    // Group: Entra adds and removes members by value, and renames with a capitalised Replace.
    let (bob, carol) = (id(&c.create_user("bob")), id(&c.create_user("carol")));
    let uid = id(&alice);
    let g = c.create("/Groups", &group("Finance", &[]));
    let gpath = group_path(&g);
    let g1 = c.patch_ok(
        &gpath,
        json!([{"op": "Add", "path": "members", "value": [{"value": uid}, {"value": bob}]}]),
    );
    assert_eq!(values(&g1, "members"), [uid.as_str(), bob.as_str()]);
    let g2 = c.patch_ok(
        &gpath,
        json!([
            {"op": "Remove", "path": "members", "value": [{"value": uid}]},
            {"op": "Add", "path": "members", "value": [{"value": carol}]},
            {"op": "Replace", "path": "displayName", "value": "Finance Team"}
        ]),
    );
    assert_eq!(values(&g2, "members"), [bob.as_str(), carol.as_str()]);
    assert_eq!(g2["displayName"], "Finance Team");
    // Adding a member twice does not duplicate it.
    let g3 = c.patch_ok(
        &gpath,
        json!([{"op": "Add", "path": "members", "value": [{"value": bob}]}]),
    );
    assert_eq!(values(&g3, "members"), [bob.as_str(), carol.as_str()]);
    assert_eq!(groups_of(&c, &uid), []);
    assert_eq!(groups_of(&c, &bob), [pair(&id(&g), "Finance Team")]);
}

fn patch_okta_traffic(target: Target) {
    let server = target.start("patch-okta");
    let c = server.client();
    let u = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "okta@example.com", "active": true,
                "name": {"givenName": "O", "familyName": "Kta"}}),
    );
    let (uid, path) = (id(&u), user_path(&u));

    // Okta deactivates with a path-less replace that repeats the user's own id.
    let p = c.patch_ok(
        &path,
        json!([{"op": "replace", "value": {"id": uid, "active": false}}]),
    );
    assert_eq!(id(&p), uid);
    assert_eq!(p["active"], false);
    assert_eq!(p["name"]["givenName"], "O");
    // ... but another id is a readOnly change.
    c.patch(
        &path,
        &patch_op(json!([{"op": "replace", "value": {"id": "someone-else", "active": true}}])),
    )
    .scim_error(400, Some("mutability"), None);
    assert_eq!(c.fetch(&path)["active"], false);
    // Profile push: path-less replace of several attributes, complex ones merged.
    let p = c.patch_ok(
        &path,
        json!([{"op": "replace", "value": {"id": uid, "active": true, "name": {"givenName": "Okta"},
                                           "emails": [{"value": "okta@example.com", "primary": true, "type": "work"}]}}]),
    );
    assert_eq!(p["active"], true);
    assert_eq!(p["name"], json!({"givenName": "Okta", "familyName": "Kta"}));
    assert_eq!(values(&p, "emails"), ["okta@example.com"]);

    // Groups: rename with own id, add members, remove one by filter, then `replace members []`.
    let (m1, m2) = (id(&c.create_user("m1")), id(&c.create_user("m2")));
    let g = c.create("/Groups", &group("Okta Group", &[]));
    let (gid, gpath) = (id(&g), group_path(&g));
    let g1 = c.patch_ok(
        &gpath,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Okta Renamed"}}]),
    );
    assert_eq!(g1["displayName"], "Okta Renamed");
    let g2 = c.patch_ok(
        &gpath,
        json!([{"op": "add", "path": "members", "value": [
            {"value": uid, "display": "okta@example.com"}, {"value": m1, "display": "m1"}, {"value": m2, "display": "m2"}]}]),
    );
    assert_eq!(
        values(&g2, "members"),
        [uid.as_str(), m1.as_str(), m2.as_str()]
    );
    assert_eq!(groups_of(&c, &m1), [pair(&gid, "Okta Renamed")]);
    let g3 = c.patch_ok(
        &gpath,
        json!([{"op": "remove", "path": format!("members[value eq \"{m1}\"]")}]),
    );
    assert_eq!(values(&g3, "members"), [uid.as_str(), m2.as_str()]);
    assert_eq!(groups_of(&c, &m1), []);
    let g4 = c.patch_ok(
        &gpath,
        json!([{"op": "replace", "path": "members", "value": []}]),
    );
    assert!(
        g4.get("members").is_none(),
        "replace members [] empties: {g4}"
    );
    assert_eq!(g4["displayName"], "Okta Renamed");
    for member in [&uid, &m1, &m2] {
        assert_eq!(groups_of(&c, member), [], "{member} still lists the group");
    }
    assert_eq!(version(&g4), "W/\"5\"");
}

fn patch_scim11_bodies_and_method_override(target: Target) {
    let server = target.start("patch-legacy");
    let c = server.client();
    let u = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "jdoe", "title": "Engineer",
                "name": {"givenName": "John", "familyName": "Doe"},
                "emails": [{"value": "jdoe@acme.example", "type": "work", "primary": true},
                           {"value": "john@home.example", "type": "home"}]}),
    );
    let (uid, path) = (id(&u), user_path(&u));

    // A SCIM 1.1 partial resource on PATCH: meta.attributes removes first, then members merge.
    let p = c
        .patch(
            &path,
            &json!({"schemas": ["urn:scim:schemas:core:1.0"],
                    "meta": {"attributes": ["title", "name.givenName"]},
                    "displayName": "John Doe",
                    "emails": [{"value": "john@home.example", "operation": "delete"},
                               {"value": "jd@other.example", "type": "other"},
                               {"value": "jdoe@acme.example", "display": "Work"}]}),
        )
        .expect(200)
        .json();
    assert!(p.get("title").is_none(), "{p}");
    assert_eq!(p["name"], json!({"familyName": "Doe"}));
    assert_eq!(p["displayName"], "John Doe");
    assert_eq!(
        p["emails"],
        json!([{"value": "jdoe@acme.example", "type": "work", "primary": true, "display": "Work"},
               {"value": "jd@other.example", "type": "other"}])
    );
    assert_eq!(version(&p), "W/\"2\"");

    // Workspace ONE / PingFederate: POST /Users/{id} + X-HTTP-Method-Override: PATCH.
    let r = c
        .request("POST", &path)
        .header("X-HTTP-Method-Override", "PATCH")
        .json(&patch_op(
            json!([{"op": "replace", "path": "title", "value": "Director"}]),
        ))
        .send()
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"3\""));
    let p = r.json();
    assert_eq!(
        (id(&p), p["title"].as_str()),
        (uid.clone(), Some("Director"))
    );
    // ... with a SCIM 1.1 body and the SCIM 1.1 enterprise extension.
    let ent11 = "urn:scim:schemas:extension:enterprise:1.0";
    let p = c
        .request("POST", &path)
        .header("x-http-method-override", "patch")
        .json(&json!({"schemas": ["urn:scim:schemas:core:1.0", ent11],
                      ent11: {"employeeNumber": "1001", "department": "R&D"},
                      "nickName": "JD"}))
        .send()
        .expect(200)
        .json();
    assert_eq!(
        p[ent11],
        json!({"employeeNumber": "1001", "department": "R&D"})
    );
    assert_eq!(p["nickName"], "JD");
    assert_eq!(p["title"], "Director");
    assert_eq!(version(&p), "W/\"4\"");
    assert_eq!(c.fetch(&path), p);

    // A plain POST to a resource is not a PATCH.
    c.post(&path, &json!({"nickName": "nope"}))
        .scim_error(405, None, None);
    assert_eq!(c.fetch(&path)["nickName"], "JD");

    // Groups: method override with SCIM 1.1 member deletes and adds; User.groups follows.
    let (a, b, d) = (
        id(&c.create_user("a")),
        id(&c.create_user("b")),
        id(&c.create_user("d")),
    );
    let g = c.create("/Groups", &group("Legacy", &[&a, &b]));
    let (gid, gpath) = (id(&g), group_path(&g));
    let g1 = c
        .request("POST", &gpath)
        .header("X-HTTP-Method-Override", "PATCH")
        .json(&json!({"schemas": ["urn:scim:schemas:core:1.0"], "displayName": "Legacy Renamed",
                      "members": [{"value": a, "operation": "delete"}, {"value": d, "display": "d"}]}))
        .send()
        .patched(&c, &gpath);
    assert_eq!(g1["displayName"], "Legacy Renamed");
    assert_eq!(values(&g1, "members"), [b.as_str(), d.as_str()]);
    assert_eq!(groups_of(&c, &a), []);
    assert_eq!(groups_of(&c, &d), [pair(&gid, "Legacy Renamed")]);
    // meta.attributes ["members"] alone empties the group.
    let g2 = c
        .patch(
            &gpath,
            &json!({"schemas": ["urn:scim:schemas:core:1.0"], "meta": {"attributes": ["members"]}}),
        )
        .patched(&c, &gpath);
    assert!(g2.get("members").is_none(), "{g2}");
    assert_eq!(groups_of(&c, &b), []);
    assert_eq!(groups_of(&c, &d), []);
}

fn user_groups_follow_membership(target: Target) {
    let server = target.start("user-groups");
    let c = server.client();
    let (u1, u2, u3) = (
        id(&c.create_user("u1")),
        id(&c.create_user("u2")),
        id(&c.create_user("u3")),
    );
    let g1 = c.create("/Groups", &group("Engineering", &[&u1, &u2]));
    let g2 = c.create("/Groups", &group("Admins", &[&u1]));
    let (g1id, g2id) = (id(&g1), id(&g2));

    let full = c.fetch(&format!("/Users/{u1}"));
    let engineering = full["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["value"] == g1id.as_str()))
        .unwrap_or_else(|| panic!("u1 is not listed in Engineering: {full}"));
    assert_eq!(engineering["display"], "Engineering");
    assert_eq!(engineering["$ref"], g1["meta"]["location"]);
    assert_eq!(engineering["type"], "direct");
    let mut expected = vec![pair(&g1id, "Engineering"), pair(&g2id, "Admins")];
    expected.sort();
    assert_eq!(groups_of(&c, &u1), expected);
    assert_eq!(groups_of(&c, &u2), [pair(&g1id, "Engineering")]);
    assert_eq!(groups_of(&c, &u3), []);

    // Member add / remove by PATCH; a rename shows in the users' groups.
    c.patch_ok(
        &format!("/Groups/{g2id}"),
        json!([{"op": "add", "path": "members", "value": [{"value": u3}]}]),
    );
    assert_eq!(groups_of(&c, &u3), [pair(&g2id, "Admins")]);
    c.patch_ok(
        &format!("/Groups/{g1id}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")},
               {"op": "replace", "path": "displayName", "value": "Eng"}]),
    );
    assert_eq!(groups_of(&c, &u2), []);
    let mut expected = vec![pair(&g1id, "Eng"), pair(&g2id, "Admins")];
    expected.sort();
    assert_eq!(groups_of(&c, &u1), expected);

    // PUT replaces the membership.
    c.put(&format!("/Groups/{g2id}"), &group("Admins", &[&u2]))
        .expect(200);
    assert_eq!(groups_of(&c, &u1), [pair(&g1id, "Eng")]);
    assert_eq!(groups_of(&c, &u2), [pair(&g2id, "Admins")]);
    assert_eq!(groups_of(&c, &u3), []);

    // groups is filterable, and readOnly on the user (ignored in a POST/PUT body, refused by PATCH).
    let list = c.fetch(&format!(
        "/Users?filter={}",
        enc(&format!("groups.value eq \"{g1id}\""))
    ));
    assert_eq!(listed(&list, "id"), [u1.as_str()]);
    c.patch(
        &format!("/Users/{u3}"),
        &patch_op(json!([{"op": "add", "path": "groups", "value": [{"value": g1id}]}])),
    )
    .scim_error(400, Some("mutability"), None);
    let u4 = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "u4", "groups": [{"value": g1id}]}),
    );
    assert!(u4.get("groups").is_none(), "{u4}");
    assert_eq!(groups_of(&c, &id(&u4)), []);

    // Deleting a group clears it from its members' groups.
    c.delete(&format!("/Groups/{g1id}")).expect(204);
    assert_eq!(groups_of(&c, &u1), []);
    // Deleting a user removes it from its groups.
    let before = c.fetch(&format!("/Groups/{g2id}"));
    c.delete(&format!("/Users/{u2}")).expect(204);
    let after = c.fetch(&format!("/Groups/{g2id}"));
    assert!(after.get("members").is_none(), "{after}");
    assert_ne!(version(&after), version(&before), "the group changed");
    // A new member after all that still works.
    c.patch_ok(
        &format!("/Groups/{g2id}"),
        json!([{"op": "add", "path": "members", "value": [{"value": u1}]}]),
    );
    assert_eq!(groups_of(&c, &u1), [pair(&g2id, "Admins")]);
}

fn list_filter_paging_sorting_and_projection(target: Target) {
    let server = target.start("list");
    let c = server.client();
    let people = [
        ("carol", Some("Dev"), true, "a"),
        ("alice", Some("Dev"), true, "a"),
        ("bob", Some("Ops"), false, "b"),
        ("erin", None, true, "b"),
        ("dave", Some("Ops"), true, "b"),
    ];
    for (name, title, active, domain) in people {
        let mut body = json!({"schemas": [USER_SCHEMA], "userName": name, "active": active,
                              "name": {"givenName": name.to_uppercase(), "familyName": "Test"},
                              "emails": [{"value": format!("{name}@{domain}.example"), "type": "work"}]});
        if let Some(title) = title {
            body["title"] = title.into();
        }
        c.create("/Users", &body);
    }
    let devs = c.create("/Groups", &group("Devs", &[]));

    let names = |query: &str| -> Vec<String> {
        let list = c.fetch(&format!("/Users?{query}"));
        listed(&list, "userName")
    };
    let filter = |f: &str| format!("filter={}&sortBy=userName", enc(f));

    let all = c.fetch("/Users");
    assert_eq!(
        (
            &all["totalResults"],
            &all["itemsPerPage"],
            &all["startIndex"]
        ),
        (&json!(5), &json!(5), &json!(1))
    );
    assert_eq!(
        sorted(listed(&all, "userName")),
        ["alice", "bob", "carol", "dave", "erin"]
    );

    // Filters.
    assert_eq!(names(&filter("userName eq \"BOB\"")), ["bob"]);
    assert_eq!(
        names(&filter("title eq \"Dev\" and active eq true")),
        ["alice", "carol"]
    );
    assert_eq!(
        names(&filter("userName sw \"c\" or userName eq \"dave\"")),
        ["carol", "dave"]
    );
    assert_eq!(
        names(&filter("title pr")),
        ["alice", "bob", "carol", "dave"]
    );
    assert_eq!(names(&filter("not (title pr)")), ["erin"]);
    assert_eq!(names(&filter("active eq false")), ["bob"]);
    assert_eq!(
        names(&filter(
            "emails[type eq \"work\" and value ew \"@a.example\"]"
        )),
        ["alice", "carol"]
    );
    assert_eq!(
        names(&filter("emails.value co \"@b.\"")),
        ["bob", "dave", "erin"]
    );
    assert_eq!(names(&filter("name.givenName eq \"ALICE\"")), ["alice"]);
    assert_eq!(
        names(&filter("meta.created gt \"2000-01-01T00:00:00Z\"")).len(),
        5
    );
    assert_eq!(
        names(&filter(
            "meta.resourceType eq \"User\" and (title eq \"Ops\" or userName eq \"erin\")"
        )),
        ["bob", "dave", "erin"]
    );
    assert_eq!(
        names("filter=userName+eq+%22alice%22"),
        ["alice"],
        "+ is a space in a query"
    );
    assert_eq!(
        names(&filter("userName eq \"nobody\"")),
        Vec::<String>::new()
    );
    c.get(&format!("/Users?filter={}", enc("userName eq")))
        .scim_error(400, Some("invalidFilter"), None);
    c.get(&format!("/Users?filter={}", enc("userName xx \"a\"")))
        .scim_error(400, Some("invalidFilter"), None);
    c.get("/Users?startIndex=abc")
        .scim_error(400, Some("invalidValue"), None);

    // Paging (1-based startIndex) and sorting.
    let page = c.fetch("/Users?sortBy=userName&startIndex=2&count=2");
    assert_eq!(listed(&page, "userName"), ["bob", "carol"]);
    assert_eq!(
        (
            &page["totalResults"],
            &page["itemsPerPage"],
            &page["startIndex"]
        ),
        (&json!(5), &json!(2), &json!(2))
    );
    assert_eq!(names("sortBy=userName&startIndex=5&count=10"), ["erin"]);
    let past = c.fetch("/Users?sortBy=userName&startIndex=6");
    assert_eq!(
        (&past["totalResults"], &past["itemsPerPage"]),
        (&json!(5), &json!(0))
    );
    let none = c.fetch("/Users?count=0");
    assert_eq!(none["totalResults"], 5);
    assert!(
        none["Resources"].as_array().is_none_or(Vec::is_empty),
        "{none}"
    );
    assert_eq!(
        names("sortBy=userName&sortOrder=descending"),
        ["erin", "dave", "carol", "bob", "alice"]
    );
    assert_eq!(
        names("sortBy=userName&sortOrder=descending&count=2&startIndex=2"),
        ["dave", "carol"]
    );
    // Unassigned values sort last (RFC 7644 §3.4.2.3).
    let by_title = names("sortBy=title");
    assert_eq!(
        by_title.last().map(String::as_str),
        Some("erin"),
        "{by_title:?}"
    );
    assert_eq!(sorted(by_title[..2].to_vec()), ["alice", "carol"]);
    assert_eq!(names("sortBy=name.givenName&count=1"), ["alice"]);
    assert_eq!(names("sortBy=emails&count=1"), ["alice"]);

    // Projection.
    let list = c.fetch(&format!(
        "/Users?{}&attributes=userName,emails.value",
        filter("userName eq \"alice\"")
    ));
    let alice = &list["Resources"][0];
    let keys: BTreeSet<&str> = alice
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["emails", "id", "schemas", "userName"]),
        "{alice}"
    );
    assert_eq!(alice["emails"], json!([{"value": "alice@a.example"}]));
    let list = c.fetch(&format!(
        "/Users?{}&excludedAttributes=emails,meta,name.familyName",
        filter("userName eq \"alice\"")
    ));
    let alice = &list["Resources"][0];
    assert!(
        alice.get("emails").is_none() && alice.get("meta").is_none(),
        "{alice}"
    );
    assert_eq!(alice["name"], json!({"givenName": "ALICE"}));
    assert_eq!(
        (alice["userName"].as_str(), alice["title"].as_str()),
        (Some("alice"), Some("Dev"))
    );
    assert!(alice.get("id").is_some());
    let one = c.fetch(&format!("/Users/{}?attributes=title", id(alice)));
    assert_eq!(
        one,
        json!({"schemas": [USER_SCHEMA], "id": id(alice), "title": "Dev"})
    );

    // POST .search on the resource type and at the root.
    let r = c
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "title eq \"Ops\" or title eq \"Dev\"", "sortBy": "userName", "sortOrder": "descending",
                    "startIndex": 2, "count": 2, "attributes": ["userName", "title"]}),
        )
        .expect(200)
        .json();
    assert_eq!(r["totalResults"], 4);
    assert_eq!(listed(&r, "userName"), ["carol", "bob"]);
    assert!(r["Resources"][0].get("emails").is_none(), "{r}");
    assert_eq!(r["Resources"][0]["title"], "Dev");
    let r = c
        .post(
            "/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "displayName eq \"devs\" or userName eq \"erin\"", "sortBy": "meta.resourceType"}),
        )
        .expect(200)
        .json();
    assert_eq!(r["totalResults"], 2);
    assert_eq!(
        listed(&r, "id"),
        [
            id(&devs),
            id(&c.fetch(&format!("/Users?{}", filter("userName eq \"erin\"")))["Resources"][0])
        ]
    );
    c.post("/Users/.search", &json!({"filter": "userName eq"}))
        .scim_error(400, Some("invalidFilter"), None);

    // Groups list.
    c.create("/Groups", &group("Ops", &[]));
    let groups = c.fetch(&format!(
        "/Groups?filter={}",
        enc("displayName eq \"DEVS\"")
    ));
    assert_eq!(listed(&groups, "displayName"), ["Devs"]);
    assert_eq!(
        c.fetch("/Groups?sortBy=displayName&sortOrder=descending")["Resources"][0]["displayName"],
        "Ops"
    );
}

fn etags_and_preconditions(target: Target) {
    let server = target.start("etags");
    let c = server.client();
    let u = c.create_user("etag");
    let path = user_path(&u);
    let title = |t: &str| patch_op(json!([{"op": "replace", "path": "title", "value": t}]));

    // If-Match mismatch: 412, nothing changes.
    for stale in ["W/\"7\"", "\"7\"", "W/\"0\", W/\"2\""] {
        c.request("PATCH", &path)
            .header("If-Match", stale)
            .json(&title("stale"))
            .send()
            .scim_error(412, None, None);
    }
    let current = c.fetch(&path);
    assert_eq!(version(&current), "W/\"1\"");
    assert!(current.get("title").is_none());

    // Match (weak, strong form, in a list, or *): 200 and a new ETag.
    let r = c
        .request("PATCH", &path)
        .header("If-Match", "W/\"1\"")
        .json(&title("one"))
        .send()
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(version(&r.json()), "W/\"2\"");
    let r = c
        .request("PATCH", &path)
        .header("If-Match", "W/\"9\", W/\"2\"")
        .json(&title("two"))
        .send()
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"3\""));
    c.request("PATCH", &path)
        .header("If-Match", "*")
        .json(&title("three"))
        .send()
        .expect(200);

    // PUT honours If-Match too.
    c.request("PUT", &path)
        .header("If-Match", "W/\"1\"")
        .json(&user("etag"))
        .send()
        .scim_error(412, None, None);
    let r = c
        .request("PUT", &path)
        .header("If-Match", "W/\"4\"")
        .json(&json!({"schemas": [USER_SCHEMA], "userName": "etag", "title": "put"}))
        .send()
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"5\""));

    // If-None-Match on GET: 304 without a body when it matches, 200 otherwise.
    let r = c
        .request("GET", &path)
        .header("If-None-Match", "W/\"5\"")
        .send()
        .expect(304);
    assert!(r.body.is_empty(), "304 with a body: {}", r.text());
    assert_eq!(r.header("etag"), Some("W/\"5\""));
    c.request("GET", &path)
        .header("If-None-Match", "*")
        .send()
        .expect(304);
    let r = c
        .request("GET", &path)
        .header("If-None-Match", "W/\"4\"")
        .send()
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"5\""));
    assert_eq!(r.json()["title"], "put");

    // Groups and DELETE.
    let g = c.create("/Groups", &group("Etag Group", &[]));
    let gpath = group_path(&g);
    c.request("PATCH", &gpath)
        .header("If-Match", "W/\"2\"")
        .json(&patch_op(
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
        ))
        .send()
        .scim_error(412, None, None);
    c.request("DELETE", &gpath)
        .header("If-Match", "W/\"2\"")
        .send()
        .scim_error(412, None, None);
    c.request("DELETE", &gpath)
        .header("If-Match", "W/\"1\"")
        .send()
        .expect(204);
    c.request("DELETE", &path)
        .header("If-Match", "W/\"4\"")
        .send()
        .scim_error(412, None, None);
    assert_eq!(c.fetch(&path)["title"], "put");
    c.request("DELETE", &path)
        .header("If-Match", "*")
        .send()
        .expect(204);
}

fn auth_requires_the_bearer_token(target: Target) {
    let server = target.start("auth");
    let c = server.client();
    let u = c.create_user("auth");
    let path = user_path(&u);
    let wrong = [
        None,
        Some("Bearer wrong-token".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_string()),
        Some("Bearer ".to_string()),
    ];
    let requests: [(&str, &str, Option<Value>); 8] = [
        ("GET", "/Users", None),
        ("GET", &path, None),
        ("POST", "/Users", Some(user("intruder"))),
        (
            "PATCH",
            &path,
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "pwned"}]),
            )),
        ),
        ("PUT", &path, Some(user("auth"))),
        ("DELETE", &path, None),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/Schemas", None),
    ];
    for auth in &wrong {
        for (method, target, body) in &requests {
            let mut req = c.request(method, target);
            req = match auth {
                None => req.without_auth(),
                Some(value) => req.authorization(value),
            };
            if let Some(body) = body {
                req = req.json(body);
            }
            let r = req.send();
            assert_eq!(
                r.status,
                401,
                "{method} {target} with {auth:?}: {}",
                r.text()
            );
            r.scim_error(401, None, None);
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{method} {target}: WWW-Authenticate {:?}",
                r.header("www-authenticate")
            );
        }
    }
    // Nothing happened, and the right token (scheme case-insensitive) works.
    assert_eq!(c.fetch(&path), u);
    let list = c.fetch("/Users");
    assert_eq!(list["totalResults"], 1);
    let r = c
        .request("GET", "/ServiceProviderConfig")
        .authorization(&format!("bearer {TOKEN}"))
        .send()
        .expect(200);
    assert_eq!(r.json()["patch"]["supported"], true);
}

fn bad_input_gets_scim_errors(target: Target) {
    let server = target.start("bad-input");
    let c = server.client();
    let bob = c.create_user("bob");
    let bob_path = user_path(&bob);

    // Malformed JSON.
    for (method, target) in [
        ("POST", "/Users"),
        ("PUT", bob_path.as_str()),
        ("PATCH", bob_path.as_str()),
        ("POST", "/Groups"),
        ("POST", "/Users/.search"),
    ] {
        for body in [
            &b"{\"userName\": \"x\","[..],
            b"",
            b"not json",
            b"{\"userName\": \"x\"} trailing",
        ] {
            let r = c
                .request(method, target)
                .raw("application/scim+json", body.to_vec())
                .send();
            assert_eq!(r.status, 400, "{method} {target} {body:?}: {}", r.text());
            r.scim_error(
                400,
                Some("invalidSyntax"),
                Some("The supplied JSON is incorrect"),
            );
        }
    }
    // JSON nested too deeply.
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!({"a": deep});
    }
    c.post("/Users", &json!({"userName": "deep", "x": deep}))
        .scim_error(400, Some("invalidValue"), None);

    // A body over 1 MiB: 413 (as a SCIM error), on create and on PATCH.
    let big = json!({"schemas": [USER_SCHEMA], "userName": "x".repeat((1 << 20) + 1)});
    c.post("/Users", &big).scim_error(413, None, None);
    let big_patch =
        patch_op(json!([{"op": "replace", "path": "title", "value": "y".repeat(3 << 20)}]));
    c.patch(&bob_path, &big_patch).scim_error(413, None, None);
    // ... while one well under it (and under the 256 KiB a stored resource may take) is fine.
    let r = c.patch_ok(
        &bob_path,
        json!([{"op": "replace", "path": "title", "value": "t".repeat(128 << 10)}]),
    );
    assert_eq!(r["title"].as_str().map(str::len), Some(128 << 10));

    // Unknown attributes.
    c.patch(
        &bob_path,
        &patch_op(json!([{"op": "add", "path": "favouriteColour", "value": "red"}])),
    )
    .scim_error(400, Some("invalidPath"), None);
    c.patch(
        &bob_path,
        &patch_op(json!([{"op": "replace", "path": "name.middle", "value": "x"}])),
    )
    .scim_error(400, Some("invalidPath"), None);
    c.patch(
        &bob_path,
        &patch_op(json!([{"op": "add", "path": "urn:example:unknown:1.0:foo", "value": "x"}])),
    )
    .scim_error(400, Some("invalidPath"), None);
    // An attribute no schema defines is dropped (compatible profile; Entra maps attributes the
    // application may not have), not stored.
    let dropped = c
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "dropper", "favouriteColour": "red"}),
        )
        .expect(201)
        .json();
    assert!(dropped.get("favouriteColour").is_none(), "{dropped}");
    assert!(
        c.fetch(&user_path(&dropped))
            .get("favouriteColour")
            .is_none()
    );
    // Wrong types and missing required attributes.
    c.post(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "carl", "active": "maybe"}),
    )
    .scim_error(400, Some("invalidValue"), None);
    c.post(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "displayName": "no userName"}),
    )
    .scim_error(400, Some("invalidValue"), None);
    c.post("/Groups", &json!({"schemas": [GROUP_SCHEMA]}))
        .scim_error(400, Some("invalidValue"), None);
    c.post("/Users", &json!(["not", "an", "object"]))
        .scim_error(400, Some("invalidSyntax"), None);
    // Unknown endpoints and methods.
    c.get("/Nope").scim_error(404, None, None);
    c.request("DELETE", "/Users")
        .send()
        .scim_error(405, None, None);

    // Uniqueness: userName case-insensitively, on create, PATCH and PUT; group displayName.
    let alice = c.create_user("alice");
    for name in ["alice", "ALICE", "Alice"] {
        c.post("/Users", &user(name))
            .scim_error(409, Some("uniqueness"), None);
    }
    c.patch(
        &bob_path,
        &patch_op(json!([{"op": "replace", "path": "userName", "value": "aLiCe"}])),
    )
    .scim_error(409, Some("uniqueness"), None);
    c.put(&bob_path, &user("Alice"))
        .scim_error(409, Some("uniqueness"), None);
    assert_eq!(c.fetch(&bob_path)["userName"], "bob");
    // Changing the case of one's own name is fine; the old name is then free.
    assert_eq!(
        c.patch_ok(
            &user_path(&alice),
            json!([{"op": "replace", "path": "userName", "value": "Alice"}])
        )["userName"],
        "Alice"
    );
    c.patch_ok(
        &bob_path,
        json!([{"op": "replace", "path": "userName", "value": "robert"}]),
    );
    c.create_user("bob");
    c.create("/Groups", &group("Admins", &[]));
    c.post("/Groups", &group("admins", &[]))
        .scim_error(409, Some("uniqueness"), None);
    let other = c.create("/Groups", &group("Others", &[]));
    c.patch(
        &group_path(&other),
        &patch_op(json!([{"op": "replace", "path": "displayName", "value": "ADMINS"}])),
    )
    .scim_error(409, Some("uniqueness"), None);
    // A deleted user's name can be taken again.
    c.delete(&user_path(&alice)).expect(204);
    c.create_user("alice");

    // Workspace ONE: a user owned by an external directory is read-only here.
    let detail = Some("The user is not a local user and can not be updated");
    let ext = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA, WORKSPACE_ONE], "userName": "ext@acme.example",
                WORKSPACE_ONE: {"internalUserType": "PROVISIONED", "domain": "acme.example"}}),
    );
    let ext_path = user_path(&ext);
    c.patch(
        &ext_path,
        &patch_op(json!([{"op": "replace", "path": "title", "value": "x"}])),
    )
    .scim_error(403, None, detail);
    c.put(&ext_path, &user("ext@acme.example"))
        .scim_error(403, None, detail);
    c.request("POST", &ext_path)
        .header("X-HTTP-Method-Override", "PATCH")
        .json(&json!({"schemas": ["urn:scim:schemas:core:1.0"], "title": "x"}))
        .send()
        .scim_error(403, None, detail);
    c.delete(&ext_path).scim_error(403, None, detail);
    assert_eq!(c.fetch(&ext_path), ext, "the external user is unchanged");
    // A local Workspace ONE user is updatable.
    let local = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA, WORKSPACE_ONE], "userName": "local@acme.example",
                WORKSPACE_ONE: {"internalUserType": "LOCAL"}}),
    );
    c.patch_ok(
        &user_path(&local),
        json!([{"op": "replace", "path": "title", "value": "ok"}]),
    );
    c.delete(&user_path(&local)).expect(204);
}

/// Sends `send` until it answers 200, retrying a 409 (the service's CAS gave up) or a 412 (a
/// stale If-Match) up to `attempts` times; returns the number of retries.
fn with_retries(attempts: usize, mut send: impl FnMut() -> Response) -> usize {
    for attempt in 0..attempts {
        let r = send();
        match r.status {
            200 | 204 => return attempt,
            409 | 412 => {
                r.scim_error(r.status, r.json()["scimType"].as_str(), None);
                std::thread::sleep(Duration::from_millis(5 + (attempt as u64 % 7) * 3));
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    panic!("no success after {attempts} attempts");
}

fn concurrent_patches_lose_no_update(target: Target) {
    const WRITERS: usize = 16;
    let server = target.start("concurrent-patch");
    let c = server.client();
    let u = c.create_user("contended");
    let path = user_path(&u);

    // 16 PATCHes adding one email each, released at the same moment; no If-Match, so the
    // service's own compare-and-swap must serialise them.
    let barrier = Arc::new(Barrier::new(WRITERS));
    let retries: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (c, path, barrier) = (c.clone(), path.clone(), Arc::clone(&barrier));
                scope.spawn(move || {
                    let body = patch_op(json!([{"op": "add", "path": "emails",
                        "value": [{"value": format!("writer{i}@example.com"), "type": "other"}]}]));
                    barrier.wait();
                    with_retries(20, || c.patch(&path, &body))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("writer")).sum()
    });
    let after = c.fetch(&path);
    let got: BTreeSet<String> = values(&after, "emails").into_iter().collect();
    let want: BTreeSet<String> = (0..WRITERS)
        .map(|i| format!("writer{i}@example.com"))
        .collect();
    println!("16 concurrent email adds: {retries} client retries");
    assert_eq!(got, want, "lost updates ({retries} retries)");
    assert_eq!(
        version(&after),
        format!("W/\"{}\"", WRITERS + 1),
        "each PATCH is one version"
    );

    // The same on a group with optimistic clients: GET, PATCH with If-Match, retry on 412.
    let members: Vec<String> = (0..WRITERS)
        .map(|i| id(&c.create_user(&format!("member{i}"))))
        .collect();
    let g = c.create("/Groups", &group("Contended", &[]));
    let gpath = group_path(&g);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let stale: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .iter()
            .map(|member| {
                let (c, gpath, barrier) = (c.clone(), gpath.clone(), Arc::clone(&barrier));
                scope.spawn(move || {
                    let body = patch_op(
                        json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
                    );
                    barrier.wait();
                    with_retries(200, || {
                        let tag = c
                            .get(&gpath)
                            .expect(200)
                            .header("etag")
                            .expect("ETag")
                            .to_string();
                        c.request("PATCH", &gpath)
                            .header("If-Match", &tag)
                            .json(&body)
                            .send()
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("writer")).sum()
    });
    println!("16 concurrent If-Match member adds: {stale} retries after 412");
    assert!(
        stale > 0,
        "16 simultaneous If-Match writers never got a 412: the stale-ETag path was not exercised"
    );
    let after = c.fetch(&gpath);
    let got: BTreeSet<String> = values(&after, "members").into_iter().collect();
    assert_eq!(
        got,
        members.iter().cloned().collect::<BTreeSet<_>>(),
        "lost member adds"
    );
    assert_eq!(version(&after), format!("W/\"{}\"", WRITERS + 1));
    for member in &members {
        assert_eq!(
            groups_of(&c, member),
            [pair(&id(&g), "Contended")],
            "groups of {member}"
        );
    }

    // And 16 concurrent removes of those members (Entra's remove-by-value), no If-Match.
    let barrier = Arc::new(Barrier::new(WRITERS));
    std::thread::scope(|scope| {
        for member in &members {
            let (c, gpath, barrier) = (c.clone(), gpath.clone(), Arc::clone(&barrier));
            scope.spawn(move || {
                let body = patch_op(
                    json!([{"op": "Remove", "path": "members", "value": [{"value": member}]}]),
                );
                barrier.wait();
                with_retries(20, || c.patch(&gpath, &body))
            });
        }
    });
    let after = c.fetch(&gpath);
    assert!(after.get("members").is_none(), "members left: {after}");
    for member in &members {
        assert_eq!(groups_of(&c, member), [], "groups of {member}");
    }
}

/// Concurrent PATCHes adding and removing the same member: whatever order they land in, the
/// user's derived `groups` must agree with the group's `members` once they have all answered.
fn concurrent_member_adds_and_removes_keep_user_groups_consistent(target: Target) {
    const ROUNDS: usize = 40;
    let server = target.start("concurrent-membership");
    let c = server.client();
    let uid = id(&c.create_user("flip"));
    let g = c.create("/Groups", &group("Flip", &[]));
    let (gid, gpath) = (id(&g), group_path(&g));
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]));
    let remove =
        patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]));
    for round in 0..ROUNDS {
        let bodies = [&add, &remove, &add, &remove];
        let barrier = Barrier::new(bodies.len());
        std::thread::scope(|scope| {
            for body in bodies {
                let (c, gpath, barrier) = (&c, &gpath, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    with_retries(20, || c.patch(gpath, body))
                });
            }
        });
        let in_group = values(&c.fetch(&gpath), "members").contains(&uid);
        let in_user_groups = groups_of(&c, &uid).iter().any(|(g, _)| *g == gid);
        assert_eq!(
            in_user_groups,
            in_group,
            "round {round}: the group {} the user as a member, but User.groups {} the group",
            if in_group { "lists" } else { "does not list" },
            if in_user_groups {
                "lists"
            } else {
                "does not list"
            }
        );
    }
}

/// Two creates of one name (differing only in case) released together: exactly one 201, the
/// other 409 uniqueness, and one resource with that name afterwards. The race window is narrow,
/// so it is run for several names, users and groups.
fn concurrent_creates_of_one_name_admit_exactly_one(target: Target) {
    const ROUNDS: usize = 12;
    let server = target.start("concurrent-create");
    let c = server.client();
    for round in 0..ROUNDS {
        let (endpoint, attribute, name) = if round % 3 == 2 {
            ("/Groups", "displayName", format!("Group {round}"))
        } else {
            ("/Users", "userName", format!("racer{round}"))
        };
        let bodies = [name.clone(), name.to_uppercase()].map(|n| {
            if endpoint == "/Users" {
                user(&n)
            } else {
                group(&n, &[])
            }
        });
        let barrier = Barrier::new(bodies.len());
        let responses: Vec<Response> = std::thread::scope(|scope| {
            let handles: Vec<_> = bodies
                .iter()
                .map(|body| {
                    let (c, barrier) = (&c, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        c.post(endpoint, body)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("creator"))
                .collect()
        });
        let same_name = c.fetch(&format!(
            "{endpoint}?filter={}",
            enc(&format!("{attribute} eq \"{name}\""))
        ));
        let mut statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [201, 409],
            "round {round}: two concurrent creates of {name:?} answered {:?}; {endpoint} with that \
             name now: {}",
            responses.iter().map(Response::text).collect::<Vec<_>>(),
            same_name["totalResults"]
        );
        let loser = responses.iter().find(|r| r.status == 409).expect("a 409");
        loser.scim_error(409, Some("uniqueness"), None);
        assert_eq!(same_name["totalResults"], 1, "round {round}: {same_name}");
    }
}

fn data_survives_a_restart(target: Target) {
    let store = target.store("restart");
    let server = store.start();
    let c = server.client();
    let u = c.create(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "durable", "password": "s3cret-Passw0rd",
                "emails": [{"value": "durable@example.com", "type": "work"}]}),
    );
    let path = user_path(&u);
    let patched = c.patch_ok(
        &path,
        json!([{"op": "replace", "path": "title", "value": "Persistent"}]),
    );
    let g = c.create("/Groups", &group("Survivors", &[&id(&u)]));
    let doomed = c.create_user("doomed");
    c.delete(&user_path(&doomed)).expect(204);
    let user_before = c.fetch(&path);
    let group_before = c.fetch(&group_path(&g));
    let status = server.stop();
    assert!(
        status.success(),
        "scim-host serve exited with {status} on SIGTERM"
    );
    if let Some(db) = store.sqlite_file() {
        assert!(db.exists(), "no database at {}", db.display());
    }

    let server = store.start();
    let c = server.client();
    let user_after = c.get(&path).expect(200);
    assert_eq!(user_after.header("etag"), Some("W/\"2\""));
    let user_after = user_after.json();
    // Locations carry the new port; everything else is the same.
    let strip = |mut v: Value| {
        v["meta"]["location"] = Value::Null;
        for list in ["groups", "members"] {
            if let Some(items) = v[list].as_array_mut() {
                for item in items {
                    item["$ref"] = Value::Null;
                }
            }
        }
        v
    };
    assert_eq!(strip(user_after.clone()), strip(user_before));
    assert_eq!(user_after["title"], "Persistent");
    let new_base = format!("http://{}/scim/v2", server.addr);
    assert_eq!(
        user_after["meta"]["location"],
        format!("{new_base}/Users/{}", id(&u)),
        "locations follow the service"
    );
    assert_eq!(version(&user_after), version(&patched));
    assert!(!has_key_ci(&user_after, "password"));
    assert_eq!(groups_of(&c, &id(&u)), [pair(&id(&g), "Survivors")]);
    assert_eq!(strip(c.fetch(&group_path(&g))), strip(group_before));
    c.get(&user_path(&doomed))
        .scim_error(404, None, Some("The specified user does not exist."));
    assert_eq!(c.fetch("/Users")["totalResults"], 1);
    // The unique-name index survived too; the deleted user's name is free.
    c.post("/Users", &user("DURABLE"))
        .scim_error(409, Some("uniqueness"), None);
    c.create_user("doomed");
    // And writes keep working on the reopened store.
    let again = c.patch_ok(
        &path,
        json!([{"op": "add", "path": "nickName", "value": "D"}]),
    );
    assert_eq!(version(&again), "W/\"3\"");
}

/// Runs every scenario on each target: `serve_sqlite::users_crud`, `spin_redis::...`.
macro_rules! on_targets {
    ($($scenario:ident),* $(,)?) => {
        on_targets!(@target serve_sqlite, ServeSqlite; $($scenario),*);
        on_targets!(@target serve_redis, ServeRedis; $($scenario),*);
        on_targets!(@target spin_sqlite, SpinSqlite; $($scenario),*);
        on_targets!(@target spin_redis, SpinRedis; $($scenario),*);
    };
    (@target $module:ident, $target:ident; $($scenario:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $scenario() {
                    super::Target::$target.run(stringify!($scenario), super::$scenario);
                }
            )*
        }
    };
}

on_targets!(
    users_crud,
    groups_crud,
    patch_rfc_operations,
    patch_entra_traffic,
    patch_okta_traffic,
    patch_scim11_bodies_and_method_override,
    user_groups_follow_membership,
    list_filter_paging_sorting_and_projection,
    etags_and_preconditions,
    auth_requires_the_bearer_token,
    bad_input_gets_scim_errors,
    concurrent_patches_lose_no_update,
    concurrent_member_adds_and_removes_keep_user_groups_consistent,
    concurrent_creates_of_one_name_admit_exactly_one,
    data_survives_a_restart,
);
