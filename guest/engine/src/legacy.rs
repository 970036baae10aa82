//! SCIM 1.1 partial-resource PATCH (draft-scim-api 1.1 §3.3.2, sent by Workspace ONE and Okta's 1.1
//! connectors): `meta.attributes` names attributes to remove, the rest of the body merges in, and
//! multi-valued values carrying `"operation": "delete"` are removed.
use serde_json::{Map, Value};

use crate::error::{ScimError, ScimType};
use crate::json::{get_ci, take_ci, values_equal};
use crate::patch::{Applier, AttrTarget, Target, extension_attribute};
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
            ScimError::bad_request(
                ScimType::InvalidSyntax,
                "\"meta.attributes\" must be an array of attribute names",
            )
        })?;
        for name in names {
            let name = name.as_str().ok_or_else(|| {
                ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    format!("\"meta.attributes\" must hold attribute names, not {name}"),
                )
            })?;
            let path = Path::parse_with(name, applier.limits)?;
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
        let path = Path::parse_with(&key, applier.limits)
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
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("the value for {} must be an object", ext.id),
                    ));
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

fn prefix(mut e: ScimError, what: String) -> ScimError {
    e.detail = format!("SCIM 1.1 partial resource, {what}: {}", e.detail);
    e
}

fn attr_path(urn: &str, name: &str) -> Path {
    Path {
        schema: Some(urn.to_string()),
        attribute: Some(name.to_string()),
        filter: None,
        sub: None,
    }
}

/// True when `existing` is the value `given` refers to: same `value` when `given` has one,
/// otherwise every member of `given` matches.
fn refers_to(attr: &Attribute, existing: &Value, given: &Map<String, Value>) -> bool {
    let Some(current) = existing.as_object() else {
        return given
            .get("value")
            .is_some_and(|v| values_equal(existing, v, Some(attr)));
    };
    match given.get("value") {
        Some(v) => get_ci(current, "value").is_some_and(|c| values_equal(c, v, attr.sub("value"))),
        None => {
            !given.is_empty()
                && given.iter().all(|(k, v)| {
                    get_ci(current, k).is_some_and(|c| values_equal(c, v, attr.sub(k)))
                })
        }
    }
}

/// Merges a 1.1 multi-valued member: each given value updates the value with the same `value`,
/// is appended when new, or removes its match when it carries `"operation": "delete"`.
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
    let mut merged: Vec<Value> = match t
        .ext
        .map_or(Some(&*doc), |e| {
            get_ci(doc, &e.id).and_then(Value::as_object)
        })
        .and_then(|c| get_ci(c, &attr.name))
    {
        Some(Value::Array(current)) => current.clone(),
        _ => Vec::new(),
    };
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
        let given = match &item {
            Value::Object(m) => m.clone(),
            scalar => Map::from_iter([("value".to_string(), scalar.clone())]),
        };
        if delete {
            merged.retain(|e| !refers_to(attr, e, &given));
            continue;
        }
        let position = given
            .contains_key("value")
            .then(|| merged.iter().position(|e| refers_to(attr, e, &given)))
            .flatten();
        match (position, merged.get_mut(position.unwrap_or(usize::MAX))) {
            (Some(_), Some(Value::Object(existing))) => {
                for (k, v) in given {
                    existing.insert(k, v);
                }
            }
            _ => {
                if !merged.iter().any(|e| values_equal(e, &item, Some(attr))) {
                    merged.push(item);
                }
            }
        }
    }
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
