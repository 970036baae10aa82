//! `attributes` / `excludedAttributes` (RFC 7644 §3.9): which attributes a response carries.
use serde_json::{Map, Value};

use crate::store::Kind;

/// One requested attribute: `[urn:]name[.sub]`, matched case-insensitively.
#[derive(Debug, Clone, PartialEq)]
struct Selector {
    schema: Option<String>,
    name: String,
    sub: Option<String>,
}

fn parse_list(text: &str) -> Vec<Selector> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            scim_patch::AttrPath::parse(s).map(|p| Selector {
                schema: p.schema,
                name: p.name,
                sub: p.sub,
            })
        })
        .collect()
}

/// Attributes always returned (RFC 7643 `returned: always`), whatever the request says.
fn always(name: &str) -> bool {
    ["id", "schemas"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
}

/// Narrows `resource` to `attributes`, or removes `excluded` (the former wins when both given).
pub fn project(
    kind: Kind,
    resource: Map<String, Value>,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Map<String, Value> {
    if let Some(list) = attributes.map(parse_list).filter(|l| !l.is_empty()) {
        return keep(kind, resource, &list);
    }
    if let Some(list) = excluded.map(parse_list).filter(|l| !l.is_empty()) {
        return drop(kind, resource, &list);
    }
    resource
}

/// Which object a selector's attribute lives in: the top level, or an extension's object.
fn container_key(kind: Kind, sel: &Selector, resource: &Map<String, Value>) -> Option<String> {
    match &sel.schema {
        None => None,
        Some(urn) if urn.eq_ignore_ascii_case(kind.schema()) => None,
        Some(urn) => resource
            .keys()
            .find(|k| k.eq_ignore_ascii_case(urn))
            .cloned(),
    }
}

fn is_core(kind: Kind, sel: &Selector) -> bool {
    sel.schema
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(kind.schema()))
}

fn narrow_value(value: &Value, sub: &str) -> Value {
    let pick = |v: &Value| -> Option<Value> {
        let obj = v.as_object()?;
        let (k, x) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub))?;
        Some(Value::Object(Map::from_iter([(k.clone(), x.clone())])))
    };
    match value {
        Value::Array(items) => Value::Array(items.iter().filter_map(pick).collect()),
        other => pick(other).unwrap_or(Value::Null),
    }
}

fn merge_into(out: &mut Map<String, Value>, key: &str, value: Value) {
    match (out.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
        (Some(Value::Array(existing)), Value::Array(more)) => {
            for (slot, extra) in existing.iter_mut().zip(more) {
                if let (Value::Object(a), Value::Object(b)) = (slot, extra) {
                    a.extend(b);
                }
            }
        }
        (_, value) => {
            out.insert(key.to_string(), value);
        }
    }
}

fn keep(kind: Kind, resource: Map<String, Value>, list: &[Selector]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in &resource {
        if always(key) {
            out.insert(key.clone(), value.clone());
        }
    }
    for sel in list {
        // A bare extension URN selects the whole extension.
        let whole_ext = sel.schema.as_ref().map(|u| format!("{u}:{}", sel.name));
        if sel.sub.is_none()
            && let Some(ext_key) = whole_ext
                .as_ref()
                .and_then(|u| resource.keys().find(|k| k.eq_ignore_ascii_case(u)))
        {
            out.insert(ext_key.clone(), resource[ext_key].clone());
            continue;
        }
        let source = match container_key(kind, sel, &resource) {
            Some(ext) => resource
                .get(&ext)
                .and_then(Value::as_object)
                .map(|m| (Some(ext), m)),
            None if is_core(kind, sel) => Some((None, &resource)),
            None => None,
        };
        let Some((ext, map)) = source else { continue };
        let Some((key, value)) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(&sel.name)) else {
            continue;
        };
        let picked = match &sel.sub {
            Some(sub) => narrow_value(value, sub),
            None => value.clone(),
        };
        if picked.is_null() {
            continue;
        }
        match ext {
            Some(ext) => {
                let target = out.entry(ext).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(target) = target {
                    merge_into(target, key, picked);
                }
            }
            None => merge_into(&mut out, key, picked),
        }
    }
    out
}

fn drop(kind: Kind, mut resource: Map<String, Value>, list: &[Selector]) -> Map<String, Value> {
    for sel in list {
        if always(&sel.name) && sel.sub.is_none() && is_core(kind, sel) {
            continue;
        }
        let map = match container_key(kind, sel, &resource) {
            Some(ext) => match resource.get_mut(&ext) {
                Some(Value::Object(m)) => m,
                _ => continue,
            },
            None if is_core(kind, sel) => &mut resource,
            None => continue,
        };
        let Some(key) = map
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&sel.name))
            .cloned()
        else {
            continue;
        };
        match &sel.sub {
            None => {
                map.shift_remove(&key);
            }
            Some(sub) => {
                let strip = |v: &mut Value| {
                    if let Value::Object(o) = v
                        && let Some(k) = o.keys().find(|k| k.eq_ignore_ascii_case(sub)).cloned()
                    {
                        o.shift_remove(&k);
                    }
                };
                match map.get_mut(&key) {
                    Some(Value::Array(items)) => items.iter_mut().for_each(strip),
                    Some(other) => strip(other),
                    None => {}
                }
            }
        }
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "b",
               "name": {"givenName": "B", "familyName": "J"}, "emails": [{"value": "a@x", "type": "work"}],
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "costCenter": "C"},
               "meta": {"resourceType": "User"}})
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_id_and_schemas() {
        let out = project(
            Kind::User,
            user(),
            Some(
                "userName,name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
            None,
        );
        assert_eq!(
            Value::Object(out),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "b", "name": {"givenName": "B"},
                   "emails": [{"value": "a@x"}], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}})
        );
    }

    #[test]
    fn excluded_attributes_remove_but_never_id() {
        let out = project(
            Kind::User,
            user(),
            None,
            Some("name.familyName,emails,id,meta"),
        );
        assert_eq!(out.get("id"), Some(&json!("1")));
        assert_eq!(out.get("name"), Some(&json!({"givenName": "B"})));
        assert!(!out.contains_key("emails") && !out.contains_key("meta"));
    }
}
