//! Keeps each extension's object and its URN in `schemas` in step after every operation.

use serde_json::{Map, Value};

use super::Applier;
use crate::json::{eq_ci, get_ci, is_unassigned, key_ci, set_canonical};

impl<'e> Applier<'e> {
    /// Keeps each extension's object and its URN in `schemas` in step: an extension with data is
    /// listed (and spelled canonically); one left empty is dropped with its URN.
    pub(crate) fn tidy(&self, doc: &mut Map<String, Value>) {
        for (ext, _) in self.schemas.extensions() {
            // Runs after every operation: the common cases (extension absent, or present under
            // its canonical name and already listed) allocate nothing.
            let found = doc
                .iter()
                .find(|(k, _)| eq_ci(k, &ext.id))
                .map(|(k, v)| (k.as_str() == ext.id, !is_unassigned(v)));
            let Some((canonical, has_data)) = found else {
                continue;
            };
            if !has_data {
                if let Some(key) = key_ci(doc, &ext.id) {
                    doc.shift_remove(&key);
                }
            } else if !canonical && let Some(data) = get_ci(doc, &ext.id).cloned() {
                set_canonical(doc, &ext.id, data);
            }
            let is_ext = |u: &Value| u.as_str().is_some_and(|u| eq_ci(u, &ext.id));
            let listed = doc
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
                .map(|(_, v)| v);
            let list = match listed {
                Some(Value::Array(list)) => list,
                Some(other) => {
                    *other = Value::Array(Vec::new());
                    match other {
                        Value::Array(list) => list,
                        _ => continue,
                    }
                }
                None => match doc
                    .entry("schemas")
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(list) => list,
                    _ => continue,
                },
            };
            match (has_data, list.iter().any(is_ext)) {
                (true, false) => list.push(Value::String(ext.id.clone())),
                (false, true) => list.retain(|u| !is_ext(u)),
                _ => {}
            }
        }
    }
}
