//! The directory harness (`bench/directory`) at a small size, as a correctness check of the
//! service under concurrent Entra-style provisioning: every answer must be the one it should be
//! (statuses, a free name found free, User.groups naming the group, a group read without members).
//! Not a timed test: the figures it prints are not checked.

use scim_directory_bench::{
    DirectoryPlan, PatchPlan, ServeNode, clients, directory, fresh_database, throughput,
};

const TOKEN: &str = "directory-bench-test";

#[test]
fn a_small_directory_gets_every_answer_right() {
    let database = fresh_database();
    let node = ServeNode::start(
        env!("CARGO_BIN_EXE_scim-host").as_ref(),
        &[
            "--db".to_owned(),
            database.join("kv.db").display().to_string(),
        ],
        TOKEN,
    )
    .expect("serve starts");
    let clients = clients(&[node.url().to_owned()], 4, TOKEN).expect("clients");

    let plan = DirectoryPlan {
        users: 240,
        batch: 25,
        samples: 20,
    };
    let report = directory::run(&clients, &plan).expect("the directory run completes");
    println!("{report}");
    assert_eq!(report.users, 240);
    assert_eq!(report.provisioning.len(), 10);
    assert_eq!(
        report.unexpected(),
        0,
        "every answer as it should be:\n{report}"
    );

    let patches =
        throughput::run(&clients, &PatchPlan { requests: 200 }).expect("the PATCH run completes");
    println!("{patches}");
    assert_eq!(patches.patches.requests, 200);
    assert_eq!(patches.patches.unexpected, 0, "no PATCH refused: {patches}");

    drop(node);
    let _ = std::fs::remove_dir_all(&database);
}
