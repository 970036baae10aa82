//! Resource documents (`r/{kind}/{seq}`): a user's or group's attributes as stored, its secrets
//! (hashes of write-only attributes) and where it is in its life. A group's members are not in
//! its document (see `members`), nor are a user's groups (derived).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::codec::Envelope;
use super::{Kind, cas, ids, keys};
use crate::kv::{Kv, StoreError};

/// Where a document is in its life. The liveness pair (`liveness`) is the truth; the state is
/// what the last writer of the document knew, so readers consult the pair only when the state
/// is not `Live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DocState {
    /// Written by a create that has not committed yet (or crashed, or was aborted).
    New,
    /// Committed and not being deleted.
    Live,
    /// A delete began: whoever finds it finishes it.
    Deleting,
}

/// What `r/{kind}/{seq}` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResourceDoc {
    /// Lifecycle state.
    pub(crate) s: DocState,
    /// The resource's id (also inside `res`; kept here so a lookup can check it cheaply).
    pub(crate) id: String,
    /// The resource as returned, minus derived attributes (`groups`) and a group's `members`.
    pub(crate) res: Map<String, Value>,
    /// argon2id hashes of write-only attributes (`returned: never`), by attribute path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) sec: BTreeMap<String, String>,
    /// Groups: the version of `displayName`, bumped by every rename, so members' indexes keep
    /// the newest display whatever order the copies arrive in.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) dv: u64,
    /// Groups: a rename not yet copied into every member's index (finished by whoever loads
    /// the group next).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fan: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ResourceDoc {
    /// The unique name (userName / displayName), if the resource has one.
    pub(crate) fn unique_name(&self, kind: Kind) -> Option<&str> {
        scim_patch::json::get_ci(&self.res, kind.unique_attribute()).and_then(Value::as_str)
    }

    /// The unique name lower-cased (the form claims are keyed by).
    pub(crate) fn lower_name(&self, kind: Kind) -> Option<String> {
        self.unique_name(kind).map(str::to_lowercase)
    }

    /// `externalId`, if set.
    pub(crate) fn external_id(&self) -> Option<&str> {
        scim_patch::json::get_ci(&self.res, "externalId").and_then(Value::as_str)
    }
}

/// The sequence number behind `id`, or `None` when `id` names nothing of `kind` (not
/// necessarily checked against the document: see [`read_for`]).
pub(crate) async fn seq_for<K: Kv>(
    kv: &K,
    kind: Kind,
    id: &str,
) -> Result<Option<u64>, StoreError> {
    if !keys::valid_id(id) {
        return Ok(None);
    }
    if let Some(seq) = ids::seq_of(id) {
        return Ok(Some(seq));
    }
    let alias = cas::read_counter(kv, &keys::alias(kind, id)).await?;
    Ok(u64::try_from(alias).ok().filter(|s| *s > 0))
}

/// The document at `seq`, whatever its state.
pub(crate) async fn read<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
) -> Result<Option<ResourceDoc>, StoreError> {
    let key = keys::resource(kind, seq);
    match kv.get(&key).await? {
        Some(bytes) => Ok(Some(Envelope::<ResourceDoc>::decode(&key, &bytes)?.d)),
        None => Ok(None),
    }
}

/// The document of `id`: its sequence number and the document, when one exists with that id.
pub(crate) async fn read_for<K: Kv>(
    kv: &K,
    kind: Kind,
    id: &str,
) -> Result<Option<(u64, ResourceDoc)>, StoreError> {
    let Some(seq) = seq_for(kv, kind, id).await? else {
        return Ok(None);
    };
    Ok(read(kv, kind, seq)
        .await?
        .filter(|doc| doc.id == id)
        .map(|doc| (seq, doc)))
}

/// Many documents at once, in the order of `seqs` (`None` where absent).
pub(crate) async fn read_many<K: Kv>(
    kv: &K,
    kind: Kind,
    seqs: &[u64],
) -> Result<Vec<Option<ResourceDoc>>, StoreError> {
    let keys: Vec<String> = seqs.iter().map(|s| keys::resource(kind, *s)).collect();
    let values = kv.get_many(&keys).await?;
    keys.iter()
        .zip(values)
        .map(|(key, value)| {
            value
                .map(|bytes| Envelope::<ResourceDoc>::decode(key, &bytes).map(|e| e.d))
                .transpose()
        })
        .collect()
}

/// Writes the first version of a document under its fresh key.
pub(crate) async fn write_new<K: Kv>(
    kv: &K,
    kind: Kind,
    seq: u64,
    doc: ResourceDoc,
) -> Result<(), StoreError> {
    kv.set(&keys::resource(kind, seq), &Envelope::first(doc).encode()?)
        .await
}
