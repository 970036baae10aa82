//! Storage model v2 on Spin key-value (README "Storage model"): resources, names, externalIds,
//! liveness and group membership each in keys of their own, so that lookups, pages and member
//! changes cost O(1) or O(k) key-value operations whatever the directory's size, and every
//! multi-key change is crash-safe and race-free (the invariants are in `lifecycle` and
//! `members`). No request lists keys; the one-time v1 migration does (`migrate`).
//!
//! The service talks to [`Store`]; the submodules are the layout's parts:
//! `keys` (the key families), `codec` (counters and write-id envelopes), `cas` (verified
//! read-modify-write), `ids`, `liveness`, `names`, `external_ids`, `resources`, `member_of` and `members`,
//! `lifecycle` (create/delete), `migrate`.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod cas;
mod codec;
mod external_ids;
mod ids;
mod keys;
mod lifecycle;
mod liveness;
mod member_of;
mod members;
mod migrate;
mod names;
mod resources;
mod versions;

pub(crate) use cas::Pending;
pub(crate) use lifecycle::{Created, DeleteRefused};
pub(crate) use member_of::{Entry, GroupRef, MAX_INDEX_BYTES, MemberOf};
pub(crate) use members::{Added, Member};
pub(crate) use migrate::Scrub;
pub(crate) use resources::{DocState, ResourceDoc};
pub(crate) use versions::GroupVersion;

use crate::kv::{Kv, StoreError};

/// The two resource types this service stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `/Users`
    User,
    /// `/Groups`
    Group,
}

impl Kind {
    /// `User` / `Group`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }
    /// `Users` / `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
    /// The core schema URN.
    pub fn schema(self) -> &'static str {
        match self {
            Kind::User => scim_patch::schema::CORE_USER,
            Kind::Group => scim_patch::schema::CORE_GROUP,
        }
    }
    /// The attribute that must be unique (case-insensitively).
    pub fn unique_attribute(self) -> &'static str {
        match self {
            Kind::User => "userName",
            Kind::Group => "displayName",
        }
    }
    /// The 404 detail.
    pub fn not_found(self) -> &'static str {
        match self {
            Kind::User => "The specified user does not exist.",
            Kind::Group => "The specified group does not exist.",
        }
    }
    /// The one-letter tag in keys.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Kind::User => "U",
            Kind::Group => "G",
        }
    }
}

/// A resource that exists, as loaded.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) kind: Kind,
    pub(crate) seq: u64,
    pub(crate) doc: ResourceDoc,
}

/// Attempts of an update before the client gets a 409 (with backoff between them).
pub(crate) const UPDATE_ATTEMPTS: u32 = cas::ATTEMPTS;

/// A resource document read for an update (PUT, PATCH): swap it with [`Store::finish_update`].
pub(crate) type Update<K> = Pending<ResourceDoc, <K as Kv>::Swap>;

/// Typed access to the store.
pub(crate) struct Store<'k, K: Kv> {
    kv: &'k K,
}

impl<'k, K: Kv> Store<'k, K> {
    /// The store over `kv`, migrated to layout v2 first if it is a v1 store (unless `checked`
    /// says this instance has seen it in layout v2 already; it is set once it has). `scrub`
    /// takes write-only values out of a resource (hashing them), for v1 documents that hold
    /// them.
    pub(crate) async fn open(
        kv: &'k K,
        scrub: Scrub<'_>,
        checked: &std::sync::atomic::AtomicBool,
    ) -> Result<Self, StoreError> {
        use std::sync::atomic::Ordering;
        if !checked.load(Ordering::Relaxed) {
            migrate::ensure(kv, scrub).await?;
            checked.store(true, Ordering::Relaxed);
        }
        Ok(Store { kv })
    }

    /// The resource `id` of `kind`, if it exists (finishing what a stopped request left).
    pub(crate) async fn load(&self, kind: Kind, id: &str) -> Result<Option<Loaded>, StoreError> {
        let Some((seq, doc)) = resources::read_for(self.kv, kind, id).await? else {
            return Ok(None);
        };
        Ok(lifecycle::visible(self.kv, kind, seq, doc)
            .await?
            .map(|doc| Loaded { kind, seq, doc }))
    }

