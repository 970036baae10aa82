//! The throughput run: many PATCHes of one user from every client at once (spread over the
//! nodes the clients were made for), as one identity provider's burst of updates.

use std::fmt;
use std::time::Instant;

use serde_json::json;

use crate::client::Client;
use crate::latency::{Sample, Summary};
use crate::pool;

/// What a throughput run does.
#[derive(Clone, Debug)]
pub struct PatchPlan {
    /// PATCH requests sent in all.
    pub requests: usize,
}

/// What a throughput run measured.
#[derive(Debug)]
pub struct PatchReport {
    /// Clients that sent the PATCHes.
    pub clients: usize,
    /// Every PATCH (a 409 or 412 counts as unexpected: the service should retry, not the client).
    pub patches: Summary,
}

/// Creates one user, then sends `plan.requests` PATCHes of it (each replacing `title` and
/// `nickName`) from all clients at once.
pub fn run(clients: &[Client], plan: &PatchPlan) -> anyhow::Result<PatchReport> {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("throughput-{}", std::process::id()),
        "emails": [{"type": "work", "value": "throughput@example.com", "primary": true}]
    });
    let created = clients[0].send("POST", "/Users", Some(&user.to_string()))?;
    anyhow::ensure!(
        created.status == 201,
        "POST /Users answered {}: {}",
        created.status,
        created.body
    );
    let id = created.json()["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("POST /Users answered without an id"))?;
    let path = format!("/Users/{id}");
    let epoch = Instant::now();
    let done = pool::run(clients, epoch, plan.requests, |client, index, recorder| {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "title", "value": format!("title {index}")},
                {"op": "replace", "path": "nickName", "value": format!("n{}", index % 97)}
            ]
        });
        recorder.send(client, "PATCH", &path, Some(&body.to_string()), &[200])?;
        Ok(())
    });
    let samples: Vec<Sample> = done
        .iter()
        .flat_map(|d| d.samples.iter().copied())
        .collect();
    Ok(PatchReport {
        clients: clients.len(),
        patches: Summary::of(&samples),
    })
}

impl fmt::Display for PatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PATCH one user, {} clients: {}",
            self.clients, self.patches
        )
    }
}
