//! Every multi-key operation of the service, stopped after each of its writes in turn (a store
//! that fails from its k-th write on, as `kill -9` would leave it): a fresh service over what is
//! left must show consistent data (`support::check_consistency`) and let the names be reused
//! unless the operation got past its commit point.
mod support;

use std::collections::BTreeMap;

use scim_spin::kv::MemoryKv;
use scim_spin::kv::testing::FaultyKv;
use serde_json::{Value, json};
use support::{Client, GROUP, check_consistency, encode, patch, user};

/// Runs `op` against a copy of `base` that stops after 0, 1, 2, ... writes, until one run
/// completes; after each stop, `check` looks at a fresh service over what is left.
fn stop_after_every_write(
    base: &BTreeMap<String, Vec<u8>>,
    op: impl Fn(&Client<FaultyKv<MemoryKv>>),
    check: impl Fn(&Client, usize),
) -> usize {
    for k in 0.. {
        let faulty = Client::over(FaultyKv::new(MemoryKv::from_snapshot(base.clone()), k));
        op(&faulty);
        let stopped = faulty.kv.stopped();
        let after = Client::over(faulty.kv.into_inner());
        check_consistency(&after);
        check(&after, k);
        if !stopped {
            return k;
        }
        assert!(k < 5_000, "the operation never finished");
    }
    unreachable!()
}

fn find(c: &Client, endpoint: &str, attribute: &str, value: &str) -> Option<Value> {
    let filter = encode(&format!("{attribute} eq \"{value}\""));
    let (status, list) = c.json("GET", &format!("/scim/v2/{endpoint}?filter={filter}"), None);
    assert_eq!(status, 200, "{list}");
    list["Resources"]
        .as_array()
        .and_then(|r| r.first().cloned())
}

/// The name is held by a visible resource, or a new create can take it.
fn name_usable(c: &Client, name: &str) {
    if find(c, "Users", "userName", name).is_none() {
        let (status, body) = c.json("POST", "/scim/v2/Users", Some(user(name)));
        assert_eq!(
            status, 201,
            "nobody holds {name}, so it can be taken: {body}"
        );
    }
}

fn group_name_usable(c: &Client, name: &str) {
    if find(c, "Groups", "displayName", name).is_none() {
        let (status, body) = c.json(
            "POST",
            "/scim/v2/Groups",
            Some(json!({"schemas": [GROUP], "displayName": name})),
        );
        assert_eq!(
            status, 201,
            "nobody holds {name}, so it can be taken: {body}"
        );
    }
}

#[test]
fn a_create_stopped_anywhere_leaves_the_name_usable() {
    let base = Client::new().kv.snapshot();
    let writes = stop_after_every_write(
        &base,
        |c| {
            c.send("POST", "/scim/v2/Users", Some(user("alice")), &[]);
        },
        |c, _| name_usable(c, "alice"),
    );
    assert!(writes >= 5, "a create is several writes ({writes})");
}

#[test]
fn a_group_create_with_members_stopped_anywhere_is_consistent() {
    let setup = Client::new();
    let a = setup.create_user("a");
    let b = setup.create_user("b");
    let base = setup.kv.snapshot();
    stop_after_every_write(
        &base,
        |c| {
            c.send(
                "POST",
                "/scim/v2/Groups",
                Some(json!({"displayName": "Team", "members": [{"value": a}, {"value": b}]})),
                &[],
            );
        },
        |c, _| group_name_usable(c, "Team"),
    );
}

#[test]
fn a_rename_stopped_anywhere_leaves_one_name_held_and_the_other_free() {
    let setup = Client::new();
    let id = setup.create_user("bob");
    let base = setup.kv.snapshot();
    stop_after_every_write(
        &base,
        |c| {
            c.send(
                "PATCH",
                &format!("/scim/v2/Users/{id}"),
                Some(patch(
                    json!([{"op": "replace", "path": "userName", "value": "carol"}]),
                )),
                &[],
            );
        },
        |c, _| {
            let (status, got) = c.json("GET", &format!("/scim/v2/Users/{id}"), None);
            assert_eq!(status, 200);
            let other = if got["userName"] == "bob" {
                "carol"
            } else {
                "bob"
            };
            name_usable(c, other);
        },
    );
}

