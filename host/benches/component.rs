//! The engine component through the host API next to the native engine, in one run
//! (`cargo bench -p scim-host --bench component`), so their ratio is measured side by side.
//!
//! - `component/native`: `scim_patch::Engine::apply_json` on the workload
//!   (`tests/fixtures/bench/workload.json`: 7 operations on a ~1.3 KB user).
//! - `component/warm`: the same call through [`Patcher::apply`], instance already made: copying
//!   the strings into the sandbox and back, compiled wasm, the default CPU cap (a deadline).
//! - `component/warm_fuel`: the same with a fuel budget instead ([`CpuLimit::Fuel`]): the
//!   price of deterministic metering.
//! - `component/one_op_native`, `component/one_op_warm`: one operation on a small user, the
//!   fixed cost of a call.
//! - `component/instantiate`: a new sandboxed instance plus `patcher.create` (what a host pays
//!   for a fresh patcher; the component is already compiled).
//! - `component/compile`: compiling the component from its bytes (once per process).
//! - `component_scaling/*`: a 10,000-member group, add one member and remove one by filter,
//!   native and through the component.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_host::{CpuLimit, EMBEDDED_COMPONENT, PatchEngine, PatcherConfig, SandboxLimits};
use serde_json::{Value, json};

const WORKLOAD: &str = include_str!("../../tests/fixtures/bench/workload.json");

fn workload() -> (String, String) {
    let workload: Value = serde_json::from_str(WORKLOAD).expect("the workload fixture is JSON");
    (
        workload["resource"].to_string(),
        workload["patch"].to_string(),
    )
}

fn bench_component(c: &mut Criterion) {
    let (resource, patch) = workload();
    let native = scim_patch::Engine::default();
    let engine = PatchEngine::new().expect("the embedded component loads");
    let mut patcher = engine
        .patcher(&PatcherConfig::default())
        .expect("default config");
    let expected = native.apply_json(&resource, &patch).expect("applies");
    let through_component = patcher.apply(&resource, &patch).expect("no trap");
    assert_eq!(
        through_component.ok(),
        Some(expected),
        "component and native agree"
    );

    let fuel_engine = PatchEngine::from_bytes(
        EMBEDDED_COMPONENT,
        SandboxLimits {
            cpu: CpuLimit::Fuel(20_000_000_000),
            ..SandboxLimits::default()
        },
    )
    .expect("the embedded component loads");
    let mut fuel_patcher = fuel_engine
        .patcher(&PatcherConfig::default())
        .expect("default config");

    let mut group = c.benchmark_group("component");
    group.bench_function("native", |b| {
        b.iter(|| native.apply_json(black_box(&resource), black_box(&patch)))
    });
    group.bench_function("warm", |b| {
        b.iter(|| patcher.apply(black_box(&resource), black_box(&patch)))
    });
    // The fixed cost of a call: one operation on a small user.
    let (small, one_op) = (
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1","userName":"b"}"#,
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#,
    );
    group.bench_function("one_op_native", |b| {
        b.iter(|| native.apply_json(black_box(small), black_box(one_op)))
    });
    group.bench_function("one_op_warm", |b| {
        b.iter(|| patcher.apply(black_box(small), black_box(one_op)))
    });
    group.bench_function("warm_fuel", |b| {
        b.iter(|| fuel_patcher.apply(black_box(&resource), black_box(&patch)))
    });
    group.bench_function("instantiate", |b| {
        b.iter(|| {
            engine
                .patcher(black_box(&PatcherConfig::default()))
                .expect("instantiates")
        })
    });
    group.sample_size(10);
    group.bench_function("compile", |b| {
        b.iter(|| {
            PatchEngine::from_bytes(black_box(EMBEDDED_COMPONENT), SandboxLimits::default())
                .expect("compiles")
        })
    });
    group.finish();
}

fn bench_component_scaling(c: &mut Criterion) {
    let members: Vec<Value> = (0..10_000)
        .map(|i| json!({"value": format!("{i:08x}-7f76-453a-919d-413861904646"), "display": format!("User {i}")}))
        .collect();
    let group_doc = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Everyone", "members": members
    })
    .to_string();
    let change = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "ffffffff-new-member"}]},
            {"op": "remove", "path": "members[value eq \"00001388-7f76-453a-919d-413861904646\"]"}
        ]
    })
    .to_string();
    let native = scim_patch::Engine::default();
    let engine = PatchEngine::new().expect("the embedded component loads");
    let mut patcher = engine
        .patcher(&PatcherConfig::default())
        .expect("default config");

    let mut group = c.benchmark_group("component_scaling");
    group.sample_size(20);
    group.bench_function("group_members_10000/native", |b| {
        b.iter(|| native.apply_json(black_box(&group_doc), black_box(&change)))
    });
    group.bench_function("group_members_10000/warm", |b| {
        b.iter(|| patcher.apply(black_box(&group_doc), black_box(&change)))
    });
    group.finish();
}

criterion_group!(benches, bench_component, bench_component_scaling);
criterion_main!(benches);
