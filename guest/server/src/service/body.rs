//! Reading request bodies: the JSON itself (size and depth limits), a full resource for POST and
//! PUT (RFC 7644 §3.3, §3.5.1) validated by the engine, and the write-only attributes taken out of
//! it. Write-only means `returned: never` in the schema (RFC 7643 §7, `password`): such a value
//! is taken out *after* the engine has resolved every spelling of its name (`password`,
//! `urn:…:User:password`, inside a core-URN object), hashed with argon2id, and kept only as a
//! hash — it is never stored in plain text and never returned.
use std::collections::BTreeMap;

use scim_patch::json::{get_ci, take_ci};
use scim_patch::schema::Returned;
use scim_patch::{Engine, ScimError, ScimType};
use serde_json::{Map, Value, json};

use super::Failure;
use crate::http::{Request, error};
use crate::kv::StoreError;
use crate::store::Kind;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Longest userName, displayName or externalId accepted, in bytes: every accepted value can be
/// looked up with `eq` (filters may be 64 KiB long).
pub(crate) const MAX_NAME_BYTES: usize = 4096;

fn bad(kind: ScimType, detail: impl Into<String>) -> Failure {
    Failure::Scim(ScimError::bad_request(kind, detail))
}

/// The request body as JSON.
pub(crate) fn parse(request: &Request) -> Result<Value, Failure> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(Failure::Scim(error(
            413,
            format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
        )));
    }
    let value: Value = serde_json::from_slice(&request.body)
        .map_err(|_| bad(ScimType::InvalidSyntax, "The supplied JSON is incorrect"))?;
    if scim_patch::limits::json_depth(&value) > scim_patch::Limits::default().max_json_depth {
        return Err(bad(
            ScimType::InvalidValue,
            "The supplied JSON nests too deeply",
        ));
    }
    Ok(value)
}

/// A resource built from a POST or PUT body: attributes in canonical form (without `id` and
/// `meta`, which the service sets) and the hashes of its write-only values.
pub(crate) struct Built {
    pub(crate) res: Map<String, Value>,
    pub(crate) sec: BTreeMap<String, String>,
}

/// Validates a full resource body of `kind` through the engine: types, canonical names,
/// extension URNs; readOnly attributes in the body are ignored (RFC 7643 §7).
pub(crate) fn build(engine: &Engine, kind: Kind, body: Value) -> Result<Built, Failure> {
    let Value::Object(mut body) = body else {
        return Err(bad(
            ScimType::InvalidSyntax,
            "The supplied JSON is incorrect: the body must be an object",
        ));
    };
    for read_only in ["id", "meta", "groups"] {
        take_ci(&mut body, read_only);
    }
    if let Some(schemas) = get_ci(&body, "schemas") {
        let listed = schemas.as_array().is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(kind.schema()))
            })
        });
        if !listed {
            return Err(bad(
                ScimType::InvalidValue,
                format!("\"schemas\" must include {}", kind.schema()),
            ));
        }
    }
    let skeleton = json!({"schemas": [kind.schema()]});
    let patch = json!({"schemas": [scim_patch::request::PATCH_OP], "Operations": [{"op": "add", "value": Value::Object(body)}]});
    let built = engine.apply_owned(skeleton, patch).map_err(|mut e| {
        e.detail = e
            .detail
            .trim_start_matches("operation 0 (add): ")
            .to_string();
        e
    })?;
    let Value::Object(mut res) = built else {
        return Err(Failure::Store(StoreError(
            "the engine returned a non-object".into(),
        )));
    };
    check_names(kind, &res)?;
    let sec = take_secrets(engine, &mut res)?;
    Ok(Built { res, sec })
}

