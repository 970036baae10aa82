//! [`RedisKv`] and [`KvStore`] on a real redis-server (one per test, started and stopped by
//! the test): Spin's key and value layout, the operations' semantics, compare-and-swap that is
//! atomic under concurrency, and the test-only misreporting of swap outcomes.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{RedisServer, Reply, free_port};
use scim_host::serve::{
    KeyValueBackend, KvStore, MisreportSwaps, RedisKv, SwapExpectation, SwapOutcome,
};

const STORE: &str = "default";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn store_on(redis: &RedisServer) -> KvStore {
    KvStore::open(&KeyValueBackend::Redis { url: redis.url() }, None)
        .await
        .expect("connect")
}

fn raw_get(redis: &RedisServer, key: &str) -> Option<Vec<u8>> {
    match redis.command(&[b"GET", key.as_bytes()]) {
        Reply::Bulk(value) => value,
        other => panic!("GET {key}: {other:?}"),
    }
}

#[test]
fn keys_and_values_are_laid_out_as_spin_lays_them_out() {
    let redis = RedisServer::start("layout");
    runtime().block_on(async {
        let kv = store_on(&redis).await;
        kv.set(STORE, "res/User/1", b"{\"a\":1}".to_vec())
            .await
            .expect("set");
        // The key is exactly the guest's key (the store label is ignored, as by Spin) and the
        // value its bytes.
        assert_eq!(raw_get(&redis, "res/User/1"), Some(b"{\"a\":1}".to_vec()));
        // Spin's counters: INCRBY on a decimal string.
        assert_eq!(kv.increment(STORE, "claim/x", 1).await, Ok(1));
        assert_eq!(kv.increment(STORE, "claim/x", 41).await, Ok(42));
        assert_eq!(raw_get(&redis, "claim/x"), Some(b"42".to_vec()));
        // What another process (spin up) wrote is read back as is.
        assert_eq!(
            redis.command(&[b"SET", b"written/by/spin", b"\x00\xffbytes"]),
            Reply::Status("OK".into())
        );
        assert_eq!(
            kv.get(STORE, "written/by/spin").await,
            Ok(Some(b"\x00\xffbytes".to_vec()))
        );
        assert_eq!(
            kv.get("another-label", "written/by/spin").await,
            Ok(Some(b"\x00\xffbytes".to_vec())),
            "Spin ignores the store label on Redis"
        );
    });
}

#[test]
fn store_batch_and_counter_operations() {
    let redis = RedisServer::start("operations");
    runtime().block_on(async {
        let kv = store_on(&redis).await;
        assert_eq!(kv.get(STORE, "a").await, Ok(None));
        assert_eq!(kv.exists(STORE, "a").await, Ok(false));
        kv.set(STORE, "b", b"2".to_vec()).await.expect("set");
        kv.set(STORE, "a", b"1".to_vec()).await.expect("set");
        kv.set(STORE, "a", b"one".to_vec())
            .await
            .expect("overwrite");
        assert_eq!(kv.get(STORE, "a").await, Ok(Some(b"one".to_vec())));
        assert_eq!(kv.exists(STORE, "a").await, Ok(true));
        assert_eq!(kv.keys(STORE).await, Ok(vec!["a".into(), "b".into()]));
        kv.delete(STORE, "a").await.expect("delete");
        kv.delete(STORE, "a")
            .await
            .expect("deleting an absent key succeeds");
        assert_eq!(kv.keys(STORE).await, Ok(vec!["b".into()]));

        kv.set_many(
            STORE,
            vec![("x".into(), b"1".to_vec()), ("y".into(), b"2".to_vec())],
        )
        .await
        .expect("set_many");
        assert_eq!(
            kv.get_many(STORE, vec!["y".into(), "missing".into(), "x".into()])
                .await,
            Ok(vec![
                ("y".into(), b"2".to_vec()),
                ("x".into(), b"1".to_vec())
            ]),
            "the existing keys, in the order asked (as Spin's SQLite get-many answers)"
        );
        assert_eq!(kv.get_many(STORE, Vec::new()).await, Ok(Vec::new()));
        kv.delete_many(STORE, vec!["x".into(), "missing".into()])
            .await
            .expect("delete_many");
        assert_eq!(kv.keys(STORE).await, Ok(vec!["b".into(), "y".into()]));

        // Many keys: the listing pages through SCAN.
        let pairs: Vec<(String, Vec<u8>)> = (0..2500)
            .map(|i| (format!("many/{i:05}"), vec![b'v']))
            .collect();
        kv.set_many(STORE, pairs).await.expect("set_many");
        assert_eq!(kv.keys(STORE).await.expect("keys").len(), 2502);

        assert_eq!(kv.increment(STORE, "n", -7).await, Ok(-7));
        // A value that is not a counter, or an overflow, is an error and changes nothing.
        kv.set(STORE, "s", b"hello".to_vec()).await.expect("set");
        let error = kv
            .increment(STORE, "s", 1)
            .await
            .expect_err("not a counter");
        assert!(error.0.contains("\"s\""), "{error}");
        assert_eq!(kv.get(STORE, "s").await, Ok(Some(b"hello".to_vec())));
        kv.set(STORE, "m", i64::MAX.to_string().into_bytes())
            .await
            .expect("set");
        assert!(kv.increment(STORE, "m", 1).await.is_err());
        assert_eq!(kv.increment(STORE, "m", -1).await, Ok(i64::MAX - 1));
    });
}

