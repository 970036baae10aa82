//! Building a resource from a POST or PUT body (RFC 7644 §3.3, §3.5.1): names resolved to the
//! schema's spelling (URN-prefixed keys and core-URN objects included), values type-checked,
//! extension URNs kept in step with `schemas`, readOnly attributes ignored (RFC 7644 §3.3:
//! "SHALL be ignored"), and unknown attributes dropped and reported (compatible profile) or
//! refused (strict). The same rules as a path-less PATCH `add` apply to what is kept.
use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::patch::{Applier, AttrTarget, Target};
use crate::path::Path;
use crate::request::OpKind;
use crate::schema::{Attribute, Mutability, ResourceSchemas, Schema};

/// A resource built from a request body, with what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltResource {
    /// The resource: the skeleton's members (`id`, `meta`, ...) and the body's attributes.
    pub resource: Map<String, Value>,
    /// Paths of attributes the schemas do not define (and unknown schema URNs in `schemas`),
    /// dropped instead of stored: the compatible profile's answer to clients that send extras.
    pub dropped: Vec<String>,
    /// Paths of readOnly attributes the body carried (`id`, `meta`, `groups`, ...), ignored.
    pub ignored: Vec<String>,
}

/// What pruning the body found.
#[derive(Default)]
struct Report {
    dropped: Vec<String>,
    ignored: Vec<String>,
}

/// Builds the resource `body` describes on top of `skeleton` (see [`crate::Engine::build_resource`]).
pub(crate) fn build(
    applier: &Applier<'_>,
    body: Value,
    mut skeleton: Map<String, Value>,
) -> Result<BuiltResource, ScimError> {
    let schemas = applier.schemas;
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "a {} must be a JSON object",
            schemas.resource_type.name
        )));
    };
    let mut report = Report::default();
    let mut body = prune_members(applier, body, &mut report);
    let listed = crate::json::take_ci(&mut body, "schemas");
    check_schemas(applier, listed, &mut report)?;
    let core = Value::String(schemas.core.id.clone());
    match skeleton.get_mut("schemas") {
        Some(Value::Array(urns)) if urns.contains(&core) => {}
        Some(Value::Array(urns)) => urns.insert(0, core),
        _ => {
            skeleton.insert("schemas".into(), Value::Array(vec![core]));
        }
    }
    applier.write_members(&mut skeleton, OpKind::Add, Value::Object(body))?;
    applier.tidy(&mut skeleton);
    check_required(schemas, &skeleton)?;
    Ok(BuiltResource {
        resource: skeleton,
        dropped: report.dropped,
        ignored: report.ignored,
    })
}

/// `schemas` must list the resource type's core schema (compatible: it may be absent). Unknown
/// URNs are dropped (compatible) or refused (strict); the result's `schemas` follows the data.
fn check_schemas(
    applier: &Applier<'_>,
    listed: Option<Value>,
    report: &mut Report,
) -> Result<(), ScimError> {
    let schemas = applier.schemas;
    let core = &schemas.core.id;
    let urns = match listed {
        None if !applier.profile.is_strict() => return Ok(()),
        None => {
            return Err(ScimError::invalid_value(format!(
                "\"schemas\" is required and must include {core}"
            )));
        }
        Some(Value::Array(urns)) => urns,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "\"schemas\" must be an array of schema URNs, not {other}"
            )));
        }
    };
    let mut has_core = false;
    for urn in &urns {
        let Some(text) = urn.as_str() else {
            return Err(ScimError::invalid_value(format!(
                "\"schemas\" must hold schema URNs, not {urn}"
            )));
        };
        if schemas.is_core(text) {
            has_core = true;
        } else if schemas.extension(text).is_none() {
            if applier.profile.is_strict() {
                return Err(ScimError::invalid_value(format!(
                    "{text} is not a schema of a {}",
                    schemas.resource_type.name
                )));
            }
            report.dropped.push(text.to_string());
        }
    }
    if !has_core {
        return Err(ScimError::invalid_value(format!(
            "\"schemas\" must include {core}"
        )));
    }
    Ok(())
}

