//! Builds the guest components for `wasm32-wasip2` and exports their paths, so the host can
//! embed them with `include_bytes!`: the `scim-patch` engine as `SCIM_PATCH_COMPONENT` and, with
//! the `serve` feature, the `scim-spin` Spin HTTP component (`guest/server`) as
//! `SCIM_SPIN_COMPONENT`.
//!
//! This is the pattern of wasmtime's `crates/test-programs`: one nested `cargo build` of both guest
//! packages, with the workspace's `wasm` profile (release, fat LTO, one codegen unit; the inlining
//! threshold is `.cargo/config.toml`'s) and its own target directory (`<outer target
//! dir>/guest-wasm/<tree>`, `<tree>` a hash of this checkout's path) so it neither fights the
//! outer build for its lock nor inherits its flags, and two checkouts sharing one target directory
//! (a CI clone beside a working tree) never embed each other's components. On `wasm32-wasip2` a `cdylib`
//! is already a component, so no `wasm-tools component new` step is needed.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The guest packages, the artifact each produces and the variable its path is exported as.
const GUESTS: &[(&str, &str, &str)] = &[
    ("scim-patch", "scim_patch.wasm", "SCIM_PATCH_COMPONENT"),
    ("scim-spin", "scim_spin.wasm", "SCIM_SPIN_COMPONENT"),
];
const WASM_TARGET: &str = "wasm32-wasip2";
/// The cargo profile the guests are built with (the workspace's `[profile.wasm]`).
const WASM_PROFILE: &str = "wasm";
/// The guest only the `serve` feature embeds.
const SERVE_GUEST: &str = "scim-spin";

