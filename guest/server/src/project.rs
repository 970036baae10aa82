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

/// A response's `attributes` / `excludedAttributes` (the former wins when both are given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    attributes: Vec<Selector>,
    excluded: Vec<Selector>,
}

impl Projection {
    /// From the two comma-separated lists.
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        let attributes = attributes.map(parse_list).unwrap_or_default();
        let excluded = if attributes.is_empty() {
            excluded.map(parse_list).unwrap_or_default()
        } else {
            Vec::new()
        };
        Projection {
            attributes,
            excluded,
        }
    }

    /// From query parameters (names case-insensitive).
    pub fn from_params(params: &[(String, String)]) -> Self {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        Projection::new(get("attributes"), get("excludedAttributes"))
    }

    /// Whether the projected resource can contain the core attribute `name` (so a derived one
    /// such as `members` or `groups` need not be computed when it cannot).
    pub fn includes(&self, name: &str) -> bool {
        let named = |sel: &Selector| sel.schema.is_none() && sel.name.eq_ignore_ascii_case(name);
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(named);
        }
        !self
            .excluded
            .iter()
            .any(|sel| named(sel) && sel.sub.is_none())
    }

    /// Whether the client asked for a projection at all.
    pub fn is_requested(&self) -> bool {
        !self.attributes.is_empty() || !self.excluded.is_empty()
    }

    /// Narrows `resource` to what the projection keeps.
    pub fn apply(&self, kind: Kind, resource: Map<String, Value>) -> Map<String, Value> {
        if !self.attributes.is_empty() {
            return keep(kind, resource, &self.attributes);
        }
        if !self.excluded.is_empty() {
            return drop(kind, resource, &self.excluded);
        }
        resource
    }
}

/// Narrows `resource` to `attributes`, or removes `excluded` (the former wins when both given).
pub fn project(
    kind: Kind,
    resource: Map<String, Value>,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Map<String, Value> {
    Projection::new(attributes, excluded).apply(kind, resource)
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
    fn a_projection_says_which_derived_attributes_it_keeps() {
        assert!(Projection::new(None, None).includes("members"));
        assert!(!Projection::new(None, Some("members")).includes("members"));
        assert!(Projection::new(None, Some("members.display")).includes("members"));
        assert!(!Projection::new(Some("displayName"), None).includes("members"));
        assert!(Projection::new(Some("members.value"), None).includes("MEMBERS"));
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
