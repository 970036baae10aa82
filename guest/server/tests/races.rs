//! Concurrent requests on one store, interleaved at every key-value call in seeded random
//! orders (`InterleavingKv`): no update is lost, no client is asked to retry, no race leaves a
//! deleted user in a group or a deleted group in a user's `groups`, and a name goes to exactly
//! one create. Also over a store whose compare-and-swap answers are all wrong
//! (`MisreportingKv`, as Spin's Redis backend answers).
mod support;

use futures_executor::block_on;
use futures_util::future::join_all;
use scim_spin::kv::testing::{InterleavingKv, MisreportingKv};
use scim_spin::kv::{Kv, MemoryKv};
use serde_json::{Value, json};
use support::{Client, check_consistency, patch, user};

fn interleaved(seed: u64) -> Client<InterleavingKv<MemoryKv>> {
    Client::over(InterleavingKv::new(MemoryKv::default(), seed))
}

/// The same store, seen without interleaving (for the checks).
fn settled(c: &Client<InterleavingKv<MemoryKv>>) -> Client {
    Client::over(MemoryKv::from_snapshot(c.kv.inner().snapshot()))
}

fn emails_of<K: Kv>(c: &Client<K>, id: &str) -> Vec<String> {
    let (_, got) = c.json("GET", &format!("/scim/v2/Users/{id}"), None);
    got["emails"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["value"].as_str().map(str::to_string))
        .collect()
}

fn members_of<K: Kv>(c: &Client<K>, id: &str) -> Vec<String> {
    let (_, got) = c.json("GET", &format!("/scim/v2/Groups/{id}"), None);
    got["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect()
}

/// 32 PATCHes on one user, each adding an email, all at once.
fn concurrent_email_adds<K: Kv>(c: &Client<K>, writers: usize) -> (String, Vec<u16>) {
    let id = c.create_user_quickly("busy");
    let statuses = block_on(join_all((0..writers).map(|i| {
        let body = patch(json!([{"op": "add", "path": "emails",
                                  "value": [{"value": format!("e{i}@example.com"), "type": "other"}]}]));
        let path = format!("/scim/v2/Users/{id}");
        async move { c.send_async("PATCH", &path, Some(body), &[]).await.status }
    })));
    (id, statuses)
}

/// 32 PATCHes on one group, each adding a different member, all at once.
fn concurrent_member_adds<K: Kv>(c: &Client<K>, writers: usize) -> (String, Vec<String>, Vec<u16>) {
    let users: Vec<String> = (0..writers)
        .map(|i| c.create_user(&format!("u{i}")))
        .collect();
    let g = c.create_group("Crowd", &[]);
    let statuses = block_on(join_all(users.iter().map(|u| {
        let body = patch(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
        let path = format!("/scim/v2/Groups/{g}");
        async move { c.send_async("PATCH", &path, Some(body), &[]).await.status }
    })));
    (g, users, statuses)
}

#[test]
fn thirty_two_patches_on_one_user_are_all_applied_without_a_409() {
    for seed in 1..=4 {
        let c = interleaved(seed);
        let (id, statuses) = concurrent_email_adds(&c, 32);
        assert!(
            statuses.iter().all(|s| *s == 200),
            "seed {seed}: {statuses:?}"
        );
        let emails = emails_of(&settled(&c), &id);
        assert_eq!(
            emails.len(),
            33,
            "seed {seed}: every add is kept: {emails:?}"
        );
    }
}

#[test]
fn thirty_two_member_adds_on_one_group_are_all_applied_without_a_409() {
    for seed in 1..=4 {
        let c = interleaved(seed);
        let (g, users, statuses) = concurrent_member_adds(&c, 32);
        assert!(
            statuses.iter().all(|s| *s == 204),
            "seed {seed}: {statuses:?}"
        );
        let after = settled(&c);
        let mut members = members_of(&after, &g);
        members.sort();
        let mut expected = users.clone();
        expected.sort();
        assert_eq!(members, expected, "seed {seed}");
        check_consistency(&after);
    }
}

#[test]
fn a_store_that_misreports_every_swap_loses_nothing_and_refuses_nothing() {
    let c = Client::over(MisreportingKv::new(InterleavingKv::new(
        MemoryKv::default(),
        7,
    )));
    let (id, statuses) = concurrent_email_adds(&c, 16);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(emails_of(&c, &id).len(), 17);
    let (g, users, statuses) = concurrent_member_adds(&c, 16);
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    assert_eq!(members_of(&c, &g).len(), users.len());
    // Renames, deletes and name claims, every swap answered wrongly.
    let (status, _) = c.json(
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(patch(
            json!([{"op": "replace", "path": "userName", "value": "renamed"}]),
        )),
    );
    assert_eq!(status, 200);
    assert_eq!(
        c.json("POST", "/scim/v2/Users", Some(user("busy"))).0,
        201,
        "the old name is free"
    );
    assert_eq!(
        c.json("POST", "/scim/v2/Users", Some(user("RENAMED"))).0,
        409
    );
    assert_eq!(
        c.send("DELETE", &format!("/scim/v2/Users/{}", users[0]), None, &[])
            .status,
        204
    );
    assert!(!members_of(&c, &g).contains(&users[0]));
    assert!(
        c.kv.lies() > 50,
        "the swaps really were misreported ({})",
        c.kv.lies()
    );
    check_consistency(&Client::over(MemoryKv::from_snapshot(
        c.kv.inner().inner().snapshot(),
    )));
}

#[test]
fn a_user_deleted_while_being_added_to_a_group_is_in_no_group() {
    for seed in 1..=60 {
        let c = interleaved(seed);
        let u = c.create_user("leaving");
        let g = c.create_group("Joined", &[]);
        let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
        let (group_path, user_path) = (
            format!("/scim/v2/Groups/{g}"),
            format!("/scim/v2/Users/{u}"),
        );
        block_on(futures_util::future::join(
            c.send_async("PATCH", &group_path, Some(add), &[]),
            c.send_async("DELETE", &user_path, None, &[]),
        ));
        let after = settled(&c);
        assert!(
            members_of(&after, &g).is_empty(),
            "seed {seed}: the deleted user is in no group"
        );
        check_consistency(&after);
    }
}

#[test]
fn a_group_deleted_while_a_user_joins_it_is_in_no_users_groups() {
    for seed in 1..=60 {
        let c = interleaved(seed);
        let u = c.create_user("joining");
        let g = c.create_group("Vanishing", &[]);
        let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
        let group_path = format!("/scim/v2/Groups/{g}");
        block_on(futures_util::future::join(
            c.send_async("PATCH", &group_path, Some(add), &[]),
            c.send_async("DELETE", &group_path, None, &[]),
        ));
        let after = settled(&c);
        let (_, got) = after.json("GET", &format!("/scim/v2/Users/{u}"), None);
        assert!(got.get("groups").is_none(), "seed {seed}: {got}");
        check_consistency(&after);
    }
}

#[test]
fn concurrent_adds_and_removes_of_one_member_keep_both_sides_agreeing() {
    for seed in 1..=40 {
        let c = interleaved(seed);
        let u = c.create_user("flapping");
        let g = c.create_group("Flaps", &[&u]);
        let path = format!("/scim/v2/Groups/{g}");
        let ops: Vec<Value> = (0..6)
            .map(|i| {
                if i % 2 == 0 {
                    patch(json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]))
                } else {
                    patch(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]))
                }
            })
            .collect();
        block_on(join_all(
            ops.into_iter()
                .map(|body| c.send_async("PATCH", &path, Some(body), &[])),
        ));
        check_consistency(&settled(&c));
    }
}

