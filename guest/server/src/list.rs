//! List queries (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/count, attributes.
use std::cmp::Ordering;

use scim_patch::{AttrPath, Engine, Filter, ScimError, ScimType};
use serde_json::{Map, Value, json};

use crate::discovery::MAX_RESULTS;
use crate::project::project;
use crate::store::Kind;

/// Page size when the client gives none.
pub const DEFAULT_COUNT: usize = 100;

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// 1-based index of the first result.
    pub start_index: usize,
    /// Results per page (at most `MAX_RESULTS`).
    pub count: usize,
    /// Sort key.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// `attributes`, comma-separated.
    pub attributes: Option<String>,
    /// `excludedAttributes`, comma-separated.
    pub excluded: Option<String>,
}

fn number(value: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ScimError::bad_request(
                ScimType::InvalidValue,
                format!("\"{name}\" must be an integer, not \"{v}\""),
            )
        }),
    }
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
            .max(1) as usize;
        let count = number(get("count").as_deref(), "count")?
            .map_or(DEFAULT_COUNT, |c| c.clamp(0, MAX_RESULTS as i64) as usize);
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
            attributes: get("attributes"),
            excluded: get("excludedAttributes"),
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
fn sort_key<'r>(resource: &'r Map<String, Value>, path: &AttrPath) -> Option<&'r Value> {
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

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
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

/// Sorts, pages and projects `matched` into a ListResponse.
pub fn page(mut matched: Vec<(Kind, Map<String, Value>)>, query: &ListQuery) -> Value {
    if let Some(path) = &query.sort_by {
        matched.sort_by(|(_, a), (_, b)| {
            let ord = compare(sort_key(a, path), sort_key(b, path));
            // Unassigned values sort last in both orders (RFC 7644 §3.4.2.3).
            let absent = sort_key(a, path).is_none() || sort_key(b, path).is_none();
            if query.descending && !absent {
                ord.reverse()
            } else {
                ord
            }
        });
    }
    let total = matched.len();
    let resources: Vec<Value> = matched
        .into_iter()
        .skip(query.start_index - 1)
        .take(query.count)
        .map(|(kind, r)| {
            Value::Object(project(
                kind,
                r,
                query.attributes.as_deref(),
                query.excluded.as_deref(),
            ))
        })
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": query.start_index,
        "Resources": resources
    })
}