/// The body's members without readOnly attributes, and (compatible profile) without unknown
/// ones. What stays is resolved again, and checked, by the path-less add that stores it.
fn prune_members(
    applier: &Applier<'_>,
    members: Map<String, Value>,
    report: &mut Report,
) -> Map<String, Value> {
    let mut kept = Map::with_capacity(members.len());
    for (key, value) in members {
        if key.eq_ignore_ascii_case("schemas") {
            kept.insert(key, value);
            continue;
        }
        let target = Path::parse_with(&key, applier.profile, applier.limits)
            .and_then(|path| Ok((applier.resolve(&path)?, path.filter.is_some())));
        match target {
            // Strict: the add below refuses what is unknown, with the error a PATCH gets.
            Err(_) if applier.profile.is_strict() => {
                kept.insert(key, value);
            }
            Err(_) => report.dropped.push(key),
            Ok((Target::Resource, _)) => match value {
                Value::Object(inner) => {
                    let inner = prune_members(applier, inner, report);
                    kept.insert(key, Value::Object(inner));
                }
                other => {
                    kept.insert(key, other);
                }
            },
            Ok((Target::Extension(ext), _)) => {
                let value = match value {
                    Value::Object(inner) => {
                        Value::Object(prune_extension(applier, ext, inner, report))
                    }
                    other => other,
                };
                kept.insert(key, value);
            }
            Ok((Target::Attr(t), filtered)) => {
                if let Some(value) = prune_attribute(applier, t, filtered, value, report) {
                    kept.insert(key, value);
                }
            }
        }
    }
    kept
}

fn prune_extension(
    applier: &Applier<'_>,
    ext: &Schema,
    members: Map<String, Value>,
    report: &mut Report,
) -> Map<String, Value> {
    let mut kept = Map::with_capacity(members.len());
    for (key, value) in members {
        let attr = ext.attribute(&key);
        match attr {
            _ if key.eq_ignore_ascii_case("schemas") => {
                kept.insert(key, value);
            }
            None if applier.profile.is_strict() => {
                kept.insert(key, value);
            }
            None => report.dropped.push(format!("{}:{key}", ext.id)),
            Some(attr) => {
                let t = AttrTarget {
                    ext: Some(ext),
                    attr,
                    sub: None,
                };
                if let Some(value) = prune_attribute(applier, t, false, value, report) {
                    kept.insert(key, value);
                }
            }
        }
    }
    kept
}

/// The canonical path of an attribute target, as reports name it.
fn path_of(t: AttrTarget<'_>, sub: Option<&str>) -> String {
    let mut out = match t.ext {
        Some(ext) => format!("{}:{}", ext.id, t.attr.name),
        None => t.attr.name.clone(),
    };
    if let Some(sub) = t.sub.map(|s| s.name.as_str()).or(sub) {
        out.push('.');
        out.push_str(sub);
    }
    out
}

