//! Checking and normalising incoming values against attribute definitions (RFC 7643 §2.3):
//! types, canonical sub-attribute names, and the compatible profile's lenient forms.
use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::profile::Profile;
use crate::schema::{AttrType, Attribute};

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a simple (non-complex) value against `attr`'s type; the compatible profile turns
/// `"True"`/`"False"` strings into booleans.
pub(crate) fn simple(attr: &Attribute, value: Value, profile: Profile) -> Result<Value, ScimError> {
    let ok = match (attr.ty, &value) {
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(_)) => true,
        (AttrType::Boolean, Value::Bool(_)) => true,
        (AttrType::Boolean, Value::String(s)) if profile == Profile::Compatible => {
            if s.eq_ignore_ascii_case("true") {
                return Ok(Value::Bool(true));
            }
            if s.eq_ignore_ascii_case("false") {
                return Ok(Value::Bool(false));
            }
            false
        }
        (AttrType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (AttrType::Decimal, Value::Number(_)) => true,
        (AttrType::DateTime, Value::String(s)) => crate::datetime::parse(s).is_some(),
        _ => false,
    };
    if ok {
        return Ok(value);
    }
    let expected = match attr.ty {
        AttrType::DateTime => "a dateTime string such as \"2024-01-31T12:00:00Z\"",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::Boolean => "true or false",
        AttrType::Complex => "an object",
        _ => "a string",
    };
    Err(ScimError::invalid_value(format!(
        "\"{}\" must be {expected}, not {}",
        attr.name,
        kind(&value)
    )))
}

/// Checks a complex value: an object whose members are known sub-attributes, renamed to their
/// canonical spelling. `null` members are kept (the caller decides what unassigning means).
/// The compatible profile reads a bare scalar as `{"value": scalar}`.
pub(crate) fn complex(
    attr: &Attribute,
    value: Value,
    profile: Profile,
) -> Result<Map<String, Value>, ScimError> {
    let value = match value {
        Value::Object(map) => map,
        scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))
            if profile == Profile::Compatible && attr.sub("value").is_some() =>
        {
            let mut map = Map::new();
            map.insert("value".into(), scalar);
            map
        }
        other => {
            return Err(ScimError::invalid_value(format!(
                "\"{}\" is complex: its value must be an object, not {}",
                attr.name,
                kind(&other)
            )));
        }
    };
    // Already spelled canonically (the usual case): checked in place, not rebuilt.
    if value
        .iter()
        .all(|(key, _)| attr.sub(key).is_some_and(|sub| sub.name == *key))
    {
        let mut value = value;
        for (key, member) in value.iter_mut() {
            if let Some(sub) = attr.sub(key)
                && !member.is_null()
            {
                *member = simple(sub, member.take(), profile)?;
            }
        }
        return Ok(value);
    }
    let mut out = Map::with_capacity(value.len());
    for (key, member) in value {
        let Some(sub) = attr.sub(&key) else {
            if member.is_null() {
                continue;
            }
            let known: Vec<&str> = attr
                .sub_attributes
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(ScimError::invalid_value(format!(
                "\"{}\" has no sub-attribute \"{key}\" (it has: {})",
                attr.name,
                known.join(", ")
            )));
        };
        if out.contains_key(&sub.name) {
            return Err(ScimError::invalid_value(format!(
                "\"{}.{}\" is given twice (names are case-insensitive)",
                attr.name, sub.name
            )));
        }
        let member = if member.is_null() {
            Value::Null
        } else {
            simple(sub, member, profile)?
        };
        out.insert(sub.name.clone(), member);
    }
    Ok(out)
}

/// One value of `attr` (an element, when multi-valued), with `null` sub-attributes dropped.
/// `None` when nothing is left (a null, or an object of nulls).
pub(crate) fn element(
    attr: &Attribute,
    value: Value,
    profile: Profile,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !attr.is_complex() {
        return simple(attr, value, profile).map(Some);
    }
    let mut map = complex(attr, value, profile)?;
    map.retain(|_, v| !v.is_null());
    Ok((!map.is_empty()).then_some(Value::Object(map)))
}

/// The values of a multi-valued attribute: an array (the compatible profile also takes a single
/// value), each element checked; nulls dropped.
pub(crate) fn elements(
    attr: &Attribute,
    value: Value,
    profile: Profile,
) -> Result<Vec<Value>, ScimError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        single if profile == Profile::Compatible => vec![single],
        other => {
            return Err(ScimError::invalid_value(format!(
                "\"{}\" is multi-valued: its value must be an array, not {}",
                attr.name,
                kind(&other)
            )));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = element(attr, item, profile)? {
            out.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Registry;
    use serde_json::json;

    #[test]
    fn complex_values_keep_order_and_canonical_names_in_either_spelling() {
        let registry = Registry::builtin();
        let schemas = registry.schemas_of_type("User").expect("User");
        let attr = schemas
            .core_attribute("phoneNumbers")
            .expect("phoneNumbers");
        let check = |value: Value| complex(attr, value, Profile::Compatible);
        for given in [
            json!({"value": "1", "type": "work", "primary": "True", "display": null}),
            json!({"VALUE": "1", "type": "work", "Primary": "True", "display": null}),
        ] {
            let out = check(given).expect("valid");
            assert_eq!(
                Value::Object(out).to_string(),
                r#"{"value":"1","type":"work","primary":true,"display":null}"#
            );
        }
        for (given, detail) in [
            (
                json!({"value": 1}),
                "\"value\" must be a string, not a number",
            ),
            (
                json!({"Value": 1}),
                "\"value\" must be a string, not a number",
            ),
            (
                json!({"value": "1", "VALUE": "2"}),
                "\"phoneNumbers.value\" is given twice (names are case-insensitive)",
            ),
        ] {
            let err = check(given).expect_err("invalid");
            assert_eq!(err.detail, detail);
        }
    }
}
