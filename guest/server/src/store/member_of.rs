//! The member's side of group membership (README "Storage model", invariants): `mo/{id}`, a
//! user's or group's member-of index — which groups hold it, with their display names (kept
//! current on renames), for `User.groups` without loading any group.
//!
//! Every change of a member's groups takes its version from the index (`n`) and is recorded
//! there as *pending* before the group's side is written ([`begin`]), then settled
//! ([`settle`]); deleting the member closes the index ([`close`]): no change can begin after
//! that, and every change that began before has a lower version than the close. The group's
//! side and the protocol that ties the two are in `members`.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cas::{self, Step};
use super::codec::Envelope;
use super::{Kind, keys};
use crate::kv::{Kv, StoreError};

/// One group in a member's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The group's sequence number (its member keys are keyed by it).
    pub(crate) s: u64,
    /// The group's displayName, as of `dv`.
    pub(crate) d: String,
    /// The group's display version.
    #[serde(default)]
    pub(crate) dv: u64,
    /// Whether the last change made this a membership.
    pub(crate) m: bool,
    /// That change's version.
    pub(crate) v: u64,
    /// Whether that change may not have reached the group's side yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) p: bool,
}

/// What `mo/{id}` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemberOf {
    /// False once the resource is being deleted: nothing can join it to a group any more.
    pub(crate) open: bool,
    /// What the resource is.
    pub(crate) kind: Kind,
    /// Its userName or displayName (a group's `members.display` when the client gives none).
    pub(crate) name: String,
    /// The last version handed out to a change of this index.
    pub(crate) n: u64,
    /// The groups, by group id.
    pub(crate) groups: BTreeMap<String, Entry>,
}

/// The largest a member-of index may grow (JSON bytes): every value stays well under the
/// smallest backend's limit (Cosmos, ~400 KB). About 2,000 groups with names of typical length.
pub(crate) const MAX_INDEX_BYTES: usize = 256 << 10;

impl MemberOf {
    /// Whether joining `group` keeps the index within [`MAX_INDEX_BYTES`] (always true when
    /// the index lists the group already).
    pub(crate) fn has_room_for(&self, group: &GroupRef) -> bool {
        if self.groups.contains_key(&group.id) {
            return true;
        }
        let entry = group.id.len() + group.display.len() + 96;
        serde_json::to_vec(self).is_ok_and(|b| b.len() + entry <= MAX_INDEX_BYTES)
    }

    /// The index of a new resource: no groups yet.
    pub(crate) fn new(kind: Kind, name: &str) -> Self {
        MemberOf {
            open: true,
            kind,
            name: name.to_string(),
            n: 0,
            groups: BTreeMap::new(),
        }
    }
}

/// A group as its member keys and its members' indexes need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupRef {
    /// Sequence number.
    pub(crate) seq: u64,
    /// Id.
    pub(crate) id: String,
    /// displayName.
    pub(crate) display: String,
    /// Display version.
    pub(crate) dv: u64,
}

/// Reads `id`'s index.
pub(crate) async fn index<K: Kv>(kv: &K, id: &str) -> Result<Option<MemberOf>, StoreError> {
    let key = keys::member_of(id);
    match kv.get(&key).await? {
        Some(bytes) => Ok(Some(Envelope::<MemberOf>::decode(&key, &bytes)?.d)),
        None => Ok(None),
    }
}

/// Reads many indexes, in the order of `ids`.
pub(crate) async fn indexes<K: Kv>(
    kv: &K,
    ids: &[String],
) -> Result<Vec<Option<MemberOf>>, StoreError> {
    let keys: Vec<String> = ids.iter().map(|id| keys::member_of(id)).collect();
    let values = kv.get_many(&keys).await?;
    keys.iter()
        .zip(values)
        .map(|(key, v)| {
            v.map(|b| Envelope::<MemberOf>::decode(key, &b).map(|e| e.d))
                .transpose()
        })
        .collect()
}

/// Writes the index of a new resource.
pub(crate) async fn create_index<K: Kv>(
    kv: &K,
    id: &str,
    kind: Kind,
    name: &str,
) -> Result<(), StoreError> {
    kv.set(
        &keys::member_of(id),
        &Envelope::first(MemberOf::new(kind, name)).encode()?,
    )
    .await
}

/// How a change of membership began.
pub(super) enum Begun {
    /// Recorded as pending with this version.
    Version(u64),
    /// The member has no open index: unknown, or being deleted.
    Gone,
    /// Joining would grow the member's index past [`MAX_INDEX_BYTES`].
    Full,
}

