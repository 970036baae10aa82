//! Benchmarks of the native engine, string in -> string out (`cargo bench -p scim-patch --bench
//! workload`).
//!
//! - `workload/native`: the typical provisioning PATCH of `tests/fixtures/bench/workload.json`
//!   (7 operations on a ~1.3 KB user); `workload/serde_floor`: parsing both documents into
//!   `serde_json::Value` and serializing the resource, the floor any Value-based engine pays.
//! - `scaling/*`: the same kinds of operation on growing inputs; a linear engine shows a constant
//!   time per element (criterion's throughput column). `scaling/group_remove_1000_by_filter`:
//!   one remove of 1,000 members named by a 1,000-clause `or` filter from a 100k-member group.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scim_patch::Engine;
use serde_json::{Value, json};

/// The workload, read at compile time from the shared fixture.
const WORKLOAD: &str = include_str!("../../../tests/fixtures/bench/workload.json");

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The workload's resource and patch as JSON text.
fn workload() -> (String, String) {
    let workload: Value = serde_json::from_str(WORKLOAD).expect("the workload fixture is JSON");
    (
        workload["resource"].to_string(),
        workload["patch"].to_string(),
    )
}

fn patch(operations: Vec<Value>) -> String {
    json!({"schemas": [PATCH_OP], "Operations": operations}).to_string()
}

fn bench_workload(c: &mut Criterion) {
    let engine = Engine::default();
    let (resource, patch) = workload();
    engine
        .apply_json(&resource, &patch)
        .expect("the workload patch applies");
    let mut group = c.benchmark_group("workload");
    group.bench_function("native", |b| {
        b.iter(|| engine.apply_json(black_box(&resource), black_box(&patch)))
    });
    group.bench_function("serde_floor", |b| {
        b.iter(|| {
            let resource: Value = serde_json::from_str(black_box(&resource)).expect("JSON");
            let patch: Value = serde_json::from_str(black_box(&patch)).expect("JSON");
            black_box(patch);
            serde_json::to_string(&resource).expect("serializes")
        })
    });
    group.finish();
}

/// A user with `n` emails.
fn user_with_emails(n: usize) -> String {
    let emails: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("user{i}@example.com"), "type": "other"}))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1", "userName": "bjensen", "emails": emails
    })
    .to_string()
}

/// A group with `n` members.
fn group_with_members(n: usize) -> String {
    let members: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("{i:08x}-7f76-453a-919d-413861904646"), "display": format!("User {i}")}))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Everyone", "members": members
    })
    .to_string()
}

fn bench_scaling(c: &mut Criterion) {
    let engine = Engine::default();
    let mut group = c.benchmark_group("scaling");
    group.sample_size(20);

    for n in [10, 100, 1_000] {
        let user = user_with_emails(n);
        let change = patch(vec![
            json!({"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "work"}]}),
            json!({"op": "replace", "path": format!("emails[value eq \"user{}@example.com\"].type", n / 2), "value": "home"}),
        ]);
        engine.apply_json(&user, &change).expect("applies");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("user_emails", n), &n, |b, _| {
            b.iter(|| engine.apply_json(black_box(&user), black_box(&change)))
        });
    }

    for n in [1_000, 10_000, 100_000] {
        let members = group_with_members(n);
        let change = patch(vec![
            json!({"op": "add", "path": "members", "value": [{"value": "ffffffff-new-member"}]}),
            json!({"op": "remove", "path": format!("members[value eq \"{:08x}-7f76-453a-919d-413861904646\"]", n / 2)}),
        ]);
        engine.apply_json(&members, &change).expect("applies");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("group_members", n), &n, |b, _| {
            b.iter(|| engine.apply_json(black_box(&members), black_box(&change)))
        });
    }

    let members = group_with_members(1_000);
    for n in [10, 100, 1_000] {
        let operations = (0..n)
            .map(|i| match i % 3 {
                0 => json!({"op": "add", "path": "members", "value": [{"value": format!("new-{i}")}]}),
                1 => json!({"op": "remove", "path": format!("members[value eq \"{:08x}-7f76-453a-919d-413861904646\"]", i)}),
                _ => json!({"op": "replace", "path": "displayName", "value": format!("Everyone {i}")}),
            })
            .collect();
        let change = patch(operations);
        engine.apply_json(&members, &change).expect("applies");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("patch_operations", n), &n, |b, _| {
            b.iter(|| engine.apply_json(black_box(&members), black_box(&change)))
        });
    }

    // One remove whose filter names 1,000 members (`value eq` clauses joined by `or`, ~50 KB):
    // the form clients use to remove many members at once; linear in the members, not
    // clauses x members.
    let n = 100_000;
    let members = group_with_members(n);
    let clauses: Vec<String> = (0..1_000)
        .map(|i| {
            format!(
                "value eq \"{:08x}-7f76-453a-919d-413861904646\"",
                i * (n / 1_000)
            )
        })
        .collect();
    let change = patch(vec![
        json!({"op": "remove", "path": format!("members[{}]", clauses.join(" or "))}),
    ]);
    engine.apply_json(&members, &change).expect("applies");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(
        BenchmarkId::new("group_remove_1000_by_filter", n),
        &n,
        |b, _| b.iter(|| engine.apply_json(black_box(&members), black_box(&change))),
    );
    group.finish();
}

criterion_group!(benches, bench_workload, bench_scaling);
criterion_main!(benches);
