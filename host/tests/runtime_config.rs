//! `scim-host serve --runtime-config-file FILE`: Spin's runtime-config format chooses the
//! `default` store; mistakes and an unreachable Redis stop the start with a clear message.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// Runs `scim-host serve` with `args` expecting it to refuse to start; returns its stderr.
fn refused(args: &[&str], config: Option<(&Path, &str)>) -> String {
    let mut command = Command::new(BIN);
    // Every test process shares one compile cache, under the target directory.
    command.env(
        "SCIM_HOST_CACHE_DIR",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"),
    );
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args);
    if let Some((path, text)) = config {
        std::fs::write(path, text).expect("write the runtime config");
        command.arg("--runtime-config-file").arg(path);
    }
    let output = command
        .env("SPIN_VARIABLE_SCIM_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .expect("run scim-host serve");
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit 2; stdout {:?}, stderr {:?}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn mistakes_stop_the_start_with_what_is_wrong() {
    let dir = scratch_dir("runtime-config-errors");
    let file = dir.join("runtime-config.toml");
    let unreachable = format!(
        "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{}\"\n",
        free_port()
    );
    let cases: [(&str, &str); 5] = [
        (
            "[key_value_store.default]\ntype = \"azure_cosmos\"\n",
            "store type \"azure_cosmos\" is not supported",
        ),
        (
            "[key_value_store.default]\ntype = \"redis\"\n",
            "needs `url`",
        ),
        (
            "[key_value_store.default]\ntpye = \"redis\"\n",
            "has no `type`",
        ),
        (
            "[outbound_networking]\n",
            "`outbound_networking` is not supported",
        ),
        (&unreachable, "cannot connect to Redis at 127.0.0.1:"),
    ];
    for (text, expected) in cases {
        let stderr = refused(&[], Some((&file, text)));
        assert!(stderr.contains(expected), "{text:?}: stderr {stderr:?}");
    }
    let stderr = refused(
        &["--runtime-config-file", "/no/such/runtime-config.toml"],
        None,
    );
    assert!(
        stderr.contains("cannot read the runtime config"),
        "{stderr}"
    );
    let stderr = refused(
        &["--db", "x.db"],
        Some((
            &file,
            "[key_value_store.default]\ntype = \"spin\"\npath = \"kv.db\"\n",
        )),
    );
    assert!(stderr.contains("both name the default store"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `type = "spin"` with a relative `path`: the file is made beside the runtime config (as
/// Spin resolves it), whatever the current directory.
#[test]
fn a_relative_sqlite_path_is_beside_the_runtime_config() {
    let dir = scratch_dir("runtime-config-sqlite");
    let config_dir = dir.join("conf");
    std::fs::create_dir_all(&config_dir).expect("mkdir");
    std::fs::write(
        config_dir.join("rc.toml"),
        "[key_value_store.default]\ntype = \"spin\"\npath = \"data/kv.db\"\n",
    )
    .expect("write");
    let db = config_dir.join("data/kv.db");
    let node = Server::launch(
        Runtime::Serve,
        &Backend::ConfigFile(config_dir.join("rc.toml")),
        &[],
    );
    node.client().create_user("beside@example.com");
    assert!(db.is_file(), "no database at {}", db.display());
    drop(node);
    let _ = std::fs::remove_dir_all(dir);
}
