//! SCIM 1.1 partial-resource PATCH (draft-scim-api 1.1 §3.3.2, sent by Workspace ONE and Okta's 1.1
//! connectors): `meta.attributes` names attributes to remove, the rest of the body merges in, and
//! multi-valued values carrying `"operation": "delete"` are removed.
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Applier, AttrTarget, Target, extension_attribute};
use crate::equality::canonical_key;
use crate::error::{ScimError, Site};
use crate::json::{get_ci, take_ci};
use crate::path::Path;
use crate::request::{OpKind, Operation};
use crate::schema::Attribute;
use crate::values;

fn is_delete(value: &Value) -> bool {
    value
        .as_object()
        .and_then(|m| get_ci(m, "operation"))
        .and_then(Value::as_str)
        .is_some_and(|op| op.eq_ignore_ascii_case("delete"))
}

/// Applies a SCIM 1.1 partial resource to `doc`.
pub(crate) fn apply(
    applier: &Applier<'_>,
    doc: &mut Map<String, Value>,
    mut body: Map<String, Value>,
) -> Result<(), ScimError> {
    take_ci(&mut body, "schemas");
    if let Some(Value::Object(meta)) = take_ci(&mut body, "meta")
        && let Some(attributes) = get_ci(&meta, "attributes")
    {
        let names = attributes.as_array().ok_or_else(|| {
            ScimError::invalid_syntax("\"meta.attributes\" must be an array of attribute names")
        })?;
        for name in names {
            let name = name.as_str().ok_or_else(|| {
                ScimError::invalid_syntax(format!(
                    "\"meta.attributes\" must hold attribute names, not {name}"
                ))
            })?;
            let path = Path::parse_with(name, applier.profile, applier.limits)?;
            applier
                .apply(
                    doc,
                    Operation {
                        op: OpKind::Remove,
                        path: Some(path),
                        value: None,
                    },
                )
                .map_err(|e| prefix(e, format!("meta.attributes \"{name}\"")))?;
        }
    }
    for (key, value) in body {
        let path = Path::parse_with(&key, applier.profile, applier.limits)
            .map_err(|e| prefix(e, format!("member \"{key}\"")))?;
        match applier
            .resolve(&path)
            .map_err(|e| prefix(e, format!("member \"{key}\"")))?
        {
            Target::Attr(t) if path.filter.is_none() && t.sub.is_none() && t.attr.multi_valued => {
                merge_multi(applier, doc, t, value)
                    .map_err(|e| prefix(e, format!("member \"{key}\"")))?;
            }
            Target::Extension(ext) => {
                let Value::Object(members) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "the value for {} must be an object",
                        ext.id
                    )));
                };
                for (name, member) in members {
                    let t = extension_attribute(ext, &name)?;
                    let attr = t.attr;
                    if attr.multi_valued {
                        merge_multi(applier, doc, t, member)?;
                    } else {
                        let op = Operation {
                            op: OpKind::Replace,
                            path: Some(attr_path(&ext.id, &attr.name)),
                            value: Some(member),
                        };
                        applier
                            .apply(doc, op)
                            .map_err(|e| prefix(e, format!("member \"{}:{name}\"", ext.id)))?;
                    }
                }
                applier.tidy(doc);
            }
            _ => {
                let op = Operation {
                    op: OpKind::Replace,
                    path: Some(path),
                    value: Some(value),
                };
                applier
                    .apply(doc, op)
                    .map_err(|e| prefix(e, format!("member \"{key}\"")))?;
            }
        }
    }
    Ok(())
}

/// The error, found at the partial resource's member (or `meta.attributes` entry) `what`.
fn prefix(e: ScimError, what: String) -> ScimError {
    e.at(Site::PartialResource(what))
}

fn attr_path(urn: &str, name: &str) -> Path {
    Path {
        schema: Some(urn.to_string()),
        attribute: Some(name.to_string()),
        filter: None,
        sub: None,
    }
}

/// The key a SCIM 1.1 value is matched on: its `value` (a simple attribute's values are their own
/// `value`), honouring caseExact.
fn value_key(attr: &Attribute, v: &Value) -> Option<String> {
    if !attr.is_complex() {
        return Some(canonical_key(v, Some(attr)));
    }
    let value = get_ci(v.as_object()?, "value")?;
    Some(canonical_key(value, attr.sub("value")))
}

