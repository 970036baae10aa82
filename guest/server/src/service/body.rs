//! Reading request bodies: the JSON itself (size and depth limits), a full resource for POST and
//! PUT (RFC 7644 §3.3, §3.5.1) validated by the engine, and the write-only attributes taken out of
//! it. Write-only means `returned: never` in the schema (RFC 7643 §7, `password`): such a value
//! is taken out *after* the engine has resolved every spelling of its name (`password`,
//! `urn:…:User:password`, inside a core-URN object), hashed with argon2id, and kept only as a
//! hash — it is never stored in plain text and never returned.
use std::collections::BTreeMap;

use scim_patch::json::get_ci;
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
/// Largest resource stored (its JSON, a group's members not counted): every stored value stays
/// well under the smallest backend's limit (Cosmos, ~400 KB).
pub(crate) const MAX_RESOURCE_BYTES: usize = 256 << 10;

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
/// extension URNs; readOnly attributes in the body are ignored (RFC 7643 §7); attributes no
/// schema defines are dropped (compatible profile, logged) or refused (strict, 400 invalidPath).
pub(crate) fn build(engine: &Engine, kind: Kind, body: Value) -> Result<Built, Failure> {
    let skeleton = Map::from_iter([("schemas".to_string(), json!([kind.schema()]))]);
    let built = engine.build_resource(kind.name(), body, skeleton)?;
    if !built.dropped.is_empty() {
        eprintln!(
            "scim-spin: dropped attribute(s) no schema of {} defines: {}",
            kind.name(),
            built.dropped.join(", ")
        );
    }
    let mut res = built.resource;
    check_limits(kind, &res)?;
    let sec = take_secrets(engine, &mut res)?;
    Ok(Built { res, sec })
}

/// The unique name must be set, names under their length limit, the resource under its size.
pub(crate) fn check_limits(kind: Kind, res: &Map<String, Value>) -> Result<(), Failure> {
    let size = serde_json::to_vec(res).map_or(0, |b| b.len());
    if size > MAX_RESOURCE_BYTES {
        return Err(Failure::Scim(error(
            413,
            format!(
                "the resource would take {size} bytes, over the {} KiB a stored resource may take",
                MAX_RESOURCE_BYTES >> 10
            ),
        )));
    }
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
        for scim_patch::WriteOnly { path, value } in engine.take_write_only(res) {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s,
                other => other.to_string(),
            };
            let hash = match self.hashed.get(&text) {
                Some(hash) => hash.clone(),
                None => {
                    let hash = crate::password::hash(&text)
                        .map_err(|e| Failure::Internal(format!("password hashing failed: {e}")))?;
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
    let types: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    Ok(engine.check_filter_readable(filter, &types)?)
}

/// [`take_secrets`] for stored documents (the v1 migration), with storage errors.
pub(crate) fn scrub_plain(
    engine: &Engine,
    res: &mut Map<String, Value>,
) -> Result<BTreeMap<String, String>, StoreError> {
    take_secrets(engine, res).map_err(|e| match e {
        Failure::Store(e) => e,
        // Hashing is all that can fail here.
        Failure::Internal(cause) => StoreError(cause),
        Failure::Scim(e) => StoreError(format!("{e}")),
    })
}
