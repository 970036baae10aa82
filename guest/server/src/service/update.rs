//! GET, PUT and PATCH of one resource (RFC 7644 §3.4.1, §3.5.1, §3.5.2). A user's PUT and PATCH,
//! and the attribute part of a group's, rewrite the resource's document by verified
//! compare-and-swap, retried with backoff when a concurrent write got there first; a rename
//! claims the new name before the write and frees the old one after. A group's member changes go
//! through its member keys instead (`members`).
use serde_json::Value;

use super::rewrite::Rewrite;
use super::{Failure, Outcome, Service, body, not_found, preconditions};
use crate::http::{Request, Response};
use crate::kv::Kv;
use crate::project::Projection;
use crate::store::{Kind, Loaded};

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
                    return Err(Failure::Internal("the engine returned a non-object".into()));
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
