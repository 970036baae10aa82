//! Layout v1 → v2, on first open. v1 (the release before this storage model) kept one document
//! per resource (`res/{User|Group}/{id}`, members inside the group), name keys (`uniq/…`,
//! `claim/…`) and `memberof/…` indexes. The migration rebuilds everything v2 needs from the v1
//! resource documents alone, with deterministic values (sequence numbers follow the sorted ids;
//! ids are kept, through alias keys), so it can run again from the start after a crash and
//! concurrent runs write the same bytes. A lease counter (`scim/migrating`, an expiry time) lets
//! one request migrate while others wait; the marker `scim/layout` is set at the end, and only
//! then are the v1 keys removed. Plain-text write-only values that v1 let through (a `password`
//! spelled with its schema URN) are hashed on the way, so no plain password survives.
//!
//! This is the only code that lists keys (`Kv::keys`), once per store.
use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::cas::{self, Step};
use super::codec::{self, Envelope, IntForm};
use super::member_of::{Entry, MemberOf};
use super::members::Member;
use super::resources::{DocState, ResourceDoc};
use super::{Kind, keys};
use crate::kv::{Kv, StoreError};

/// The lease counter: the Unix time (seconds) until which a migration is under way.
const LEASE_KEY: &str = "scim/migrating";
/// How long a lease lasts without renewal.
const LEASE_SECONDS: i64 = 30;
/// How long a request waits for another's migration before giving up (with a 500, logged).
const WAIT: Duration = Duration::from_secs(25);

/// What v1 keys start with.
const V1_PREFIXES: [&str; 4] = ["res/", "uniq/", "claim/", "memberof/"];

/// Hashes write-only values found in plain text (the service's rule, passed in so the store
/// does not depend on the engine's configuration).
pub(crate) type Scrub<'a> =
    &'a dyn Fn(&mut Map<String, Value>) -> Result<BTreeMap<String, String>, StoreError>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Makes sure the store holds layout v2, migrating a v1 store (or marking a new one).
pub(crate) async fn ensure<K: Kv>(kv: &K, scrub: Scrub<'_>) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    loop {
        if kv.get(keys::LAYOUT).await?.is_some() {
            return Ok(());
        }
        let v1 = kv
            .keys()
            .await?
            .into_iter()
            .any(|k| V1_PREFIXES.iter().any(|p| k.starts_with(p)));
        if !v1 {
            // A new store (or one whose migration finished but for the marker): nothing to
            // migrate, and marking it twice is harmless.
            return kv.set(keys::LAYOUT, b"2").await;
        }
        let expiry = now() + LEASE_SECONDS;
        let acquired = cas::update_counter(
            kv,
            LEASE_KEY,
            |until| {
                Ok::<_, ()>(if until < now() {
                    Step::Write(expiry, true)
                } else {
                    Step::Keep(false)
                })
            },
            |read_back| read_back == expiry,
        )
        .await
        .unwrap_or(false);
        if acquired {
            return migrate(kv, scrub).await;
        }
        if started.elapsed() > WAIT {
            return Err(StoreError(
                "another request is migrating the store to layout v2; retry shortly".into(),
            ));
        }
        kv.pause(Duration::from_millis(100)).await;
    }
}

/// A v1 resource as read.
struct V1 {
    id: String,
    resource: Map<String, Value>,
    password_hash: Option<String>,
}

