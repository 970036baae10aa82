//! The storage model on key-value (see README "Storage model"):
//! - `res/{User|Group}/{id}`: one document per resource: `{"resource": {...}, "passwordHash": ...}`;
//! - `uniq/{User|Group}/{lower-cased userName|displayName}`: the id owning the name, claimed via
//!   `claim/...` counters (`increment`: only the caller that sees 1 owns it), so two concurrent
//!   creates cannot both take a name;
//! - `memberof/{userId}`: the ids of the groups listing the user, from which `User.groups` is derived.
//!
//! Every read-modify-write goes through compare-and-swap on the whole stored document, retried on
//! conflict, so concurrent PATCHes are never lost.
use serde_json::{Map, Value, json};

use crate::kv::{Kv, StoreError};

/// The two resource types this service stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// A stored resource and its private companions.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The resource as returned (without derived `groups`).
    pub resource: Map<String, Value>,
    /// argon2id hash of the password, when one was set.
    pub password_hash: Option<String>,
}

impl Stored {
    fn to_bytes(&self) -> Vec<u8> {
        let mut doc = json!({"resource": Value::Object(self.resource.clone())});
        if let Some(hash) = &self.password_hash {
            doc["passwordHash"] = Value::String(hash.clone());
        }
        serde_json::to_vec(&doc).unwrap_or_default()
    }

    fn from_bytes(bytes: &[u8]) -> Result<Stored, StoreError> {
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| StoreError(format!("corrupt stored document: {e}")))?;
        let resource = doc
            .get("resource")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| StoreError("stored document has no resource".into()))?;
        let password_hash = doc
            .get("passwordHash")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Stored {
            resource,
            password_hash,
        })
    }

    /// The resource's `id`.
    pub fn id(&self) -> &str {
        self.resource
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The unique name (userName / displayName), if set.
    pub fn unique_name(&self, kind: Kind) -> Option<&str> {
        scim_patch::json::get_ci(&self.resource, kind.unique_attribute()).and_then(Value::as_str)
    }
}

/// A stored document as read: the value and the exact bytes a compare-and-swap must match.
pub struct Loaded {
    /// The decoded document.
    pub stored: Stored,
    raw: Vec<u8>,
}

fn resource_key(kind: Kind, id: &str) -> String {
    format!("res/{}/{id}", kind.name())
}

fn unique_key(kind: Kind, name: &str) -> String {
    format!("uniq/{}/{}", kind.name(), name.to_lowercase())
}

fn claim_key(kind: Kind, name: &str) -> String {
    format!("claim/{}/{}", kind.name(), name.to_lowercase())
}

fn member_of_key(user_id: &str) -> String {
    format!("memberof/{user_id}")
}

/// Typed access to the stores.
pub struct Store<'k, K: Kv> {
    kv: &'k K,
}

impl<'k, K: Kv> Store<'k, K> {
    /// Storage over `kv`.
    pub fn new(kv: &'k K) -> Self {
        Store { kv }
    }

    /// The resource `id` of `kind`, if it exists.
    pub async fn load(&self, kind: Kind, id: &str) -> Result<Option<Loaded>, StoreError> {
        if id.is_empty() || id.contains('/') {
            return Ok(None);
        }
        match self.kv.get(&resource_key(kind, id)).await? {
            Some(raw) => Ok(Some(Loaded {
                stored: Stored::from_bytes(&raw)?,
                raw,
            })),
            None => Ok(None),
        }
    }

    /// Writes a new resource (its id is fresh, so nothing can conflict).
    pub async fn insert(&self, kind: Kind, stored: &Stored) -> Result<(), StoreError> {
        if kind == Kind::User {
            self.kv.set(&member_of_key(stored.id()), b"[]").await?;
        }
        self.kv
            .set(&resource_key(kind, stored.id()), &stored.to_bytes())
            .await
    }

    /// Replaces a resource if it is still exactly as `loaded`; false when it changed meanwhile.
    pub async fn replace(
        &self,
        kind: Kind,
        loaded: &Loaded,
        next: &Stored,
    ) -> Result<bool, StoreError> {
        self.kv
            .compare_and_swap(
                &resource_key(kind, loaded.stored.id()),
                &loaded.raw,
                &next.to_bytes(),
            )
            .await
    }

    /// Deletes a resource (and a user's membership index).
    pub async fn delete(&self, kind: Kind, id: &str) -> Result<(), StoreError> {
        self.kv.delete(&resource_key(kind, id)).await?;
        if kind == Kind::User {
            self.kv.delete(&member_of_key(id)).await?;
        }
        Ok(())
    }

