//! JSON helpers that follow SCIM's rules: case-insensitive member names (RFC 7643 §2.1),
//! unassigned values (§2.5).
use serde_json::{Map, Value};

/// Maps up to this many members are searched in one pass rather than hashed first (SCIM
/// objects are small, and hashing a name costs more than comparing a few).
const SCANNED: usize = 16;

/// The member `key` of `map`, matched exactly first, then case-insensitively.
pub fn get_ci<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    if map.len() <= SCANNED {
        let mut variant = None;
        for (k, v) in map {
            if k.eq_ignore_ascii_case(key) {
                if k == key {
                    return Some(v);
                }
                variant.get_or_insert(v);
            }
        }
        return variant;
    }
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// [`get_ci`], mutably.
pub fn get_mut_ci<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Value> {
    if map.len() <= SCANNED {
        let exact = map.keys().any(|k| k == key);
        return map
            .iter_mut()
            .find(|(k, _)| {
                if exact {
                    *k == key
                } else {
                    k.eq_ignore_ascii_case(key)
                }
            })
            .map(|(_, v)| v);
    }
    if map.contains_key(key) {
        return map.get_mut(key);
    }
    map.iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The actual spelling of the member of `map` whose name equals `key` case-insensitively.
pub fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    // Small maps: one pass, no hashing. An exact spelling wins over a case variant (a map may
    // hold both).
    if map.len() > 16 && map.contains_key(key) {
        return Some(key.to_string());
    }
    let mut variant = None;
    for k in map.keys() {
        if k.eq_ignore_ascii_case(key) {
            if k == key {
                return Some(k.clone());
            }
            variant.get_or_insert(k);
        }
    }
    variant.cloned()
}

/// Removes and returns the member named `key` (case-insensitively), keeping the order of the others.
pub fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if let Some(value) = map.shift_remove(key) {
        return Some(value);
    }
    let actual = map.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    map.shift_remove(&actual)
}

/// Sets `map[name] = value` where `name` is canonical, replacing a member spelled in another case
/// in place (so member order is kept).
pub fn set_canonical(map: &mut Map<String, Value>, name: &str, value: Value) {
    let slot = if map.len() <= SCANNED {
        map.iter_mut().find(|(k, _)| *k == name).map(|(_, v)| v)
    } else {
        map.get_mut(name)
    };
    if let Some(slot) = slot {
        *slot = value;
        return;
    }
    match key_ci(map, name) {
        Some(actual) if actual == name => {
            map.insert(actual, value);
        }
        Some(actual) => {
            if let Some(index) = map.keys().position(|k| *k == actual) {
                map.shift_remove(&actual);
                map.shift_insert(index, name.to_string(), value);
            }
        }
        None => {
            map.insert(name.to_string(), value);
        }
    }
}

/// `a` equals `b` ignoring ASCII case, tested for plain equality first: a long name (a schema
/// URN) usually comes spelled as it is compared with, and equal bytes compare faster.
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    a == b || a.eq_ignore_ascii_case(b)
}

/// Unassigned per RFC 7643 §2.5: null, an empty array, or an empty object.
pub fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn eq_ci_is_eq_ignore_ascii_case() {
        for (a, b) in [
            ("ab", "ab"),
            ("aB", "Ab"),
            ("ab", "abc"),
            ("é", "É"),
            ("", ""),
        ] {
            assert_eq!(eq_ci(a, b), a.eq_ignore_ascii_case(b), "{a} {b}");
        }
    }

    #[test]
    fn set_canonical_renames_in_place() {
        let mut m = json!({"a": 1, "UserName": "x", "c": 3})
            .as_object()
            .cloned()
            .unwrap();
        set_canonical(&mut m, "userName", json!("y"));
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"a":1,"userName":"y","c":3}"#
        );
    }
}