/// The guests this build embeds: the Spin component only with the `serve` feature.
fn guests() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    let serve = env::var_os("CARGO_FEATURE_SERVE").is_some();
    GUESTS
        .iter()
        .filter(move |(package, _, _)| serve || *package != SERVE_GUEST)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            for line in message.lines() {
                println!("cargo::error={line}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(required_env("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir
        .parent()
        .ok_or("the host crate has no parent directory (expected the workspace root)")?;
    for watched in [
        "guest/engine/src",
        "guest/engine/Cargo.toml",
        "guest/server/src",
        "guest/server/wit",
        "guest/server/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
        ".cargo/config.toml",
    ] {
        // Relative to this package: cargo resolves such paths against the package's current
        // root, so a clone elsewhere sharing the target dir still sees its own sources change.
        println!("cargo::rerun-if-changed=../{watched}");
    }

    let cargo = required_env("CARGO")?;
    let rustc = required_env("RUSTC")?;
    ensure_wasm_target(&rustc)?;

    let out_dir = PathBuf::from(required_env("OUT_DIR")?);
    let target_dir = outer_target_dir(&out_dir)
        .join("guest-wasm")
        .join(checkout_key(workspace));

    let mut build = Command::new(&cargo);
    build.current_dir(workspace).args([
        "build",
        "--profile",
        WASM_PROFILE,
        "--target",
        WASM_TARGET,
    ]);
    for (package, _, _) in guests() {
        build.args(["--package", package]);
    }
    build
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTC", &rustc)
        // Build scripts must keep stdout for `cargo::` directives: send the guest build's
        // output to stderr, which cargo shows when this script fails.
        .stdout(Stdio::from(std::io::stderr()));
    for key in inherited_build_env() {
        build.env_remove(key);
    }
    let status = build.status().map_err(|e| {
        format!(
            "could not run `{}` to build the guest components: {e}",
            cargo.to_string_lossy()
        )
    })?;
    if !status.success() {
        let packages: Vec<String> = guests().map(|(p, _, _)| format!("-p {p}")).collect();
        return Err(format!(
            "building the guest components (`cargo build --profile {WASM_PROFILE} {} --target {WASM_TARGET}`) \
             failed with {status}; see the compiler output above",
            packages.join(" ")
        ));
    }

    for (_, artifact, variable) in guests() {
        let component = target_dir
            .join(WASM_TARGET)
            .join(WASM_PROFILE)
            .join(artifact);
        check_is_component(&component)?;
        println!("cargo::rustc-env={variable}={}", component.display());
    }
    Ok(())
}

/// A short, stable name for this checkout: the hash of its canonical path. The guest artifacts
/// keep one file name whatever the sources, so checkouts sharing a target directory need
/// directories of their own.
fn checkout_key(workspace: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let path = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn required_env(key: &str) -> Result<OsString, String> {
    env::var_os(key).ok_or_else(|| format!("cargo did not set {key} for the build script"))
}

/// Environment that cargo sets for (or passes through to) this build script and that would
/// leak the outer build's target, flags, profile or wrappers into the guest build.
fn inherited_build_env() -> Vec<String> {
    const EXACT: &[&str] = &[
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_BUILD_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        // `cargo clippy` lints through a workspace wrapper; the guest is not ours to lint here.
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "OUT_DIR",
        "NUM_JOBS",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_PROFILE_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_PKG_",
    ];
    env::vars_os()
        .filter_map(|(key, _)| key.into_string().ok())
        .filter(|key| EXACT.contains(&key.as_str()) || PREFIXES.iter().any(|p| key.starts_with(p)))
        .collect()
}

/// The outer target directory: the nearest ancestor of `OUT_DIR` holding cargo's
/// `CACHEDIR.TAG`, or else the directory above `<profile>/build/<pkg>-<hash>/out`
/// (`<target>/[<triple>/]<profile>/build/...`).
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    if let Some(tagged) = out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
    {
        return tagged.to_path_buf();
    }
    let cross = env::var_os("TARGET") != env::var_os("HOST");
    let profile_dir = out_dir.ancestors().nth(3).unwrap_or(out_dir);
    let parent = if cross {
        profile_dir.parent().and_then(Path::parent)
    } else {
        profile_dir.parent()
    };
    parent.unwrap_or(out_dir).to_path_buf()
}

/// Makes sure the `wasm32-wasip2` standard library is installed, installing it with rustup
/// when it is not.
fn ensure_wasm_target(rustc: &OsString) -> Result<(), String> {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            format!(
                "could not run `{} --print sysroot`: {e}",
                rustc.to_string_lossy()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "`{} --print sysroot` failed with {}",
            rustc.to_string_lossy(),
            output.status
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() {
        return Ok(());
    }

    println!(
        "cargo::warning=the {WASM_TARGET} target is not installed in {}; running `rustup target add {WASM_TARGET}`",
        sysroot.display()
    );
    let mut rustup = Command::new("rustup");
    rustup
        .args(["target", "add", WASM_TARGET])
        .stdout(Stdio::from(std::io::stderr()));
    if let Some(toolchain) = env::var_os("RUSTUP_TOOLCHAIN") {
        rustup.arg("--toolchain").arg(toolchain);
    }
    let installed = rustup
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if installed && sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() {
        return Ok(());
    }
    Err(format!(
        "the {WASM_TARGET} Rust target is required to build the guest components and \
         `rustup target add {WASM_TARGET}` did not install it into {}.\n\
         Install it yourself (`rustup target add {WASM_TARGET}`), or use a toolchain that ships it.",
        sysroot.display()
    ))
}

/// Fails unless `path` starts with the header of a WebAssembly *component* (layer 1), not a core
/// module: a guard against a toolchain that emits core modules for `wasm32-wasip2`.
fn check_is_component(path: &Path) -> Result<(), String> {
    const COMPONENT_HEADER: [u8; 8] = [0x00, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00];
    let bytes = std::fs::read(path)
        .map_err(|e| format!("the guest build did not produce {}: {e}", path.display()))?;
    if bytes.starts_with(&COMPONENT_HEADER) {
        Ok(())
    } else {
        Err(format!(
            "{} is not a WebAssembly component (expected a component header)",
            path.display()
        ))
    }
}
