//! Target resolution: what a path names in the resource's schemas (RFC 7644 §3.10), and the
//! object that holds it.

use serde_json::{Map, Value};

use super::Applier;
use crate::error::ScimError;
use crate::json::get_ci;
use crate::path::Path;
use crate::readable;
use crate::schema::{Attribute, Schema};

/// What a path resolves to.
pub(crate) enum Target<'s> {
    /// The resource itself (the core schema URN).
    Resource,
    /// An extension schema as a whole.
    Extension(&'s Schema),
    /// An attribute, possibly a sub-attribute of it.
    Attr(AttrTarget<'s>),
}

/// An attribute target: where it lives (core or an extension), its definition, its sub-attribute.
#[derive(Clone, Copy)]
pub(crate) struct AttrTarget<'s> {
    pub ext: Option<&'s Schema>,
    pub attr: &'s Attribute,
    pub sub: Option<&'s Attribute>,
}

/// The attribute `name` of the extension `ext` as a target (400 invalidPath when it has none).
pub(crate) fn extension_attribute<'s>(
    ext: &'s Schema,
    name: &str,
) -> Result<AttrTarget<'s>, ScimError> {
    let attr = ext.attribute(name).ok_or_else(|| {
        ScimError::invalid_path(format!("\"{name}\" is not an attribute of {}", ext.id))
    })?;
    Ok(AttrTarget {
        ext: Some(ext),
        attr,
        sub: None,
    })
}

/// Whether `id` is `{urn}:{name}`, ignoring ASCII case (as `is_core` and `extension` compare a
/// URN), without joining the two.
fn is_joined(id: &str, urn: &str, name: &str) -> bool {
    let (id, urn, name) = (id.as_bytes(), urn.as_bytes(), name.as_bytes());
    id.len() == urn.len() + 1 + name.len()
        && id[..urn.len()].eq_ignore_ascii_case(urn)
        && id[urn.len()] == b':'
        && id[urn.len() + 1..].eq_ignore_ascii_case(name)
}

pub(super) fn container<'d>(
    doc: &'d Map<String, Value>,
    ext: Option<&Schema>,
) -> Option<&'d Map<String, Value>> {
    match ext {
        None => Some(doc),
        Some(ext) => get_ci(doc, &ext.id).and_then(Value::as_object),
    }
}

/// The object holding the attribute; an extension's object is created when missing (an empty one
/// is removed again by `tidy`).
pub(super) fn container_mut<'d>(
    doc: &'d mut Map<String, Value>,
    ext: Option<&Schema>,
) -> &'d mut Map<String, Value> {
    let Some(ext) = ext else { return doc };
    let member = match position_ci(doc, &ext.id) {
        Some(index) => match doc.iter_mut().nth(index) {
            Some((_, member)) => member,
            // `index` is the position of a member.
            None => unreachable!("member position within the map"),
        },
        None => doc
            .entry(ext.id.clone())
            .or_insert_with(|| Value::Object(Map::new())),
    };
    if !member.is_object() {
        *member = Value::Object(Map::new());
    }
    match member {
        Value::Object(map) => map,
        // The member was made an object just above.
        _ => unreachable!("extension container is an object"),
    }
}

/// The position of the member `key` of `map`, spelled exactly, else of its first case variant (the
/// member [`crate::json::key_ci`] names), found without hashing or copying the name.
fn position_ci(map: &Map<String, Value>, key: &str) -> Option<usize> {
    let mut variant = None;
    for (i, k) in map.keys().enumerate() {
        if k.eq_ignore_ascii_case(key) {
            if k == key {
                return Some(i);
            }
            variant.get_or_insert(i);
        }
    }
    variant
}

impl<'e> Applier<'e> {
    /// Resolves a path against the resource's schemas.
    pub(crate) fn resolve(&self, path: &Path) -> Result<Target<'e>, ScimError> {
        let schemas = self.schemas;
        let Some(name) = &path.attribute else {
            let urn = path.schema.as_deref().unwrap_or_default();
            if schemas.is_core(urn) {
                return Ok(Target::Resource);
            }
            return schemas
                .extension(urn)
                .map(Target::Extension)
                .ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "unknown schema \"{urn}\" for a {}",
                        schemas.resource_type.name
                    ))
                });
        };
        let (ext, attr) = match &path.schema {
            Some(urn) => {
                if path.sub.is_none() && path.filter.is_none() {
                    if is_joined(&schemas.core.id, urn, name) {
                        return Ok(Target::Resource);
                    }
                    if let Some((ext, _)) = schemas
                        .extensions()
                        .find(|(s, _)| is_joined(&s.id, urn, name))
                    {
                        return Ok(Target::Extension(ext));
                    }
                }
                if schemas.is_core(urn) {
                    (None, schemas.core_attribute(name))
                } else if let Some(ext) = schemas.extension(urn) {
                    (Some(ext), ext.attribute(name))
                } else {
                    return Err(ScimError::invalid_path(format!(
                        "unknown schema \"{urn}\" for a {}",
                        schemas.resource_type.name
                    )));
                }
            }
            None if name.eq_ignore_ascii_case("schemas") => {
                return Err(ScimError::mutability(
                    "\"schemas\" is maintained by the service provider: it follows the attributes set",
                ));
            }
            None => (None, schemas.core_attribute(name)),
        };
        let attr = attr.ok_or_else(|| {
            let owner = ext.map_or_else(|| schemas.resource_type.name.clone(), |e| e.id.clone());
            ScimError::invalid_path(format!("\"{name}\" is not an attribute of {owner}"))
        })?;
        let sub = match &path.sub {
            None => None,
            Some(sub_name) if attr.is_complex() => Some(attr.sub(sub_name).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "\"{}\" has no sub-attribute \"{sub_name}\"",
                    attr.name
                ))
            })?),
            Some(sub_name) => {
                return Err(ScimError::invalid_path(format!(
                    "\"{}\" is not complex, so it has no \"{sub_name}\"",
                    attr.name
                )));
            }
        };
        if let Some(filter) = &path.filter {
            if !attr.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "\"{}\" is single-valued, so it cannot take a [filter]",
                    attr.name
                )));
            }
            readable::check_value_filter(filter, attr)?;
        }
        Ok(Target::Attr(AttrTarget { ext, attr, sub }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::key_ci;
    use serde_json::json;

    #[test]
    fn positions_name_the_member_key_ci_names() {
        let map = json!({"a": 1, "Ext": 2, "ext": 3, "EXT": 4, "b": {}});
        let map = map.as_object().expect("an object");
        for key in ["ext", "eXt", "EXT", "a", "A", "b", "c"] {
            let by_position = position_ci(map, key).and_then(|i| map.keys().nth(i));
            assert_eq!(by_position, key_ci(map, key).as_ref(), "{key}");
        }
    }

    #[test]
    fn joined_ids_compare_as_the_joined_text() {
        let id = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        for (urn, name) in [
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
                "User",
            ),
            (
                "URN:ietf:params:scim:schemas:extension:enterprise:2.0",
                "user",
            ),
            (
                "urn:ietf:params:scim:schemas:extension",
                "enterprise:2.0:User",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
                "Users",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.",
                "0:User",
            ),
            ("", ""),
            ("é", "x"),
        ] {
            let joined = format!("{urn}:{name}");
            assert_eq!(
                is_joined(id, urn, name),
                id.eq_ignore_ascii_case(&joined),
                "{joined}"
            );
        }
    }
}