    /// The sequence number behind `id` (the document is not read, so the resource may not
    /// exist: an update checks).
    pub(crate) async fn locate(&self, kind: Kind, id: &str) -> Result<Option<u64>, StoreError> {
        resources::seq_for(self.kv, kind, id).await
    }

    /// The resources at `seqs` that exist, in order.
    pub(crate) async fn load_seqs(
        &self,
        kind: Kind,
        seqs: &[u64],
    ) -> Result<Vec<Loaded>, StoreError> {
        let mut out = Vec::with_capacity(seqs.len());
        for (seq, doc) in seqs
            .iter()
            .zip(resources::read_many(self.kv, kind, seqs).await?)
        {
            if let Some(doc) = doc
                && let Some(doc) = lifecycle::visible(self.kv, kind, *seq, doc).await?
            {
                out.push(Loaded {
                    kind,
                    seq: *seq,
                    doc,
                });
            }
        }
        Ok(out)
    }

    /// Every live sequence number of `kind`, ascending (no document is read).
    pub(crate) async fn live_seqs(&self, kind: Kind) -> Result<Vec<u64>, StoreError> {
        let max = cas::read_counter(self.kv, &keys::seq_counter(kind)).await?;
        liveness::live_seqs(self.kv, kind, u64::try_from(max).unwrap_or(0)).await
    }

    /// The resource holding the unique name `name` (case-insensitive), if any.
    pub(crate) async fn find_by_name(
        &self,
        kind: Kind,
        name: &str,
    ) -> Result<Option<Loaded>, StoreError> {
        let lower = name.to_lowercase();
        let owner = names::owner(self.kv, kind, &lower).await?;
        if owner == 0 {
            return Ok(None);
        }
        Ok(self
            .load_seqs(kind, &[owner])
            .await?
            .into_iter()
            .find(|l| l.doc.lower_name(kind).as_deref() == Some(lower.as_str())))
    }

    /// The resources whose externalId is exactly `external_id`.
    pub(crate) async fn find_by_external_id(
        &self,
        kind: Kind,
        external_id: &str,
    ) -> Result<Vec<Loaded>, StoreError> {
        let seqs = external_ids::candidates(self.kv, kind, external_id).await?;
        let mut found = self.load_seqs(kind, &seqs).await?;
        found.retain(|l| l.doc.external_id() == Some(external_id));
        Ok(found)
    }

    /// Whether a live resource other than `seq` holds `name` (writes nothing).
    pub(crate) async fn name_taken(
        &self,
        kind: Kind,
        name: &str,
        seq: u64,
    ) -> Result<bool, StoreError> {
        lifecycle::taken_by_other(self.kv, kind, &name.to_lowercase(), seq).await
    }

    /// Claims `name` for `seq` (taking it over from an owner that no longer holds it).
    pub(crate) async fn claim_name(
        &self,
        kind: Kind,
        name: &str,
        seq: u64,
    ) -> Result<bool, StoreError> {
        lifecycle::claim(self.kv, kind, &name.to_lowercase(), seq).await
    }

    /// Frees `name` if `seq` holds it.
    pub(crate) async fn release_name(
        &self,
        kind: Kind,
        name: &str,
        seq: u64,
    ) -> Result<(), StoreError> {
        names::release(self.kv, kind, &name.to_lowercase(), seq).await
    }

    /// Creates a resource from `res` and `sec`; `fill` writes the new id (and the meta that
    /// depends on it) into the attributes before they are stored.
    pub(crate) async fn create(
        &self,
        kind: Kind,
        res: Map<String, Value>,
        sec: std::collections::BTreeMap<String, String>,
        fill: impl FnOnce(&str, &mut Map<String, Value>),
    ) -> Result<Created, StoreError> {
        let doc = ResourceDoc {
            s: DocState::New,
            id: String::new(),
            res,
            sec,
            dv: 0,
            fan: false,
        };
        lifecycle::create(self.kv, kind, doc, fill).await
    }

