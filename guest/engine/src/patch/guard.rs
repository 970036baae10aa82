//! Mutability guards (RFC 7643 §2.2): readOnly, immutable and required, checked once for an
//! attribute as a whole and for a sub-attribute of a value.

use serde_json::{Map, Value};

use super::Applier;
use super::target::{AttrTarget, container};
use crate::equality::values_equal;
use crate::error::ScimError;
use crate::json::{get_ci, is_unassigned};
use crate::schema::{Attribute, Mutability};

pub(super) fn opt_equal(a: Option<&Value>, b: Option<&Value>, def: &Attribute) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => values_equal(x, y, Some(def)),
        _ => false,
    }
}

pub(super) fn assigned(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !is_unassigned(v))
}

/// The one mutability rule (RFC 7643 §2.2), for the attribute or sub-attribute `def` named `name`
/// going from `was` to `now` (unassigned values already `None`): a readOnly one may not change,
/// an immutable one may not change once it has a value, a required one may not be removed.
fn check_change(
    name: &dyn std::fmt::Display,
    def: &Attribute,
    was: Option<&Value>,
    now: Option<&Value>,
) -> Result<(), ScimError> {
    let changed = !opt_equal(was, now, def);
    match def.mutability {
        Mutability::ReadOnly if changed => Err(ScimError::mutability(format!(
            "\"{name}\" is readOnly: the service provider sets it"
        ))),
        Mutability::Immutable if changed && was.is_some() => Err(ScimError::mutability(format!(
            "\"{name}\" is immutable and already has a value"
        ))),
        _ if def.required && was.is_some() && now.is_none() => Err(ScimError::mutability(format!(
            "\"{name}\" is required and cannot be removed"
        ))),
        _ => Ok(()),
    }
}

/// Checks a change of one sub-attribute of an existing value against its mutability/required.
pub(super) fn check_sub_write(
    parent: &Attribute,
    sub: &Attribute,
    existing: Option<&Value>,
    new: Option<&Value>,
) -> Result<(), ScimError> {
    let name = format_args!("{}.{}", parent.name, sub.name);
    check_change(&name, sub, assigned(existing), assigned(new))
}

/// A brand-new value may not carry readOnly sub-attributes.
pub(super) fn check_new_element(attr: &Attribute, element: &Value) -> Result<(), ScimError> {
    if let Value::Object(map) = element {
        for (key, v) in map {
            if let Some(sub) = attr.sub(key) {
                check_sub_write(attr, sub, None, Some(v))?;
            }
        }
    }
    Ok(())
}

impl<'e> Applier<'e> {
    /// Runs `change` on an attribute, then enforces readOnly / immutable / required by comparing
    /// the attribute before and after: unchanged values pass (Okta re-sends `id`).
    pub(super) fn guarded(
        &self,
        doc: &mut Map<String, Value>,
        t: AttrTarget<'e>,
        change: impl FnOnce(&mut Map<String, Value>) -> Result<(), ScimError>,
    ) -> Result<(), ScimError> {
        let attr = t.attr;
        let watched = matches!(
            attr.mutability,
            Mutability::ReadOnly | Mutability::Immutable
        ) || attr.required;
        let before = if watched {
            container(doc, t.ext)
                .and_then(|c| get_ci(c, &attr.name))
                .cloned()
        } else {
            None
        };
        change(doc)?;
        if !watched {
            return Ok(());
        }
        let after = container(doc, t.ext).and_then(|c| get_ci(c, &attr.name));
        check_change(&attr.name, attr, assigned(before.as_ref()), assigned(after))
    }
}