/// One attribute's value without readOnly parts and (compatible) unknown sub-attributes;
/// `None` when the whole attribute is ignored.
fn prune_attribute(
    applier: &Applier<'_>,
    t: AttrTarget<'_>,
    filtered: bool,
    value: Value,
    report: &mut Report,
) -> Option<Value> {
    let read_only = t.attr.mutability == Mutability::ReadOnly
        || t.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
    if read_only {
        report.ignored.push(path_of(t, None));
        return None;
    }
    if filtered || t.sub.is_some() || !t.attr.is_complex() {
        return Some(value);
    }
    let mut prune_object = |object: Map<String, Value>| -> Map<String, Value> {
        let mut kept = Map::with_capacity(object.len());
        for (key, member) in object {
            match t.attr.sub(&key) {
                Some(sub) if sub.mutability == Mutability::ReadOnly => {
                    report.ignored.push(path_of(t, Some(&sub.name)));
                }
                None if !applier.profile.is_strict() && !member.is_null() => {
                    report.dropped.push(path_of(t, Some(&key)));
                }
                _ => {
                    kept.insert(key, member);
                }
            }
        }
        kept
    };
    Some(match value {
        Value::Object(object) => Value::Object(prune_object(object)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(object) => Value::Object(prune_object(object)),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    })
}

/// Required attributes (RFC 7643 §2.2) of the core schema and of the extensions present, and
/// the required extensions themselves: 400 invalidValue when one is missing.
fn check_required(
    schemas: ResourceSchemas<'_>,
    resource: &Map<String, Value>,
) -> Result<(), ScimError> {
    let missing = |container: &Map<String, Value>, attr: &Attribute| {
        attr.required
            && crate::json::get_ci(container, &attr.name).is_none_or(crate::json::is_unassigned)
    };
    if let Some(attr) = schemas
        .core
        .attributes
        .iter()
        .find(|a| missing(resource, a))
    {
        return Err(ScimError::invalid_value(format!(
            "\"{}\" is required",
            attr.name
        )));
    }
    for (ext, required) in schemas.extensions() {
        match crate::json::get_ci(resource, &ext.id).and_then(Value::as_object) {
            Some(data) => {
                if let Some(attr) = ext.attributes.iter().find(|a| missing(data, a)) {
                    return Err(ScimError::invalid_value(format!(
                        "\"{}:{}\" is required",
                        ext.id, attr.name
                    )));
                }
            }
            None if required => {
                return Err(ScimError::invalid_value(format!(
                    "the extension {} is required",
                    ext.id
                )));
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use crate::error::{ScimError, ScimType};
    use crate::schema::{CORE_USER, ENTERPRISE_USER, WORKSPACE_ONE_USER};
    use crate::{BuiltResource, Engine};

    fn skeleton() -> Map<String, Value> {
        let skeleton = json!({"id": "u-1", "meta": {"resourceType": "User", "version": "W/\"1\""}});
        skeleton.as_object().cloned().unwrap_or_default()
    }

    fn build(engine: &Engine, body: Value) -> Result<BuiltResource, ScimError> {
        engine.build_resource("User", body, skeleton())
    }

    fn strict() -> Engine {
        Engine::from_config_json(r#"{"profile": "strict"}"#).expect("valid config")
    }

    #[test]
    fn names_resolve_and_schemas_follow_the_data() {
        let body = json!({
            "schemas": [CORE_USER, ENTERPRISE_USER],
            "USERNAME": "bjensen",
            "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Babs",
            CORE_USER: {"title": "Guide"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours",
            "emails": [{"Value": "b@example.com", "primary": "True"}]
        });
        let built = build(&Engine::default(), body).expect("builds");
        assert_eq!(
            Value::Object(built.resource),
            json!({
                "schemas": [CORE_USER, ENTERPRISE_USER],
                "id": "u-1", "meta": {"resourceType": "User", "version": "W/\"1\""},
                "userName": "bjensen", "displayName": "Babs", "title": "Guide",
                ENTERPRISE_USER: {"department": "Tours"},
                "emails": [{"value": "b@example.com", "primary": true}]
            })
        );
        assert!(built.dropped.is_empty() && built.ignored.is_empty());
        // A listed extension without data is not kept in `schemas`.
        let body = json!({"schemas": [CORE_USER, ENTERPRISE_USER], "userName": "b"});
        let built = build(&Engine::default(), body).expect("builds");
        assert_eq!(built.resource["schemas"], json!([CORE_USER]));
    }

    #[test]
    fn read_only_attributes_are_ignored_and_the_skeleton_kept() {
        let body = json!({
            "schemas": [CORE_USER], "userName": "b",
            "id": "chosen-by-client", "meta": {"version": "W/\"9\""},
            "groups": [{"value": "g-1"}],
            ENTERPRISE_USER: {"manager": {"value": "m-1", "displayName": "Boss"}}
        });
        for engine in [Engine::default(), strict()] {
            let built = build(&engine, body.clone()).expect("builds");
            assert_eq!(built.resource["id"], "u-1");
            assert_eq!(built.resource["meta"]["version"], "W/\"1\"");
            assert!(!built.resource.contains_key("groups"));
            assert_eq!(
                built.resource[ENTERPRISE_USER],
                json!({"manager": {"value": "m-1"}})
            );
            assert_eq!(
                built.ignored,
                [
                    "id",
                    "meta",
                    "groups",
                    &format!("{ENTERPRISE_USER}:manager.displayName")
                ]
            );
        }
    }

    #[test]
    fn unknown_attributes_are_dropped_in_compatible_and_refused_in_strict() {
        let body = json!({
            "schemas": [CORE_USER, "urn:example:custom:1.0"], "userName": "b",
            "favouriteColour": "green",
            "name": {"givenName": "B", "nickname": "x"},
            "emails": [{"value": "b@example.com", "label": "x"}],
            ENTERPRISE_USER: {"department": "Tours", "floor": 3},
            "urn:example:custom:1.0": {"x": 1}
        });
        let built = build(&Engine::default(), body.clone()).expect("builds");
        assert_eq!(
            built.dropped,
            [
                "favouriteColour",
                "name.nickname",
                "emails.label",
                &format!("{ENTERPRISE_USER}:floor"),
                "urn:example:custom:1.0",
                "urn:example:custom:1.0",
            ]
        );
        assert_eq!(built.resource["name"], json!({"givenName": "B"}));
        assert_eq!(
            built.resource["emails"],
            json!([{"value": "b@example.com"}])
        );
        assert!(!built.resource.contains_key("favouriteColour"));
        let err = build(
            &strict(),
            json!({"schemas": [CORE_USER], "userName": "b", "x": 1}),
        )
        .expect_err("strict refuses unknown attributes");
        assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
        let err = build(&strict(), body).expect_err("strict refuses unknown schemas");
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn schemas_must_list_the_core_schema() {
        let err = build(
            &Engine::default(),
            json!({"schemas": [ENTERPRISE_USER], "userName": "b"}),
        )
        .expect_err("no core schema");
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(build(&Engine::default(), json!({"userName": "b"})).is_ok());
        let err = build(&strict(), json!({"userName": "b"})).expect_err("strict: schemas required");
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn errors_carry_no_operation() {
        let err = build(
            &Engine::default(),
            json!({"schemas": [CORE_USER], "userName": "b", "active": "maybe"}),
        )
        .expect_err("a wrong type");
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidValue))
        );
        assert_eq!(err.site, None);
        assert_eq!(
            err.message(),
            "\"active\" must be true or false, not a string"
        );
        let err = build(
            &Engine::default(),
            json!({"schemas": [CORE_USER], "displayName": "b"}),
        )
        .expect_err("userName is required");
        assert_eq!(err.message(), "\"userName\" is required");
        let err = Engine::default()
            .build_resource("Device", json!({}), Map::new())
            .expect_err("unknown type");
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        let err =
            build(&Engine::default(), json!(["not", "an", "object"])).expect_err("not an object");
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
    }

    /// Item 16 of the tolerance issue: a Workspace ONE directory user's extension attributes.
    #[test]
    fn a_workspace_one_directory_user_builds() {
        let extension = json!({
            "distinguishedName": "CN=Dir User,OU=Staff,DC=acme,DC=example", "domain": "acme.example",
            "internalUserType": "DIRECTORY", "softDeleted": false, "userPrincipalName": "dir@acme.example",
            "userStatus": "1", "userStoreUuid": "0b8f6c4e", "firstLoginUrl": "https://acme.example/login"
        });
        let body = json!({"schemas": [CORE_USER, WORKSPACE_ONE_USER], "userName": "dir", WORKSPACE_ONE_USER: extension});
        for engine in [Engine::default(), strict()] {
            let built = build(&engine, body.clone()).expect("builds");
            assert_eq!(built.resource[WORKSPACE_ONE_USER], extension);
            assert!(built.dropped.is_empty());
        }
    }

    #[test]
    fn groups_build_with_bare_member_ids_in_compatible() {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": ["m-1", {"value": "m-2"}]});
        let built = Engine::default()
            .build_resource("Group", body, Map::new())
            .expect("builds");
        assert_eq!(
            built.resource["members"],
            json!([{"value": "m-1"}, {"value": "m-2"}])
        );
    }
}
