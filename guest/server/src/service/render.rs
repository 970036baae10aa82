//! What a resource looks like in a response: the stored attributes plus what is derived —
//! `meta.location` and `$ref`s from this request's base URL (right behind proxies and after a
//! move), a user's `groups` from its member-of index, a group's `members` from its member keys
//! and its version from its counter. Derived parts are read only when the response will carry
//! them (`excludedAttributes=members` reads no member key).
use serde_json::{Map, Value, json};

use super::preconditions;
use super::{Failure, Service};
use crate::kv::Kv;
use crate::project::Projection;
use crate::store::{Kind, Loaded, Member};

impl<K: Kv> Service<'_, K> {
    /// `{base}/{Users|Groups}/{id}`.
    pub(crate) fn location(&self, kind: Kind, id: &str) -> String {
        format!("{}/{}/{id}", self.base, kind.endpoint())
    }

    /// The resource's version (a user's from its document, a group's from its counter).
    pub(crate) async fn version_of(&self, loaded: &Loaded) -> Result<u64, Failure> {
        Ok(match loaded.kind {
            Kind::User => preconditions::version_number(&loaded.doc.res),
            Kind::Group => self.store.group_version(loaded.seq).await?.number,
        })
    }

    /// A member as `members` lists it.
    pub(crate) fn member_value(&self, member: &Member) -> Value {
        let mut value = Map::new();
        value.insert("value".into(), Value::String(member.id.clone()));
        value.insert(
            "$ref".into(),
            Value::String(self.location(member.kind, &member.id)),
        );
        if let Some(display) = &member.display {
            value.insert("display".into(), Value::String(display.clone()));
        }
        value.insert("type".into(), Value::String(member.kind.name().into()));
        Value::Object(value)
    }

    /// The full resource as returned, with only the derived parts `projection` keeps, and its
    /// version.
    pub(crate) async fn render(
        &self,
        loaded: &Loaded,
        projection: &Projection,
    ) -> Result<(Map<String, Value>, u64), Failure> {
        let mut resource = loaded.doc.res.clone();
        let group_version = match loaded.kind {
            Kind::Group => Some(self.store.group_version(loaded.seq).await?),
            Kind::User => None,
        };
        let version = match group_version {
            Some(v) => v.number,
            None => preconditions::version_number(&loaded.doc.res),
        };
        if let Value::Object(meta) = resource.entry("meta").or_insert_with(|| json!({})) {
            meta.insert(
                "location".into(),
                Value::String(self.location(loaded.kind, &loaded.doc.id)),
            );
            meta.insert(
                "version".into(),
                Value::String(preconditions::etag(version)),
            );
        }
        match loaded.kind {
            Kind::User if projection.includes("groups") => {
                let groups: Vec<Value> = self
                    .store
                    .groups_of(&loaded.doc.id)
                    .await?
                    .into_iter()
                    .map(|(id, entry)| {
                        json!({"value": id, "$ref": self.location(Kind::Group, &id),
                               "display": entry.d, "type": "direct"})
                    })
                    .collect();
                if !groups.is_empty() {
                    resource.insert("groups".into(), Value::Array(groups));
                }
            }
            Kind::Group => {
                // A member change moves the version document's time, not the group's.
                if let Some(touched) = group_version.filter(|v| v.modified > 0)
                    && let Some(Value::Object(meta)) = resource.get_mut("meta")
                {
                    let touched = crate::clock::format_rfc3339(touched.modified);
                    let newer = meta
                        .get("lastModified")
                        .and_then(Value::as_str)
                        .is_none_or(|m| m < touched.as_str());
                    if newer {
                        meta.insert("lastModified".into(), Value::String(touched));
                    }
                }
                if projection.includes("members") {
                    let members: Vec<Value> = self
                        .store
                        .members(loaded.seq)
                        .await?
                        .iter()
                        .map(|m| self.member_value(m))
                        .collect();
                    if !members.is_empty() {
                        resource.insert("members".into(), Value::Array(members));
                    }
                }
            }
            Kind::User => {}
        }
        Ok((resource, version))
    }

    /// The rendered resource, projected, as a response with its ETag.
    pub(crate) async fn respond(
        &self,
        status: u16,
        loaded: &Loaded,
        projection: &Projection,
    ) -> super::Outcome {
        let (resource, version) = self.render(loaded, projection).await?;
        let tag = preconditions::etag(version);
        let resource = projection.apply(loaded.kind, resource);
        Ok(crate::http::Response::json(status, &Value::Object(resource)).with_header("etag", tag))
    }
}
