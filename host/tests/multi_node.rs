//! Several `scim-host serve` nodes on one Redis (a private redis-server per test), as behind
//! a load balancer: concurrent PATCHes spread over the nodes lose nothing that was
//! acknowledged, every node sees every change, `User.groups` agrees with `Group.members` on
//! every node, and `kill -9` of a node mid-burst loses nothing acknowledged.
//!
//! Thresholds are the issue's: of 96 concurrent PATCHes on one resource, at most 2 may answer
//! 409/412 (the service gave up retrying); everything else must succeed (a user's PATCH
//! answers 200 with the user, a group's 204).

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use common::*;
use serde_json::json;

/// Nodes behind the "load balancer".
const NODES: usize = 3;
/// Concurrent PATCHes in one burst.
const BURST: usize = 96;
/// At most this many of a burst may answer 409/412.
const MAX_GIVE_UPS: usize = 2;

fn nodes_on(redis: &Backend, count: usize) -> Vec<Server> {
    (0..count)
        .map(|_| Server::launch(Runtime::Serve, redis, &[]))
        .collect()
}

/// What one burst's answers were.
#[derive(Debug, Default)]
struct Tally {
    ok: Vec<usize>,
    gave_up: Vec<(usize, u16)>,
    other: Vec<(usize, u16, String)>,
}

/// Sends `BURST` requests at once, request `i` to node `i % nodes` and built by `body(i)`;
/// each is sent once (no client retry).
fn burst(
    clients: &[Client],
    path: &str,
    body: impl Fn(usize) -> serde_json::Value + Sync,
) -> Tally {
    let barrier = Barrier::new(BURST);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for i in 0..BURST {
            let (client, barrier, tally, body) =
                (&clients[i % clients.len()], &barrier, &tally, &body);
            scope.spawn(move || {
                let patch = patch_op(body(i));
                barrier.wait();
                let r = client.patch(path, &patch);
                let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
                match r.status {
                    200 | 204 => tally.ok.push(i),
                    409 | 412 => tally.gave_up.push((i, r.status)),
                    status => tally.other.push((i, status, r.text())),
                }
            });
        }
    });
    tally.into_inner().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn concurrent_patches_over_three_nodes_on_one_redis_lose_nothing() {
    let redis = Backend::redis("multi-node");
    let nodes = nodes_on(&redis, NODES);
    let clients: Vec<Client> = nodes.iter().map(Server::client).collect();

    // 96 email adds on one user, spread over the nodes.
    let u = clients[0].create_user("contended@example.com");
    let upath = user_path(&u);
    let emails = burst(&clients, &upath, |i| {
        json!([{"op": "add", "path": "emails",
                "value": [{"value": format!("writer{i}@example.com"), "type": "other"}]}])
    });
    println!(
        "{BURST} concurrent email adds over {NODES} nodes: {} ok, {} answered 409/412, {} other",
        emails.ok.len(),
        emails.gave_up.len(),
        emails.other.len()
    );
    assert!(
        emails.other.is_empty(),
        "unexpected answers: {:?}",
        emails.other
    );
    let acknowledged: BTreeSet<String> = emails
        .ok
        .iter()
        .map(|i| format!("writer{i}@example.com"))
        .collect();
    for (n, client) in clients.iter().enumerate() {
        let stored: BTreeSet<String> = values(&client.fetch(&upath), "emails")
            .into_iter()
            .collect();
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "node {n} lacks acknowledged emails {lost:?}"
        );
    }

    // 96 member adds on one group, spread over the nodes.
    let members: Vec<String> = std::thread::scope(|scope| {
        let creators: Vec<_> = (0..BURST)
            .map(|i| {
                let client = &clients[i % NODES];
                scope.spawn(move || id(&client.create_user(&format!("member{i}"))))
            })
            .collect();
        creators
            .into_iter()
            .map(|c| c.join().expect("create a member"))
            .collect()
    });
    let g = clients[1].create("/Groups", &group("Contended", &[]));
    let (gid, gpath) = (id(&g), group_path(&g));
    let adds = burst(
        &clients,
        &gpath,
        |i| json!([{"op": "add", "path": "members", "value": [{"value": members[i]}]}]),
    );
    println!(
        "{BURST} concurrent member adds over {NODES} nodes: {} ok, {} answered 409/412, {} other",
        adds.ok.len(),
        adds.gave_up.len(),
        adds.other.len()
    );
    assert!(
        adds.other.is_empty(),
        "unexpected answers: {:?}",
        adds.other
    );
    for (n, client) in clients.iter().enumerate() {
        let listed: BTreeSet<String> = values(&client.fetch(&gpath), "members")
            .into_iter()
            .collect();
        for i in &adds.ok {
            assert!(
                listed.contains(&members[*i]),
                "node {n}: acknowledged member {i} missing"
            );
        }
        for member in &members {
            let in_groups = client.fetch(&format!("/Users/{member}"))["groups"]
                .as_array()
                .is_some_and(|groups| groups.iter().any(|g| g["value"] == gid.as_str()));
            assert_eq!(
                in_groups,
                listed.contains(member),
                "node {n}: User.groups of {member} disagrees with Group.members"
            );
        }
    }

    assert!(
        emails.gave_up.len() <= MAX_GIVE_UPS && adds.gave_up.len() <= MAX_GIVE_UPS,
        "too many PATCHes gave up: {} of {BURST} email adds and {} of {BURST} member adds \
         answered 409/412 (at most {MAX_GIVE_UPS} each)",
        emails.gave_up.len(),
        adds.gave_up.len()
    );
}

