//! `scim-patch-compare-result [WORKLOAD]`: applies the workload's patch to its resource with
//! `Engine::default().apply_json`, the call `cargo bench -p scim-patch --bench workload` times,
//! and prints the result text (WORKLOAD defaults to tests/fixtures/bench/workload.json).

use scim_patch::Engine;
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/fixtures/bench/workload.json").to_owned()
    });
    let workload: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    // The same texts as the criterion bench: serde_json's compact form of each document.
    let (resource, patch) = (workload["resource"].to_string(), workload["patch"].to_string());
    println!("{}", Engine::default().apply_json(&resource, &patch)?);
    Ok(())
}
