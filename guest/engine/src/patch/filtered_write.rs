//! What `add` or `replace` through a value filter (`attr[filter]`, `attr[filter].sub`) does
//! (RFC 7644 §3.5.2.1, §3.5.2.3, and the compatible profile's creation form), decided once for
//! both array representations: a parsed array (`write`) and one kept as its values' text
//! (`raw_array`). The callers only carry the decision out on their own elements.

use serde_json::{Map, Value};

use super::guard::check_new_element;
use super::target::AttrTarget;
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::profile::Profile;
use crate::request::OpKind;
use crate::schema::Attribute;
use crate::values;

/// The change to make to the array's values.
pub(super) enum FilteredWrite<'e> {
    /// Nothing matched and nothing may be created: 400 noTarget (once the caller has put the
    /// array back in order).
    NoTarget,
    /// Nothing to do at all (an `add` of null).
    Nothing,
    /// Nothing matched: append this element (Entra's `attr[x eq "v"].sub` creates
    /// `{x: v, sub: value}`), or nothing when the value was null; the last element is the one
    /// touched either way.
    Append(Option<Value>),
    /// Set `sub` on every matching value (`None`: remove it).
    SetSub(&'e Attribute, Option<Value>),
    /// Remove the matching values (a `replace` with null).
    RemoveMatches,
    /// Replace every matching value with this one.
    ReplaceMatches(Value),
}

/// Decides what `kind` with `value` does through `filter` on `t`, given whether any value
/// matched. Every value it returns has been checked (types, mutability of a new element).
pub(super) fn plan<'e>(
    kind: OpKind,
    t: &AttrTarget<'e>,
    filter: &Filter,
    value: Value,
    matched: bool,
    profile: Profile,
) -> Result<FilteredWrite<'e>, ScimError> {
    let attr = t.attr;
    if !matched {
        let created = match t.sub {
            Some(sub) if profile != Profile::Strict => {
                eq_conjunction(filter, attr, profile).map(|base| (sub, base))
            }
            _ => None,
        };
        let Some((sub, mut element)) = created else {
            return Ok(FilteredWrite::NoTarget);
        };
        if value.is_null() {
            return Ok(FilteredWrite::Append(None));
        }
        element.insert(sub.name.clone(), values::simple(sub, value, profile)?);
        let element = Value::Object(element);
        check_new_element(attr, &element)?;
        return Ok(FilteredWrite::Append(Some(element)));
    }
    if let Some(sub) = t.sub {
        if value.is_null() {
            return Ok(match kind {
                OpKind::Add => FilteredWrite::Nothing,
                _ => FilteredWrite::SetSub(sub, None),
            });
        }
        return Ok(FilteredWrite::SetSub(
            sub,
            Some(values::simple(sub, value, profile)?),
        ));
    }
    let value = match value {
        Value::Array(mut one) if one.len() == 1 && profile != Profile::Strict => one.swap_remove(0),
        other => other,
    };
    Ok(match values::element(attr, value, profile)? {
        None if kind == OpKind::Add => FilteredWrite::Nothing,
        None => FilteredWrite::RemoveMatches,
        Some(new) => {
            check_new_element(attr, &new)?;
            FilteredWrite::ReplaceMatches(new)
        }
    })
}

/// Builds `{x: v, ...}` from a filter that is `x eq v` or an `and` of such (Entra's creation form).
fn eq_conjunction(
    filter: &Filter,
    attr: &Attribute,
    profile: Profile,
) -> Option<Map<String, Value>> {
    let terms: Vec<&Filter> = match filter {
        Filter::And(terms) => terms.iter().collect(),
        single => vec![single],
    };
    let mut out = Map::new();
    for term in terms {
        let Filter::Compare(path, CompareOp::Eq, literal) = term else {
            return None;
        };
        if path.schema.is_some() || path.sub.is_some() {
            return None;
        }
        let sub = attr.sub(&path.name)?;
        let value = match literal {
            CompValue::String(s) => Value::String(s.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        out.insert(sub.name.clone(), values::simple(sub, value, profile).ok()?);
    }
    Some(out)
}
