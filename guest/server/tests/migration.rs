//! A store written by the release with storage layout v1 (`tests/fixtures/v1-store.json`, made
//! by that release's `scim-host serve`) opens with nothing lost: the first request migrates it,
//! resumably — stopped after any write, a later request finishes the migration.
mod support;

use std::collections::BTreeMap;

use scim_spin::kv::MemoryKv;
use scim_spin::kv::testing::FaultyKv;
use serde_json::{Value, json};
use support::{Client, check_consistency, encode, patch, store_contains, user};

fn id(name: &str) -> String {
    scim_spin::testing::v1_store().1[name]
        .as_str()
        .expect("named in the fixture")
        .to_string()
}

/// The v1 store, as the fixture holds it.
fn v1_store() -> BTreeMap<String, Vec<u8>> {
    scim_spin::testing::v1_store().0.into_iter().collect()
}

fn get(c: &Client, path: &str) -> Value {
    let (status, body) = c.json("GET", path, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

fn group_names(user: &Value) -> Vec<String> {
    let mut names: Vec<String> = user["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["display"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Everything the v1 session wrote is there, as v1 served it (minus the leaked password).
fn check_migrated(c: &Client) {
    let users = get(c, "/scim/v2/Users");
    assert_eq!(users["totalResults"], 5, "six created, one deleted");
    let bjensen = get(c, &format!("/scim/v2/Users/{}", id("bjensen@example.com")));
    assert_eq!(bjensen["name"]["givenName"], "Barbara");
    assert_eq!(
        bjensen["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "701984"
    );
    assert_eq!(group_names(&bjensen), ["Admins"]);
    let renamed = get(
        c,
        &format!("/scim/v2/Users/{}", id("renamed-before@example.com")),
    );
    assert_eq!(renamed["userName"], "Renamed-After@example.com");
    let mvp = get(c, &format!("/scim/v2/Users/{}", id("mvp@example.com")));
    assert_eq!(mvp["phoneNumbers"][0]["value"], "555-0100");
    assert_eq!(mvp["meta"]["version"], "W/\"2\"", "versions carry over");
    assert_eq!(group_names(&mvp), ["Everyone"]);
    let jsmith = get(c, &format!("/scim/v2/Users/{}", id("jsmith@example.com")));
    assert!(jsmith.get("password").is_none() && !jsmith.to_string().contains("leakedPlainSecret"));
    assert_eq!(
        c.json(
            "GET",
            &format!("/scim/v2/Users/{}", id("gone@example.com")),
            None
        )
        .0,
        404
    );

    let admins = get(c, &format!("/scim/v2/Groups/{}", id("Admins")));
    let members: Vec<(&str, &str)> = admins["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["value"].as_str().unwrap(),
                m["display"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let bj = id("bjensen@example.com");
    let js = id("jsmith@example.com");
    assert_eq!(
        members,
        [(bj.as_str(), "Babs"), (js.as_str(), "jsmith@example.com")],
        "the deleted member is gone; a member without a display gets its userName"
    );
    let everyone = get(c, &format!("/scim/v2/Groups/{}", id("Everyone")));
    assert_eq!(everyone["members"][1]["value"], id("Admins").as_str());
    assert_eq!(everyone["members"][1]["type"], "Group");
    assert!(
        get(c, &format!("/scim/v2/Groups/{}", id("Empty")))
            .get("members")
            .is_none()
    );

    let shared = get(
        c,
        &format!(
            "/scim/v2/Users?filter={}",
            encode("externalId eq \"ext-shared\"")
        ),
    );
    assert_eq!(shared["totalResults"], 2);
    let by_name = get(
        c,
        &format!(
            "/scim/v2/Users?filter={}",
            encode("userName eq \"BJENSEN@example.com\"")
        ),
    );
    assert_eq!(by_name["Resources"][0]["id"], bj.as_str());
    check_consistency(c);
}

#[test]
fn a_v1_store_is_migrated_on_first_use_with_nothing_lost() {
    let c = Client::over(MemoryKv::from_snapshot(v1_store()));
    check_migrated(&c);
    let kv = c.kv.snapshot();
    assert!(
        !kv.keys().any(|k| ["res/", "uniq/", "claim/", "memberof/"]
            .iter()
            .any(|p| k.starts_with(p))),
        "the v1 keys are removed"
    );
    assert!(
        !store_contains(&c.kv, "leakedPlainSecret"),
        "v1's plain password is hashed"
    );
    // The migrated store works as any other.
    assert_eq!(
        c.json("POST", "/scim/v2/Users", Some(user("bjensen@example.com")))
            .0,
        409
    );
    let fresh = c.create_user("new@example.com");
    assert_ne!(fresh.len(), 0);
    let admins = id("Admins");
    let r = c.send(
        "PATCH",
        &format!("/scim/v2/Groups/{admins}"),
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": fresh}]}]),
        )),
        &[],
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        c.send(
            "DELETE",
            &format!("/scim/v2/Users/{}", id("jsmith@example.com")),
            None,
            &[]
        )
        .status,
        204
    );
    let admins = get(&c, &format!("/scim/v2/Groups/{admins}"));
    assert_eq!(admins["members"].as_array().map(Vec::len), Some(2));
    check_consistency(&c);
}

#[test]
fn a_migration_stopped_after_any_write_is_finished_by_a_later_request() {
    for k in 0.. {
        let faulty = Client::over(FaultyKv::new(MemoryKv::from_snapshot(v1_store()), k));
        faulty.json("GET", "/scim/v2/Users", None);
        let stopped = faulty.kv.stopped();
        let mut left = faulty.kv.into_inner().snapshot();
        // The stopped migration's lease would expire after 30 s; let it have expired.
        left.remove("scim/migrating");
        check_migrated(&Client::over(MemoryKv::from_snapshot(left)));
        if !stopped {
            assert!(k > 20, "the migration is many writes ({k})");
            break;
        }
    }
}
