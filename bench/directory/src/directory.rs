//! The directory run: users provisioned through Microsoft Entra's cycle (look up by userName,
//! create, update), all of them added to one group in PATCH batches, then single member adds and
//! removes on that group and the reads Entra sends. Reported per tenth, so a cost that grows with
//! the directory shows.

use std::fmt;
use std::time::Instant;

use serde_json::json;

use crate::client::Client;
use crate::latency::{Sample, Summary};
use crate::pool::{self, Done, Recorder};

/// What a directory run does.
#[derive(Clone, Debug)]
pub struct DirectoryPlan {
    /// Users provisioned (and members of the one group).
    pub users: usize,
    /// Members added per group PATCH while the group is filled.
    pub batch: usize,
    /// Single member removes + adds, and each kind of read, sampled after the group is full.
    pub samples: usize,
}

/// What a directory run measured.
#[derive(Debug, Default)]
pub struct DirectoryReport {
    /// Users provisioned.
    pub users: usize,
    /// The Entra cycle (GET by filter, POST, PATCH) per tenth of the users.
    pub provisioning: Vec<Summary>,
    /// Group PATCH batches per tenth of the members.
    pub batches: Vec<Summary>,
    /// Single member removes by `members[value eq ...]` on the full group.
    pub removes: Summary,
    /// Single member adds on the full group.
    pub adds: Summary,
    /// `GET /Groups/{id}?excludedAttributes=members` on the full group.
    pub group_reads: Summary,
    /// `GET /Users/{id}` (with the user's groups).
    pub user_reads: Summary,
    /// Every request of the run.
    pub overall: Summary,
}

impl DirectoryReport {
    /// Requests whose answer was not what it should have been, over the whole run.
    pub fn unexpected(&self) -> usize {
        self.overall.unexpected
    }

    /// The last tenth's provisioning rate over the first's.
    pub fn rate_kept(&self) -> f64 {
        match (self.provisioning.first(), self.provisioning.last()) {
            (Some(first), Some(last)) if first.rate > 0.0 => last.rate / first.rate,
            _ => 0.0,
        }
    }
}

/// Runs the plan on `clients` (spread over the nodes as the caller made them).
pub fn run(clients: &[Client], plan: &DirectoryPlan) -> anyhow::Result<DirectoryReport> {
    let epoch = Instant::now();
    let mut everything: Vec<Sample> = Vec::new();

    let created = pool::run(clients, epoch, plan.users, provision_user);
    let provisioning = by_tenth(&created);
    collect(&mut everything, &created);
    let ids: Vec<String> = created.into_iter().filter_map(|done| done.value).collect();
    anyhow::ensure!(!ids.is_empty(), "no user was created: nothing to measure");

    let group = create_group(&clients[0], epoch, &mut everything)?;
    let batches: Vec<&[String]> = ids.chunks(plan.batch.max(1)).collect();
    let filled = pool::run(clients, epoch, batches.len(), |client, index, recorder| {
        let members: Vec<_> = batches[index]
            .iter()
            .map(|id| json!({"value": id}))
            .collect();
        let body = patch(json!([{"op": "add", "path": "members", "value": members}]));
        patch_group(client, recorder, &group, &body)
    });
    let batch_tenths = by_tenth(&filled);
    collect(&mut everything, &filled);

    let sampled: Vec<&String> = spread(&ids, plan.samples);
    let removed = pool::run(clients, epoch, sampled.len(), |client, index, recorder| {
        let filter = format!("members[value eq \"{}\"]", sampled[index]);
        let body = patch(json!([{"op": "remove", "path": filter}]));
        patch_group(client, recorder, &group, &body)
    });
    let added = pool::run(clients, epoch, sampled.len(), |client, index, recorder| {
        let body = patch(json!([{"op": "add", "path": "members",
                                 "value": [{"value": sampled[index]}]}]));
        patch_group(client, recorder, &group, &body)
    });
    let group_read = pool::run(clients, epoch, sampled.len(), |client, _, recorder| {
        let path = format!("/Groups/{group}?excludedAttributes=members");
        let answer = recorder.send(client, "GET", &path, None, &[200])?;
        if answer.json().get("members").is_some() {
            recorder.reject_last("a group read without members listed members");
        }
        Ok(())
    });
    let user_read = pool::run(clients, epoch, sampled.len(), |client, index, recorder| {
        let answer = recorder.send(
            client,
            "GET",
            &format!("/Users/{}", sampled[index]),
            None,
            &[200],
        )?;
        let in_group = answer.json()["groups"]
            .as_array()
            .is_some_and(|groups| groups.iter().any(|g| g["value"] == group.as_str()));
        if !in_group {
            recorder.reject_last("a member's User.groups does not name its group");
        }
        Ok(())
    });
    for phase in [&removed, &added, &group_read, &user_read] {
        collect(&mut everything, phase);
    }
    Ok(DirectoryReport {
        users: ids.len(),
        provisioning,
        batches: batch_tenths,
        removes: summary(&removed),
        adds: summary(&added),
        group_reads: summary(&group_read),
        user_reads: summary(&user_read),
        overall: Summary::of(&everything),
    })
}

