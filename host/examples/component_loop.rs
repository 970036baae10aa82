//! Applies a patch through the engine component N times and prints the mean: a steady loop
//! for profilers (`valgrind --tool=callgrind`), the component counterpart of scim-patch's
//! `workload_loop` example.
//!
//! - `component_loop [N]`: the workload of `tests/fixtures/bench/workload.json`;
//! - `component_loop N small`: one operation on a small user (the fixed cost of a call);
//! - a last argument `fuel` meters fuel instead of the default deadline;
//! - `SCIM_PATCH_WASM=FILE` loads that component instead of the embedded one (to compare builds).
//!
//! `cargo run --release -p scim-host --example component_loop -- 100000`

use std::time::Instant;

use scim_host::{CpuLimit, EMBEDDED_COMPONENT, PatchEngine, PatcherConfig, SandboxLimits};
use serde_json::Value;

const WORKLOAD: &str = include_str!("../../tests/fixtures/bench/workload.json");
const SMALL_USER: &str =
    r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1","userName":"b"}"#;
const ONE_OP: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iterations: u32 = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let rest: Vec<String> = args.collect();
    let (resource, patch) = match rest.first().map(String::as_str) {
        Some("small") => (SMALL_USER.to_string(), ONE_OP.to_string()),
        _ => {
            let workload: Value = serde_json::from_str(WORKLOAD)?;
            (
                workload["resource"].to_string(),
                workload["patch"].to_string(),
            )
        }
    };
    let cpu = if rest.iter().any(|a| a == "fuel") {
        CpuLimit::Fuel(20_000_000_000)
    } else {
        SandboxLimits::default().cpu
    };
    let limits = SandboxLimits {
        cpu,
        ..SandboxLimits::default()
    };
    let engine = match std::env::var_os("SCIM_PATCH_WASM") {
        Some(file) => PatchEngine::from_file(file, limits)?,
        None => PatchEngine::from_bytes(EMBEDDED_COMPONENT, limits)?,
    };
    let mut patcher = engine.patcher(&PatcherConfig::default())?;
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..iterations {
        bytes += patcher
            .apply(&resource, &patch)?
            .map_err(|e| e.to_json())?
            .len();
    }
    let elapsed = started.elapsed();
    println!(
        "{iterations} patches in {elapsed:?}: {:.2} µs each ({bytes} bytes out)",
        elapsed.as_secs_f64() * 1e6 / f64::from(iterations.max(1))
    );
    Ok(())
}
