//! Filter evaluation (RFC 7644 §3.4.2.2) against a resource, or against one value of a
//! multi-valued attribute (the `[...]` of a path), honouring the schema's types and caseExact.
use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::attr_path::AttrPath;
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::json::get_ci;
use crate::schema::{AttrType, Attribute, ResourceSchemas};

/// What the attribute names of a filter refer to.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// A whole resource (list queries, `matches`).
    Resource(&'a Map<String, Value>, ResourceSchemas<'a>),
    /// One value of the multi-valued attribute `attr` (PATCH value filters).
    Element(&'a Value, &'a Attribute),
}

fn push_flat<'v>(out: &mut Vec<&'v Value>, value: &'v Value) {
    match value {
        Value::Array(items) => out.extend(items.iter().filter(|v| !v.is_null())),
        Value::Null => {}
        other => out.push(other),
    }
}

/// The candidate values a filter attribute path selects, with the definition that governs them.
/// `whole` keeps complex values as they are (for `pr`); otherwise a complex value stands for its
/// `value` sub-attribute.
pub(crate) fn lookup<'a>(
    scope: Scope<'a>,
    path: &AttrPath,
    whole: bool,
) -> Result<(Vec<&'a Value>, Option<&'a Attribute>), ScimError> {
    let (raw, def): (Option<&'a Value>, Option<&'a Attribute>) = match scope {
        Scope::Element(value, attr) => {
            if !attr.is_complex() {
                if !path.name.eq_ignore_ascii_case("value") || path.sub.is_some() {
                    return Ok((Vec::new(), None));
                }
                return Ok((
                    if value.is_null() { vec![] } else { vec![value] },
                    Some(attr),
                ));
            }
            let field = value.as_object().and_then(|m| get_ci(m, &path.name));
            (field, attr.sub(&path.name))
        }
        Scope::Resource(doc, schemas) => {
            let (container, def) = match &path.schema {
                Some(urn) if schemas.is_core(urn) => {
                    (Some(doc), schemas.core_attribute(&path.name))
                }
                Some(urn) => match schemas.extension(urn) {
                    Some(ext) => (
                        get_ci(doc, &ext.id).and_then(Value::as_object),
                        ext.attribute(&path.name),
                    ),
                    None => {
                        return Err(ScimError::invalid_filter(format!(
                            "unknown schema \"{urn}\" in filter attribute \"{path}\""
                        )));
                    }
                },
                None => (Some(doc), schemas.core_attribute(&path.name)),
            };
            (
                container.and_then(|c| get_ci(c, def.map_or(&path.name, |d| &d.name))),
                def,
            )
        }
    };
    let mut out = Vec::new();
    let Some(raw) = raw else {
        return Ok((out, def));
    };
    if let Some(sub) = &path.sub {
        let sub_def = def.and_then(|d| d.sub(sub));
        let items: Vec<&Value> = match raw {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            if let Some(v) = item.as_object().and_then(|m| get_ci(m, sub)) {
                push_flat(&mut out, v);
            }
        }
        return Ok((out, sub_def));
    }
    let complex = def.is_some_and(Attribute::is_complex)
        || raw.is_object()
        || raw
            .as_array()
            .is_some_and(|a| a.iter().any(Value::is_object));
    if whole || !complex {
        push_flat(&mut out, raw);
        return Ok((out, def));
    }
    let items: Vec<&Value> = match raw {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        match item.as_object() {
            Some(m) => {
                if let Some(v) = get_ci(m, "value") {
                    push_flat(&mut out, v);
                }
            }
            None => push_flat(&mut out, item),
        }
    }
    Ok((out, def.and_then(|d| d.sub("value"))))
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_strings(candidate: &str, literal: &str, op: CompareOp, def: Option<&Attribute>) -> bool {
    if def.is_some_and(|d| d.ty == AttrType::DateTime)
        && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
        && let (Some(c), Some(l)) = (
            crate::datetime::parse(candidate),
            crate::datetime::parse(literal),
        )
    {
        return ordering_matches(op, c.cmp(&l));
    }
    if def.is_some_and(|d| d.case_exact) {
        return compare_text(candidate, literal, op);
    }
    // Filters run on every value of large attributes: ASCII text (nearly all of it) is folded
    // on the fly instead of copied.
    if candidate.is_ascii() && literal.is_ascii() {
        let (c, l) = (candidate.as_bytes(), literal.as_bytes());
        return match op {
            CompareOp::Sw => c.len() >= l.len() && c[..l.len()].eq_ignore_ascii_case(l),
            CompareOp::Ew => c.len() >= l.len() && c[c.len() - l.len()..].eq_ignore_ascii_case(l),
            CompareOp::Co => l.is_empty() || c.windows(l.len()).any(|w| w.eq_ignore_ascii_case(l)),
            _ => ordering_matches(
                op,
                c.iter()
                    .map(u8::to_ascii_lowercase)
                    .cmp(l.iter().map(u8::to_ascii_lowercase)),
            ),
        };
    }
    compare_text(&candidate.to_lowercase(), &literal.to_lowercase(), op)
}

/// `op` on two texts as they are.
fn compare_text(c: &str, l: &str, op: CompareOp) -> bool {
    match op {
        CompareOp::Co => c.contains(l),
        CompareOp::Sw => c.starts_with(l),
        CompareOp::Ew => c.ends_with(l),
        _ => ordering_matches(op, c.cmp(l)),
    }
}

fn compare_one(
    candidate: &Value,
    op: CompareOp,
    literal: &CompValue,
    def: Option<&Attribute>,
) -> bool {
    match (candidate, literal) {
        (Value::String(c), CompValue::String(l)) => compare_strings(c, l, op, def),
        (Value::Bool(c), CompValue::Bool(l)) => ordering_matches(op, c.cmp(l)),
        (Value::Number(c), CompValue::Number(l)) => {
            let ord = match (c.as_i64(), l.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => c
                    .as_f64()
                    .zip(l.as_f64())
                    .and_then(|(x, y)| x.partial_cmp(&y)),
            };
            ord.is_some_and(|o| ordering_matches(op, o))
        }
        _ => false,
    }
}

fn check_operands(
    path: &AttrPath,
    op: CompareOp,
    literal: &CompValue,
    def: Option<&Attribute>,
) -> Result<(), ScimError> {
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    if ordering
        && def.is_some_and(|d| {
            matches!(
                d.ty,
                AttrType::Boolean | AttrType::Binary | AttrType::Complex
            )
        })
    {
        return Err(ScimError::invalid_filter(format!(
            "\"{path}\" cannot be compared with \"{}\": it is {}",
            op.as_str(),
            def.map_or("", |d| d.ty.as_str())
        )));
    }
    match literal {
        CompValue::Null | CompValue::Bool(_) if ordering || substring => {
            Err(ScimError::invalid_filter(format!(
                "\"{}\" needs a string or number, not {literal}",
                op.as_str()
            )))
        }
        CompValue::Number(_) if substring => Err(ScimError::invalid_filter(format!(
            "\"{}\" needs a string, not {literal}",
            op.as_str()
        ))),
        _ => Ok(()),
    }
}

/// Evaluates `filter` in `scope`.
pub(crate) fn evaluate(filter: &Filter, scope: Scope<'_>) -> Result<bool, ScimError> {
    match filter {
        Filter::Or(terms) => {
            for term in terms {
                if evaluate(term, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Filter::And(terms) => {
            for term in terms {
                if !evaluate(term, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Filter::Not(inner) => Ok(!evaluate(inner, scope)?),
        Filter::Present(path) => Ok(lookup(scope, path, true)?.0.into_iter().any(is_present)),
        Filter::Compare(path, op, literal) => {
            let (candidates, def) = lookup(scope, path, false)?;
            check_operands(path, *op, literal, def)?;
            Ok(match (op, literal) {
                (CompareOp::Eq, CompValue::Null) => candidates.is_empty(),
                (CompareOp::Ne, CompValue::Null) => !candidates.is_empty(),
                (CompareOp::Ne, _) => !candidates
                    .iter()
                    .any(|c| compare_one(c, CompareOp::Eq, literal, def)),
                _ => candidates.iter().any(|c| compare_one(c, *op, literal, def)),
            })
        }
        Filter::ValuePath(path, inner) => {
            let Scope::Resource(..) = scope else {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter cannot contain another value filter (\"{path}[...]\")"
                )));
            };
            let (values, def) = lookup(scope, path, true)?;
            let Some(def) = def.filter(|d| d.multi_valued) else {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}\" is not a multi-valued attribute, so it cannot take [...]"
                )));
            };
            for value in values {
                if evaluate(inner, Scope::Element(value, def))? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{Engine, ScimType};

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "BJensen@Example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "title": "",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "26118915"}},
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"}
        })
    }

    fn matches(filter: &str) -> bool {
        Engine::default()
            .matches(&user(), filter)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
    }

    #[test]
    fn string_comparisons_follow_case_exact() {
        assert!(matches("userName eq \"bjensen@example.com\""));
        assert!(matches("id eq \"2819c223-7f76-453a-919d-413861904646\""));
        assert!(!matches("id eq \"2819C223-7F76-453A-919D-413861904646\""));
        assert!(matches(
            "name.familyName sw \"jen\" and name.givenName ew \"ARA\""
        ));
        assert!(matches("userName co \"@example\""));
    }

    #[test]
    fn multi_valued_attributes_match_any_value() {
        assert!(matches("emails.value ew \"jensen.org\""));
        assert!(matches("emails co \"jensen.org\""));
        assert!(matches("emails[type eq \"work\" and primary eq true]"));
        assert!(!matches("emails[type eq \"home\" and primary eq true]"));
        assert!(matches("emails.type ne \"other\""));
        assert!(!matches("emails.type ne \"work\""));
    }

    #[test]
    fn date_times_compare_as_instants() {
        assert!(matches("meta.lastModified gt \"2011-05-13T04:42:33Z\""));
        assert!(matches(
            "meta.lastModified eq \"2011-05-13T06:42:34+02:00\""
        ));
        assert!(!matches("meta.created ge \"2011-01-01T00:00:00Z\""));
    }

    #[test]
    fn presence_null_and_logic() {
        assert!(matches("name pr and emails pr"));
        assert!(!matches("title pr"), "an empty string is not present");
        assert!(matches("nickName eq null and not (nickName pr)"));
        assert!(matches("active eq true or userName eq \"x\""));
        assert!(matches(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\""
        ));
        assert!(matches(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"26118915\""
        ));
        assert!(matches(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName pr"
        ));
    }

    #[test]
    fn ordering_booleans_is_an_invalid_filter() {
        for bad in [
            "active gt true",
            "active gt \"x\"",
            "userName co 5",
            "userName gt null",
            "urn:x:y:foo eq \"1\"",
        ] {
            let err = Engine::default().matches(&user(), bad).expect_err(bad);
            assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{bad}: {err}");
        }
    }

    #[test]
    fn numbers_compare_numerically_with_custom_schemas() {
        let config = r#"{"schemas": [{"id": "urn:example:params:scim:schemas:extension:game:2.0:User", "name": "Game",
            "attributes": [{"name": "score", "type": "integer"}, {"name": "ratio", "type": "decimal"},
                           {"name": "badges", "type": "complex", "multiValued": true, "subAttributes": [
                               {"name": "value", "type": "string"}, {"name": "earned", "type": "dateTime"}, {"name": "level", "type": "integer"}]}]}]}"#;
        let engine = Engine::from_config_json(config).unwrap();
        let mut user = user();
        user["urn:example:params:scim:schemas:extension:game:2.0:User"] = json!({"score": 12, "ratio": 0.5, "badges": [{"value": "gold", "earned": "2024-03-01T10:00:00Z", "level": 3}]});
        let m = |f: &str| {
            engine
                .matches(&user, f)
                .unwrap_or_else(|e| panic!("{f}: {e}"))
        };
        let ext = "urn:example:params:scim:schemas:extension:game:2.0:User";
        assert!(m(&format!("{ext}:score gt 9")));
        assert!(!m(&format!("{ext}:score lt 9")));
        assert!(m(&format!("{ext}:ratio le 0.5")));
        assert!(m(&format!(
            "{ext}:badges[earned lt \"2024-03-01T11:00:00+00:00\" and level ge 3]"
        )));
    }
}