#[test]
fn swap_compares_what_current_read() {
    let redis = RedisServer::start("swap");
    runtime().block_on(async {
        let kv = store_on(&redis).await;
        kv.set(STORE, "k", b"v1".to_vec()).await.expect("set");
        let seen = SwapExpectation::from_current(kv.get(STORE, "k").await.expect("get"));
        assert_eq!(
            kv.swap(STORE, "k", seen.clone(), b"v2".to_vec()).await,
            Ok(SwapOutcome::Swapped)
        );
        assert_eq!(
            kv.swap(STORE, "k", seen, b"v3".to_vec()).await,
            Ok(SwapOutcome::Conflict),
            "the expectation is stale"
        );
        assert_eq!(kv.get(STORE, "k").await, Ok(Some(b"v2".to_vec())));
        kv.delete(STORE, "k").await.expect("delete");
        assert_eq!(
            kv.swap(
                STORE,
                "k",
                SwapExpectation::Value(b"v2".to_vec()),
                b"v4".to_vec()
            )
            .await,
            Ok(SwapOutcome::Conflict),
            "a delete makes the swap fail"
        );
        assert_eq!(kv.get(STORE, "k").await, Ok(None));

        // Absent at `current`: written only while still absent (Spin's WATCH semantics).
        assert_eq!(
            kv.swap(STORE, "new", SwapExpectation::Absent, b"a".to_vec())
                .await,
            Ok(SwapOutcome::Swapped)
        );
        assert_eq!(
            kv.swap(STORE, "new", SwapExpectation::Absent, b"b".to_vec())
                .await,
            Ok(SwapOutcome::Conflict)
        );
        // `current` never called: unconditional.
        assert_eq!(
            kv.swap(STORE, "new", SwapExpectation::Unread, b"c".to_vec())
                .await,
            Ok(SwapOutcome::Swapped)
        );
        assert_eq!(kv.get(STORE, "new").await, Ok(Some(b"c".to_vec())));
    });
}

/// Read-modify-write loops on one key from two connections (two "nodes"): every increment
/// lands exactly once, so the swap really is atomic.
#[test]
fn concurrent_swaps_from_two_connections_lose_nothing() {
    const TASKS: usize = 24;
    const ROUNDS: usize = 10;
    let redis = RedisServer::start("swap-race");
    runtime().block_on(async {
        let nodes = [store_on(&redis).await, store_on(&redis).await];
        nodes[0]
            .set(STORE, "counter", b"0".to_vec())
            .await
            .expect("set");
        let conflicts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let kv = nodes[task % 2].clone();
                let conflicts = Arc::clone(&conflicts);
                tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        loop {
                            let current = kv.get(STORE, "counter").await.expect("get");
                            let n: u64 = String::from_utf8(current.clone().expect("present"))
                                .expect("utf-8")
                                .parse()
                                .expect("number");
                            let next = (n + 1).to_string().into_bytes();
                            match kv
                                .swap(
                                    STORE,
                                    "counter",
                                    SwapExpectation::from_current(current),
                                    next,
                                )
                                .await
                                .expect("swap")
                            {
                                SwapOutcome::Swapped => break,
                                SwapOutcome::Conflict => {
                                    conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(
            nodes[1].get(STORE, "counter").await,
            Ok(Some((TASKS * ROUNDS).to_string().into_bytes()))
        );
        println!(
            "{} conflicts over {} swaps",
            conflicts.load(std::sync::atomic::Ordering::Relaxed),
            TASKS * ROUNDS
        );
    });
}

#[test]
fn concurrent_increments_from_two_connections_count_once_each() {
    let redis = RedisServer::start("incr-race");
    runtime().block_on(async {
        let nodes = [store_on(&redis).await, store_on(&redis).await];
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let kv = nodes[i % 2].clone();
                tokio::spawn(async move { kv.increment(STORE, "c", 1).await.expect("increment") })
            })
            .collect();
        let mut seen = BTreeSet::new();
        for task in tasks {
            seen.insert(task.await.expect("task"));
        }
        assert_eq!(seen, (1..=40).collect::<BTreeSet<i64>>());
    });
}

#[test]
fn misreporting_lies_both_ways_about_swaps_but_stores_the_truth() {
    let redis = RedisServer::start("misreport");
    runtime().block_on(async {
        let kv = KvStore::open(
            &KeyValueBackend::Redis { url: redis.url() },
            Some(MisreportSwaps { rate: 1.0, seed: 3 }),
        )
        .await
        .expect("connect");
        kv.set(STORE, "k", b"v1".to_vec()).await.expect("set");
        // Landed, reported as failed.
        assert_eq!(
            kv.swap(
                STORE,
                "k",
                SwapExpectation::Value(b"v1".to_vec()),
                b"v2".to_vec()
            )
            .await,
            Ok(SwapOutcome::Conflict)
        );
        assert_eq!(raw_get(&redis, "k"), Some(b"v2".to_vec()));
        // Dropped, reported as done.
        assert_eq!(
            kv.swap(
                STORE,
                "k",
                SwapExpectation::Value(b"stale".to_vec()),
                b"v3".to_vec()
            )
            .await,
            Ok(SwapOutcome::Swapped)
        );
        assert_eq!(raw_get(&redis, "k"), Some(b"v2".to_vec()));
    });
}

#[test]
fn an_unreachable_or_invalid_redis_is_an_error_at_connect() {
    runtime().block_on(async {
        let port = free_port();
        let error = RedisKv::connect(&format!("redis://127.0.0.1:{port}"))
            .await
            .expect_err("nothing listens there");
        assert!(
            error.0.contains("cannot connect to Redis at 127.0.0.1:"),
            "{error}"
        );
        let error = RedisKv::connect("http://example.invalid")
            .await
            .expect_err("not a Redis URL");
        assert!(error.0.contains("invalid Redis URL"), "{error}");
        let error = RedisKv::connect("rediss://127.0.0.1:1")
            .await
            .expect_err("no TLS");
        assert!(error.0.contains("TLS"), "{error}");
    });
}
