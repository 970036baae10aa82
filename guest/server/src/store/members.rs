//! Group membership across keys, both sides (README "Storage model", invariants):
//! - the group's side, the truth: `gm/{group}/{member}`, a counter packing the member's slot, the
//!   version of the last change and whether it is present; `gs/{group}/{k}` slots give the order
//!   (and each member's type and display); `gq/{group}` counts slots handed out;
//! - the member's side, an index: `mo/{member}` lists the groups holding the member, with their
//!   display names (kept current on renames), for `User.groups` without loading any group.
//!
//! A change of member `x` in group `g` takes its version from `x`'s index (`mo.n`), records
//! itself there as *pending* first, then writes the group's side (only moving forward in
//! version), then settles the index entry. A reader of the index trusts settled entries and
//! checks pending ones against the group's side, so at every point — and after a crash at any
//! point — both sides agree. Deleting `x` closes its index (no add can start after that) and
//! removes it from every group listed, pending entries included, with a version above every
//! change that took one before.
use serde::{Deserialize, Serialize};

use super::cas::{self, Step};
use super::liveness::{self, Life};
use super::member_of::{self, Begun, Entry, GroupRef, MemberOf};
use super::{Kind, keys};
use crate::kv::{Kv, StoreError};

/// A member as a group lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    #[serde(rename = "v")]
    pub id: String,
    /// `User` or `Group`.
    #[serde(rename = "t")]
    pub kind: Kind,
    /// `display`.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A member's state in one group, as packed in its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    slot: u64,
    version: u64,
    present: bool,
}

/// Versions and slots each get 31 bits of the counter (2^31 changes of one resource's groups).
const FIELD: u64 = (1 << 31) - 1;

impl State {
    fn unpack(value: i64) -> State {
        let value = value.max(0) as u64;
        State {
            slot: (value >> 32) & FIELD,
            version: (value >> 1) & FIELD,
            present: value & 1 == 1,
        }
    }
    fn pack(self) -> i64 {
        (((self.slot & FIELD) << 32) | ((self.version & FIELD) << 1) | u64::from(self.present))
            as i64
    }
}

/// Writes the group's side of change `version`: present or not, allocating a slot for a first
/// membership. A state already at `version` or later stays (a newer change won).
async fn write_state<K: Kv>(
    kv: &K,
    group_seq: u64,
    member: &Member,
    version: u64,
    present: bool,
) -> Result<(), StoreError> {
    if version > FIELD {
        return Err(StoreError(format!(
            "member {} has changed groups too often",
            member.id
        )));
    }
    let key = keys::member_state(group_seq, &member.id);
    let seen = State::unpack(cas::read_counter(kv, &key).await?);
    let mut slot = seen.slot;
    if present {
        if slot == 0 {
            slot = u64::try_from(kv.increment(&keys::member_counter(group_seq), 1).await?)
                .map_err(|_| StoreError("member slot counter is negative".into()))?;
        }
        let value = serde_json::to_vec(member)
            .map_err(|e| StoreError(format!("cannot encode a member: {e}")))?;
        kv.set(&keys::member_slot(group_seq, slot), &value).await?;
    }
    cas::update_counter(
        kv,
        &key,
        |current| {
            let now = State::unpack(current);
            if now.version >= version {
                return Ok::<_, ()>(Step::Keep(()));
            }
            // A slot set meanwhile by another change of this member wins over ours.
            let slot = if now.slot != 0 { now.slot } else { slot };
            Ok(Step::Write(
                State {
                    slot,
                    version,
                    present,
                }
                .pack(),
                (),
            ))
        },
        |read_back| State::unpack(read_back).version >= version,
    )
    .await
    .map_err(cas::CasError::into_store_error)
}

/// What adding a member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// It is a member now.
    Joined,
    /// It does not exist (or is being deleted).
    Gone,
    /// It is in so many groups that its index has no room for another.
    Full,
}

/// Adds `member` to `group` (its `display` as given).
pub(crate) async fn add<K: Kv>(
    kv: &K,
    group: &GroupRef,
    member: &Member,
) -> Result<Added, StoreError> {
    let version = match member_of::begin(kv, group, &member.id, true).await? {
        Begun::Version(v) => v,
        Begun::Gone => return Ok(Added::Gone),
        Begun::Full => return Ok(Added::Full),
    };
    write_state(kv, group.seq, member, version, true).await?;
    member_of::settle(kv, &group.id, &member.id, version).await?;
    Ok(Added::Joined)
}

/// Removes member `id` from `group` (a no-op when it is not a member).
pub(crate) async fn remove<K: Kv>(kv: &K, group: &GroupRef, id: &str) -> Result<(), StoreError> {
    let member = Member {
        id: id.to_string(),
        kind: Kind::User,
        display: None,
    };
    match member_of::begin(kv, group, id, false).await? {
        Begun::Version(version) => {
            write_state(kv, group.seq, &member, version, false).await?;
            member_of::settle(kv, &group.id, id, version).await
        }
        // No open index: the member is gone or going; its delete removes it from the group, but
        // a group side without any index (left by an older bug) is cleared here for good.
        Begun::Gone | Begun::Full => match member_of::index(kv, id).await? {
            None => write_state(kv, group.seq, &member, FIELD, false).await,
            Some(_) => Ok(()),
        },
    }
}

/// Takes closed member `id` out of group `group_seq` at the closing `version`.
pub(crate) async fn expel<K: Kv>(
    kv: &K,
    group_seq: u64,
    id: &str,
    version: u64,
) -> Result<(), StoreError> {
    let member = Member {
        id: id.to_string(),
        kind: Kind::User,
        display: None,
    };
    write_state(kv, group_seq, &member, version, false).await
}