#[test]
fn a_user_delete_stopped_anywhere_leaves_no_half_membership() {
    let setup = Client::new();
    let id = setup.create_user("dave");
    let other = setup.create_user("erin");
    setup.create_group("Ops", &[&id, &other]);
    setup.create_group("Dev", &[&id]);
    let base = setup.kv.snapshot();
    stop_after_every_write(
        &base,
        |c| {
            c.send("DELETE", &format!("/scim/v2/Users/{id}"), None, &[]);
        },
        |c, _| {
            let (status, _) = c.json("GET", &format!("/scim/v2/Users/{id}"), None);
            if status == 404 {
                name_usable(c, "dave");
            }
        },
    );
}

#[test]
fn a_group_delete_stopped_anywhere_leaves_no_user_listing_it() {
    let setup = Client::new();
    let a = setup.create_user("f1");
    let b = setup.create_user("f2");
    let g = setup.create_group("Gone", &[&a, &b]);
    let base = setup.kv.snapshot();
    stop_after_every_write(
        &base,
        |c| {
            c.send("DELETE", &format!("/scim/v2/Groups/{g}"), None, &[]);
        },
        |c, _| {
            let (status, _) = c.json("GET", &format!("/scim/v2/Groups/{g}"), None);
            if status == 404 {
                group_name_usable(c, "Gone");
            }
        },
    );
}

#[test]
fn member_adds_and_removes_stopped_anywhere_keep_both_sides_agreeing() {
    let setup = Client::new();
    let a = setup.create_user("m1");
    let b = setup.create_user("m2");
    let g = setup.create_group("Members", &[&a]);
    let base = setup.kv.snapshot();
    let path = format!("/scim/v2/Groups/{g}");
    stop_after_every_write(
        &base,
        |c| {
            c.send(
                "PATCH",
                &path,
                Some(patch(json!([
                    {"op": "add", "path": "members", "value": [{"value": b}]},
                    {"op": "remove", "path": format!("members[value eq \"{a}\"]")}
                ]))),
                &[],
            );
        },
        |_, _| {},
    );
}

#[test]
fn a_group_rename_stopped_anywhere_reaches_every_members_groups() {
    let setup = Client::new();
    let a = setup.create_user("r1");
    let b = setup.create_user("r2");
    let g = setup.create_group("Old name", &[&a, &b]);
    let base = setup.kv.snapshot();
    stop_after_every_write(
        &base,
        |c| {
            c.send(
                "PATCH",
                &format!("/scim/v2/Groups/{g}"),
                Some(patch(
                    json!([{"op": "replace", "path": "displayName", "value": "New name"}]),
                )),
                &[],
            );
        },
        |c, _| {
            let (_, got) = c.json("GET", &format!("/scim/v2/Groups/{g}"), None);
            let other = if got["displayName"] == "Old name" {
                "New name"
            } else {
                "Old name"
            };
            group_name_usable(c, other);
        },
    );
}

#[test]
fn a_group_put_stopped_anywhere_keeps_both_sides_agreeing() {
    let setup = Client::new();
    let a = setup.create_user("p1");
    let b = setup.create_user("p2");
    let g = setup.create_group("Put", &[&a]);
    let base = setup.kv.snapshot();
    stop_after_every_write(
        &base,
        |c| {
            c.send(
                "PUT",
                &format!("/scim/v2/Groups/{g}"),
                Some(json!({"schemas": [GROUP], "displayName": "Put", "members": [{"value": b}]})),
                &[],
            );
        },
        |_, _| {},
    );
}
