//! Real Spin for the end-to-end tests: finding the `spin` binary, and laying out an app
//! directory with the project's own `spin.toml` and the component this build made.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `scim-spin` component this build embeds in scim-host (the one `serve` runs).
const COMPONENT: &str = env!("SCIM_SPIN_COMPONENT");
/// Where the project's `spin.toml` expects the component, relative to the manifest.
const MANIFEST_SOURCE: &str = "target/wasm32-wasip2/wasm/scim_spin.wasm";

/// The checkout's root (the directory holding `spin.toml`).
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("host/ has a parent"))
}

/// The Spin CLI to test against: `SCIM_SPIN_BIN`, else `spin` on `PATH`, else
/// `../shared/tools/spin` beside the checkout; `Err` says why there is none (the Spin tests
/// are then skipped with that reason). The binary must run (`spin --version`).
pub fn spin_binary() -> Result<&'static Path, &'static str> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(find_spin)
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(String::as_str)
}

fn find_spin() -> Result<PathBuf, String> {
    let candidate = if let Some(path) = std::env::var_os("SCIM_SPIN_BIN") {
        PathBuf::from(path)
    } else if let Some(on_path) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("spin"))
            .find(|candidate| candidate.is_file())
    }) {
        on_path
    } else {
        let beside = repo_root().join("../shared/tools/spin");
        if !beside.is_file() {
            return Err(
                "no Spin binary: set SCIM_SPIN_BIN, put `spin` (>= 4.1) on PATH, or place it at ../shared/tools/spin"
                    .to_owned(),
            );
        }
        beside
    };
    match Command::new(&candidate).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(candidate),
        Ok(output) => Err(format!(
            "{} --version failed ({}): {}",
            candidate.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {}: {e}", candidate.display())),
    }
}

/// Lays out a Spin app in `dir`: the project's `spin.toml`, unchanged, and the component at
/// the path its `source` names. Returns the manifest's path.
pub fn lay_out_app(dir: &Path) -> PathBuf {
    let manifest = dir.join("spin.toml");
    std::fs::copy(repo_root().join("spin.toml"), &manifest)
        .unwrap_or_else(|e| panic!("cannot copy spin.toml into {}: {e}", dir.display()));
    let source = dir.join(MANIFEST_SOURCE);
    let parent = source.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    std::fs::copy(COMPONENT, &source)
        .unwrap_or_else(|e| panic!("cannot copy the component {COMPONENT}: {e}"));
    manifest
}
