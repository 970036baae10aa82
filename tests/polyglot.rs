//! The engine component embedded by other languages' hosts: the same `.wasm` the Rust host
//! embeds, transpiled by jco (npm `@bytecodealliance/jco`) and checked from Node.js by
//! `polyglot/node/check.mjs`, and loaded by wasmtime-py (PyPI `wasmtime`) and checked from
//! Python by `polyglot/python/check.py`.
//!
//! The pinned packages (`polyglot/node/package-lock.json`, `polyglot/python/requirements.txt`)
//! are installed into directories under `CARGO_TARGET_TMPDIR` on first use (this needs Node.js
//! with npm and Python 3 with venv, and the registries or their caches). The tests never skip:
//! without Node or Python they fail and say what is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (this crate lives in `tests/`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Runs `command` in `dir`, failing the test with `what` and the output when it fails.
fn run(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "{what}: cannot run {command:?}: {e}. The polyglot tests need Node.js (>= 18) with \
             npm and Python 3 with venv on PATH (set NODE, NPM and PYTHON3 to use others)."
        )
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what}: {command:?} exited with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A cache directory under `CARGO_TARGET_TMPDIR` named after `pins` (a lockfile's path), so a
/// changed pin installs afresh.
fn cache_dir(kind: &str, pins: &Path) -> PathBuf {
    let contents = std::fs::read(pins).expect("read the pinned versions");
    let key = contents
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("polyglot-{kind}-{key:016x}"))
}

/// A directory with the pinned npm packages installed.
fn node_packages(npm: &str) -> PathBuf {
    let source = workspace().join("polyglot/node");
    let dir = cache_dir("node", &source.join("package-lock.json"));
    let marker = dir.join(".installed");
    if marker.exists() {
        return dir;
    }
    // A half-made install from an interrupted run is redone from scratch.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the npm directory");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file)).expect("copy the npm manifest");
    }
    // `npm install` with the lockfile present installs exactly what it pins. (`npm ci` refuses
    // this lockfile: npm 11 reports jco's platform-specific optional packages as missing.)
    run(
        Command::new(npm)
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir),
        "installing jco with npm (needs the npm registry or its cache)",
    );
    std::fs::write(&marker, "").expect("write the install marker");
    dir
}

#[test]
fn node_runs_the_transpiled_component() {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let npm = std::env::var("NPM").unwrap_or_else(|_| "npm".into());
    let packages = node_packages(&npm);

    // This run's component, transpiled next to the packages its JavaScript imports.
    let scratch = packages.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("create the scratch directory");
    let wasm = scratch.join("scim_patch.wasm");
    std::fs::write(&wasm, scim_host::EMBEDDED_COMPONENT).expect("write the component");
    let out = scratch.join("out");
    run(
        Command::new(&node)
            .arg(packages.join("node_modules/@bytecodealliance/jco/dist/jco.js"))
            .arg("transpile")
            .arg(&wasm)
            .arg("-o")
            .arg(&out)
            .arg("--quiet"),
        "jco transpile",
    );

    let mut check = Command::new(&node);
    check
        .arg(workspace().join("polyglot/node/check.mjs"))
        .arg(&out);
    run_checks(check, "the Node.js checks", &scratch);
}

/// Runs a `check` program with the workload's path as its last argument, asserts that all its
/// checks passed, and removes `scratch`.
fn run_checks(mut check: Command, what: &str, scratch: &Path) {
    let report = run(
        check.arg(workspace().join("tests/fixtures/bench/workload.json")),
        what,
    );
    let _ = std::fs::remove_dir_all(scratch);
    assert!(report.contains("all checks passed"), "{report}");
    assert!(!report.contains("FAIL"), "{report}");
}

/// The Python interpreter of a venv with the pinned wasmtime-py installed.
fn python_with_wasmtime() -> PathBuf {
    let requirements = workspace().join("polyglot/python/requirements.txt");
    let venv = cache_dir("python", &requirements);
    let python = venv.join("bin").join("python");
    let marker = venv.join(".installed");
    if marker.exists() && python.exists() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let system = std::env::var("PYTHON3").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&system).args(["-m", "venv"]).arg(&venv),
        "creating a venv (is the python3-venv package installed?)",
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "installing wasmtime-py with pip (needs PyPI or a wheel cache)",
    );
    std::fs::write(&marker, "").expect("write the install marker");
    python
}

#[test]
fn python_runs_the_component_with_wasmtime_py() {
    let python = python_with_wasmtime();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("polyglot-python-run-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("create the scratch directory");
    let wasm = scratch.join("scim_patch.wasm");
    std::fs::write(&wasm, scim_host::EMBEDDED_COMPONENT).expect("write the component");
    let mut check = Command::new(&python);
    check
        .arg(workspace().join("polyglot/python/check.py"))
        .arg(&wasm);
    run_checks(check, "the Python checks", &scratch);
}