/// Writers keep PATCHing through every node while one node is killed with SIGKILL: the
/// requests it had not answered are lost to their clients, but every change any node
/// acknowledged is stored, as the surviving nodes show.
#[test]
fn kill_9_of_a_node_mid_burst_loses_nothing_acknowledged() {
    const WRITERS: usize = 9;
    const PATCHES_EACH: usize = 12;
    let redis = Backend::redis("kill-9");
    let mut nodes = nodes_on(&redis, NODES);
    let clients: Vec<Client> = nodes.iter().map(Server::client).collect();
    let u = clients[0].create_user("survivor@example.com");
    let upath = user_path(&u);

    let acknowledged = Mutex::new(BTreeSet::new());
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let victim = nodes.remove(0);
    let killed = std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (client, acknowledged, upath) = (&clients[w % NODES], &acknowledged, &upath);
            let answered = Arc::clone(&answered);
            scope.spawn(move || {
                for p in 0..PATCHES_EACH {
                    let email = format!("w{w}-p{p}@example.com");
                    let body = patch_op(json!([{"op": "add", "path": "emails",
                        "value": [{"value": email, "type": "other"}]}]));
                    // A node that is gone answers nothing: that PATCH was not acknowledged.
                    if let Ok(r) = client.request("PATCH", upath).json(&body).try_send() {
                        answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        match r.status {
                            200 => {
                                acknowledged
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .insert(email);
                            }
                            409 | 412 => {}
                            other => panic!("unexpected {other}: {}", r.text()),
                        }
                    }
                }
            });
        }
        // Kill the first node once the burst is well under way (or after a minute, should
        // the writers stall).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while answered.load(std::sync::atomic::Ordering::Relaxed) < WRITERS * PATCHES_EACH / 4
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        victim.kill()
    });
    assert!(!killed.success(), "the node was killed: {killed}");
    let acknowledged = acknowledged.into_inner().unwrap_or_else(|p| p.into_inner());
    println!(
        "{} of {} PATCHes acknowledged around a kill -9",
        acknowledged.len(),
        WRITERS * PATCHES_EACH
    );
    assert!(!acknowledged.is_empty(), "nothing was acknowledged");
    for (n, client) in clients.iter().enumerate().skip(1) {
        let stored: BTreeSet<String> = values(&client.fetch(&upath), "emails")
            .into_iter()
            .collect();
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "node {n} lacks acknowledged emails {lost:?}"
        );
    }
    // A node started afterwards on the same Redis sees the same.
    let late = Server::launch(Runtime::Serve, &redis, &[]);
    let stored: BTreeSet<String> = values(&late.client().fetch(&upath), "emails")
        .into_iter()
        .collect();
    assert!(
        acknowledged.is_subset(&stored),
        "a new node lacks acknowledged emails"
    );
}
