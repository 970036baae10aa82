//! Equality of values as their schema defines it (RFC 7643 §2.3: caseExact strings, dateTimes as
//! instants, complex values member by member), and a canonical key with the same equality for
//! hash-based de-duplication.
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::json::get_ci;
use crate::schema::{AttrType, Attribute};

/// Equality as the schema defines it: strings compare case-insensitively unless `caseExact`,
/// dateTimes as instants, numbers numerically, complex values member by member (absent == null).
pub fn values_equal(a: &Value, b: &Value, attr: Option<&Attribute>) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => match attr {
            Some(def) if def.ty == AttrType::DateTime => {
                match (crate::datetime::parse(x), crate::datetime::parse(y)) {
                    (Some(p), Some(q)) => p == q,
                    _ => x == y,
                }
            }
            Some(def) if def.case_exact => x == y,
            // Two ASCII texts lowercase as their ASCII letters do: only other text needs the
            // Unicode lowercase copies.
            _ => {
                x.eq_ignore_ascii_case(y)
                    || (!(x.is_ascii() && y.is_ascii()) && x.to_lowercase() == y.to_lowercase())
            }
        },
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q, attr))
        }
        (Value::Object(x), Value::Object(y)) => {
            let sub = |k: &str| attr.and_then(|d| d.sub(k));
            let covered = |from: &Map<String, Value>, other: &Map<String, Value>| {
                from.iter().all(|(k, v)| match get_ci(other, k) {
                    Some(w) => values_equal(v, w, sub(k)),
                    None => v.is_null(),
                })
            };
            covered(x, y) && covered(y, x)
        }
        _ => a == b,
    }
}

/// A text key such that two values have equal keys exactly when [`values_equal`] holds for
/// them (nulls ignored, names and non-caseExact strings folded, dateTimes as instants, numbers by
/// value): lets duplicate detection use hash sets, keeping large attributes linear.
pub fn canonical_key(value: &Value, def: Option<&Attribute>) -> String {
    canonical_key_after("", value, def)
}

/// [`canonical_key`] written after `prefix`, in one allocation.
pub fn canonical_key_after(prefix: &str, value: &Value, def: Option<&Attribute>) -> String {
    let mut out = String::with_capacity(prefix.len() + 32);
    out.push_str(prefix);
    write_canonical(value, def, &mut out);
    out
}

/// Writes `text` so that no two texts write the same thing, whatever follows (length first).
fn write_text(text: &str, out: &mut String) {
    let _ = write!(out, "{}\"", text.len());
    out.push_str(text);
}

/// [`write_text`] of `text` lowercased, allocating only for text that is not ASCII.
fn write_folded(text: &str, out: &mut String) {
    if text.is_ascii() {
        let _ = write!(out, "{}\"", text.len());
        out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        write_text(&text.to_lowercase(), out);
    }
}

fn write_canonical(value: &Value, def: Option<&Attribute>, out: &mut String) {
    match value {
        Value::Null => out.push('~'),
        Value::Bool(b) => out.push_str(if *b { "T" } else { "F" }),
        Value::Number(n) => {
            let _ = match n.as_f64() {
                Some(f) => write!(out, "#{f};"),
                None => write!(out, "#{n};"),
            };
        }
        Value::String(s) => {
            let instant = def
                .filter(|d| d.ty == AttrType::DateTime)
                .and_then(|_| crate::datetime::parse(s));
            match instant {
                Some(at) => {
                    let _ = write!(out, "@{at:?};");
                }
                None if def.is_some_and(|d| d.case_exact) => write_text(s, out),
                None => write_folded(s, out),
            }
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                write_canonical(item, def, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(String, &Value)> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect();
            members.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (key, member) in members {
                write_text(&key, out);
                out.push(':');
                write_canonical(member, def.and_then(|d| d.sub(&key)), out);
                out.push(',');
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_keys_agree_with_equality() {
        let pairs = [
            (
                json!({"Value": "a", "x": null}),
                json!({"value": "A"}),
                true,
            ),
            (
                json!({"value": "a"}),
                json!({"value": "a", "type": "work"}),
                false,
            ),
            (
                json!({"type": "work", "value": "a"}),
                json!({"value": "a", "type": "WORK"}),
                true,
            ),
            (json!(1), json!(1.0), true),
            (json!("x"), json!(["x"]), false),
        ];
        for (a, b, equal) in pairs {
            assert_eq!(values_equal(&a, &b, None), equal, "{a} {b}");
            assert_eq!(
                canonical_key(&a, None) == canonical_key(&b, None),
                equal,
                "{a} {b}"
            );
        }
    }

    #[test]
    fn complex_equality_ignores_member_case_and_nulls() {
        assert!(values_equal(
            &json!({"Value": "a", "x": null}),
            &json!({"value": "A"}),
            None
        ));
        assert!(!values_equal(
            &json!({"value": "a"}),
            &json!({"value": "a", "type": "work"}),
            None
        ));
    }
}
