//! Load harness for `scim-host serve` (README "Directory scale"): a directory provisioned the
//! way Microsoft Entra does it ([`directory`]) and a burst of PATCHes on one user
//! ([`throughput`]), over keep-alive clients spread across one or more nodes.
//!
//! The binary (`directory-bench`) starts a release `scim-host serve` on a fresh database, or
//! drives nodes given by `--url`. The test suite runs it at a small size as a correctness check:
//! every answer must be the one the service should give.

mod client;
pub mod directory;
mod latency;
mod node;
mod pool;
pub mod throughput;

pub use client::{Client, Exchange};
pub use directory::{DirectoryPlan, DirectoryReport};
pub use latency::{Sample, Summary};
pub use node::{ServeNode, fresh_database};
pub use throughput::{PatchPlan, PatchReport};

/// `count` clients, client `i` on node `urls[i % urls.len()]`, each with its own keep-alive
/// connection, all sending `token`.
pub fn clients(urls: &[String], count: usize, token: &str) -> anyhow::Result<Vec<Client>> {
    anyhow::ensure!(!urls.is_empty(), "no node to send requests to");
    Ok((0..count.max(1))
        .map(|i| Client::new(&urls[i % urls.len()], token))
        .collect())
}
