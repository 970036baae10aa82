//! PATCH on JSON text that reads only what the operations name (DESIGN §2): the resource's
//! top-level members are split as raw text, only the members an operation can touch (plus
//! `schemas` and extension objects, which every operation may update) become `Value`s, and
//! the others are copied to the output as they were written. A multi-valued attribute that the
//! operations reach only through value filters or appends keeps its values as text
//! ([`RawArray`]): only those a filter or an append must look at are parsed.
//!
//! It must give what the full path (`Engine::apply_owned`) gives,
//! so anything out of the ordinary (a SCIM 1.1 body, an invalid or too deep input, member names
//! repeated in another case, an unknown resource type) answers `None` and is left to the full
//! path, which reports it.

mod members;
mod write;

use std::borrow::Cow;

use serde::de::DeserializeSeed;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::ScimError;
use crate::limits::json_depth;
use crate::op_reader;
use crate::patch::{self, RawArray};
use crate::raw_text::nests_deeper_than;
use crate::request::Operation;
use crate::schema::{Attribute, Mutability};
use members::{Member, MembersSeed, Touched, has_case_duplicates};
use write::{Slot, write};

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

    // The parsed members go into `doc`; `slots` keeps every member's place. Sized for the
    // members read as values or arrays, and a few an operation may add.
    let parsed = members
        .iter()
        .filter(|(_, member)| !matches!(member, Member::Raw(_)))
        .count();
    let mut doc = Map::with_capacity(parsed + 4);
    let mut depth = 1;
    let mut slots = Vec::with_capacity(members.len());
    let mut by_value: Vec<(usize, Cow<'_, str>, Vec<&RawValue>)> = Vec::new();
    for (name, member) in members {
        match member {
            Member::Parsed(value) => {
                depth = depth.max(1 + json_depth(&value));
                slots.push(Slot::Parsed(name.clone()));
                doc.insert(name.into_owned(), value);
            }
            Member::Raw(raw) => {
                if nests_deeper_than(raw.get(), limits.max_json_depth.saturating_sub(1)) {
                    return None;
                }
                slots.push(Slot::Raw(name, raw));
            }
            Member::Array(items) => {
                by_value.push((slots.len(), name, items));
                slots.push(Slot::Array(usize::MAX));
            }
        }
    }
    // Placing the parsed members back is quadratic in their number: a resource with very many
    // extension-like members is left to the full path.
    if depth > limits.max_json_depth || doc.len() > MAX_PARSED {
        return None;
    }
    let schemas = config.registry.resource_schemas(&doc).ok()?;
    let applier = patch::Applier::new(schemas, config.profile, limits);

    // Arrays of an attribute `RawArray` cannot take are parsed like any touched member.
    let mut arrays: Vec<RawArray<'_, '_>> = Vec::with_capacity(by_value.len());
    for (slot, name, items) in by_value {
        match schemas
            .core_attribute(&name)
            .filter(|attr| keeps_text(attr))
        {
            Some(attr) => {
                slots[slot] = Slot::Array(arrays.len());
                arrays.push(RawArray::new(attr, name, items, limits)?);
            }
            None => {
                // The resource and the array are two levels.
                let limit = limits.max_json_depth.checked_sub(2)?;
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    if nests_deeper_than(item.get(), limit) {
                        return None;
                    }
                    values.push(serde_json::from_str(item.get()).ok()?);
                }
                slots[slot] = Slot::Parsed(name.clone());
                doc.insert(name.into_owned(), Value::Array(values));
            }
        }
    }

    for (index, op) in ops.into_iter().enumerate() {
        let Operation { op, path, value } = op;
        let array = path
            .as_ref()
            .filter(|p| p.schema.is_none())
            .and_then(|p| p.attribute.as_deref())
            .and_then(|name| arrays.iter_mut().find(|a| a.is_named(name)));
        let result = match (array, &path) {
            (Some(array), Some(p)) => {
                let result = array.apply(&applier, op, p, value)?;
                if result.is_ok() {
                    applier.settle(&mut doc, Some(p));
                }
                result
            }
            _ => applier.apply_parts(&mut doc, op, path.as_ref(), value),
        };
        if let Err(error) = result {
            return Some(Err(patch::in_operation(error, index, op, path.as_ref())));
        }
    }
    Some(write(&slots, &doc, &arrays, resource.len()))
}

/// Whether the values of `attr` can stay text: a complex multi-valued attribute without the
/// mutability checks that compare the whole attribute before and after (`guarded`).
fn keeps_text(attr: &Attribute) -> bool {
    attr.multi_valued
        && attr.is_complex()
        && !attr.required
        && !matches!(
            attr.mutability,
            Mutability::ReadOnly | Mutability::Immutable
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use serde_json::{Value, json};

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
    fn values_reached_by_filters_and_appends_stay_text() {
        let engine = Engine::default();
        let group = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g",
            "members":[ {"value" : "a"}, {"value":"b","display":"B"},{ "value": "c" } ]}"#;
        let patch = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
            {"op":"add","path":"members","value":[{"value":"a"},{"value":"d"}]},
            {"op":"replace","path":"members[value eq \"b\"].display","value":"Bee"},
            {"op":"remove","path":"members[value eq \"c\"]"}]}"#;
        let out = apply(engine.config(), group, patch)
            .expect("handled lazily")
            .expect("applies");
        assert_eq!(
            out,
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g","members":[{"value" : "a"},{"value":"b","display":"Bee"},{"value":"d"}]}"#
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
