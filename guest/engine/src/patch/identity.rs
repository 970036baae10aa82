//! Identity and de-duplication of multi-valued values: when two values are the same (group
//! `members` by `value`, others whole) and the `AppendIndex` that keeps runs of appends linear.
use std::collections::HashSet;

use serde_json::Value;

use super::Applier;
use super::target::AttrTarget;
use crate::equality::{canonical_key, canonical_key_after, values_equal};
use crate::json::get_ci;
use crate::schema::{Attribute, Mutability};

/// See [`Applier::append_index`].
pub(super) struct AppendIndex {
    owner: (Option<String>, String),
    len: usize,
    /// The identity keys of the attribute's values; `None` after a first append that scanned
    /// instead (a single append never pays for building the index).
    keys: Option<HashSet<String>>,
}

pub(super) fn compares_by_value(attr: &Attribute) -> bool {
    attr.is_complex()
        && attr
            .sub("value")
            .is_some_and(|s| s.mutability == Mutability::Immutable)
}

/// The `value` sub-attribute of a complex value, with its definition.
pub(super) fn value_member<'v, 'a>(
    attr: &'a Attribute,
    v: &'v Value,
) -> Option<(&'v Value, Option<&'a Attribute>)> {
    Some((get_ci(v.as_object()?, "value")?, attr.sub("value")))
}

/// A hashable identity: values of attributes identified by `value` (group `members`) compare by
/// it; everything else compares whole, as [`values_equal`] does.
pub(super) fn identity_key(attr: &Attribute, v: &Value) -> String {
    match value_member(attr, v).filter(|_| compares_by_value(attr)) {
        Some((value, def)) => canonical_key_after("v", value, def),
        None => canonical_key_after("w", v, Some(attr)),
    }
}

/// True when `a` and `b` have the same [`identity_key`], compared without building the keys.
pub(super) fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
    if compares_by_value(attr) {
        match (value_member(attr, a), value_member(attr, b)) {
            (Some((x, def)), Some((y, _))) => return values_equal(x, y, def),
            (Some(_), None) | (None, Some(_)) => return false,
            (None, None) => {}
        }
    }
    values_equal(a, b, Some(attr))
}

/// Appends the values not already present, found by a scan; returns the indices appended.
pub(super) fn append_distinct(
    attr: &Attribute,
    arr: &mut Vec<Value>,
    items: Vec<Value>,
) -> Vec<usize> {
    let mut touched = Vec::with_capacity(items.len());
    for item in items {
        if !arr.iter().any(|e| same_value(attr, e, &item)) {
            touched.push(arr.len());
            arr.push(item);
        }
    }
    touched
}

/// Entra's remove-with-value: drops the values listed, matched by `value` when a listed item has
/// one (`members: [{"value": id}]`), else whole. Hash sets keep it linear.
pub(super) fn remove_listed(attr: &Attribute, arr: &mut Vec<Value>, listed: Vec<Value>) {
    let by_value = |v: &Value| value_member(attr, v).map(|(value, def)| canonical_key(value, def));
    let mut value_keys = HashSet::new();
    let mut whole_keys = HashSet::new();
    for item in &listed {
        match by_value(item) {
            Some(key) => value_keys.insert(key),
            None => whole_keys.insert(canonical_key(item, Some(attr))),
        };
    }
    arr.retain(|e| {
        let listed_by_value = by_value(e).is_some_and(|k| value_keys.contains(&k));
        !(listed_by_value
            || (!whole_keys.is_empty() && whole_keys.contains(&canonical_key(e, Some(attr)))))
    });
}

impl<'e> Applier<'e> {
    /// Appends `items` to the values of `t`, skipping those already present (see `append_distinct`),
    /// reusing the identity index of the previous operation when it appended to the same attribute.
    pub(super) fn append(
        &self,
        t: AttrTarget<'e>,
        arr: &mut Vec<Value>,
        items: Vec<Value>,
    ) -> Vec<usize> {
        let attr = t.attr;
        let owner = (t.ext.map(|e| e.id.clone()), attr.name.clone());
        let previous = self
            .append_index
            .take()
            .filter(|index| index.owner == owner && index.len == arr.len());
        let mut keys: HashSet<String> = match previous {
            // The previous operation appended here too: index now, so that a run of appends
            // (1,000 adds to a 100k-member group) stays linear.
            Some(index) => index
                .keys
                .unwrap_or_else(|| arr.iter().map(|v| identity_key(attr, v)).collect()),
            // A first append of a few values: comparing them with each value is cheaper than
            // hashing every value.
            None if items.len() <= 16 => {
                let touched = append_distinct(attr, arr, items);
                self.keep_append_index(owner, arr.len(), None);
                return touched;
            }
            None => arr.iter().map(|v| identity_key(attr, v)).collect(),
        };
        let mut touched = Vec::with_capacity(items.len());
        for item in items {
            if keys.insert(identity_key(attr, &item)) {
                touched.push(arr.len());
                arr.push(item);
            }
        }
        self.keep_append_index(owner, arr.len(), Some(keys));
        touched
    }

    /// Keeps what the next operation needs to append to the same attribute in linear time.
    pub(super) fn keep_append_index(
        &self,
        owner: (Option<String>, String),
        len: usize,
        keys: Option<HashSet<String>>,
    ) {
        self.append_index
            .replace(Some(AppendIndex { owner, len, keys }));
        self.append_index_kept.set(true);
    }
}