#[test]
fn concurrent_creates_of_one_name_admit_exactly_one() {
    for seed in 1..=40 {
        let c = interleaved(seed);
        let statuses = block_on(join_all(["Same", "same", "SAME"].map(|name| {
            let body = user(name);
            let c = &c;
            async move {
                c.send_async("POST", "/scim/v2/Users", Some(body), &[])
                    .await
                    .status
            }
        })));
        let created = statuses.iter().filter(|s| **s == 201).count();
        assert_eq!(created, 1, "seed {seed}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 409),
            "{statuses:?}"
        );
        check_consistency(&settled(&c));
    }
}

/// Each writer reads the group's ETag and PATCHes with If-Match, retrying on 412, as a careful
/// client does: every add lands once, and the version steps exactly once per write.
fn if_match_member_adds<K: Kv>(c: &Client<K>, writers: usize) {
    let users: Vec<String> = (0..writers)
        .map(|i| c.create_user_quickly(&format!("careful{i}")))
        .collect();
    let g = c.create_group("Careful", &[]);
    let path = format!("/scim/v2/Groups/{g}");
    let statuses = block_on(join_all(users.iter().map(|u| {
        let path = path.clone();
        let body = patch(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
        async move {
            for _ in 0..500 {
                let read = c.send_async("GET", &path, None, &[]).await;
                let tag = support::header(&read, "etag")
                    .unwrap_or_default()
                    .to_string();
                let r = c
                    .send_async("PATCH", &path, Some(body.clone()), &[("if-match", &tag)])
                    .await;
                if r.status != 412 {
                    return r.status;
                }
            }
            412
        }
    })));
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    assert_eq!(members_of(c, &g).len(), writers);
    let r = c.send("GET", &path, None, &[]);
    let expected = format!("W/\"{}\"", writers + 1);
    assert_eq!(support::header(&r, "etag"), Some(expected.as_str()));
}

#[test]
fn if_match_writers_on_one_group_each_step_the_version_once() {
    for seed in 1..=3 {
        if_match_member_adds(&interleaved(seed), 12);
    }
    if_match_member_adds(
        &Client::over(MisreportingKv::new(InterleavingKv::new(
            MemoryKv::default(),
            9,
        ))),
        12,
    );
}
