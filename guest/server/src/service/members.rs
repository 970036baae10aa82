//! A group's members in a PATCH or PUT (RFC 7644 §3.5.2 on `members`), without loading the
//! group's other members. The engine stays the one judge of PATCH semantics: it applies the
//! request to the group's document plus the members the request can touch — the ids it names
//! (`add` values, `members[value eq "id"]` filters, Entra's remove-by-value list), or every
//! member when it cannot say (`replace members`, other filters) — and the difference between
//! those members before and after is written to the member keys, O(k) for k members named.
//! Members that do not exist are skipped in the compatible profile (logged) and refused in the
//! strict one; a member added without `display` gets the member's userName or displayName.
use std::collections::{BTreeMap, BTreeSet};

use scim_patch::json::get_ci;
use scim_patch::{Profile, ScimError, ScimType};
use serde_json::{Map, Value};

use super::member_scope::{Scope, scope};
use super::rewrite::Rewrite;
use super::{Failure, Outcome, Service, body, preconditions};
use crate::http::{Request, Response, error};
use crate::kv::Kv;
use crate::project::Projection;
use crate::store::{Added, GroupRef, Loaded, MAX_INDEX_BYTES, Member, Store};

/// A member as a request names it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wanted {
    pub(crate) id: String,
    pub(crate) display: Option<String>,
}

/// The members of a validated `members` value (the engine has checked their shape).
pub(crate) fn listed(members: Option<Value>) -> Vec<Wanted> {
    let Some(Value::Array(items)) = members else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    items
        .iter()
        .filter_map(|m| {
            let id = get_ci(m.as_object()?, "value")?.as_str()?.to_string();
            let display = m
                .as_object()
                .and_then(|o| get_ci(o, "display"))
                .and_then(Value::as_str)
                .map(str::to_string);
            seen.insert(id.clone()).then_some(Wanted { id, display })
        })
        .collect()
}

/// Members to add, checked against the store.
pub(crate) struct Resolved {
    pub(crate) known: Vec<Member>,
}

