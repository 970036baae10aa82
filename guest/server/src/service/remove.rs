//! DELETE /Users/{id}, DELETE /Groups/{id} (RFC 7644 §3.6): the resource leaves every group
//! (and a group's members leave it) before it stops existing, so no group lists a deleted user
//! and no user lists a deleted group (`store::lifecycle`).
use super::rewrite::refuse_external;
use super::{Outcome, Service, preconditions};
use crate::http::{Request, Response};
use crate::kv::Kv;
use crate::store::{DeleteRefused, Kind};

impl<K: Kv> Service<'_, K> {
    pub(crate) async fn delete(&self, kind: Kind, id: &str, request: &Request) -> Outcome {
        let loaded = self.existing(kind, id).await?;
        // A group's version is its counter; a user's is in the document the check sees.
        let group_version = match kind {
            Kind::Group => Some(self.store.group_version(loaded.seq).await?.number),
            Kind::User => None,
        };
        let outcome = self
            .store
            .delete(kind, loaded.seq, |doc| {
                refuse_external(kind, doc)?;
                let version =
                    group_version.unwrap_or_else(|| preconditions::version_number(&doc.res));
                preconditions::check_if_match(request, version)
            })
            .await?;
        match outcome {
            Ok(()) => Ok(Response::empty(204)),
            Err(DeleteRefused::Missing) => Err(super::not_found(kind)),
            Err(DeleteRefused::Check(refused)) => Err(refused),
        }
    }
}
