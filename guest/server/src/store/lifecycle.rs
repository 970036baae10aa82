//! Creating and deleting resources across keys, crash-safe and race-free (README "Storage model",
//! invariants). Every step is ordered so that a stop after any write leaves data that is
//! consistent or that the next request touching it completes:
//! - **create**: sequence number → document (state `new`, invisible) → member-of index → name
//!   claim → externalId slot → liveness pair `pending → live` (the commit point) → state `live`.
//!   A create stopped before its commit is invisible, and its name can be taken over: a claim
//!   whose owner is still pending is aborted (`pending → dead`, which a late commit cannot undo).
//! - **delete**: state `deleting` (the intent) → memberships removed on both sides → liveness
//!   pair `live → dead` (the commit point) → name released, keys removed. Whoever finds a
//!   `deleting` document finishes the delete; the name of a dead resource can be taken over.
use scim_patch::json::get_ci;
use serde_json::Value;

use super::cas::{self, CasError, Step};
use super::liveness::{self, Already, Life};
use super::member_of::{self, GroupRef};
use super::members;
use super::resources::{self, DocState, ResourceDoc};
use super::{Kind, external_ids, ids, keys, names, versions};
use crate::kv::{Kv, StoreError};

/// Whether the resource at `seq` exists now, finishing whatever a stopped request left: a
/// committed create still marked `new` is marked `live`, a begun delete is completed. Returns
/// the document when the resource exists.
pub(crate) async fn visible<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
    doc: ResourceDoc,
) -> Result<Option<ResourceDoc>, StoreError> {
    let doc = match doc.s {
        DocState::Live => doc,
        DocState::New => match liveness::life(kv, kind, seq).await? {
            Life::Live => {
                mark_live(kv, kind, seq).await?;
                ResourceDoc {
                    s: DocState::Live,
                    ..doc
                }
            }
            Life::Pending | Life::Dead => return Ok(None),
        },
        DocState::Deleting => {
            finish_delete(kv, kind, seq).await?;
            return Ok(None);
        }
    };
    if doc.fan {
        finish_rename(kv, seq, &doc).await?;
    }
    Ok(Some(doc))
}

async fn mark_live<K: Kv>(kv: &K, kind: Kind, seq: u64) -> Result<(), StoreError> {
    cas::update_doc(
        kv,
        &keys::resource(kind, seq),
        |doc: Option<&ResourceDoc>| {
            Ok::<_, ()>(match doc {
                Some(d) if d.s == DocState::New => Step::Write(
                    ResourceDoc {
                        s: DocState::Live,
                        ..d.clone()
                    },
                    (),
                ),
                _ => Step::Keep(()),
            })
        },
    )
    .await
    .map_err(CasError::into_store_error)
}

/// Whether resource `seq` holds the claim on `lower_name`. A pending owner is aborted (so the
/// claim can be taken over); an owner mid-delete is finished. With `read_only`, nothing is
/// written: a pending or deleting owner just counts as not holding.
async fn holds<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
    lower_name: &str,
    read_only: bool,
) -> Result<bool, StoreError> {
    let Some(doc) = resources::read(kv, kind, seq).await? else {
        return Ok(false);
    };
    let live = match doc.s {
        DocState::Live => true,
        DocState::New => match liveness::life(kv, kind, seq).await? {
            Life::Live => true,
            Life::Dead => false,
            Life::Pending if read_only => false,
            Life::Pending => match liveness::abort(kv, kind, seq).await? {
                Ok(()) | Err(Already(Life::Dead)) => false,
                Err(Already(_)) => true,
            },
        },
        DocState::Deleting if read_only => false,
        DocState::Deleting => {
            finish_delete(kv, kind, seq).await?;
            false
        }
    };
    Ok(live && doc.lower_name(kind).as_deref() == Some(lower_name))
}

