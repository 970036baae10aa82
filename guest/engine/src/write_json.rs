//! Writing `Value`s as compact JSON, byte for byte what `serde_json::to_writer` writes, with a
//! shortcut for the common string that needs no escape (serde_json escapes `"`, `\` and control
//! characters only): it is copied as it is instead of going through serde's serializer.

use serde_json::Value;

use crate::byte_scan::needs_json_escape;

/// Writes `value` compactly to `out`.
pub(crate) fn value(out: &mut Vec<u8>, value: &Value) -> Result<(), serde_json::Error> {
    match value {
        Value::String(text) => string(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                self::value(out, item)?;
            }
            out.push(b']');
            Ok(())
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (name, member)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, name)?;
                out.push(b':');
                self::value(out, member)?;
            }
            out.push(b'}');
            Ok(())
        }
        other => serde_json::to_writer(&mut *out, other),
    }
}

/// Writes `text` as a JSON string.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) -> Result<(), serde_json::Error> {
    if !needs_json_escape(text.as_bytes()) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn writes_what_serde_json_writes() {
        let v = json!({"a": "plain", "b\"": "q\"uote", "c": "back\\slash", "d": "\u{1}\n\t",
            "é": ["ü", 1, -2.5, 1e300, null, true, false, {}, []], "e": "\u{7f}\u{2028}"});
        let mut out = Vec::new();
        super::value(&mut out, &v).expect("writes");
        assert_eq!(String::from_utf8(out).expect("UTF-8"), v.to_string());
    }
}
