//! List queries (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/count, attributes.
use std::cmp::Ordering;

use scim_patch::{AttrPath, Engine, Filter, ScimError, ScimType};
use serde_json::{Map, Value};

use crate::discovery::MAX_RESULTS;
use crate::project::Projection;

/// Page size when the client gives none.
pub const DEFAULT_COUNT: usize = 100;

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// 1-based index of the first result (any integer the client sends; below 1 means 1, above
    /// `u64::MAX` means `u64::MAX`).
    pub start_index: u64,
    /// Results per page (negative means 0, above `MAX_RESULTS` means `MAX_RESULTS`).
    pub count: usize,
    /// Sort key.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// `attributes` / `excludedAttributes`.
    pub projection: Projection,
}

/// An integer parameter: any run of digits with an optional sign, saturated to the `i128`
/// range (so `startIndex=99999999999999999999` is a huge index, not an error or a wrap).
fn number(value: Option<&str>, name: &str) -> Result<Option<i128>, ScimError> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let (negative, digits) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("\"{name}\" must be an integer, not \"{text}\""),
        ));
    }
    let magnitude = digits.parse::<i128>().unwrap_or(i128::MAX);
    Ok(Some(if negative { -magnitude } else { magnitude }))
}

impl ListQuery {
    fn build(
        engine: &Engine,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<ListQuery, ScimError> {
        let filter = match get("filter").filter(|f| !f.trim().is_empty()) {
            Some(text) => Some(engine.parse_filter(&text)?),
            None => None,
        };
        let start_index = number(get("startIndex").as_deref(), "startIndex")?
            .unwrap_or(1)
            .clamp(1, i128::from(u64::MAX)) as u64;
        let count = number(get("count").as_deref(), "count")?
            .map_or(DEFAULT_COUNT, |c| c.clamp(0, MAX_RESULTS as i128) as usize);
        let sort_by = match get("sortBy").filter(|s| !s.trim().is_empty()) {
            Some(text) => Some(AttrPath::parse(text.trim()).ok_or_else(|| {
                ScimError::bad_request(
                    ScimType::InvalidPath,
                    format!("sortBy \"{text}\" is not an attribute path"),
                )
            })?),
            None => None,
        };
        let descending = match get("sortOrder").map(|o| o.to_ascii_lowercase()) {
            None => false,
            Some(o) if o == "ascending" || o.is_empty() => false,
            Some(o) if o == "descending" => true,
            Some(o) => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("sortOrder must be ascending or descending, not \"{o}\""),
                ));
            }
        };
        Ok(ListQuery {
            filter,
            start_index,
            count,
            sort_by,
            descending,
            projection: Projection::new(
                get("attributes").as_deref(),
                get("excludedAttributes").as_deref(),
            ),
        })
    }

    /// From query parameters (names case-insensitive).
    pub fn from_params(
        params: &[(String, String)],
        engine: &Engine,
    ) -> Result<ListQuery, ScimError> {
        ListQuery::build(engine, |name| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        })
    }

    /// From a `POST .search` body (RFC 7644 §3.4.3).
    pub fn from_body(body: &Value, engine: &Engine) -> Result<ListQuery, ScimError> {
        let Some(map) = body.as_object() else {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "The supplied JSON is incorrect: a SearchRequest object is expected",
            ));
        };
        ListQuery::build(engine, |name| match scim_patch::json::get_ci(map, name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        })
    }
}

/// The value a resource sorts by: the attribute (or sub-attribute) at `path`; for multi-valued
/// attributes the primary value, else the first.
pub(crate) fn sort_key<'r>(resource: &'r Map<String, Value>, path: &AttrPath) -> Option<&'r Value> {
    let container = match &path.schema {
        Some(urn)
            if !urn.eq_ignore_ascii_case(scim_patch::schema::CORE_USER)
                && !urn.eq_ignore_ascii_case(scim_patch::schema::CORE_GROUP) =>
        {
            scim_patch::json::get_ci(resource, urn)?.as_object()?
        }
        _ => resource,
    };
    let mut value = scim_patch::json::get_ci(container, &path.name)?;
    if let Value::Array(items) = value {
        value = items
            .iter()
            .find(|v| v.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?;
    }
    match (&path.sub, value) {
        (Some(sub), Value::Object(m)) => scim_patch::json::get_ci(m, sub),
        (Some(_), _) => None,
        (None, Value::Object(m)) => scim_patch::json::get_ci(m, "value"),
        (None, v) => Some(v),
    }
}

/// The order of two sort keys (unassigned last).
pub(crate) fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn integers_of_any_size_are_read_and_saturated() {
        assert_eq!(
            number(Some("4294967296"), "n").unwrap(),
            Some(4_294_967_296)
        );
        assert_eq!(number(Some("-5"), "n").unwrap(), Some(-5));
        assert_eq!(
            number(Some("99999999999999999999999999999999999999999"), "n").unwrap(),
            Some(i128::MAX)
        );
        assert_eq!(number(Some(" "), "n").unwrap(), None);
        assert!(number(Some("1e3"), "n").is_err());
        assert!(number(Some("-"), "n").is_err());
    }
}