/// Whether some live resource other than `seq` holds `lower_name`, without writing anything.
pub(crate) async fn taken_by_other<K: Kv>(
    kv: &K,
    kind: Kind,
    lower_name: &str,
    seq: u64,
) -> Result<bool, StoreError> {
    let owner = names::owner(kv, kind, lower_name).await?;
    Ok(owner != 0 && owner != seq && holds(kv, kind, owner, lower_name, true).await?)
}

/// Claims `lower_name` for `seq`, taking it over from an owner that no longer holds it. False
/// when a live resource holds it.
pub(crate) async fn claim<K: Kv>(
    kv: &K,
    kind: Kind,
    lower_name: &str,
    seq: u64,
) -> Result<bool, StoreError> {
    for attempt in 0..cas::ATTEMPTS {
        let owner = names::owner(kv, kind, lower_name).await?;
        if owner == seq {
            return Ok(true);
        }
        if owner != 0 && holds(kv, kind, owner, lower_name, false).await? {
            return Ok(false);
        }
        if names::take(kv, kind, lower_name, owner, seq).await? {
            return Ok(true);
        }
        kv.pause(cas::backoff(attempt)).await;
    }
    Err(StoreError(format!(
        "the claim on {lower_name:?} kept changing"
    )))
}

/// What a create produced.
pub(crate) enum Created {
    /// The resource exists: its id.
    Live(String),
    /// A live resource holds the name.
    NameTaken,
}

/// Creates a resource whose attributes are `doc.res` (without `id`, which is assigned here and
/// written into `res`). The name must have been checked with [`taken_by_other`] first, so that a
/// refused create normally writes nothing; one that loses a race to the name cleans up after
/// itself.
pub(crate) async fn create<K: Kv>(
    kv: &K,
    kind: Kind,
    mut doc: ResourceDoc,
    fill: impl FnOnce(&str, &mut serde_json::Map<String, Value>),
) -> Result<Created, StoreError> {
    let seq = u64::try_from(kv.increment(&keys::seq_counter(kind), 1).await?)
        .ok()
        .filter(|s| (1..=ids::MAX_SEQ).contains(s))
        .ok_or_else(|| StoreError("the sequence counter is out of range".into()))?;
    let id = ids::new_id(seq);
    fill(&id, &mut doc.res);
    doc.id.clone_from(&id);
    doc.s = DocState::New;
    let name = doc.unique_name(kind).unwrap_or_default().to_string();
    let lower = name.to_lowercase();
    let external_id = doc.external_id().map(str::to_string);
    resources::write_new(kv, kind, seq, doc).await?;
    member_of::create_index(kv, &id, kind, &name).await?;
    if !claim(kv, kind, &lower, seq).await? {
        discard(kv, kind, seq, &id).await?;
        return Ok(Created::NameTaken);
    }
    if let Some(external_id) = external_id {
        external_ids::add(kv, kind, &external_id, seq).await?;
    }
    if kind == Kind::Group {
        versions::create(kv, seq).await?;
    }
    match liveness::commit(kv, kind, seq).await? {
        Ok(()) => {}
        Err(Already(_)) => {
            // Aborted by a create of the same name that found us pending: it owns the name now.
            discard(kv, kind, seq, &id).await?;
            return Ok(Created::NameTaken);
        }
    }
    mark_live(kv, kind, seq).await?;
    Ok(Created::Live(id))
}

/// Removes what a create that did not commit wrote (its pair is pending or dead: invisible).
async fn discard<K: Kv>(kv: &K, kind: Kind, seq: u64, id: &str) -> Result<(), StoreError> {
    if let Ok(()) | Err(Already(Life::Dead)) = liveness::abort(kv, kind, seq).await? {
        kv.delete_many(&[keys::resource(kind, seq), keys::member_of(id)])
            .await?;
    }
    Ok(())
}

/// Why a delete did not begin.
#[derive(Debug)]
pub(crate) enum DeleteRefused<E> {
    /// Not there (or not visible).
    Missing,
    /// The caller's check refused (If-Match, a read-only user).
    Check(E),
}

