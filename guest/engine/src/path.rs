//! PATCH paths (RFC 7644 §3.5.2 `PATH`): an attribute path with an optional value filter and
//! sub-attribute, with printing that round-trips.
use std::fmt;

use crate::attr_path::{is_attr_name, split_names, starts_with_urn};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::limits::Limits;
use crate::profile::Profile;

/// A PATCH operation path: an attribute path, optionally with a value filter and a sub-attribute
/// after it (`emails[type eq "work"].value`), or a bare schema URN naming an extension as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The schema URN prefix, when the path was fully qualified.
    pub schema: Option<String>,
    /// The attribute, or `None` when the path is only a schema URN.
    pub attribute: Option<String>,
    /// The value-selection filter inside `[...]`.
    pub filter: Option<Filter>,
    /// The sub-attribute (`name.givenName`, or `emails[...].value`).
    pub sub: Option<String>,
}

/// 400 invalidPath naming the path text and what is wrong with it.
fn invalid_path(text: &str, why: &str) -> ScimError {
    ScimError::invalid_path(format!("invalid path \"{text}\": {why}"))
}

/// Byte index of the `]` closing the `[` at `open`, skipping quoted strings (with escapes).
fn closing_bracket(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

impl Path {
    /// Parses a PATCH path with the default profile (compatible) and limits.
    pub fn parse(text: &str) -> Result<Path, ScimError> {
        Path::parse_with(text, Profile::default(), &Limits::default())
    }

    /// Parses a PATCH path; the part inside `[...]` is a filter read under `profile` and
    /// `limits` (see [`Filter::parse_with`]).
    pub fn parse_with(text: &str, profile: Profile, limits: &Limits) -> Result<Path, ScimError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid_path(text, "the path is empty"));
        }
        // The common case, a plain attribute name, without the general parse's copies.
        if is_attr_name(text) {
            return Ok(Path {
                schema: None,
                attribute: Some(text.to_string()),
                filter: None,
                sub: None,
            });
        }
        let (head, bracket) = match text.find('[') {
            Some(open) => (&text[..open], Some(open)),
            None => (text, None),
        };
        let (schema, attr_part) = if starts_with_urn(head) {
            match head.rfind(':') {
                Some(colon) if split_names(&head[colon + 1..]).is_some() => {
                    (Some(head[..colon].to_string()), Some(&head[colon + 1..]))
                }
                _ if bracket.is_none() => (Some(head.to_string()), None),
                _ => {
                    return Err(invalid_path(
                        text,
                        "expected an attribute name after the schema URN",
                    ));
                }
            }
        } else {
            (None, Some(head))
        };
        let Some(attr_part) = attr_part else {
            return Ok(Path {
                schema,
                attribute: None,
                filter: None,
                sub: None,
            });
        };
        let Some(open) = bracket else {
            // `attr_part` never starts with `urn:` here (it follows the URN's last colon).
            let (name, sub) = split_names(attr_part)
                .ok_or_else(|| invalid_path(text, "not an attribute path"))?;
            return Ok(Path {
                schema,
                attribute: Some(name.to_string()),
                filter: None,
                sub: sub.map(str::to_string),
            });
        };
        if !is_attr_name(attr_part) {
            return Err(invalid_path(
                text,
                "a value filter must follow an attribute name",
            ));
        }
        let close =
            closing_bracket(text, open).ok_or_else(|| invalid_path(text, "unclosed '['"))?;
        let filter = Filter::parse_with(&text[open + 1..close], profile, limits)?;
        if filter.has_value_path() {
            return Err(ScimError::invalid_filter(format!(
                "invalid path \"{text}\": a value filter cannot contain another value filter"
            )));
        }
        let sub = match &text[close + 1..] {
            "" => None,
            rest => match rest.strip_prefix('.') {
                Some(name) if is_attr_name(name) => Some(name.to_string()),
                _ => return Err(invalid_path(text, "only \".subAttribute\" may follow ']'")),
            },
        };
        Ok(Path {
            schema,
            attribute: Some(attr_part.to_string()),
            filter: Some(filter),
            sub,
        })
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.schema, &self.attribute) {
            (Some(schema), Some(_)) => write!(f, "{schema}:")?,
            (Some(schema), None) => return f.write_str(schema),
            (None, _) => {}
        }
        f.write_str(self.attribute.as_deref().unwrap_or_default())?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;

    fn roundtrip(text: &str) -> Path {
        let p = Path::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(p.to_string(), text);
        assert_eq!(Path::parse(&p.to_string()).unwrap(), p);
        p
    }

    #[test]
    fn parses_simple_and_sub_attribute_paths() {
        let p = roundtrip("name.givenName");
        assert_eq!(
            (p.attribute.as_deref(), p.sub.as_deref()),
            (Some("name"), Some("givenName"))
        );
        roundtrip("userName");
        roundtrip("members.$ref");
    }

    #[test]
    fn parses_urn_prefixed_paths() {
        let p =
            roundtrip("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(
            p.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            (p.attribute.as_deref(), p.sub.as_deref()),
            (Some("manager"), Some("value"))
        );
        let p = roundtrip("urn:scim:schemas:extension:enterprise:1.0");
        assert_eq!(
            (p.schema.as_deref(), p.attribute.as_deref()),
            (Some("urn:scim:schemas:extension:enterprise:1.0"), None)
        );
        let p =
            roundtrip("urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value");
        assert!(p.filter.is_some());
    }

    #[test]
    fn parses_value_paths_with_tricky_literals() {
        let p = roundtrip(r#"members[value eq "a]b:c.d\"e"]"#);
        assert_eq!(p.attribute.as_deref(), Some("members"));
        assert!(p.sub.is_none());
        roundtrip(r#"emails[type eq "work" and value co "@example.com"].display"#);
    }

    #[test]
    fn rejects_malformed_paths() {
        for (bad, kind) in [
            ("", ScimType::InvalidPath),
            ("1abc", ScimType::InvalidPath),
            ("name.", ScimType::InvalidPath),
            ("name.given.name", ScimType::InvalidPath),
            ("emails[type eq \"work\"", ScimType::InvalidPath),
            ("emails[type eq \"work\"]x", ScimType::InvalidPath),
            ("emails[type eq]", ScimType::InvalidFilter),
            ("emails[type eq \"a\"][value pr]", ScimType::InvalidPath),
            ("emails[x[y pr]]", ScimType::InvalidFilter),
            ("a b", ScimType::InvalidPath),
        ] {
            let err = Path::parse(bad).expect_err(bad);
            assert_eq!(err.scim_type, Some(kind), "{bad}: {err}");
        }
    }
}
