//! GET, PUT and PATCH of one resource (RFC 7644 §3.4.1, §3.5.1, §3.5.2). A user's PUT and PATCH,
//! and the attribute part of a group's, rewrite the resource's document by verified
//! compare-and-swap, retried with backoff when a concurrent write got there first; a rename
//! claims the new name before the write and frees the old one after. A group's member changes go
//! through its member keys instead (`members`).
use std::collections::BTreeMap;

use scim_patch::json::get_ci;
use scim_patch::schema::WORKSPACE_ONE_USER;
use serde_json::{Map, Value};

use super::create::taken;
use super::{Failure, Outcome, Service, body, not_found, preconditions};
use crate::http::{Request, Response, error};
use crate::kv::Kv;
use crate::project::Projection;
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
    /// The resource `id`, or 404.
    pub(crate) async fn existing(&self, kind: Kind, id: &str) -> Result<Loaded, Failure> {
        self.store
            .load(kind, id)
            .await?
            .ok_or_else(|| not_found(kind))
    }

    pub(crate) async fn get(
        &self,
        kind: Kind,
        id: &str,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let loaded = self.existing(kind, id).await?;
        let version = self.version_of(&loaded).await?;
        if preconditions::not_modified(request, version) {
            return Ok(Response::empty(304).with_header("etag", preconditions::etag(version)));
        }
        self.respond(200, &loaded, &Projection::from_params(params))
            .await
    }

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

    pub(crate) async fn patch(
        &self,
        kind: Kind,
        id: &str,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let patch = body::parse(request)?;
        if kind == Kind::Group {
            let loaded = self.existing(kind, id).await?;
            return self.patch_group(&loaded, patch, request, params).await;
        }
        // A user's PATCH reads the document once, in the rewrite.
        let seq = self
            .store
            .locate(kind, id)
            .await?
            .ok_or_else(|| not_found(kind))?;
        let mut hashes = body::SecretCache::default();
        let written = self
            .rewrite(kind, (seq, id), Some(request), |current| {
                let patched = self
                    .engine
                    .apply_owned(Value::Object(current.res.clone()), patch.clone())?;
                let Value::Object(mut res) = patched else {
                    return Err(Failure::Store(crate::kv::StoreError(
                        "the engine returned a non-object".into(),
                    )));
                };
                let mut sec = current.sec.clone();
                sec.extend(hashes.take_secrets(self.engine, &mut res)?);
                Ok(Some(Rewrite { res, sec }))
            })
            .await?;
        self.respond(200, &written, &Projection::from_params(params))
            .await
    }

    pub(crate) async fn put(
        &self,
        kind: Kind,
        id: &str,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let body::Built { mut res, sec } = body::build(self.engine, kind, body::parse(request)?)?;
        let loaded = self.existing(kind, id).await?;
        let members = match kind {
            Kind::Group => Some(super::members::listed(res.shift_remove("members"))),
            Kind::User => None,
        };
        let claimed = match kind {
            Kind::Group => self.claim_group_version(&loaded, request).await?,
            Kind::User => false,
        };
        let if_match = (kind == Kind::User).then_some(request);
        let written = self
            .rewrite(kind, (loaded.seq, id), if_match, |current| {
                let mut res = res.clone();
                res.insert("id".into(), Value::String(current.id.clone()));
                if let Some(meta) = current.res.get("meta") {
                    res.insert("meta".into(), meta.clone());
                }
                Ok(Some(Rewrite {
                    res,
                    sec: sec.clone(),
                }))
            })
            .await?;
        if let Some(wanted) = members {
            self.replace_members(&written, &wanted).await?;
            self.end_group_write(written.seq, claimed).await?;
        }
        self.respond(200, &written, &Projection::from_params(params))
            .await
    }
}
