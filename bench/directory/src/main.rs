//! `directory-bench`: the directory and PATCH-throughput runs against `scim-host serve`
//! (README "Directory scale"). Without `--url` it starts a release `scim-host serve` on a fresh
//! SQLite database and reports its memory at the end.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use scim_directory_bench::{DirectoryPlan, PatchPlan, ServeNode, clients, fresh_database};

#[derive(Parser, Debug)]
#[command(
    about = "Load harness for scim-host serve: an Entra-style directory, or PATCH throughput"
)]
struct Args {
    /// What to run.
    #[arg(long, value_enum, default_value_t = Mode::Directory)]
    mode: Mode,
    /// Users to provision (directory mode).
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Members per group PATCH while the group is filled (directory mode).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Single member adds/removes and reads of each kind on the full group (directory mode).
    #[arg(long, default_value_t = 1_000)]
    samples: usize,
    /// PATCH requests in all (patch mode).
    #[arg(long, default_value_t = 30_000)]
    patches: usize,
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// A running node's SCIM base URL (`http://HOST:PORT/scim/v2`); repeatable, the clients are
    /// spread over them. Without it the harness starts its own node.
    #[arg(long = "url", value_name = "URL")]
    urls: Vec<String>,
    /// Nodes to start when no `--url` is given (more than one needs `--redis`).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Start the nodes on this Redis (`redis://HOST:PORT/DB`, flushed by you beforehand) through
    /// a Spin runtime-config file, instead of on a fresh SQLite database.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// The `scim-host` binary to start when no `--url` is given.
    #[arg(long, value_name = "FILE", default_value = "target/release/scim-host")]
    serve_bin: PathBuf,
    /// The bearer token (the nodes' `scim_token`).
    #[arg(long, default_value = "directory-bench")]
    token: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// Provision users the Entra way, fill one group, then single member changes and reads.
    Directory,
    /// PATCH one user from every client at once.
    Patch,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let database = fresh_database();
    let nodes = start_nodes(&args, &database)?;
    let urls: Vec<String> = match nodes.is_empty() {
        true => args.urls.clone(),
        false => nodes.iter().map(|node| node.url().to_owned()).collect(),
    };
    let clients = clients(&urls, args.clients, &args.token)?;
    let unexpected = match args.mode {
        Mode::Directory => {
            let plan = DirectoryPlan {
                users: args.users,
                batch: args.batch,
                samples: args.samples,
            };
            let report = scim_directory_bench::directory::run(&clients, &plan)?;
            println!("{report}");
            report.unexpected()
        }
        Mode::Patch => {
            let plan = PatchPlan {
                requests: args.patches,
            };
            let report = scim_directory_bench::throughput::run(&clients, &plan)?;
            println!("{report}");
            report.patches.unexpected
        }
    };
    for (i, node) in nodes.iter().enumerate() {
        if let Some((rss, peak)) = node.memory_kib() {
            println!(
                "node {}'s memory: {} MiB now, {} MiB at peak",
                i + 1,
                rss / 1024,
                peak / 1024
            );
        }
    }
    drop(nodes);
    if database.exists() {
        std::fs::remove_dir_all(&database)
            .with_context(|| format!("removing {}", database.display()))?;
    }
    anyhow::ensure!(
        unexpected == 0,
        "{unexpected} requests got an answer they should not have"
    );
    Ok(())
}

/// The nodes the harness starts itself (none when `--url` names running ones): on one fresh
/// SQLite database, or all on `--redis` through a runtime-config file.
fn start_nodes(args: &Args, database: &std::path::Path) -> anyhow::Result<Vec<ServeNode>> {
    if !args.urls.is_empty() {
        return Ok(Vec::new());
    }
    let store = match &args.redis {
        Some(url) => {
            std::fs::create_dir_all(database)
                .with_context(|| format!("creating {}", database.display()))?;
            let config = database.join("runtime-config.toml");
            let table = format!("[key_value_store.default]\ntype = \"redis\"\nurl = {url:?}\n");
            std::fs::write(&config, table)
                .with_context(|| format!("writing {}", config.display()))?;
            vec![
                "--runtime-config-file".to_owned(),
                config.display().to_string(),
            ]
        }
        None => {
            anyhow::ensure!(
                args.nodes == 1,
                "several nodes need a shared store: give --redis"
            );
            vec![
                "--db".to_owned(),
                database.join("kv.db").display().to_string(),
            ]
        }
    };
    (0..args.nodes.max(1))
        .map(|_| ServeNode::start(&args.serve_bin, &store, &args.token))
        .collect()
}
