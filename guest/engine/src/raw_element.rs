//! Reading a few members of one value of a multi-valued attribute while it is still JSON text:
//! what [`crate::raw_filter`] and the raw array's de-duplication look at to decide whether the
//! value must be parsed at all. Strings are borrowed from the text unless they have escapes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::byte_scan::has_backslash_or_non_ascii;
use crate::raw_text::Text;

/// A member's value, as much of it as the callers need.
pub(crate) enum Field<'a> {
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// `true`.
    True,
    /// A number, `false` or `null`.
    Scalar,
    /// An array or an object.
    Container,
}

/// The members of the object `text` whose names equal one of `names` ignoring ASCII case, as
/// `(index in names, value)` in document order (a name given twice gives two entries), into `out`
/// (cleared first). `false` when `text` is not a JSON object.
pub(crate) fn scan<'a>(text: &'a str, names: &[&str], out: &mut Vec<(usize, Field<'a>)>) -> bool {
    out.clear();
    let mut parser = serde_json::Deserializer::from_str(text);
    (&mut parser)
        .deserialize_map(Members { names, out })
        .is_ok()
}

/// Whether the text of a value may hold a string equal to the ASCII `literal` ignoring case, by
/// a byte search: `None` when `text` has escapes (its strings are not its bytes) or non-ASCII
/// text (which may lowercase to ASCII: the Kelvin sign is a `k`), else `Some(false)` only when no
/// string of it can be equal (every string's bytes are in the text).
pub(crate) fn may_contain(text: &str, literal: &str) -> Option<bool> {
    let (t, l) = (text.as_bytes(), literal.as_bytes());
    if has_backslash_or_non_ascii(t) {
        return None;
    }
    let Some(&first) = l.first() else {
        return Some(true);
    };
    // Without ASCII letters, equal ignoring case is equal: one substring search (a phone
    // number's digits would stop the letter search at every repeated digit).
    if !l.iter().any(u8::is_ascii_alphabetic) {
        return Some(memchr::memmem::find(t, l).is_some());
    }
    let found = memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), t)
        .any(|i| {
            t.get(i..i + l.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(l))
        });
    Some(found)
}

/// Whether the raw value `text` is unassigned (RFC 7643 §2.5): `null`, `[]` or `{}` (as
/// [`crate::json::is_unassigned`] says of the parsed value).
pub(crate) fn is_unassigned(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(b'n') => true,
        Some(b'[' | b'{') => text[1..]
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with([']', '}']),
        _ => false,
    }
}

struct Members<'n, 'o, 'a> {
    names: &'n [&'n str],
    out: &'o mut Vec<(usize, Field<'a>)>,
}

impl<'de> Visitor<'de> for Members<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(name)) = map.next_key()? {
            match self
                .names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(&name))
            {
                Some(index) => self.out.push((index, map.next_value()?)),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(text.to_string())))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(if b { Field::True } else { Field::Scalar })
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::Scalar)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::Scalar)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Scalar)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Scalar)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Container)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Container)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use serde_json::Value;

    #[test]
    fn scans_named_members_in_any_case() {
        let text = r#"{"Value":"a\"b","display":"x","value":7,"VALUE":[1],"primary":true}"#;
        let mut out = Vec::new();
        assert!(scan(text, &["value", "primary"], &mut out));
        let kinds: Vec<String> = out
            .iter()
            .map(|(i, f)| match f {
                Field::Str(s) => format!("{i}:s:{s}"),
                Field::True => format!("{i}:t"),
                Field::Scalar => format!("{i}:n"),
                Field::Container => format!("{i}:c"),
            })
            .collect();
        assert_eq!(kinds, ["0:s:a\"b", "0:n", "0:c", "1:t"]);
        assert!(!scan("[1]", &["value"], &mut out));
        assert!(!scan("\"x\"", &["value"], &mut out));
    }

    #[test]
    fn byte_search_only_without_escapes() {
        assert_eq!(may_contain(r#"{"value":"AbC"}"#, "abc"), Some(true));
        assert_eq!(may_contain(r#"{"value":"ab"}"#, "abc"), Some(false));
        assert_eq!(
            may_contain(r#"{"v":"x"}"#, "a-much-longer-literal"),
            Some(false)
        );
        assert_eq!(may_contain(r#"{"value":"\u0061bc"}"#, "abc"), None);
        assert_eq!(may_contain("null", ""), Some(true));
        let phone = r#"{"value":"555-555-5555","type":"work"}"#;
        assert_eq!(may_contain(phone, "555-555-3333"), Some(false));
        assert_eq!(may_contain(phone, "5-5555"), Some(true));
        assert_eq!(may_contain(phone, "555-555-5555\""), Some(true));
        assert_eq!(may_contain("{\"value\":\"\u{212a}\"}", "k"), None);
    }

    #[test]
    fn unassigned_as_the_parsed_value_says() {
        for text in [
            "null",
            "[]",
            "{}",
            "[ ]",
            "{\n}",
            "1",
            "\"\"",
            "[0]",
            "{\"a\":1}",
            "false",
        ] {
            let value: Value = serde_json::from_str(text).expect("JSON");
            assert_eq!(is_unassigned(text), json::is_unassigned(&value), "{text}");
        }
    }
}