/// Entra's cycle for user `index`: is the name free, create it, then its first update. Returns
/// the new user's id.
fn provision_user(
    client: &Client,
    index: usize,
    recorder: &mut Recorder,
) -> anyhow::Result<String> {
    let user_name = format!("user{index:07}@example.com");
    let lookup = format!(
        "/Users?filter={}",
        encode(&format!("userName eq \"{user_name}\""))
    );
    let found = recorder.send(client, "GET", &lookup, None, &[200])?;
    if found.json()["totalResults"] != 0 {
        recorder.reject_last("a new user's name was already taken");
    }
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("ext-{index:07}"),
        "userName": user_name,
        "active": true,
        "displayName": format!("User {index}"),
        "name": {"givenName": "User", "familyName": format!("{index:07}")},
        "emails": [{"type": "work", "value": user_name, "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Bench"}
    });
    let created = recorder.send(client, "POST", "/Users", Some(&user.to_string()), &[201])?;
    let id = created.json()["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("POST /Users answered {} without an id", created.status))?;
    let update = patch(json!([
        {"op": "Replace", "path": "displayName", "value": format!("User {index} (updated)")},
        {"op": "Add", "path": "emails[type eq \"work\"].value", "value": user_name},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
         "value": "Benchmarks"}
    ]));
    recorder.send(
        client,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&update),
        &[200],
    )?;
    Ok(id)
}

fn create_group(
    client: &Client,
    epoch: Instant,
    everything: &mut Vec<Sample>,
) -> anyhow::Result<String> {
    let created = pool::run(
        std::slice::from_ref(client),
        epoch,
        1,
        |client, _, recorder| {
            let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "displayName": "Everyone"});
            let answer =
                recorder.send(client, "POST", "/Groups", Some(&group.to_string()), &[201])?;
            answer.json()["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| {
                    anyhow::anyhow!("POST /Groups answered {}: {}", answer.status, answer.body)
                })
        },
    );
    collect(everything, &created);
    created
        .into_iter()
        .find_map(|done| done.value)
        .ok_or_else(|| anyhow::anyhow!("the group could not be created"))
}

/// PATCHes the group: a success is 204 (or 200 with the group).
fn patch_group(
    client: &Client,
    recorder: &mut Recorder,
    group: &str,
    body: &str,
) -> anyhow::Result<()> {
    recorder.send(
        client,
        "PATCH",
        &format!("/Groups/{group}"),
        Some(body),
        &[200, 204],
    )?;
    Ok(())
}

/// A PatchOp body.
fn patch(operations: serde_json::Value) -> String {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
        .to_string()
}

/// Percent-encodes a query parameter's value (everything but RFC 3986's unreserved characters).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `count` items spread evenly over `items` (all of them when there are fewer).
fn spread<T>(items: &[T], count: usize) -> Vec<&T> {
    let count = count.min(items.len()).max(1);
    (0..count)
        .map(|i| &items[i * items.len() / count])
        .collect()
}

/// The summaries of ten consecutive slices of the jobs (fewer when there are fewer jobs).
fn by_tenth<T>(jobs: &[Done<T>]) -> Vec<Summary> {
    let tenth = jobs.len().div_ceil(10).max(1);
    jobs.chunks(tenth)
        .map(|slice| {
            let samples: Vec<Sample> = slice
                .iter()
                .flat_map(|d| d.samples.iter().copied())
                .collect();
            Summary::of(&samples)
        })
        .collect()
}

fn summary<T>(jobs: &[Done<T>]) -> Summary {
    let samples: Vec<Sample> = jobs
        .iter()
        .flat_map(|d| d.samples.iter().copied())
        .collect();
    Summary::of(&samples)
}

fn collect<T>(everything: &mut Vec<Sample>, jobs: &[Done<T>]) {
    everything.extend(jobs.iter().flat_map(|d| d.samples.iter().copied()));
}

impl fmt::Display for DirectoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "directory of {} users, all in one group", self.users)?;
        writeln!(
            f,
            "provisioning (GET filter, POST, PATCH per user), per tenth of the users:"
        )?;
        for (i, tenth) in self.provisioning.iter().enumerate() {
            writeln!(f, "  tenth {:>2}: {tenth}", i + 1)?;
        }
        writeln!(f, "  last tenth's rate / first's: {:.2}", self.rate_kept())?;
        writeln!(
            f,
            "group filled in PATCH batches, per tenth of the members:"
        )?;
        for (i, tenth) in self.batches.iter().enumerate() {
            writeln!(f, "  tenth {:>2}: {tenth}", i + 1)?;
        }
        writeln!(f, "on the full group:")?;
        writeln!(f, "  remove one member by filter:     {}", self.removes)?;
        writeln!(f, "  add one member:                  {}", self.adds)?;
        writeln!(
            f,
            "  GET group, excludedAttributes=members: {}",
            self.group_reads
        )?;
        writeln!(f, "  GET user with its groups:        {}", self.user_reads)?;
        write!(f, "overall: {}", self.overall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode("userName eq \"a@b.c\""),
            "userName%20eq%20%22a%40b.c%22"
        );
    }

    #[test]
    fn samples_spread_over_the_whole_directory() {
        let items: Vec<usize> = (0..100).collect();
        assert_eq!(spread(&items, 4), vec![&0, &25, &50, &75]);
        assert_eq!(spread(&items[..2], 10).len(), 2);
    }
}
