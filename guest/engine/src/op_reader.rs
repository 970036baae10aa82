//! Reads a PatchOp body's text (RFC 7644 §3.5.2) straight into [`Operation`]s, without building a
//! `serde_json::Value` of the body: member names are matched as borrowed text, each operation's
//! `path` is parsed from the text, and only its `value` becomes a `Value`.
//!
//! The common, well-formed body is all it reads. Anything else (a SCIM 1.1 partial resource, a
//! member name given twice, a wrong type, an empty or over-long `Operations`, a bad path) answers
//! `None`, and [`crate::request::parse`] reads the body as a `Value` and reports what is wrong: the
//! two readers agree on every body this one accepts.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::limits::{Limits, json_depth};
use crate::path::Path;
use crate::profile::Profile;
use crate::raw_text::{Text, nests_deeper_than};
use crate::request::{OpKind, Operation, PATCH_OP};

/// The operations of a PatchOp body, or `None` when the `Value` reader must decide.
pub(crate) fn read(text: &str, profile: Profile, limits: &Limits) -> Option<Vec<Operation>> {
    let mut parser = serde_json::Deserializer::from_str(text);
    let body = (&mut parser).deserialize_map(BodyVisitor).ok()?;
    parser.end().ok()?;
    let (Member::Once(schemas), Member::Once(operations)) = (body.schemas, body.operations) else {
        return None;
    };
    if !schemas.iter().any(|u| u.0.eq_ignore_ascii_case(PATCH_OP)) {
        return None;
    }
    if operations.is_empty() || operations.len() > limits.max_operations {
        return None;
    }
    // The depth the `Value` reader measures: the body, `Operations`, an operation, its value.
    // Members skipped here may nest deeper: then the text is measured.
    let deepest = operations
        .iter()
        .filter_map(|op| op.value.only())
        .map(json_depth)
        .max();
    let depth = 3 + deepest.unwrap_or(0);
    let skipped = body.skipped || operations.iter().any(|op| op.skipped);
    if depth > limits.max_json_depth || (skipped && nests_deeper_than(text, limits.max_json_depth))
    {
        return None;
    }
    operations
        .into_iter()
        .map(|op| op.parse(profile, limits))
        .collect()
}

/// A member a reader looks for, matched case-insensitively; it gives up on one given twice.
enum Member<T> {
    Absent,
    Once(T),
    Repeated,
}

impl<T> Member<T> {
    fn see(&mut self, value: T) {
        *self = match self {
            Member::Absent => Member::Once(value),
            _ => Member::Repeated,
        };
    }

    fn only(&self) -> Option<&T> {
        match self {
            Member::Once(value) => Some(value),
            _ => None,
        }
    }
}

/// The body's `schemas` and `Operations`, and whether it had other members.
struct Body<'a> {
    schemas: Member<Vec<Text<'a>>>,
    operations: Member<Vec<RawOperation<'a>>>,
    skipped: bool,
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a PatchOp object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = Body {
            schemas: Member::Absent,
            operations: Member::Absent,
            skipped: false,
        };
        while let Some(Text(name)) = map.next_key()? {
            if name.eq_ignore_ascii_case("schemas") {
                body.schemas.see(map.next_value()?);
            } else if name.eq_ignore_ascii_case("Operations") {
                body.operations.see(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
                body.skipped = true;
            }
        }
        Ok(body)
    }
}

/// One operation object's `op`, `path` and `value` (`value` parsed, the others as text).
struct RawOperation<'a> {
    op: Member<Text<'a>>,
    path: Member<Option<Text<'a>>>,
    value: Member<Value>,
    /// Whether it had other members.
    skipped: bool,
}

impl<'de> Deserialize<'de> for RawOperation<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OperationVisitor)
    }
}

struct OperationVisitor;

impl<'de> Visitor<'de> for OperationVisitor {
    type Value = RawOperation<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an operation object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut op = RawOperation {
            op: Member::Absent,
            path: Member::Absent,
            value: Member::Absent,
            skipped: false,
        };
        while let Some(Text(name)) = map.next_key()? {
            if name.eq_ignore_ascii_case("op") {
                op.op.see(map.next_value()?);
            } else if name.eq_ignore_ascii_case("path") {
                op.path.see(map.next_value()?);
            } else if name.eq_ignore_ascii_case("value") {
                op.value.see(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
                op.skipped = true;
            }
        }
        Ok(op)
    }
}

impl RawOperation<'_> {
    /// The operation, when its members are what [`crate::request::parse`] accepts.
    fn parse(self, profile: Profile, limits: &Limits) -> Option<Operation> {
        let Member::Once(Text(op)) = self.op else {
            return None;
        };
        let op = if op.eq_ignore_ascii_case("add") {
            OpKind::Add
        } else if op.eq_ignore_ascii_case("remove") {
            OpKind::Remove
        } else if op.eq_ignore_ascii_case("replace") {
            OpKind::Replace
        } else {
            return None;
        };
        let path = match self.path {
            Member::Absent | Member::Once(None) => None,
            Member::Once(Some(Text(text))) => Some(Path::parse_with(&text, profile, limits).ok()?),
            Member::Repeated => return None,
        };
        let value = match self.value {
            Member::Absent if op != OpKind::Remove => return None,
            Member::Absent => None,
            Member::Once(value) => Some(value),
            Member::Repeated => return None,
        };
        Some(Operation { op, path, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{self, PatchBody};

    fn both(text: &str) -> (Option<Vec<Operation>>, Option<Vec<Operation>>) {
        let limits = Limits::default();
        let fast = read(text, Profile::Compatible, &limits);
        let slow = serde_json::from_str(text)
            .ok()
            .and_then(|v| request::parse(v, Profile::Compatible, &limits).ok())
            .and_then(|body| match body {
                PatchBody::Operations(ops) => Some(ops),
                PatchBody::PartialResource(_) => None,
            });
        (fast, slow)
    }

    #[test]
    fn reads_what_the_value_reader_reads() {
        let text = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"x":[1,{}],
            "Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a"},
            {"OP":"remove","Path":"title"},{"op":"add","value":{"title":"t"},"path":null}]}"#;
        let (fast, slow) = both(text);
        assert!(fast.is_some());
        assert_eq!(fast, slow);
    }

    #[test]
    fn leaves_the_unusual_to_the_value_reader() {
        for text in [
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"title":"x"}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{"op":"add","path":"title"}]}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{"op":"add","op":"remove","path":"title"}]}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{"op":"add","path":"title","value":1}],"operations":[]}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{"op":"move","path":"title","value":1}]}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{"op":"add","path":"a[","value":1}]}"#,
            "[]",
        ] {
            assert!(
                read(text, Profile::Compatible, &Limits::default()).is_none(),
                "{text}"
            );
        }
    }
}