/// Merges a 1.1 multi-valued member: each given value updates the value with the same `value`,
/// is appended when new, or removes its match when it carries `"operation": "delete"` (a value
/// without `value` matches whole). Indexed by hash, so large members lists merge in linear time.
fn merge_multi(
    applier: &Applier<'_>,
    doc: &mut Map<String, Value>,
    t: AttrTarget<'_>,
    value: Value,
) -> Result<(), ScimError> {
    let attr = t.attr;
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        single => vec![single],
    };
    let container = t.ext.map_or(Some(&*doc), |e| {
        get_ci(doc, &e.id).and_then(Value::as_object)
    });
    let mut slots: Vec<Option<Value>> = match container.and_then(|c| get_ci(c, &attr.name)) {
        Some(Value::Array(current)) => current.iter().cloned().map(Some).collect(),
        _ => Vec::new(),
    };
    let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_whole: HashMap<String, Vec<usize>> = HashMap::new();
    let index = |slot: usize,
                 v: &Value,
                 by_value: &mut HashMap<String, Vec<usize>>,
                 by_whole: &mut HashMap<String, Vec<usize>>| {
        if let Some(key) = value_key(attr, v) {
            by_value.entry(key).or_default().push(slot);
        }
        by_whole
            .entry(canonical_key(v, Some(attr)))
            .or_default()
            .push(slot);
    };
    for (slot, v) in slots.iter().enumerate() {
        if let Some(v) = v {
            index(slot, v, &mut by_value, &mut by_whole);
        }
    }
    // The slots this body appended or merged into: a primary among them wins (RFC 7643 §2.4).
    let mut given = vec![false; slots.len()];
    for item in items {
        let delete = is_delete(&item);
        let item = match item {
            Value::Object(mut m) => {
                take_ci(&mut m, "operation");
                Value::Object(m)
            }
            other => other,
        };
        let Some(item) = values::element(attr, item, applier.profile)? else {
            continue;
        };
        let key = value_key(attr, &item);
        let matches = match &key {
            Some(k) => by_value.get(k),
            None => by_whole.get(&canonical_key(&item, Some(attr))),
        };
        let live: Vec<usize> = matches
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| slots[i].is_some())
            .collect();
        if delete {
            for i in live {
                slots[i] = None;
            }
            continue;
        }
        match (live.first(), &item) {
            (Some(&i), Value::Object(members)) if key.is_some() => {
                if let Some(Value::Object(existing)) = &mut slots[i] {
                    for (k, v) in members {
                        existing.insert(k.clone(), v.clone());
                    }
                    given[i] = true;
                }
            }
            (Some(_), _) => {}
            (None, _) => {
                let whole = canonical_key(&item, Some(attr));
                if by_whole
                    .get(&whole)
                    .is_some_and(|found| found.iter().any(|&i| slots[i].is_some()))
                {
                    continue;
                }
                index(slots.len(), &item, &mut by_value, &mut by_whole);
                slots.push(Some(item));
                given.push(true);
            }
        }
    }
    demote_primaries(attr, &mut slots, &given);
    let merged: Vec<Value> = slots.into_iter().flatten().collect();
    let path = match t.ext {
        Some(ext) => attr_path(&ext.id, &attr.name),
        None => Path {
            schema: None,
            attribute: Some(attr.name.clone()),
            filter: None,
            sub: None,
        },
    };
    applier.apply(
        doc,
        Operation {
            op: OpKind::Replace,
            path: Some(path),
            value: Some(Value::Array(merged)),
        },
    )
}

/// When exactly one value the body gave is `primary: true`, the others stop being primary, as
/// after a PatchOp add; two given primaries are left for the replace to refuse (invalidValue).
fn demote_primaries(attr: &Attribute, slots: &mut [Option<Value>], given: &[bool]) {
    let is_primary = |v: &Option<Value>| {
        v.as_ref()
            .and_then(Value::as_object)
            .and_then(|m| m.get("primary"))
            == Some(&Value::Bool(true))
    };
    if attr.sub("primary").is_none() {
        return;
    }
    let mut winners = slots
        .iter()
        .zip(given)
        .enumerate()
        .filter(|(_, (v, given))| **given && is_primary(v))
        .map(|(i, _)| i);
    let (Some(winner), None) = (winners.next(), winners.next()) else {
        return;
    };
    for (i, slot) in slots.iter_mut().enumerate() {
        if i != winner
            && is_primary(slot)
            && let Some(Value::Object(m)) = slot
        {
            m.insert("primary".into(), Value::Bool(false));
        }
    }
}
