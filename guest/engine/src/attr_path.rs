//! Attribute paths (RFC 7644 §3.10: `[schemaURN ":"] name ["." subName]`) and attribute names
//! (RFC 7643 §2.1): what filters compare and PATCH paths start with.
use std::fmt;

/// True for an RFC 7643 §2.1 attribute name (`ALPHA *(nameChar)`), or `$ref`.
pub fn is_attr_name(s: &str) -> bool {
    if s.eq_ignore_ascii_case("$ref") {
        return true;
    }
    // Every character allowed is ASCII, so the bytes can be tested one by one.
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `name ["." subName]` split into its names, when both are attribute names: what
/// [`AttrPath::parse`] accepts of a text that does not start with `urn:`, without copies.
pub(crate) fn split_names(text: &str) -> Option<(&str, Option<&str>)> {
    let (name, sub) = match text.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (text, None),
    };
    if !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
        return None;
    }
    Some((name, sub))
}

/// Whether `s` begins with `urn:` (any case): a schema-qualified name.
pub(crate) fn starts_with_urn(s: &str) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// An attribute path: `[schemaURN ":"] name ["." subName]` (RFC 7644 §3.10), as used in filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, when the path was fully qualified.
    pub schema: Option<String>,
    /// The attribute name (as written; resolution is case-insensitive).
    pub name: String,
    /// The sub-attribute name, for `name.sub`.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses an attribute path; `None` when `text` is not one.
    pub fn parse(text: &str) -> Option<AttrPath> {
        let (schema, rest) = if starts_with_urn(text) {
            let colon = text.rfind(':')?;
            (Some(text[..colon].to_string()), &text[colon + 1..])
        } else {
            (None, text)
        };
        let (name, sub) = split_names(rest)?;
        Some(AttrPath {
            schema,
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_attr_path_parses_them() {
        for text in [
            "name",
            "name.givenName",
            "$ref",
            "a-b_c.d",
            "é",
            "1a",
            "a.",
            ".b",
            "a.b.c",
            "a b",
            "",
        ] {
            let split = split_names(text);
            let parsed = AttrPath::parse(text);
            assert_eq!(split.is_some(), parsed.is_some(), "{text}");
            if let (Some((name, sub)), Some(p)) = (split, parsed) {
                assert_eq!((name, sub), (p.name.as_str(), p.sub.as_deref()));
            }
        }
        assert!(is_attr_name("userName") && !is_attr_name("usérName") && !is_attr_name("ü"));
    }
}
