//! Applies a benchmark patch N times and prints the mean: a steady loop for profilers
//! (`valgrind --tool=callgrind`, `perf record`), which criterion's harness makes hard to read.
//!
//! - `workload_loop [N]`: the workload of `tests/fixtures/bench/workload.json` (default 10,000 times);
//! - `workload_loop N MEMBERS`: a group of MEMBERS members, adding one and removing one by filter;
//! - `workload_loop N small`: one operation on a small user.
//!
//! `cargo run --release -p scim-patch --example workload_loop -- 100000`

use std::time::Instant;

use scim_patch::Engine;
use serde_json::{Value, json};

const WORKLOAD: &str = include_str!("../../../tests/fixtures/bench/workload.json");
const SMALL_USER: &str =
    r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1","userName":"b"}"#;
const ONE_OP: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#;

/// The resource and patch texts of the chosen case.
fn case(members: Option<usize>) -> Result<(String, String), serde_json::Error> {
    let Some(n) = members else {
        let workload: Value = serde_json::from_str(WORKLOAD)?;
        return Ok((
            workload["resource"].to_string(),
            workload["patch"].to_string(),
        ));
    };
    let members: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("{i:08x}-7f76-453a-919d-413861904646"), "display": format!("User {i}")}))
        .collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Everyone", "members": members});
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": "ffffffff-new-member"}]},
        {"op": "remove", "path": format!("members[value eq \"{:08x}-7f76-453a-919d-413861904646\"]", n / 2)}]});
    Ok((group.to_string(), patch.to_string()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iterations: u32 = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let (resource, patch) = match args.next() {
        Some(small) if small == "small" => (SMALL_USER.to_string(), ONE_OP.to_string()),
        members => case(members.map(|n| n.parse()).transpose()?)?,
    };
    let engine = Engine::default();
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..iterations {
        bytes += engine.apply_json(&resource, &patch)?.len();
    }
    let elapsed = started.elapsed();
    println!(
        "{iterations} patches in {elapsed:?}: {:.2} µs each ({bytes} bytes out)",
        elapsed.as_secs_f64() * 1e6 / f64::from(iterations.max(1))
    );
    Ok(())
}
