//! The `scim-host apply` exit-code contract, run against the built binary: 0 with the patched
//! resource on stdout, 1 with a SCIM Error on stdout, 2 with a message on stderr.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{PATCH, REMOVE_ID, USER, USER_ID, cache_entries, id_of};

const BIN: &str = env!("CARGO_BIN_EXE_scim-host");

/// A fresh directory for one test's input files.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write input file");
    path
}

/// Runs `scim-host` with `args`, feeding `stdin` to it.
fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .env(
            "SCIM_HOST_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"),
        )
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scim-host");
    // The binary may exit before reading stdin (a usage error): a broken pipe is fine.
    let _ = child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("wait for scim-host")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts exit status 0 and that stdout is the patched `USER`.
fn assert_patched(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    assert_eq!(id_of(&text(&output.stdout)), USER_ID);
}

/// Asserts exit status 2, nothing on stdout and a message on stderr mentioning `needle`.
fn assert_failure(output: &Output, needle: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}",
        text(&output.stdout)
    );
    assert!(output.stdout.is_empty(), "stdout: {}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(needle), "stderr lacks {needle:?}: {stderr}");
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

#[test]
fn patched_resource_on_stdout_and_exit_0() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    assert_patched(&run(
        &[
            "apply",
            "--resource",
            arg(&resource),
            "--patch",
            arg(&patch),
        ],
        "",
    ));
}

/// Asserts exit status 1 and a SCIM Error document with status 400 on stdout.
fn assert_scim_error(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        text(&output.stderr)
    );
    let stdout = text(&output.stdout);
    let error: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(
        error["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{stdout}"
    );
    assert_eq!(error["status"], "400", "{stdout}");
    assert!(error["detail"].is_string(), "{stdout}");
}

#[test]
fn a_rejected_patch_prints_the_scim_error_and_exits_1() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", REMOVE_ID),
    );
    let output = run(
        &[
            "apply",
            "--resource",
            arg(&resource),
            "--patch",
            arg(&patch),
        ],
        "",
    );
    assert_scim_error(&output);
    let error: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(error["scimType"], "mutability");
}

#[test]
fn a_patch_or_resource_that_is_not_utf8_prints_a_scim_400_and_exits_1() {
    let dir = scratch_dir();
    let not_utf8: &[u8] = b"{\"schemas\": [\"\xff\xfe\"]}";
    let bad = dir.join("not-utf8.json");
    std::fs::write(&bad, not_utf8).expect("write input file");
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    for (resource, patch, what) in [(&resource, &bad, "patch"), (&bad, &patch, "resource")] {
        let output = run(
            &["apply", "--resource", arg(resource), "--patch", arg(patch)],
            "",
        );
        assert_scim_error(&output);
        let error: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(error["scimType"], "invalidSyntax");
        let detail = error["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(what) && detail.contains("UTF-8"),
            "{detail}"
        );
    }
    // The same from stdin.
    let mut child = Command::new(BIN)
        .env(
            "SCIM_HOST_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"),
        )
        .args(["apply", "--resource", arg(&resource), "--patch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scim-host");
    let _ = child.stdin.take().expect("piped stdin").write_all(not_utf8);
    assert_scim_error(&child.wait_with_output().expect("wait for scim-host"));
}

#[test]
fn strict_profile_accepts_an_rfc_patch() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    let args = [
        "apply",
        "--resource",
        arg(&resource),
        "--patch",
        arg(&patch),
        "--profile",
        "strict",
    ];
    assert_patched(&run(&args, ""));
}

#[test]
fn resource_from_stdin() {
    let dir = scratch_dir();
    let patch = write(&dir, "patch.json", PATCH);
    assert_patched(&run(
        &["apply", "--resource", "-", "--patch", arg(&patch)],
        USER,
    ));
}

#[test]
fn patch_from_stdin() {
    let dir = scratch_dir();
    let resource = write(&dir, "user.json", USER);
    assert_patched(&run(
        &["apply", "--resource", arg(&resource), "--patch", "-"],
        PATCH,
    ));
}

#[test]
fn stdin_for_both_inputs_is_refused() {
    assert_failure(
        &run(&["apply", "--resource", "-", "--patch", "-"], USER),
        "stdin",
    );
}

#[test]
fn missing_resource_file_exits_2() {
    let dir = scratch_dir();
    let patch = write(&dir, "patch.json", PATCH);
    let missing = dir.join("missing.json");
    assert_failure(
        &run(
            &["apply", "--resource", arg(&missing), "--patch", arg(&patch)],
            "",
        ),
        "missing.json",
    );
}

