//! `spin up` and `scim-host serve` on one store: what one wrote, the other reads and updates,
//! on SQLite (Spin's file layout) and on Redis (Spin's key layout), and one runtime-config
//! file serves both. Skipped, with the reason printed, when no Spin binary is found.

mod common;

use common::*;
use serde_json::{Value, json};

/// The resource without what depends on the node that served it (locations carry its port).
fn portable(mut resource: Value) -> Value {
    resource["meta"]["location"] = Value::Null;
    for list in ["groups", "members"] {
        if let Some(items) = resource[list].as_array_mut() {
            for item in items {
                item["$ref"] = Value::Null;
            }
        }
    }
    resource
}

/// Writes with one runtime, reads and writes with the other, then back.
fn round_trip(backend: &Backend) {
    if let Err(why) = spin_binary() {
        print_skip("the spin up / serve round trip", why);
        return;
    }
    let (uid, gid, user_before, group_before) = {
        let serve = Server::launch(Runtime::Serve, backend, &[]);
        let c = serve.client();
        let u = c.create(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "shared@example.com",
                    "password": "s3cret-Passw0rd", "emails": [{"value": "shared@example.com"}]}),
        );
        let g = c.create("/Groups", &group("Shared", &[&id(&u)]));
        (
            id(&u),
            id(&g),
            c.fetch(&user_path(&u)),
            c.fetch(&group_path(&g)),
        )
    };
    let (upath, gpath) = (format!("/Users/{uid}"), format!("/Groups/{gid}"));

    let spin = Server::launch(Runtime::Spin, backend, &[]);
    let c = spin.client();
    assert_eq!(
        portable(c.fetch(&upath)),
        portable(user_before.clone()),
        "Spin reads serve's user"
    );
    assert_eq!(
        portable(c.fetch(&gpath)),
        portable(group_before),
        "Spin reads serve's group"
    );
    c.post("/Users", &user("SHARED@example.com"))
        .scim_error(409, Some("uniqueness"), None);
    let made_by_spin = c.create_user("spin-made@example.com");
    let spin_path = user_path(&made_by_spin);
    drop(spin);

    let serve = Server::launch(Runtime::Serve, backend, &[]);
    let c = serve.client();
    assert_eq!(
        portable(c.fetch(&spin_path)),
        portable(made_by_spin.clone()),
        "serve reads Spin's user"
    );
    c.post("/Users", &user("Spin-Made@example.com"))
        .scim_error(409, Some("uniqueness"), None);
    let patched = c.patch_ok(
        &spin_path,
        json!([{"op": "replace", "path": "title", "value": "Written by serve"}]),
    );
    assert_ne!(
        version(&patched),
        version(&made_by_spin),
        "the version moves on from Spin's"
    );
    assert_eq!(
        portable(c.fetch(&upath)),
        portable(user_before),
        "serve's own user is intact"
    );
    assert_eq!(c.fetch("/Users")["totalResults"], 2);
}

#[test]
fn spin_and_serve_share_an_sqlite_file() {
    let dir = scratch_dir("interop-sqlite");
    round_trip(&Backend::Sqlite(dir.join("kv.db")));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn spin_and_serve_share_a_redis() {
    round_trip(&Backend::redis("interop"));
}

/// One runtime-config file with a relative SQLite `path`: Spin and serve resolve it to the
/// same file (beside the runtime config), whatever their current directories.
#[test]
fn spin_and_serve_resolve_a_relative_path_alike() {
    let dir = scratch_dir("interop-relative");
    let config = dir.join("conf/runtime-config.toml");
    std::fs::create_dir_all(dir.join("conf")).expect("mkdir");
    std::fs::write(
        &config,
        "[key_value_store.default]\ntype = \"spin\"\npath = \"data/kv.db\"\n",
    )
    .expect("write the runtime config");
    round_trip(&Backend::ConfigFile(config));
    if spin_binary().is_ok() {
        assert!(
            dir.join("conf/data/kv.db").is_file(),
            "no database beside the runtime config"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
