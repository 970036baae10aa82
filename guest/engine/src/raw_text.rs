//! Reading JSON text without building `Value`s: strings borrowed from the input when they have no
//! escapes, and the nesting depth of a span counted by a byte scan.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

use crate::byte_scan::count_opening_brackets;

/// A JSON string (a member name, an `op`, a `path`), borrowed from the input when it can be.
/// (`Cow<str>`'s own `Deserialize` always copies.)
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
            fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Whether valid JSON text nests deeper than `limit` ([`raw_depth`] past it). `n` bytes nest at
/// most `n / 2` levels, and no deeper than they have opening brackets (counted in a loop the
/// compiler vectorises), so most text is not walked.
pub(crate) fn nests_deeper_than(text: &str, limit: usize) -> bool {
    text.len() / 2 > limit
        && count_opening_brackets(text.as_bytes()) > limit
        && raw_depth(text) > limit
}

/// The nesting depth of valid JSON text, as [`crate::limits::json_depth`] counts it for the parsed
/// value, without parsing it (a member repeated in an object counts here, not there: never less).
pub(crate) fn raw_depth(text: &str) -> usize {
    if !text.starts_with(['[', '{']) {
        return 0;
    }

    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &byte in text.as_bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::json_depth;
    use serde_json::json;

    #[test]
    fn raw_depth_counts_containers_outside_strings() {
        for value in [
            json!("a[{"),
            json!([]),
            json!({"a": [1, {"b": "]}\"["}]}),
            json!([[[[]]], {"x": {"y": "\\"}}]),
        ] {
            let text = value.to_string();
            assert_eq!(raw_depth(&text), json_depth(&value), "{value}");
            let depth = json_depth(&value);
            assert!(!nests_deeper_than(&text, depth));
            assert_eq!(nests_deeper_than(&text, depth.saturating_sub(1)), depth > 0);
        }
    }

    #[test]
    fn text_borrows_unless_escaped() {
        let plain: Text<'_> = serde_json::from_str(r#""abc""#).expect("a string");
        assert!(matches!(plain.0, Cow::Borrowed("abc")));
        let escaped: Text<'_> = serde_json::from_str(r#""a\"c""#).expect("a string");
        assert_eq!(escaped.0, "a\"c");
    }
}
