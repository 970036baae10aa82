//! Attributes that are never returned (RFC 7643 §7 `returned: "never"`, e.g. `password`), taken
//! out of a resource after the engine built or patched it, so the caller can keep them apart
//! (hash a password) and never store or return them with the resource.
//!
//! Members are found the way the engine resolves paths, so every spelling it accepts is covered
//! (`password`, `PASSWORD`, `urn:ietf:params:scim:schemas:core:2.0:User:password`, inside a
//! core-URN object, extension attributes and sub-attributes alike).
use serde_json::{Map, Value};

use crate::json::{get_mut_ci, take_ci};
use crate::patch::{Applier, Target};
use crate::path::Path;
use crate::schema::Attribute;

/// A never-returned attribute taken out of a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOnly {
    /// Its canonical path: `password`, `urn:...:User:secret`, `attr.sub`.
    pub path: String,
    /// The value it had.
    pub value: Value,
}

/// Removes every never-returned attribute of `resource`, returning them (see the module doc).
pub(crate) fn take(applier: &Applier<'_>, resource: &mut Map<String, Value>) -> Vec<WriteOnly> {
    let mut taken = Vec::new();
    take_members(applier, resource, &mut taken);
    applier.tidy(resource);
    taken
}

fn take_members(applier: &Applier<'_>, members: &mut Map<String, Value>, out: &mut Vec<WriteOnly>) {
    let keys: Vec<String> = members.keys().cloned().collect();
    for key in keys {
        let Ok(path) = Path::parse_with(&key, applier.profile, applier.limits) else {
            continue;
        };
        if path.filter.is_some() {
            continue;
        }
        match applier.resolve(&path) {
            Ok(Target::Resource) => {
                if let Some(Value::Object(inner)) = members.get_mut(&key) {
                    take_members(applier, inner, out);
                }
            }
            Ok(Target::Extension(ext)) => {
                if let Some(Value::Object(inner)) = members.get_mut(&key) {
                    for attr in &ext.attributes {
                        take_attribute(inner, attr, &format!("{}:", ext.id), out);
                    }
                }
            }
            Ok(Target::Attr(t)) => {
                let prefix = t.ext.map(|e| format!("{}:", e.id)).unwrap_or_default();
                match t.sub {
                    // A member spelled `attr.sub`: only the engine's compatible profile writes
                    // through such keys, but a stored one is covered too.
                    Some(sub) if t.attr.never_returned() || sub.never_returned() => {
                        if let Some(value) = members.shift_remove(&key) {
                            let path = format!("{prefix}{}.{}", t.attr.name, sub.name);
                            out.push(WriteOnly { path, value });
                        }
                    }
                    Some(_) => {}
                    None => {
                        let mut one = Map::new();
                        if let Some(value) = members.shift_remove(&key) {
                            one.insert(t.attr.name.clone(), value);
                        }
                        take_attribute(&mut one, t.attr, &prefix, out);
                        if let Some((_, value)) = one.into_iter().next() {
                            members.insert(key, value);
                        }
                    }
                }
            }
            Err(_) => {}
        }
    }
}