fn unknown_members(ids: &[String]) -> Failure {
    Failure::Scim(ScimError::bad_request(
        ScimType::InvalidValue,
        format!(
            "no user or group of this service has the id {}",
            ids.iter()
                .map(|i| format!("\"{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

impl<K: Kv> Service<'_, K> {
    /// Checks `wanted` against the store: members that exist, with their kind and a display
    /// (the given one, else their name). Unknown ids (and the group itself) are refused in the
    /// strict profile and skipped in the compatible one.
    pub(crate) async fn resolve_members(
        &self,
        wanted: &[Wanted],
        group: Option<&GroupRef>,
    ) -> Result<Resolved, Failure> {
        let ids: Vec<String> = wanted.iter().map(|w| w.id.clone()).collect();
        let indexes = self.store.indexes(&ids).await?;
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        let mut full = Vec::new();
        let group_id = group.map(|g| g.id.as_str());
        for (w, index) in wanted.iter().zip(indexes) {
            match index.filter(|i| i.open && Some(w.id.as_str()) != group_id) {
                Some(index) if group.is_some_and(|g| !index.has_room_for(g)) => {
                    full.push(w.id.clone());
                }
                Some(index) => known.push(Member {
                    id: w.id.clone(),
                    kind: index.kind,
                    display: w.display.clone().or_else(|| Some(index.name.clone())),
                }),
                None => unknown.push(w.id.clone()),
            }
        }
        if !full.is_empty() {
            return Err(Failure::Scim(ScimError::invalid_value(format!(
                "{} belong(s) to too many groups: a member's groups must fit {} KiB",
                full.join(", "),
                MAX_INDEX_BYTES >> 10
            ))));
        }
        if !unknown.is_empty() {
            if self.engine.config().profile == Profile::Strict {
                return Err(unknown_members(&unknown));
            }
            eprintln!(
                "scim-spin: skipped {} member id(s) that name no user or group: {}",
                unknown.len(),
                unknown.join(", ")
            );
        }
        Ok(Resolved { known })
    }

    /// Writes member changes: `adds` (new members, or new displays) and `removes`. The group's
    /// version is the caller's to step ([`Service::end_group_write`]).
    pub(crate) async fn apply_member_changes(
        &self,
        group: &GroupRef,
        adds: &[Member],
        removes: &[String],
    ) -> Result<(), Failure> {
        for id in removes {
            self.store.remove_member(group, id).await?;
        }
        for member in adds {
            match self.store.add_member(group, member).await? {
                Added::Joined => {}
                Added::Gone => eprintln!(
                    "scim-spin: member {} of group {} was deleted meanwhile; skipped",
                    member.id, group.id
                ),
                Added::Full => eprintln!(
                    "scim-spin: member {} joined too many groups meanwhile; not added to {}",
                    member.id, group.id
                ),
            }
        }
        Ok(())
    }

    /// Makes `wanted` the group's whole member list (PUT).
    pub(crate) async fn replace_members(
        &self,
        group: &Loaded,
        wanted: &[Wanted],
    ) -> Result<(), Failure> {
        let resolved = self
            .resolve_members(wanted, Some(&Store::<K>::group_ref(group)))
            .await?;
        let before = self.store.members(group.seq).await?;
        let (adds, removes) = diff(&before, &resolved.known);
        self.apply_member_changes(&Store::<K>::group_ref(group), &adds, &removes)
            .await
    }

    /// Starts a group write that has been validated: with If-Match, steps the group's version
    /// from exactly the one the client names (or answers 412) — the write's one version step.
    /// True when it did.
    pub(crate) async fn claim_group_version(
        &self,
        group: &Loaded,
        request: &Request,
    ) -> Result<bool, Failure> {
        if preconditions::if_match(request).is_none() {
            return Ok(false);
        }
        let version = self.store.group_version(group.seq).await?.number;
        preconditions::check_if_match(request, version)?;
        if !self
            .store
            .step_group_version(group.seq, Some(version))
            .await?
        {
            return Err(Failure::Scim(error(
                412,
                "the group changed while this request was applied; read it again",
            )));
        }
        Ok(true)
    }

    /// Ends a group write: its one version step, unless If-Match took it already.
    pub(crate) async fn end_group_write(&self, seq: u64, claimed: bool) -> Result<(), Failure> {
        if !claimed {
            self.store.step_group_version(seq, None).await?;
        }
        Ok(())
    }

    /// PATCH /Groups/{id}.
    pub(crate) async fn patch_group(
        &self,
        group: &Loaded,
        patch: Value,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let config = self.engine.config();
        let parsed = scim_patch::request::parse(patch.clone(), config.profile, &config.limits)?;
        let before = match scope(&parsed) {
            Scope::All => self.store.members(group.seq).await?,
            Scope::Ids(ids) => {
                let ids: Vec<String> = ids.into_iter().collect();
                self.store.members_among(group.seq, &ids).await?
            }
        };
        let with_members = |res: &Map<String, Value>| {
            let mut doc = res.clone();
            if !before.is_empty() {
                let values = before
                    .iter()
                    .map(|m| self.member_value(m))
                    .map(strip_ref)
                    .collect();
                doc.insert("members".into(), Value::Array(values));
            }
            Value::Object(doc)
        };
        let patched = self
            .engine
            .apply_owned(with_members(&group.doc.res), patch.clone())?;
        let Value::Object(mut patched) = patched else {
            return Err(Failure::Internal("the engine returned a non-object".into()));
        };
        let after = listed(patched.shift_remove("members"));
        let resolved = self
            .resolve_members(
                &added_or_changed(&before, &after),
                Some(&Store::<K>::group_ref(group)),
            )
            .await?;
        let removes: Vec<String> = before
            .iter()
            .filter(|m| !after.iter().any(|w| w.id == m.id))
            .map(|m| m.id.clone())
            .collect();
        let attributes_changed = without_meta(&patched) != without_meta(&group.doc.res);
        // Everything is validated: from here on the request writes.
        let claimed = self.claim_group_version(group, request).await?;
        let mut current = group.clone();
        if attributes_changed {
            let mut hashes = body::SecretCache::default();
            current = self
                .rewrite(group.kind, (group.seq, &group.doc.id), None, |doc| {
                    let patched = self
                        .engine
                        .apply_owned(with_members(&doc.res), patch.clone())?;
                    let Value::Object(mut res) = patched else {
                        return Ok(None);
                    };
                    res.shift_remove("members");
                    let mut sec = doc.sec.clone();
                    sec.extend(hashes.take_secrets(self.engine, &mut res)?);
                    Ok(Some(Rewrite { res, sec }))
                })
                .await?;
        }
        self.apply_member_changes(&Store::<K>::group_ref(&current), &resolved.known, &removes)
            .await?;
        self.end_group_write(group.seq, claimed).await?;
        let projection = Projection::from_params(params);
        if projection.is_requested() {
            return self.respond(200, &current, &projection).await;
        }
        let version = self.store.group_version(group.seq).await?.number;
        Ok(Response::empty(204).with_header("etag", preconditions::etag(version)))
    }
}

/// The members of `after` that are new or changed (display) relative to `before`.
fn added_or_changed(before: &[Member], after: &[Wanted]) -> Vec<Wanted> {
    after
        .iter()
        .filter(|w| {
            !before
                .iter()
                .any(|m| m.id == w.id && (w.display.is_none() || m.display == w.display))
        })
        .cloned()
        .collect()
}

/// Adds and removes that turn `before` into `after`.
fn diff(before: &[Member], after: &[Member]) -> (Vec<Member>, Vec<String>) {
    let old: BTreeMap<&str, &Member> = before.iter().map(|m| (m.id.as_str(), m)).collect();
    let new: BTreeSet<&str> = after.iter().map(|m| m.id.as_str()).collect();
    let adds = after
        .iter()
        .filter(|m| {
            old.get(m.id.as_str())
                .is_none_or(|o| o.display != m.display)
        })
        .cloned()
        .collect();
    let removes = before
        .iter()
        .filter(|m| !new.contains(m.id.as_str()))
        .map(|m| m.id.clone())
        .collect();
    (adds, removes)
}

fn strip_ref(mut value: Value) -> Value {
    if let Value::Object(o) = &mut value {
        o.shift_remove("$ref");
    }
    value
}

fn without_meta(res: &Map<String, Value>) -> Map<String, Value> {
    let mut res = res.clone();
    res.shift_remove("meta");
    res
}
