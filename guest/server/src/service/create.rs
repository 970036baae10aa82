//! POST /Users, POST /Groups (RFC 7644 §3.3): a new resource with a fresh id, its unique name
//! claimed and, for a group, its members added once it exists.
use serde_json::{Value, json};

use super::{Outcome, Service, body, members, taken};
use crate::http::Request;
use crate::kv::Kv;
use crate::project::Projection;
use crate::store::{Created, Kind, Store};

impl<K: Kv> Service<'_, K> {
    pub(crate) async fn create(
        &self,
        kind: Kind,
        request: &Request,
        params: &[(String, String)],
    ) -> Outcome {
        let body::Built { mut res, sec } = body::build(self.engine, kind, body::parse(request)?)?;
        let wanted = match kind {
            Kind::Group => members::listed(res.shift_remove("members")),
            Kind::User => Vec::new(),
        };
        let name = res
            .get(kind.unique_attribute())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        // Checked before anything is written, so a refused create changes nothing stored.
        if self.store.name_taken(kind, &name, 0).await? {
            return Err(taken(kind, &name));
        }
        let resolved = self.resolve_members(&wanted, None).await?;
        let now = crate::clock::now_rfc3339();
        let created = self
            .store
            .create(kind, res, sec, |id, res| {
                res.insert("id".into(), Value::String(id.to_string()));
                res.insert(
                    "meta".into(),
                    json!({"resourceType": kind.name(), "created": now, "lastModified": now,
                           "version": "W/\"1\""}),
                );
            })
            .await?;
        let Created::Live(id) = created else {
            return Err(taken(kind, &name));
        };
        let loaded = self
            .store
            .load(kind, &id)
            .await?
            .ok_or_else(|| super::not_found(kind))?;
        if kind == Kind::Group && !resolved.known.is_empty() {
            let group = Store::<K>::group_ref(&loaded);
            self.apply_member_changes(&group, &resolved.known, &[])
                .await?;
        }
        let location = self.location(kind, &id);
        Ok(self
            .respond(201, &loaded, &Projection::from_params(params))
            .await?
            .with_header("location", location))
    }
}