/// The groups `index` says hold its member, checked: only groups that exist, settled entries as
/// they are, pending ones against the group's side. (group id, entry) pairs in group-id order.
pub(crate) async fn groups_of<K: Kv>(
    kv: &K,
    id: &str,
    index: &MemberOf,
) -> Result<Vec<(String, Entry)>, StoreError> {
    let entries: Vec<(&String, &Entry)> = index.groups.iter().filter(|(_, e)| e.m || e.p).collect();
    let mut keys = Vec::with_capacity(2 * entries.len());
    let mut shifts = Vec::with_capacity(entries.len());
    for (_, e) in &entries {
        let (key, shift) = liveness::word_of(Kind::Group, e.s);
        keys.push(key);
        shifts.push(shift);
        keys.push(keys::member_state(e.s, id));
    }
    let values = cas::read_counters(kv, &keys).await?;
    Ok(entries
        .into_iter()
        .zip(shifts)
        .zip(values.chunks(2))
        .filter(|(((_, e), shift), pair)| {
            let group_live = liveness::life_at(pair[0], *shift) == Life::Live;
            let member = if e.p {
                State::unpack(pair[1]).present
            } else {
                e.m
            };
            group_live && member
        })
        .map(|(((g, e), _), _)| (g.clone(), e.clone()))
        .collect())
}

/// Slots read per `get_many` when listing a group.
const SLOTS_PER_READ: usize = 500;

/// The members of group `group_seq` among `ids`, in slot order.
pub(crate) async fn some<K: Kv>(
    kv: &K,
    group_seq: u64,
    ids: &[String],
) -> Result<Vec<Member>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(SLOTS_PER_READ) {
        let keys: Vec<String> = chunk
            .iter()
            .map(|id| keys::member_state(group_seq, id))
            .collect();
        let states = cas::read_counters(kv, &keys).await?;
        let slots: Vec<u64> = states
            .into_iter()
            .map(State::unpack)
            .filter(|s| s.present && s.slot != 0)
            .map(|s| s.slot)
            .collect();
        found.extend(read_slots(kv, group_seq, &slots, false).await?);
    }
    found.sort_by_key(|(slot, _)| *slot);
    Ok(found.into_iter().map(|(_, m)| m).collect())
}

/// Every member of group `group_seq`, in slot order (the order members were first added).
pub(crate) async fn all<K: Kv>(kv: &K, group_seq: u64) -> Result<Vec<Member>, StoreError> {
    let slots = cas::read_counter(kv, &keys::member_counter(group_seq)).await?;
    let slots: Vec<u64> = (1..=u64::try_from(slots).unwrap_or(0)).collect();
    let mut members = Vec::new();
    for chunk in slots.chunks(SLOTS_PER_READ) {
        members.extend(
            read_slots(kv, group_seq, chunk, true)
                .await?
                .into_iter()
                .map(|(_, m)| m),
        );
    }
    Ok(members)
}

/// Reads `slots` of a group; with `check`, keeps only those whose member's state is present and
/// points at that very slot (a slot handed out twice to one member, or since vacated, is not).
async fn read_slots<K: Kv>(
    kv: &K,
    group_seq: u64,
    slots: &[u64],
    check: bool,
) -> Result<Vec<(u64, Member)>, StoreError> {
    let keys: Vec<String> = slots
        .iter()
        .map(|k| keys::member_slot(group_seq, *k))
        .collect();
    let mut members = Vec::with_capacity(slots.len());
    for ((slot, key), value) in slots.iter().zip(&keys).zip(kv.get_many(&keys).await?) {
        let Some(bytes) = value else { continue };
        let member: Member = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError(format!("{key} holds a corrupt member: {e}")))?;
        members.push((*slot, member));
    }
    if !check {
        return Ok(members);
    }
    let state_keys: Vec<String> = members
        .iter()
        .map(|(_, m)| keys::member_state(group_seq, &m.id))
        .collect();
    let states = cas::read_counters(kv, &state_keys).await?;
    Ok(members
        .into_iter()
        .zip(states)
        .filter(|((slot, _), state)| {
            let state = State::unpack(*state);
            state.present && state.slot == *slot
        })
        .map(|(m, _)| m)
        .collect())
}

/// Every key of group `group_seq`'s membership (for the clean-up after its delete).
pub(crate) async fn keys_of_group<K: Kv>(
    kv: &K,
    group_seq: u64,
) -> Result<Vec<String>, StoreError> {
    let slots = cas::read_counter(kv, &keys::member_counter(group_seq)).await?;
    let slots: Vec<u64> = (1..=u64::try_from(slots).unwrap_or(0)).collect();
    let mut out = Vec::new();
    for chunk in slots.chunks(SLOTS_PER_READ) {
        for (slot, member) in read_slots(kv, group_seq, chunk, false).await? {
            out.push(keys::member_state(group_seq, &member.id));
            out.push(keys::member_slot(group_seq, slot));
        }
    }
    out.push(keys::member_counter(group_seq));
    out.push(keys::group_version(group_seq));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_pack_and_unpack() {
        for state in [
            State {
                slot: 0,
                version: 0,
                present: false,
            },
            State {
                slot: 7,
                version: 123_456,
                present: true,
            },
            State {
                slot: FIELD,
                version: FIELD,
                present: true,
            },
        ] {
            assert_eq!(State::unpack(state.pack()), state);
            assert!(state.pack() >= 0);
        }
    }
}
