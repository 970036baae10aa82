//! Multi-valued helpers: the array of an attribute, `primary` (RFC 7643 §2.4), filtered
//! selection, removal by index, the values limit.

use serde_json::{Map, Value};

use super::Applier;
use super::guard::check_sub_write;
use crate::element_filter::ElementFilter;
use crate::error::ScimError;
use crate::filter::Filter;
use crate::json::{get_ci, set_canonical, take_ci};
use crate::schema::Attribute;

/// The array stored under `name` (canonicalised), created empty when absent; a lone non-array
/// value becomes a one-element array.
pub(super) fn array_mut<'c>(
    container: &'c mut Map<String, Value>,
    name: &str,
) -> &'c mut Vec<Value> {
    let in_place = container.get(name).is_some_and(Value::is_array);
    if !in_place {
        let items = match take_ci(container, name) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(single) => vec![single],
        };
        container.insert(name.to_string(), Value::Array(items));
    }
    match container.get_mut(name) {
        Some(Value::Array(items)) => items,
        _ => unreachable!("an array is stored under the canonical name just above"),
    }
}

pub(super) fn is_primary(v: &Value) -> bool {
    v.as_object().and_then(|m| m.get("primary")) == Some(&Value::Bool(true))
}

/// RFC 7643 §2.4: at most one value is primary; the value this operation made primary wins.
pub(super) fn fix_primary(
    attr: &Attribute,
    items: &mut [Value],
    touched: &[usize],
) -> Result<(), ScimError> {
    if attr.sub("primary").is_none() {
        return Ok(());
    }
    let winners: Vec<usize> = touched
        .iter()
        .copied()
        .filter(|&i| items.get(i).is_some_and(is_primary))
        .collect();
    match winners.as_slice() {
        [] => Ok(()),
        [winner] => {
            for (i, v) in items.iter_mut().enumerate() {
                if i != *winner
                    && is_primary(v)
                    && let Some(m) = v.as_object_mut()
                {
                    m.insert("primary".into(), Value::Bool(false));
                }
            }
            Ok(())
        }
        _ => Err(two_primaries(attr)),
    }
}

/// 400 invalidValue: an operation made more than one value of `attr` primary.
pub(super) fn two_primaries(attr: &Attribute) -> ScimError {
    ScimError::invalid_value(format!(
        "only one value of \"{}\" may have \"primary\": true",
        attr.name
    ))
}

/// Sets (or, with `None`, removes) `sub` on the values at `indices`, checking its mutability.
pub(super) fn set_sub_on(
    attr: &Attribute,
    sub: &Attribute,
    arr: &mut [Value],
    indices: impl Iterator<Item = usize>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    for i in indices {
        let Some(Value::Object(element)) = arr.get_mut(i) else {
            continue;
        };
        check_sub_write(attr, sub, get_ci(element, &sub.name), value)?;
        match value {
            Some(v) => set_canonical(element, &sub.name, v.clone()),
            None => {
                take_ci(element, &sub.name);
            }
        }
    }
    Ok(())
}

/// Removes the values at `indices` (ascending, as [`Applier::matching_indices`] gives them),
/// keeping the others in order, in one pass without hashing.
pub(super) fn remove_indices<T>(arr: &mut Vec<T>, indices: &[usize]) {
    let mut drop = indices.iter().copied().peekable();
    let mut i = 0;
    arr.retain(|_| {
        let dropped = drop.next_if_eq(&i).is_some();
        i += 1;
        !dropped
    });
}

impl<'e> Applier<'e> {
    pub(super) fn check_size(&self, attr: &Attribute, len: usize) -> Result<(), ScimError> {
        if len > self.limits.max_values_per_attribute {
            return Err(ScimError::too_many(format!(
                "\"{}\" would have {len} values, over the limit of {}",
                attr.name, self.limits.max_values_per_attribute
            )));
        }
        Ok(())
    }

    /// Drops an emptied multi-valued attribute and enforces the values limit.
    pub(super) fn finish_array(
        &self,
        container: &mut Map<String, Value>,
        attr: &Attribute,
        len: usize,
    ) -> Result<(), ScimError> {
        if len == 0 {
            take_ci(container, &attr.name);
        }
        self.check_size(attr, len)
    }

    pub(super) fn matching_indices(
        &self,
        attr: &Attribute,
        filter: &Filter,
        items: &[Value],
    ) -> Result<Vec<usize>, ScimError> {
        let filter = ElementFilter::new(filter, attr);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if filter.matches(item)? {
                out.push(i);
            }
        }
        Ok(out)
    }

    pub(super) fn no_target(attr: &Attribute, filter: &Filter) -> ScimError {
        ScimError::no_target(format!("no value of \"{}\" matches [{filter}]", attr.name))
    }
}

#[cfg(test)]
mod tests {
    use super::remove_indices;
    use serde_json::{Value, json};

    #[test]
    fn remove_indices_keeps_the_others_in_order() {
        let mut arr: Vec<Value> = (0..6).map(|i| json!(i)).collect();
        remove_indices(&mut arr, &[0, 2, 5]);
        assert_eq!(arr, vec![json!(1), json!(3), json!(4)]);
        remove_indices(&mut arr, &[]);
        assert_eq!(arr.len(), 3);
    }
}