/// Records a pending change of `member`'s membership in `group` in its index.
pub(super) async fn begin<K: Kv>(
    kv: &K,
    group: &GroupRef,
    member: &str,
    join: bool,
) -> Result<Begun, StoreError> {
    cas::update_doc(kv, &keys::member_of(member), |index: Option<&MemberOf>| {
        let Some(index) = index.filter(|i| i.open) else {
            return Ok::<_, ()>(Step::Keep(Begun::Gone));
        };
        if join && !index.has_room_for(group) {
            return Ok(Step::Keep(Begun::Full));
        }
        let mut next = index.clone();
        next.n += 1;
        let (d, dv) = match index.groups.get(&group.id) {
            Some(e) if e.dv > group.dv => (e.d.clone(), e.dv),
            _ => (group.display.clone(), group.dv),
        };
        next.groups.insert(
            group.id.clone(),
            Entry {
                s: group.seq,
                d,
                dv,
                m: join,
                v: next.n,
                p: true,
            },
        );
        let version = next.n;
        Ok(Step::Write(next, Begun::Version(version)))
    })
    .await
    .map_err(cas::CasError::into_store_error)
}

/// Marks the index entry of change `version` as reflected on the group's side (dropping it when
/// it was a removal).
pub(super) async fn settle<K: Kv>(
    kv: &K,
    group_id: &str,
    member: &str,
    version: u64,
) -> Result<(), StoreError> {
    cas::update_doc(kv, &keys::member_of(member), |index: Option<&MemberOf>| {
        let Some(index) = index else {
            return Ok::<_, ()>(Step::Keep(()));
        };
        match index.groups.get(group_id) {
            Some(e) if e.v == version && e.p => {
                let mut next = index.clone();
                if e.m {
                    if let Some(e) = next.groups.get_mut(group_id) {
                        e.p = false;
                    }
                } else {
                    next.groups.remove(group_id);
                }
                Ok(Step::Write(next, ()))
            }
            _ => Ok(Step::Keep(())),
        }
    })
    .await
    .map_err(cas::CasError::into_store_error)
}

/// Closes `id`'s index for its delete and answers the groups to remove it from (pending
/// entries included) with the closing version, which is above every change that began before.
/// Idempotent: a second call answers the same.
pub(crate) async fn close<K: Kv>(
    kv: &K,
    id: &str,
) -> Result<Option<(u64, Vec<(String, Entry)>)>, StoreError> {
    cas::update_doc(kv, &keys::member_of(id), |index: Option<&MemberOf>| {
        let Some(index) = index else {
            return Ok::<_, ()>(Step::Keep(None));
        };
        let listed = |i: &MemberOf| {
            i.groups
                .iter()
                .filter(|(_, e)| e.m || e.p)
                .map(|(g, e)| (g.clone(), e.clone()))
                .collect::<Vec<_>>()
        };
        if !index.open {
            return Ok(Step::Keep(Some((index.n, listed(index)))));
        }
        let mut next = index.clone();
        next.open = false;
        next.n += 1;
        let answer = Some((next.n, listed(&next)));
        Ok(Step::Write(next, answer))
    })
    .await
    .map_err(cas::CasError::into_store_error)
}

/// Copies a group's new display into member `id`'s index (only ever moving forward in `dv`).
pub(crate) async fn rename_in_index<K: Kv>(
    kv: &K,
    group: &GroupRef,
    id: &str,
) -> Result<(), StoreError> {
    cas::update_doc(kv, &keys::member_of(id), |index: Option<&MemberOf>| {
        let Some(entry) = index.and_then(|i| i.groups.get(&group.id)) else {
            return Ok::<_, ()>(Step::Keep(()));
        };
        if entry.dv >= group.dv {
            return Ok(Step::Keep(()));
        }
        let mut next = index
            .cloned()
            .unwrap_or_else(|| MemberOf::new(Kind::User, ""));
        if let Some(e) = next.groups.get_mut(&group.id) {
            e.d = group.display.clone();
            e.dv = group.dv;
        }
        Ok(Step::Write(next, ()))
    })
    .await
    .map_err(cas::CasError::into_store_error)
}

/// Records a resource's new userName/displayName in its index (for later `members.display`).
pub(crate) async fn rename_member<K: Kv>(kv: &K, id: &str, name: &str) -> Result<(), StoreError> {
    cas::update_doc(
        kv,
        &keys::member_of(id),
        |index: Option<&MemberOf>| match index {
            Some(i) if i.name != name => {
                let mut next = i.clone();
                next.name = name.to_string();
                Ok::<_, ()>(Step::Write(next, ()))
            }
            _ => Ok(Step::Keep(())),
        },
    )
    .await
    .map_err(cas::CasError::into_store_error)
}
