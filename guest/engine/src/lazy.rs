//! PATCH on JSON text that reads only what the operations name (DESIGN §2): the resource's
//! top-level members are split as raw text, only the members an operation can touch (plus
//! `schemas` and extension objects, which every operation may update) become `Value`s, and
//! the others are copied to the output as they were written.
//!
//! It must give what the full path (`Engine::apply_owned`) gives,
//! so anything out of the ordinary (a SCIM 1.1 body, an invalid or too deep input, member names
//! repeated in another case, an unknown resource type) answers `None` and is left to the full
//! path, which reports it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::ScimError;
use crate::limits::json_depth;
use crate::path::Path;
use crate::raw_text::{Text, nests_deeper_than};
use crate::request::Operation;
use crate::{op_reader, patch};

/// More distinct touched names than this and the full path is simpler (and as fast).
const MAX_TOUCHED: usize = 64;

/// More parsed members than this (touched ones, `schemas`, extension objects) and the full
/// path is faster.
const MAX_PARSED: usize = 128;

/// Applies `patch` to `resource` (both already within the size limits), or `None` when the
/// full path must do it.
pub(crate) fn apply(
    config: &Config,
    resource: &str,
    patch: &str,
) -> Option<Result<String, ScimError>> {
    let limits = &config.limits;
    let ops = op_reader::read(patch, config.profile, limits)?;
    let mut touched = Touched::default();
    for op in &ops {
        touched.operation(op)?;
    }
    let mut parser = serde_json::Deserializer::from_str(resource);
    let members = MembersSeed(&touched).deserialize(&mut parser).ok()?;
    parser.end().ok()?;
    if has_case_duplicates(&members) {
        return None;
    }

    // The parsed members go into `doc`; `slots` keeps every member's place.
    let mut doc = Map::new();
    let mut depth = 1;
    let mut slots = Vec::with_capacity(members.len());
    for (name, member) in members {
        match member {
            Member::Parsed(value) => {
                depth = depth.max(1 + json_depth(&value));
                slots.push(Slot::Parsed(name.to_string()));
                doc.insert(name.into_owned(), value);
            }
            Member::Raw(raw) => {
                if nests_deeper_than(raw.get(), limits.max_json_depth.saturating_sub(1)) {
                    return None;
                }
                slots.push(Slot::Raw(name, raw));
            }
        }
    }
    // Placing the parsed members back is quadratic in their number: a resource with very many
    // extension-like members is left to the full path.
    if depth > limits.max_json_depth || doc.len() > MAX_PARSED {
        return None;
    }
    let applier = patch::Applier::new(
        config.registry.resource_schemas(&doc).ok()?,
        config.profile,
        limits,
    );
    if let Err(error) = patch::apply_operations(&applier, &mut doc, ops) {
        return Some(Err(error));
    }
    Some(write(&slots, &doc, resource.len()))
}

/// A member of the resource as read: parsed, or left as text.
enum Member<'a> {
    Parsed(Value),
    Raw(&'a RawValue),
}

/// Where a member was in the resource, and what to write there.
enum Slot<'a> {
    /// A parsed member (now in the patched map, perhaps renamed or removed), by its name as read.
    Parsed(String),
    /// An untouched member, written back as it was.
    Raw(Cow<'a, str>, &'a RawValue),
}