/// The unique name must be set, and names under the length limit.
pub(crate) fn check_names(kind: Kind, res: &Map<String, Value>) -> Result<(), Failure> {
    let name = get_ci(res, kind.unique_attribute()).and_then(Value::as_str);
    if name.is_none_or(|s| s.trim().is_empty()) {
        return Err(bad(
            ScimType::InvalidValue,
            format!("\"{}\" is required", kind.unique_attribute()),
        ));
    }
    for attribute in [kind.unique_attribute(), "externalId"] {
        if let Some(text) = get_ci(res, attribute).and_then(Value::as_str)
            && text.len() > MAX_NAME_BYTES
        {
            return Err(bad(
                ScimType::InvalidValue,
                format!(
                    "\"{attribute}\" is {} bytes long, over the limit of {MAX_NAME_BYTES}",
                    text.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Takes every write-only value out of `res` (canonical names, as the engine leaves them) and
/// returns their argon2id hashes by attribute path.
pub(crate) fn take_secrets(
    engine: &Engine,
    res: &mut Map<String, Value>,
) -> Result<BTreeMap<String, String>, Failure> {
    SecretCache::default().take_secrets(engine, res)
}

/// Hashes computed once per request: a write retried after a conflict does not hash the same
/// password again (argon2id is slow on purpose).
#[derive(Default)]
pub(crate) struct SecretCache {
    hashed: BTreeMap<String, String>,
}

impl SecretCache {
    /// [`take_secrets`], reusing this request's earlier hashes of the same values.
    pub(crate) fn take_secrets(
        &mut self,
        engine: &Engine,
        res: &mut Map<String, Value>,
    ) -> Result<BTreeMap<String, String>, Failure> {
        let mut sec = BTreeMap::new();
        for (path, value) in take_write_only(engine, res) {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s,
                other => other.to_string(),
            };
            let hash = match self.hashed.get(&text) {
                Some(hash) => hash.clone(),
                None => {
                    let hash = crate::password::hash(&text).map_err(|e| {
                        Failure::Store(StoreError(format!("password hashing failed: {e}")))
                    })?;
                    self.hashed.insert(text, hash.clone());
                    hash
                }
            };
            sec.insert(path, hash);
        }
        Ok(sec)
    }
}

/// A list filter must not name a write-only attribute: 400 invalidFilter, so that a filter
/// can never tell whether a guess matches (`filter=password eq "guess"`).
pub(crate) fn check_filter_readable(
    engine: &Engine,
    filter: &scim_patch::Filter,
    kinds: &[Kind],
) -> Result<(), Failure> {
    let registry = &engine.config().registry;
    let mut names = Vec::new();
    collect_paths(filter, &mut names);
    for kind in kinds {
        let probe: Map<String, Value> =
            serde_json::from_value(json!({"schemas": [kind.schema()]})).unwrap_or_default();
        let Ok(schemas) = registry.resource_schemas(&probe) else {
            continue;
        };
        for path in &names {
            let attribute = match &path.schema {
                Some(urn) if !schemas.is_core(urn) => {
                    schemas.extension(urn).and_then(|s| s.attribute(&path.name))
                }
                _ => schemas.core_attribute(&path.name),
            };
            let never = attribute.is_some_and(|a| {
                a.returned == Returned::Never
                    || path
                        .sub
                        .as_deref()
                        .and_then(|s| a.sub(s))
                        .is_some_and(|s| s.returned == Returned::Never)
            });
            if never {
                return Err(bad(
                    ScimType::InvalidFilter,
                    format!(
                        "\"{}\" is write-only (never returned) and cannot be filtered on",
                        path.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn collect_paths<'f>(filter: &'f scim_patch::Filter, out: &mut Vec<&'f scim_patch::AttrPath>) {
    use scim_patch::Filter;
    match filter {
        Filter::Or(parts) | Filter::And(parts) => parts.iter().for_each(|p| collect_paths(p, out)),
        Filter::Not(inner) => collect_paths(inner, out),
        Filter::Present(path) | Filter::Compare(path, _, _) => out.push(path),
        Filter::ValuePath(path, inner) => {
            out.push(path);
            collect_paths(inner, out);
        }
    }
}

/// [`take_secrets`] for stored documents (the v1 migration), with storage errors.
pub(crate) fn scrub_plain(
    engine: &Engine,
    res: &mut Map<String, Value>,
) -> Result<BTreeMap<String, String>, StoreError> {
    take_secrets(engine, res).map_err(|e| match e {
        Failure::Store(e) => e,
        Failure::Scim(e) => StoreError(e.detail),
    })
}

/// Removes the attributes whose schema says `returned: never`, with their paths.
fn take_write_only(engine: &Engine, res: &mut Map<String, Value>) -> Vec<(String, Value)> {
    let registry = &engine.config().registry;
    let Ok(schemas) = registry.resource_schemas(res) else {
        return Vec::new();
    };
    let mut taken = Vec::new();
    let core: Vec<String> = res
        .keys()
        .filter(|k| {
            schemas
                .core_attribute(k)
                .is_some_and(|a| a.returned == Returned::Never)
        })
        .cloned()
        .collect();
    for key in core {
        if let Some(v) = res.shift_remove(&key) {
            taken.push((key, v));
        }
    }
    for (schema, _) in schemas.extensions() {
        let Some(Value::Object(ext)) = res
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&schema.id))
            .map(|(_, v)| v)
        else {
            continue;
        };
        let names: Vec<String> = ext
            .keys()
            .filter(|k| {
                schema
                    .attribute(k)
                    .is_some_and(|a| a.returned == Returned::Never)
            })
            .cloned()
            .collect();
        for key in names {
            if let Some(v) = ext.shift_remove(&key) {
                taken.push((format!("{}:{key}", schema.id), v));
            }
        }
    }
    taken
}
