//! `scim-host apply` on the RFC 7644 §3.5.2 examples (tests/fixtures/patch/rfc-examples.json),
//! through the binary and the component: each case's resource and patch go in as files, the
//! patched resource (exit 0) or the SCIM error (exit 1) comes out on stdout.
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_scim-host");

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures"))
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_rfc_7644_examples_apply_through_the_cli() {
    let cases = read(&fixtures().join("patch/rfc-examples.json"));
    let cases = cases.as_array().expect("an array of cases");
    assert!(cases.len() >= 10);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rfc-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap_or("?");
        let resource = match &case["resource"] {
            Value::String(base) => read(&fixtures().join(format!("resources/{base}.json"))),
            inline => inline.clone(),
        };
        let (resource_file, patch_file) = (
            dir.join(format!("{i}-resource.json")),
            dir.join(format!("{i}-patch.json")),
        );
        std::fs::write(&resource_file, resource.to_string()).expect("write resource");
        std::fs::write(&patch_file, case["patch"].to_string()).expect("write patch");
        let mut command = Command::new(BIN);
        // Every test process shares one compile cache, under the target directory.
        command.env(
            "SCIM_HOST_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"),
        );
        command
            .arg("apply")
            .arg("--resource")
            .arg(&resource_file)
            .arg("--patch")
            .arg(&patch_file);
        if let Some(profile) = case.get("profile").and_then(Value::as_str) {
            command.args(["--profile", profile]);
        }
        let output = command.output().expect("run scim-host");
        let stdout: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{name}: stdout is not JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        match case.get("error") {
            None => {
                assert_eq!(output.status.code(), Some(0), "{name}: {stdout}");
                assert_eq!(stdout, case["expect"], "{name}");
            }
            Some(error) => {
                assert_eq!(output.status.code(), Some(1), "{name}: {stdout}");
                assert_eq!(
                    stdout["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
                    "{name}"
                );
                assert_eq!(
                    stdout["status"],
                    Value::String(error["status"].to_string()),
                    "{name}"
                );
                assert_eq!(stdout["scimType"], error["scimType"], "{name}");
            }
        }
    }
}
