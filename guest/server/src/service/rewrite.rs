//! The read-modify-write of one resource's document (PUT, PATCH, a group's attributes): a
//! verified compare-and-swap, retried with backoff when a concurrent write got there first. A
//! rename claims the new name before the write and frees the old one after; a new externalId
//! gets its index slot before the write; a group's rename copies the new display into its
//! members' indexes after it.
use std::collections::BTreeMap;

use scim_patch::json::get_ci;
use scim_patch::schema::WORKSPACE_ONE_USER;
use serde_json::{Map, Value};

use super::{Failure, Service, body, not_found, preconditions, taken};
use crate::http::{Request, error};
use crate::kv::Kv;
use crate::store::{DocState, Kind, Loaded, ResourceDoc};

/// The next attributes of a resource and the hashes of its write-only values.
pub(crate) struct Rewrite {
    pub(crate) res: Map<String, Value>,
    pub(crate) sec: BTreeMap<String, String>,
}

/// Workspace ONE: users owned by an external directory are read-only here.
fn is_external_user(resource: &Map<String, Value>) -> bool {
    get_ci(resource, WORKSPACE_ONE_USER)
        .and_then(Value::as_object)
        .and_then(|ext| get_ci(ext, "internalUserType"))
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty() && !t.eq_ignore_ascii_case("local"))
}

/// 403 for a Workspace ONE directory user.
pub(crate) fn refuse_external(kind: Kind, doc: &ResourceDoc) -> Result<(), Failure> {
    if kind == Kind::User && is_external_user(&doc.res) {
        return Err(Failure::Scim(error(
            403,
            "The user is not a local user and can not be updated",
        )));
    }
    Ok(())
}

impl<K: Kv> Service<'_, K> {
    /// Rewrites the document of resource `id` (sequence number `seq`) with what `compute` makes
    /// of the current one (`None`: nothing to write), retrying on conflict. `if_match` checks the
    /// current version (users); pass `None` where the caller checked it already (groups).
    /// Returns the resource as written.
    pub(crate) async fn rewrite(
        &self,
        kind: Kind,
        (seq, id): (u64, &str),
        if_match: Option<&Request>,
        mut compute: impl FnMut(&ResourceDoc) -> Result<Option<Rewrite>, Failure>,
    ) -> Result<Loaded, Failure> {
        for attempt in 0..crate::store::UPDATE_ATTEMPTS {
            let Some(update) = self.store.begin_update(kind, seq).await? else {
                return Err(not_found(kind));
            };
            let current = update.doc().clone();
            if current.id != id {
                return Err(not_found(kind));
            }
            if current.s != DocState::Live {
                // Not committed, or being deleted (perhaps left so by a stopped request): a load
                // finishes what can be finished and says whether it exists.
                self.existing(kind, id).await?;
                self.store.backoff(attempt).await;
                continue;
            }
            refuse_external(kind, &current)?;
            let version = preconditions::version_number(&current.res);
            if let Some(request) = if_match {
                preconditions::check_if_match(request, version)?;
            }
            let Some(Rewrite { mut res, sec }) = compute(&current)? else {
                return Ok(Loaded {
                    kind,
                    seq,
                    doc: current,
                });
            };
            body::check_limits(kind, &res)?;
            preconditions::touch(&mut res, version);
            let old_name = current.unique_name(kind).unwrap_or_default().to_string();
            let loaded = Loaded {
                kind,
                seq,
                doc: current.clone(),
            };
            let new_name = get_ci(&res, kind.unique_attribute())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let renamed = old_name.to_lowercase() != new_name.to_lowercase();
            if renamed && !self.store.claim_name(kind, &new_name, loaded.seq).await? {
                return Err(taken(kind, &new_name));
            }
            let external = get_ci(&res, "externalId").and_then(Value::as_str);
            if let Some(external) = external
                && current.external_id() != Some(external)
            {
                self.store
                    .add_external_id(kind, external, loaded.seq)
                    .await?;
            }
            let mut next = ResourceDoc {
                res,
                sec,
                ..current.clone()
            };
            let display_changed =
                get_ci(&current.res, "displayName") != get_ci(&next.res, "displayName");
            if kind == Kind::Group && display_changed {
                next.dv += 1;
                next.fan = true;
            }
            if self.store.finish_update(update, next.clone()).await? {
                let written = Loaded {
                    doc: next,
                    ..loaded.clone()
                };
                if renamed {
                    self.store.release_name(kind, &old_name, loaded.seq).await?;
                    self.store.rename_member(&loaded.doc.id, &new_name).await?;
                }
                if kind == Kind::Group && written.doc.fan {
                    self.store.finish_rename(&written).await?;
                }
                return Ok(written);
            }
            if renamed {
                self.store.release_name(kind, &new_name, loaded.seq).await?;
            }
            self.store.backoff(attempt).await;
        }
        Err(Failure::Scim(error(
            409,
            "the resource kept changing under concurrent updates; retry the request",
        )))
    }
}