/// Deletes the resource at `seq` after `check` accepts its current document.
pub(crate) async fn delete<K: Kv, E: std::fmt::Debug>(
    kv: &K,
    kind: Kind,
    seq: u64,
    check: impl Fn(&ResourceDoc) -> Result<(), E>,
) -> Result<Result<(), DeleteRefused<E>>, StoreError> {
    let begun = cas::update_doc(
        kv,
        &keys::resource(kind, seq),
        |doc: Option<&ResourceDoc>| match doc {
            Some(d) if d.s == DocState::Live => {
                check(d).map_err(DeleteRefused::Check)?;
                Ok(Step::Write(
                    ResourceDoc {
                        s: DocState::Deleting,
                        ..d.clone()
                    },
                    (),
                ))
            }
            _ => Err(DeleteRefused::Missing),
        },
    )
    .await;
    match begun {
        Ok(()) => {}
        Err(CasError::Refused(refused)) => return Ok(Err(refused)),
        Err(other) => return Err(other.into_store_error()),
    }
    finish_delete(kv, kind, seq).await?;
    Ok(Ok(()))
}

/// Completes a begun delete (idempotent; any request may call it on a `deleting` document).
pub(crate) async fn finish_delete<K: Kv>(kv: &K, kind: Kind, seq: u64) -> Result<(), StoreError> {
    let Some(doc) = resources::read(kv, kind, seq).await? else {
        return Ok(());
    };
    detach(kv, kind, seq, &doc).await?;
    match liveness::kill(kv, kind, seq).await? {
        Ok(()) | Err(Already(Life::Dead)) => {}
        Err(Already(life)) => {
            return Err(StoreError(format!(
                "cannot finish deleting {}: it is {life:?}",
                doc.id
            )));
        }
    }
    if let Some(lower) = doc.lower_name(kind) {
        names::release(kv, kind, &lower, seq).await?;
    }
    if kind == Kind::Group {
        let keys = members::keys_of_group(kv, seq).await?;
        for chunk in keys.chunks(500) {
            kv.delete_many(chunk).await?;
        }
    }
    kv.delete_many(&[keys::member_of(&doc.id), keys::resource(kind, seq)])
        .await
}

/// Takes a resource being deleted out of every group (and, for a group, every member out of it).
async fn detach<K: Kv>(kv: &K, kind: Kind, seq: u64, doc: &ResourceDoc) -> Result<(), StoreError> {
    if let Some((version, groups)) = member_of::close(kv, &doc.id).await? {
        for (_, entry) in groups {
            members::expel(kv, entry.s, &doc.id, version).await?;
            versions::step(kv, entry.s, None).await?;
        }
    }
    if kind == Kind::Group {
        let group = group_ref(seq, doc);
        for member in members::all(kv, seq).await? {
            members::remove(kv, &group, &member.id).await?;
        }
    }
    Ok(())
}

/// The group at `seq` as its member keys need it.
pub(crate) fn group_ref(seq: u64, doc: &ResourceDoc) -> GroupRef {
    GroupRef {
        seq,
        id: doc.id.clone(),
        display: get_ci(&doc.res, "displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        dv: doc.dv,
    }
}

/// Copies a renamed group's display into every member's index, then clears the intent.
pub(crate) async fn finish_rename<K: Kv>(
    kv: &K,
    seq: u64,
    doc: &ResourceDoc,
) -> Result<(), StoreError> {
    let group = group_ref(seq, doc);
    for member in members::all(kv, seq).await? {
        member_of::rename_in_index(kv, &group, &member.id).await?;
    }
    let dv = doc.dv;
    cas::update_doc(
        kv,
        &keys::resource(Kind::Group, seq),
        |current: Option<&ResourceDoc>| {
            Ok::<_, ()>(match current {
                Some(d) if d.fan && d.dv == dv => Step::Write(
                    ResourceDoc {
                        fan: false,
                        ..d.clone()
                    },
                    (),
                ),
                _ => Step::Keep(()),
            })
        },
    )
    .await
    .map_err(CasError::into_store_error)
}