    /// Reads resource `seq` for an update; `None` when it is gone.
    pub(crate) async fn begin_update(
        &self,
        kind: Kind,
        seq: u64,
    ) -> Result<Option<Update<K>>, StoreError> {
        cas::begin(self.kv, &keys::resource(kind, seq)).await
    }

    /// Swaps in `next`; false when another write got there first (re-read and retry).
    pub(crate) async fn finish_update(
        &self,
        update: Update<K>,
        next: ResourceDoc,
    ) -> Result<bool, StoreError> {
        cas::finish(self.kv, update, next).await
    }

    /// Waits before retry `attempt` of an update.
    pub(crate) async fn backoff(&self, attempt: u32) {
        self.kv.pause(cas::backoff(attempt)).await;
    }

    /// Records that resource `seq` now has `external_id`.
    pub(crate) async fn add_external_id(
        &self,
        kind: Kind,
        external_id: &str,
        seq: u64,
    ) -> Result<(), StoreError> {
        external_ids::add(self.kv, kind, external_id, seq).await
    }

    /// Deletes resource `seq` once `check` accepts its document.
    pub(crate) async fn delete<E: std::fmt::Debug>(
        &self,
        kind: Kind,
        seq: u64,
        check: impl Fn(&ResourceDoc) -> Result<(), E>,
    ) -> Result<Result<(), DeleteRefused<E>>, StoreError> {
        lifecycle::delete(self.kv, kind, seq, check).await
    }

    /// A group's version (its ETag number) and last-modified time.
    pub(crate) async fn group_version(&self, seq: u64) -> Result<GroupVersion, StoreError> {
        versions::read(self.kv, seq).await
    }

    /// Steps a group's version by one — from exactly `expected` when given (If-Match); false
    /// when it is at another version now.
    pub(crate) async fn step_group_version(
        &self,
        seq: u64,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        versions::step(self.kv, seq, expected).await
    }

    /// Every member of group `seq`, in order.
    pub(crate) async fn members(&self, seq: u64) -> Result<Vec<Member>, StoreError> {
        members::all(self.kv, seq).await
    }

    /// The members of group `seq` among `ids`, in order.
    pub(crate) async fn members_among(
        &self,
        seq: u64,
        ids: &[String],
    ) -> Result<Vec<Member>, StoreError> {
        members::some(self.kv, seq, ids).await
    }

    /// The member-of indexes of `ids` (which say whether each exists, its kind and name).
    pub(crate) async fn indexes(
        &self,
        ids: &[String],
    ) -> Result<Vec<Option<MemberOf>>, StoreError> {
        member_of::indexes(self.kv, ids).await
    }

    /// Adds `member` to `group`.
    pub(crate) async fn add_member(
        &self,
        group: &GroupRef,
        member: &Member,
    ) -> Result<Added, StoreError> {
        members::add(self.kv, group, member).await
    }

    /// Removes member `id` from `group`.
    pub(crate) async fn remove_member(&self, group: &GroupRef, id: &str) -> Result<(), StoreError> {
        members::remove(self.kv, group, id).await
    }

    /// The groups that hold resource `id`, checked (group id, index entry).
    pub(crate) async fn groups_of(&self, id: &str) -> Result<Vec<(String, Entry)>, StoreError> {
        match member_of::index(self.kv, id).await? {
            Some(index) => members::groups_of(self.kv, id, &index).await,
            None => Ok(Vec::new()),
        }
    }

    /// Records resource `id`'s new unique name for the groups that list it.
    pub(crate) async fn rename_member(&self, id: &str, name: &str) -> Result<(), StoreError> {
        member_of::rename_member(self.kv, id, name).await
    }

    /// Copies a renamed group's display into its members' indexes and clears the intent.
    pub(crate) async fn finish_rename(&self, loaded: &Loaded) -> Result<(), StoreError> {
        lifecycle::finish_rename(self.kv, loaded.seq, &loaded.doc).await
    }

    /// The group as its member keys need it.
    pub(crate) fn group_ref(loaded: &Loaded) -> GroupRef {
        lifecycle::group_ref(loaded.seq, &loaded.doc)
    }
}