#[test]
fn missing_patch_file_exits_2() {
    let dir = scratch_dir();
    let resource = write(&dir, "user.json", USER);
    let missing = dir.join("missing-patch.json");
    assert_failure(
        &run(
            &[
                "apply",
                "--resource",
                arg(&resource),
                "--patch",
                arg(&missing),
            ],
            "",
        ),
        "missing-patch.json",
    );
}

#[test]
fn a_file_that_is_not_a_component_exits_2() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    let args = [
        "apply",
        "--resource",
        arg(&resource),
        "--patch",
        arg(&patch),
        "--component",
        arg(&patch),
    ];
    assert_failure(&run(&args, ""), "component");
}

#[test]
fn an_unknown_profile_is_a_usage_error() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    let args = [
        "apply",
        "--resource",
        arg(&resource),
        "--patch",
        arg(&patch),
        "--profile",
        "lax",
    ];
    assert_failure(&run(&args, ""), "lax");
}

/// An RFC 7643 §7 extension schema, complete enough for any conformant engine.
const BADGE_SCHEMA: &str = r#"{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
  "id": "urn:example:params:scim:schemas:extension:badge:2.0:User",
  "name": "BadgeUser",
  "description": "Badge extension",
  "attributes": [{
    "name": "badge", "type": "string", "multiValued": false, "description": "Badge number",
    "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default",
    "uniqueness": "none"
  }]
}"#;

#[test]
fn schema_files_hold_one_schema_or_an_array() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    let single = write(&dir, "badge.json", BADGE_SCHEMA);
    let other = BADGE_SCHEMA
        .replace("badge:2.0", "badge2:2.0")
        .replace("BadgeUser", "Badge2User");
    let array = write(&dir, "badges.json", &format!("[{other}]"));
    let args = [
        "apply",
        "--resource",
        arg(&resource),
        "--patch",
        arg(&patch),
        "--schema",
        arg(&single),
        "--schema",
        arg(&array),
    ];
    assert_patched(&run(&args, ""));
}

#[test]
fn a_schema_the_engine_rejects_exits_1() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    let schema = write(&dir, "schema.json", r#"{"name": "a schema without an id"}"#);
    let args = [
        "apply",
        "--resource",
        arg(&resource),
        "--patch",
        arg(&patch),
        "--schema",
        arg(&schema),
    ];
    assert_scim_error(&run(&args, ""));
}

#[test]
fn a_schema_file_that_is_not_json_exits_2() {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    let schema = write(&dir, "schema.json", "{not json");
    let args = [
        "apply",
        "--resource",
        arg(&resource),
        "--patch",
        arg(&patch),
        "--schema",
        arg(&schema),
    ];
    assert_failure(&run(&args, ""), "schema.json");
}

/// Runs `scim-host apply` on [`USER`] and [`PATCH`] with the compile cache in `cache` and
/// these extra arguments and environment variables; asserts it patched.
fn apply_with_cache(cache: &Path, extra: &[&str], env: &[(&str, &str)]) {
    let dir = scratch_dir();
    let (resource, patch) = (
        write(&dir, "user.json", USER),
        write(&dir, "patch.json", PATCH),
    );
    let mut command = Command::new(BIN);
    command
        .args([
            "apply",
            "--resource",
            arg(&resource),
            "--patch",
            arg(&patch),
        ])
        .args(extra)
        .env("SCIM_HOST_CACHE_DIR", cache)
        .env_remove("SCIM_HOST_NO_CACHE");
    for (name, value) in env {
        command.env(name, value);
    }
    assert_patched(&command.output().expect("run scim-host"));
}

#[test]
fn a_corrupt_compile_cache_entry_is_compiled_again_and_replaced() {
    let cache = scratch_dir().join("cache");
    apply_with_cache(&cache, &[], &[]);
    let entries = cache_entries(&cache);
    assert_eq!(entries.len(), 1, "one entry: {entries:?}");
    let entry = &entries[0];
    let good = std::fs::read(entry).expect("the entry");
    // A flipped byte in the machine code, and a truncated file.
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 0x5a;
    for damaged in [flipped, good[..good.len() / 2].to_vec()] {
        std::fs::write(entry, &damaged).expect("damage the entry");
        apply_with_cache(&cache, &[], &[]);
        assert_eq!(
            std::fs::read(entry).expect("the entry"),
            good,
            "the damaged entry is replaced by a fresh compilation"
        );
        assert_eq!(cache_entries(&cache).len(), 1, "and nothing else is left");
    }
}

#[test]
fn no_cache_writes_nothing() {
    let cache = scratch_dir().join("cache");
    apply_with_cache(&cache, &["--no-cache"], &[]);
    apply_with_cache(&cache, &[], &[("SCIM_HOST_NO_CACHE", "1")]);
    assert!(!cache.exists(), "{:?}", cache_entries(&cache));
}
