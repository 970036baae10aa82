//! Versions and HTTP preconditions (RFC 7644 §3.14, RFC 7232): every write bumps `meta.version`
//! (a weak ETag, also sent as the `ETag` header); `If-Match` guards writes (412), `If-None-Match`
//! saves a GET (304). A user's version lives in its document; a group's in its own counter,
//! because member changes do not rewrite the group's document.
use serde_json::{Map, Value, json};

use super::Failure;
use crate::http::{Request, error};

/// The version number in `meta.version` (`W/"7"` → 7), 0 when there is none.
pub(crate) fn version_number(resource: &Map<String, Value>) -> u64 {
    resource
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .and_then(|v| strip_weak(v).parse().ok())
        .unwrap_or(0)
}

/// The weak ETag of version `n`.
pub(crate) fn etag(n: u64) -> String {
    format!("W/\"{n}\"")
}

fn strip_weak(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/").trim_matches('"')
}

/// Marks `resource` as the write after version `previous`: `meta.lastModified` now and
/// `meta.version` `previous + 1`.
pub(crate) fn touch(resource: &mut Map<String, Value>, previous: u64) {
    if let Value::Object(meta) = resource.entry("meta").or_insert_with(|| json!({})) {
        meta.insert(
            "lastModified".into(),
            Value::String(crate::clock::now_rfc3339()),
        );
        meta.insert("version".into(), Value::String(etag(previous + 1)));
    }
}

fn matches_any(header: &str, current: u64) -> bool {
    let current = current.to_string();
    header
        .split(',')
        .any(|t| t.trim() == "*" || strip_weak(t) == current)
}

/// The `If-Match` header, if the request has one.
pub(crate) fn if_match(request: &Request) -> Option<&str> {
    request.header("if-match")
}

/// RFC 7232 If-Match against version `current`: `*` or a list of tags, compared weakly.
pub(crate) fn check_if_match(request: &Request, current: u64) -> Result<(), Failure> {
    match if_match(request) {
        Some(wanted) if !matches_any(wanted, current) => Err(Failure::Scim(error(
            412,
            format!(
                "If-Match {wanted} does not match the current version {}",
                etag(current)
            ),
        ))),
        _ => Ok(()),
    }
}

/// RFC 7232 If-None-Match on a GET: true when the client already has version `current`.
pub(crate) fn not_modified(request: &Request, current: u64) -> bool {
    request
        .header("if-none-match")
        .is_some_and(|wanted| matches_any(wanted, current))
}
