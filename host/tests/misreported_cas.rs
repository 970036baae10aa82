//! The service on a compare-and-swap whose answer cannot be trusted — serve's test-only
//! `--test-misreport-swaps RATE`, which misreports swap outcomes as Spin 4.1's Redis backend
//! does (a landed write reported as failed, a dropped one reported as done) — on SQLite and
//! on two nodes sharing a Redis. The service must still give each client the right answer and
//! lose nothing it acknowledged.

mod common;

use std::collections::BTreeSet;
use std::sync::{Barrier, Mutex};

use common::*;
use serde_json::json;

/// The fraction of swap outcomes reported the wrong way round.
const RATE: &str = "0.3";

fn misreporting_node(backend: &Backend, seed: u64) -> Server {
    Server::launch(
        Runtime::Serve,
        backend,
        &[
            "--test-misreport-swaps",
            RATE,
            "--test-misreport-seed",
            &seed.to_string(),
        ],
    )
}

/// One client at a time: no real conflict, so every misreport is a landed write reported
/// as failed. Each PATCH must answer 200 with its change, and be exactly one write.
#[test]
fn sequential_patches_answer_right_and_write_once() {
    let dir = scratch_dir("misreport-sequential");
    let node = misreporting_node(&Backend::Sqlite(dir.join("kv.db")), 11);
    let c = node.client();
    let u = c.create_user("sequential@example.com");
    let path = user_path(&u);
    for i in 1..=24 {
        let r = c.patch(
            &path,
            &patch_op(json!([{"op": "replace", "path": "title", "value": format!("t{i}")}])),
        );
        let patched = r.expect(200).json();
        assert_eq!(
            patched["title"],
            format!("t{i}"),
            "PATCH {i} answered {patched}"
        );
        assert_eq!(
            version(&patched),
            format!("W/\"{}\"", i + 1),
            "PATCH {i} was written more than once (a landed write retried as if it had failed)"
        );
    }
    assert!(
        node.log().contains("test-only misreport"),
        "no swap was misreported: the test proved nothing"
    );
    drop(node);
    let _ = std::fs::remove_dir_all(dir);
}

/// 48 concurrent email adds over two misreporting nodes on one Redis: conflicts happen, and
/// some are reported as done although nothing was written. Every acknowledged add must be
/// stored, and no PATCH may fail otherwise than 409/412.
#[test]
fn concurrent_patches_over_two_nodes_lose_nothing_acknowledged() {
    const WRITERS: usize = 48;
    let redis = Backend::redis("misreport-concurrent");
    let nodes = [misreporting_node(&redis, 21), misreporting_node(&redis, 22)];
    let clients: Vec<Client> = nodes.iter().map(Server::client).collect();
    let u = clients[0].create_user("contended@example.com");
    let path = user_path(&u);
    let barrier = Barrier::new(WRITERS);
    let acknowledged = Mutex::new(BTreeSet::new());
    let gave_up = Mutex::new(0_usize);
    std::thread::scope(|scope| {
        for i in 0..WRITERS {
            let (client, barrier, acknowledged, gave_up, path) =
                (&clients[i % 2], &barrier, &acknowledged, &gave_up, &path);
            scope.spawn(move || {
                let email = format!("writer{i}@example.com");
                let body = patch_op(json!([{"op": "add", "path": "emails",
                    "value": [{"value": email, "type": "other"}]}]));
                barrier.wait();
                let r = client.patch(path, &body);
                match r.status {
                    200 => {
                        let answer = values(&r.json(), "emails");
                        assert!(
                            answer.contains(&email),
                            "200 without the change: {answer:?}"
                        );
                        acknowledged
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(email);
                    }
                    409 | 412 => *gave_up.lock().unwrap_or_else(|p| p.into_inner()) += 1,
                    other => panic!("unexpected {other}: {}", r.text()),
                }
            });
        }
    });
    let acknowledged = acknowledged.into_inner().unwrap_or_else(|p| p.into_inner());
    let gave_up = gave_up.into_inner().unwrap_or_else(|p| p.into_inner());
    println!(
        "{WRITERS} concurrent adds on misreporting nodes: {} acknowledged, {gave_up} answered 409/412",
        acknowledged.len()
    );
    for (n, client) in clients.iter().enumerate() {
        let stored: BTreeSet<String> = values(&client.fetch(&path), "emails").into_iter().collect();
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "node {n}: acknowledged adds lost: {lost:?}"
        );
    }
}
