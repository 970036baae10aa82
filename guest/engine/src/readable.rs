//! Which attributes a filter may name: not those never returned (RFC 7643 §7 `returned:
//! "never"`, e.g. `password`), since whether a resource matches would reveal them
//! (`filter=password eq "guess"`). Checked for list filters by the caller
//! ([`crate::Engine::check_filter_readable`]) and for PATCH value filters by the engine.
use crate::attr_path::AttrPath;
use crate::error::ScimError;
use crate::filter::Filter;
use crate::schema::{Attribute, ResourceSchemas};

/// 400 invalidFilter when a list filter names a never-returned attribute of `schemas`.
pub(crate) fn check_filter(filter: &Filter, schemas: ResourceSchemas<'_>) -> Result<(), ScimError> {
    check(filter, &|path| resource_definition(schemas, path))
}

/// 400 invalidFilter when the value filter of a PATCH path on `attr` names a never-returned
/// sub-attribute (a remove by such a filter would reveal it).
pub(crate) fn check_value_filter(filter: &Filter, attr: &Attribute) -> Result<(), ScimError> {
    check(filter, &|path| element_definition(attr, path))
}

/// Checks every attribute path of `filter`, each resolved by `resolve`; paths inside a value
/// path's brackets resolve against the attribute before them.
fn check<'a>(
    filter: &Filter,
    resolve: &dyn Fn(&AttrPath) -> Option<&'a Attribute>,
) -> Result<(), ScimError> {
    match filter {
        Filter::Or(terms) | Filter::And(terms) => terms.iter().try_for_each(|t| check(t, resolve)),
        Filter::Not(inner) => check(inner, resolve),
        Filter::Present(path) | Filter::Compare(path, ..) => readable(path, resolve(path)),
        Filter::ValuePath(path, inner) => {
            let attr = resolve(path);
            readable(path, attr)?;
            match attr {
                Some(attr) => check(inner, &|p| element_definition(attr, p)),
                None => Ok(()),
            }
        }
    }
}

/// 400 invalidFilter when `path` (resolved to `attr`) names a never-returned attribute.
fn readable(path: &AttrPath, attr: Option<&Attribute>) -> Result<(), ScimError> {
    let Some(attr) = attr else {
        return Ok(());
    };
    let sub = path.sub.as_ref().and_then(|s| attr.sub(s));
    if attr.never_returned() || sub.is_some_and(Attribute::never_returned) {
        return Err(ScimError::invalid_filter(format!(
            "\"{path}\" is never returned, so it cannot be filtered on"
        )));
    }
    Ok(())
}

/// What an attribute path inside `parent[...]` names.
fn element_definition<'a>(parent: &'a Attribute, path: &AttrPath) -> Option<&'a Attribute> {
    if parent.is_complex() {
        parent.sub(&path.name)
    } else {
        path.name.eq_ignore_ascii_case("value").then_some(parent)
    }
}

/// What an attribute path of a list filter names.
fn resource_definition<'a>(schemas: ResourceSchemas<'a>, path: &AttrPath) -> Option<&'a Attribute> {
    match &path.schema {
        Some(urn) if !schemas.is_core(urn) => schemas.extension(urn)?.attribute(&path.name),
        _ => schemas.core_attribute(&path.name),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::error::ScimType;
    use crate::{Engine, Filter};

    const SECRETS: &str = "urn:example:scim:schemas:extension:secrets:2.0:User";

    fn engine() -> Engine {
        let config = json!({"schemas": [{"id": SECRETS, "name": "Secrets", "attributes": [
            {"name": "keys", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "value", "type": "string"}, {"name": "secret", "type": "string", "returned": "never"}]}]}]});
        Engine::from_config_json(&config.to_string()).expect("valid config")
    }

    fn check(filter: &str, types: &[&str]) -> Option<ScimType> {
        let engine = engine();
        let filter = engine.parse_filter(filter).expect("parses");
        engine
            .check_filter_readable(&filter, types)
            .err()
            .and_then(|e| e.scim_type)
    }

    #[test]
    fn filters_naming_never_returned_attributes_are_refused() {
        let refused = Some(ScimType::InvalidFilter);
        for filter in [
            "password eq \"guess\"",
            "PASSWORD sw \"a\"",
            "urn:ietf:params:scim:schemas:core:2.0:User:password pr",
            "userName eq \"b\" or not (password eq \"x\")",
            &format!("{SECRETS}:keys[secret eq \"s\"]"),
            &format!("{SECRETS}:keys.secret eq \"s\""),
        ] {
            assert_eq!(check(filter, &["User"]), refused, "{filter}");
        }
        for filter in [
            "userName eq \"b\"",
            "emails[type eq \"work\"]",
            &format!("{SECRETS}:keys[value eq \"k\"]"),
            "unknownAttribute eq \"x\"",
        ] {
            assert_eq!(check(filter, &["User"]), None, "{filter}");
        }
        // Groups have no password: the same filter is refused only where it names one.
        assert_eq!(check("password eq \"x\"", &["Group"]), None);
        assert_eq!(check("password eq \"x\"", &["Group", "User"]), refused);
        assert_eq!(
            check("userName pr", &["Device"]),
            Some(ScimType::InvalidValue)
        );
        assert!(
            Filter::parse("password eq \"x\"").is_ok(),
            "parsing alone is not refused"
        );
    }

    #[test]
    fn patch_value_filters_naming_never_returned_sub_attributes_are_refused() {
        let engine = engine();
        let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", SECRETS], "userName": "b",
            SECRETS: {"keys": [{"value": "k1", "secret": "s1"}]}});
        let patch = |path: String| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": path}]});
        let err = engine
            .apply(&user, &patch(format!("{SECRETS}:keys[secret eq \"s1\"]")))
            .expect_err("an oracle on the secret");
        assert_eq!(err.scim_type, Some(ScimType::InvalidFilter));
        let out = engine
            .apply(&user, &patch(format!("{SECRETS}:keys[value eq \"k1\"]")))
            .expect("a filter on a returned sub-attribute");
        assert_eq!(out.get(SECRETS), None);
    }
}