/// Takes `attr` out of `container` when never returned, else its never-returned sub-attributes.
fn take_attribute(
    container: &mut Map<String, Value>,
    attr: &Attribute,
    prefix: &str,
    out: &mut Vec<WriteOnly>,
) {
    if attr.never_returned() {
        if let Some(value) = take_ci(container, &attr.name) {
            out.push(WriteOnly {
                path: format!("{prefix}{}", attr.name),
                value,
            });
        }
        return;
    }
    if !attr.sub_attributes.iter().any(Attribute::never_returned) {
        return;
    }
    let Some(value) = get_mut_ci(container, &attr.name) else {
        return;
    };
    let objects: Vec<&mut Map<String, Value>> = match value {
        Value::Object(object) => vec![object],
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    };
    for object in objects {
        for sub in attr.sub_attributes.iter().filter(|s| s.never_returned()) {
            if let Some(value) = take_ci(object, &sub.name) {
                out.push(WriteOnly {
                    path: format!("{prefix}{}.{}", attr.name, sub.name),
                    value,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use crate::schema::CORE_USER;
    use crate::{Engine, WriteOnly};

    const SECRETS: &str = "urn:example:scim:schemas:extension:secrets:2.0:User";

    fn engine() -> Engine {
        let config = json!({"schemas": [{"id": SECRETS, "name": "Secrets", "attributes": [
            {"name": "pin", "type": "string", "returned": "never", "mutability": "writeOnly"},
            {"name": "label", "type": "string"},
            {"name": "keys", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "value", "type": "string"}, {"name": "secret", "type": "string", "returned": "never"}]}]}]});
        Engine::from_config_json(&config.to_string()).expect("valid config")
    }

    fn passwords(taken: &[WriteOnly]) -> Vec<(&str, &Value)> {
        taken.iter().map(|w| (w.path.as_str(), &w.value)).collect()
    }

    /// Item 1 of the tolerance issue: every spelling of `password` the engine accepts is taken.
    #[test]
    fn every_spelling_of_password_is_taken_after_build() {
        for body in [
            json!({"userName": "b", "password": "p1"}),
            json!({"userName": "b", "PassWord": "p1"}),
            json!({"userName": "b", "urn:ietf:params:scim:schemas:core:2.0:User:password": "p1"}),
            json!({"userName": "b", CORE_USER: {"password": "p1"}}),
            json!({"userName": "b", "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER": {"PASSWORD": "p1"}}),
        ] {
            let engine = engine();
            let mut built = engine
                .build_resource("User", body.clone(), Map::new())
                .expect("builds")
                .resource;
            let taken = engine.take_write_only(&mut built);
            assert_eq!(passwords(&taken), [("password", &json!("p1"))], "{body}");
            assert!(
                !built
                    .to_string_keys()
                    .iter()
                    .any(|k| k.to_lowercase().contains("password")),
                "{body}"
            );
            assert_eq!(
                Value::Object(built),
                json!({"schemas": [CORE_USER], "userName": "b"})
            );
        }
    }

    #[test]
    fn password_set_by_patch_is_taken() {
        let engine = Engine::default();
        let user = json!({"schemas": [CORE_USER], "id": "u-1", "userName": "b"});
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:password": "p2"}}]});
        let Value::Object(mut patched) = engine.apply(&user, &patch).expect("applies") else {
            panic!("not an object");
        };
        let taken = engine.take_write_only(&mut patched);
        assert_eq!(passwords(&taken), [("password", &json!("p2"))]);
        assert_eq!(Value::Object(patched), user);
    }

    #[test]
    fn extension_attributes_and_sub_attributes_are_taken() {
        let engine = engine();
        let body = json!({"schemas": [CORE_USER, SECRETS], "userName": "b",
            SECRETS: {"PIN": "1234", "keys": [{"value": "k1", "secret": "s1"}, {"value": "k2"}]}});
        let mut built = engine
            .build_resource("User", body, Map::new())
            .expect("builds")
            .resource;
        let taken = engine.take_write_only(&mut built);
        let pin = format!("{SECRETS}:pin");
        let secret = format!("{SECRETS}:keys.secret");
        assert_eq!(
            passwords(&taken),
            [
                (pin.as_str(), &json!("1234")),
                (secret.as_str(), &json!("s1"))
            ]
        );
        assert_eq!(
            built[SECRETS],
            json!({"keys": [{"value": "k1"}, {"value": "k2"}]})
        );
        // An extension left empty goes, with its URN.
        let mut only_pin =
            json!({"schemas": [CORE_USER, SECRETS], "userName": "b", SECRETS: {"pin": "1"}})
                .as_object()
                .cloned()
                .unwrap_or_default();
        engine.take_write_only(&mut only_pin);
        assert_eq!(
            Value::Object(only_pin),
            json!({"schemas": [CORE_USER], "userName": "b"})
        );
    }

    trait Keys {
        fn to_string_keys(&self) -> Vec<String>;
    }

    impl Keys for Map<String, Value> {
        /// Every member name, nested ones included.
        fn to_string_keys(&self) -> Vec<String> {
            let mut out = Vec::new();
            for (k, v) in self {
                out.push(k.clone());
                if let Value::Object(inner) = v {
                    out.extend(inner.to_string_keys());
                }
            }
            out
        }
    }
}