/// The patched resource: untouched members verbatim and in place, parsed ones from `doc` where
/// they were (under their canonical names), new members last.
fn write(
    slots: &[Slot<'_>],
    doc: &Map<String, Value>,
    size_hint: usize,
) -> Result<String, ScimError> {
    let mut out = Vec::with_capacity(size_hint + size_hint / 8);
    out.push(b'{');
    let mut written = vec![false; doc.len()];
    let result = (|| -> Result<(), serde_json::Error> {
        for slot in slots {
            match slot {
                Slot::Raw(name, raw) => {
                    write_name(&mut out, name)?;
                    out.extend_from_slice(raw.get().as_bytes());
                }
                Slot::Parsed(name) => {
                    let found = doc
                        .iter()
                        .enumerate()
                        .find(|(i, (k, _))| !written[*i] && k.eq_ignore_ascii_case(name));
                    if let Some((i, (k, v))) = found {
                        written[i] = true;
                        write_name(&mut out, k)?;
                        serde_json::to_writer(&mut out, v)?;
                    }
                }
            }
        }
        for (i, (k, v)) in doc.iter().enumerate() {
            if !written[i] {
                write_name(&mut out, k)?;
                serde_json::to_writer(&mut out, v)?;
            }
        }
        out.push(b'}');
        Ok(())
    })();
    result
        .map_err(|e| e.to_string())
        .and_then(|()| String::from_utf8(out).map_err(|e| e.to_string()))
        .map_err(|e| ScimError::internal(format!("could not serialize the result: {e}")))
}

/// Writes `,"name":` (no comma after the opening brace).
fn write_name(out: &mut Vec<u8>, name: &str) -> Result<(), serde_json::Error> {
    if out.len() > 1 {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, name)?;
    out.push(b':');
    Ok(())
}

/// The top-level member names the operations can read or write, lowercased.
#[derive(Default)]
struct Touched {
    names: Vec<String>,
}

impl Touched {
    /// Records what `op` can touch; `None` when that is too much to track.
    fn operation(&mut self, op: &Operation) -> Option<()> {
        match op.path.as_ref() {
            Some(Path {
                attribute: Some(name),
                ..
            }) => self.name(name),
            // A path-less operation, or a path naming a schema: the value's members are the
            // targets.
            Some(_) | None => match &op.value {
                Some(Value::Object(members)) => self.members(members),
                _ => Some(()),
            },
        }
    }

    /// A path-less value's members: `name`, `name.sub`, `name[filter]`, URN-prefixed forms, and
    /// schema URNs holding more members.
    fn members(&mut self, members: &Map<String, Value>) -> Option<()> {
        for (key, value) in members {
            let is_urn = starts_with_urn(key);
            let local = if is_urn {
                key.rsplit(':').next().unwrap_or(key)
            } else {
                key
            };
            let end = local.find(['.', '[']).unwrap_or(local.len());
            self.name(&local[..end])?;
            if is_urn && let Value::Object(inner) = value {
                self.members(inner)?;
            }
        }
        Some(())
    }

    fn name(&mut self, name: &str) -> Option<()> {
        if !self.names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            if self.names.len() == MAX_TOUCHED {
                return None;
            }
            self.names.push(name.to_ascii_lowercase());
        }
        Some(())
    }

    /// Whether the member `name` of the resource is parsed: it is touched, or it is `schemas`
    /// or an extension object (`tidy` may update those after any operation).
    fn materializes(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case("schemas")
            || starts_with_urn(name)
            || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

fn starts_with_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Whether two member names are equal ignoring case (the full path then decides which wins).
fn has_case_duplicates(members: &[(Cow<'_, str>, Member<'_>)]) -> bool {
    if members.len() <= 16 {
        return members.iter().enumerate().any(|(i, (a, _))| {
            members[i + 1..]
                .iter()
                .any(|(b, _)| a.eq_ignore_ascii_case(b))
        });
    }
    let mut seen = HashSet::with_capacity(members.len());
    !members
        .iter()
        .all(|(name, _)| seen.insert(name.to_ascii_lowercase()))
}

/// Reads a JSON object's members in document order, names decoded (borrowed when they have no
/// escapes), parsing the values `Touched` materializes and leaving the others as text.
struct MembersSeed<'t>(&'t Touched);

impl<'de> DeserializeSeed<'de> for MembersSeed<'_> {
    type Value = Vec<(Cow<'de, str>, Member<'de>)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MembersSeed<'_> {
    type Value = Vec<(Cow<'de, str>, Member<'de>)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Text(name)) = map.next_key()? {
            let member = if self.0.materializes(&name) {
                Member::Parsed(map.next_value()?)
            } else {
                Member::Raw(map.next_value()?)
            };
            members.push((name, member));
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use serde_json::json;

    #[test]
    fn untouched_members_are_copied_verbatim_and_in_place() {
        let engine = Engine::default();
        let resource = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1",
            "userName":"bjensen","addresses":[ {"type" : "work"} ],"displayName":"B","title":"x"}"#;
        let patch = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
            {"op":"replace","path":"DISPLAYNAME","value":"Babs"},
            {"op":"add","value":{"name.givenName":"Barbara"}}]}"#;
        let out = apply(engine.config(), resource, patch)
            .expect("handled lazily")
            .expect("applies");
        assert_eq!(
            out,
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1","userName":"bjensen","addresses":[ {"type" : "work"} ],"displayName":"Babs","title":"x","name":{"givenName":"Barbara"}}"#
        );
    }

    #[test]
    fn unusual_inputs_are_left_to_the_full_path() {
        let engine = Engine::default();
        let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a"}"#;
        let patch = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"replace","path":"title","value":"x"}]}"#;
        let legacy = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"title":"x"}"#;
        let twice =
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"title":"a","Title":"b"}"#;
        assert!(
            apply(engine.config(), user, legacy).is_none(),
            "SCIM 1.1 body"
        );
        assert!(
            apply(engine.config(), twice, patch).is_none(),
            "names repeated in another case"
        );
        assert!(
            apply(engine.config(), "[1]", patch).is_none(),
            "not an object"
        );
        assert!(apply(engine.config(), "{", patch).is_none(), "not JSON");
        assert!(
            apply(engine.config(), r#"{"id":"1"}"#, patch).is_none(),
            "no resource type"
        );
        assert!(apply(engine.config(), user, patch).is_some());
    }

    #[test]
    fn many_members_stay_linear() {
        let engine = Engine::default();
        let patch = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"replace","path":"title","value":"x"}]}"#;
        let mut user = serde_json::Map::new();
        user.insert(
            "schemas".into(),
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
        );
        user.insert("userName".into(), json!("a"));
        for i in 0..50_000 {
            user.insert(format!("x{i}"), json!(i));
            user.insert(format!("urn:x:{i}"), json!({}));
        }
        let user = Value::Object(user).to_string();
        // Many parsed (extension-like) members: the full path takes it.
        assert!(apply(engine.config(), &user, patch).is_none());
        let out = engine.apply_json(&user, patch).expect("applies");
        assert!(out.contains(r#""title":"x""#));
    }
}