    /// Every resource of `kind`.
    pub async fn all(&self, kind: Kind) -> Result<Vec<Stored>, StoreError> {
        let prefix = format!("res/{}/", kind.name());
        let mut keys = self.kv.keys(&prefix).await?;
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            // A resource deleted between listing and reading is simply skipped.
            if let Some(raw) = self.kv.get(&key).await? {
                out.push(Stored::from_bytes(&raw)?);
            }
        }
        Ok(out)
    }

    /// Claims `name` for resource `id`; false when another resource holds it (or is claiming it
    /// right now). Names are released when their resource is deleted or renamed; a name is never
    /// taken over from another id, since its owner may simply not have written its document yet.
    pub async fn claim_name(&self, kind: Kind, name: &str, id: &str) -> Result<bool, StoreError> {
        let unique = unique_key(kind, name);
        if self.kv.increment(&claim_key(kind, name), 1).await? == 1 {
            self.kv.set(&unique, id.as_bytes()).await?;
            return Ok(true);
        }
        Ok(self.kv.get(&unique).await?.as_deref() == Some(id.as_bytes()))
    }

    /// Releases `name` if `id` holds it.
    pub async fn release_name(&self, kind: Kind, name: &str, id: &str) -> Result<(), StoreError> {
        let unique = unique_key(kind, name);
        if self.kv.get(&unique).await?.as_deref() == Some(id.as_bytes()) {
            self.kv.delete(&unique).await?;
            self.kv.delete(&claim_key(kind, name)).await?;
        }
        Ok(())
    }

    /// The ids of the groups that list user `user_id` as a member.
    pub async fn member_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let Some(raw) = self.kv.get(&member_of_key(user_id)).await? else {
            return Ok(Vec::new());
        };
        Ok(MemberOf::decode(&raw)?.groups())
    }

    /// Records that version `version` of group `group_id` does (or does not) list user `user_id`.
    /// Concurrent group writes may report out of order; an entry only moves forward in version,
    /// so the index always ends at the latest group state. A user without an index (deleted, or
    /// not a user) is skipped.
    pub async fn set_member_of(
        &self,
        user_id: &str,
        group_id: &str,
        member: bool,
        version: u64,
    ) -> Result<(), StoreError> {
        let key = member_of_key(user_id);
        for _ in 0..64 {
            let Some(raw) = self.kv.get(&key).await? else {
                return Ok(());
            };
            let mut index = MemberOf::decode(&raw)?;
            if !index.record(group_id, member, version) {
                return Ok(());
            }
            if self
                .kv
                .compare_and_swap(&key, &raw, &index.encode())
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError(format!(
            "membership index of {user_id} kept changing"
        )))
    }
}

/// A user's membership index: for each group, whether it lists the user, as of which group
/// version. Entries for groups that dropped the user stay (as tombstones) so a late, older
/// "added" report cannot resurrect them.
#[derive(Debug, Default, PartialEq)]
struct MemberOf(Map<String, Value>);

impl MemberOf {
    fn decode(raw: &[u8]) -> Result<MemberOf, StoreError> {
        match serde_json::from_slice(raw)
            .map_err(|e| StoreError(format!("corrupt membership index: {e}")))?
        {
            Value::Object(map) => Ok(MemberOf(map)),
            // An index created empty is `[]`.
            Value::Array(a) if a.is_empty() => Ok(MemberOf::default()),
            _ => Err(StoreError("corrupt membership index".into())),
        }
    }

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).unwrap_or_default()
    }

    fn groups(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, e)| e.get("member") == Some(&Value::Bool(true)))
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// Applies a report; false when it changes nothing (stale or already known).
    fn record(&mut self, group_id: &str, member: bool, version: u64) -> bool {
        let current = self.0.get(group_id);
        let known_version = current.and_then(|e| e.get("v")).and_then(Value::as_u64);
        if known_version.is_some_and(|v| v >= version) {
            return false;
        }
        self.0.insert(
            group_id.to_string(),
            json!({"member": member, "v": version}),
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::MemberOf;

    #[test]
    fn membership_reports_only_move_forward() {
        let mut index = MemberOf::default();
        assert!(index.record("g", false, 3));
        assert!(
            !index.record("g", true, 2),
            "an older add arriving late is ignored"
        );
        assert!(index.groups().is_empty());
        assert!(index.record("g", true, 4));
        assert_eq!(index.groups(), ["g"]);
        assert!(!index.record("g", true, 4));
    }
}