fn parse_v1(key: &str, bytes: &[u8]) -> Result<V1, StoreError> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| StoreError(format!("{key}: corrupt v1 document: {e}")))?;
    let resource = doc
        .get("resource")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| StoreError(format!("{key}: v1 document without a resource")))?;
    let id = key.rsplit('/').next().unwrap_or_default().to_string();
    Ok(V1 {
        id,
        resource,
        password_hash: doc
            .get("passwordHash")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

async fn migrate<K: Kv>(kv: &K, scrub: Scrub<'_>) -> Result<(), StoreError> {
    let form = match kv.get(LEASE_KEY).await? {
        Some(bytes) => codec::read_int(LEASE_KEY, &bytes)?.form,
        None => IntForm::Binary,
    };
    let int = |value: u64| codec::write_int(i64::try_from(value).unwrap_or(i64::MAX), form);
    let all = kv.keys().await?;
    let old: Vec<&String> = all
        .iter()
        .filter(|k| V1_PREFIXES.iter().any(|p| k.starts_with(p)))
        .collect();
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for key in &old {
        let list = match key.split('/').nth(1) {
            Some("User") if key.starts_with("res/") => &mut users,
            Some("Group") if key.starts_with("res/") => &mut groups,
            _ => continue,
        };
        if let Some(bytes) = kv.get(key).await? {
            list.push(parse_v1(key, &bytes)?);
        }
    }
    users.sort_by(|a, b| a.id.cmp(&b.id));
    groups.sort_by(|a, b| a.id.cmp(&b.id));

    // Every id that will exist, with its kind and unique name.
    let mut known: BTreeMap<String, (Kind, String)> = BTreeMap::new();
    for (kind, list) in [(Kind::User, &users), (Kind::Group, &groups)] {
        for v1 in list.iter() {
            let name = scim_patch::json::get_ci(&v1.resource, kind.unique_attribute())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            known.insert(v1.id.clone(), (kind, name));
        }
    }
    let mut indexes: BTreeMap<String, MemberOf> = BTreeMap::new();
    let mut externals: BTreeMap<(Kind, String), Vec<u64>> = BTreeMap::new();
    let mut renewed = std::time::Instant::now();
    for (kind, list) in [(Kind::User, &users), (Kind::Group, &groups)] {
        for (i, v1) in list.iter().enumerate() {
            let seq = i as u64 + 1;
            let mut res = v1.resource.clone();
            let members = if kind == Kind::Group {
                res.shift_remove("members")
            } else {
                res.shift_remove("groups");
                None
            };
            let mut sec = scrub(&mut res)?;
            if let Some(hash) = &v1.password_hash {
                sec.entry("password".into()).or_insert_with(|| hash.clone());
            }
            let doc = ResourceDoc {
                s: DocState::Live,
                id: v1.id.clone(),
                res,
                sec,
                dv: 0,
                fan: false,
            };
            let name = doc.unique_name(kind).unwrap_or_default().to_string();
            if let Some(ext) = doc.external_id() {
                externals
                    .entry((kind, ext.to_string()))
                    .or_default()
                    .push(seq);
            }
            indexes
                .entry(v1.id.clone())
                .or_insert_with(|| MemberOf::new(kind, &name))
                .name
                .clone_from(&name);
            if let Some(Value::Array(members)) = members {
                let display = name.clone();
                let mut slot = 0u64;
                for member in members {
                    let Some(id) = member.get("value").and_then(Value::as_str) else {
                        continue;
                    };
                    let Some((member_kind, member_name)) = known.get(id) else {
                        continue; // a member that no longer exists
                    };
                    let member_kind = *member_kind;
                    let index = indexes
                        .entry(id.to_string())
                        .or_insert_with(|| MemberOf::new(member_kind, ""));
                    if index.groups.contains_key(&v1.id) {
                        continue;
                    }
                    slot += 1;
                    index.n += 1;
                    index.groups.insert(
                        v1.id.clone(),
                        Entry {
                            s: seq,
                            d: display.clone(),
                            dv: 0,
                            m: true,
                            v: index.n,
                            p: false,
                        },
                    );
                    let entry = Member {
                        id: id.to_string(),
                        kind: member_kind,
                        display: Some(
                            member
                                .get("display")
                                .and_then(Value::as_str)
                                .unwrap_or(member_name)
                                .to_string(),
                        ),
                    };
                    let state = (slot << 32) | (index.n << 1) | 1;
                    kv.set(&keys::member_state(seq, id), &int(state)).await?;
                    let slot_value = serde_json::to_vec(&entry)
                        .map_err(|e| StoreError(format!("cannot encode a member: {e}")))?;
                    kv.set(&keys::member_slot(seq, slot), &slot_value).await?;
                }
                kv.set(&keys::member_counter(seq), &int(slot)).await?;
            }
            if kind == Kind::Group {
                let version = version_number(&doc.res).max(1);
                kv.set(&keys::group_version(seq), &super::versions::first(version)?)
                    .await?;
            }
            let envelope = Envelope {
                w: format!("v1-{}-{seq}", kind.tag()),
                h: Vec::new(),
                d: doc,
            };
            kv.set(&keys::resource(kind, seq), &envelope.encode()?)
                .await?;
            kv.set(&keys::alias(kind, &v1.id), &int(seq)).await?;
            if !name.is_empty() {
                kv.set(&keys::name_claim(kind, &name.to_lowercase()), &int(seq))
                    .await?;
            }
            if renewed.elapsed() > Duration::from_secs(5) {
                kv.set(LEASE_KEY, &int((now() + LEASE_SECONDS) as u64))
                    .await?;
                renewed = std::time::Instant::now();
            }
        }
    }
    for ((kind, ext), seqs) in &externals {
        for (k, seq) in seqs.iter().enumerate() {
            kv.set(
                &keys::external_slot(*kind, ext, k as i64 + 1),
                seq.to_string().as_bytes(),
            )
            .await?;
        }
        kv.set(&keys::external_counter(*kind, ext), &int(seqs.len() as u64))
            .await?;
    }
    for (id, index) in indexes {
        let envelope = Envelope {
            w: format!("v1-mo-{id}"),
            h: Vec::new(),
            d: index,
        };
        kv.set(&keys::member_of(&id), &envelope.encode()?).await?;
    }
    for (kind, count) in [(Kind::User, users.len()), (Kind::Group, groups.len())] {
        let count = count as u64;
        for (word, value) in super::liveness::all_live_words(count) {
            kv.set(&keys::live_word(kind, word), &int(value)).await?;
        }
        kv.set(&keys::seq_counter(kind), &int(count)).await?;
    }
    kv.set(keys::LAYOUT, b"2").await?;
    let old: Vec<String> = old.into_iter().cloned().collect();
    for chunk in old.chunks(500) {
        kv.delete_many(chunk).await?;
    }
    kv.set(LEASE_KEY, &int(0)).await
}

fn version_number(resource: &Map<String, Value>) -> u64 {
    resource
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .and_then(|v| v.trim_start_matches("W/").trim_matches('"').parse().ok())
        .unwrap_or(1)
}
