//! Reading a PATCH body (RFC 7644 §3.5.2): a PatchOp message, or a SCIM 1.1 partial resource.
use std::fmt;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::json::get_ci;
use crate::limits::Limits;
use crate::path::Path;
use crate::profile::Profile;

/// The PatchOp message schema URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `add`, `remove` or `replace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// RFC 7644 §3.5.2.1
    Add,
    /// RFC 7644 §3.5.2.2
    Remove,
    /// RFC 7644 §3.5.2.3
    Replace,
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Replace => "replace",
        })
    }
}

/// One PATCH operation with its path parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The operation.
    pub op: OpKind,
    /// The target, or `None` for the resource itself.
    pub path: Option<Path>,
    /// The `value` member; `None` when absent (which differs from `null`).
    pub value: Option<Value>,
}

/// A parsed PATCH body.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    /// A PatchOp message's operations, in order.
    Operations(Vec<Operation>),
    /// A SCIM 1.1 partial resource to merge (compatible profile only).
    PartialResource(Map<String, Value>),
}

fn lists_patch_op(body: &Map<String, Value>) -> bool {
    get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP)))
        })
}

/// Parses a PATCH body under `profile` and `limits`.
pub fn parse(body: Value, profile: Profile, limits: &Limits) -> Result<PatchBody, ScimError> {
    let Value::Object(mut body) = body else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object",
        ));
    };
    let has_operations = get_ci(&body, "Operations").is_some();
    if !lists_patch_op(&body) {
        match profile {
            Profile::Strict => {
                return Err(ScimError::invalid_syntax(format!(
                    "the PATCH body's \"schemas\" must contain \"{PATCH_OP}\""
                )));
            }
            Profile::Compatible if !has_operations => return Ok(PatchBody::PartialResource(body)),
            Profile::Compatible => {}
        }
    }
    let operations = crate::json::take_ci(&mut body, "Operations")
        .ok_or_else(|| ScimError::invalid_syntax("a PatchOp body needs an \"Operations\" array"))?;
    let Value::Array(operations) = operations else {
        return Err(ScimError::invalid_syntax("\"Operations\" must be an array"));
    };
    if operations.is_empty() {
        return Err(ScimError::invalid_syntax(
            "\"Operations\" must contain at least one operation",
        ));
    }
    if operations.len() > limits.max_operations {
        return Err(ScimError::too_many(format!(
            "{} operations exceed the limit of {} per request",
            operations.len(),
            limits.max_operations
        )));
    }
    operations
        .into_iter()
        .enumerate()
        .map(|(index, op)| operation(op, profile, limits).map_err(|e| e.in_operation(index, None)))
        .collect::<Result<Vec<_>, _>>()
        .map(PatchBody::Operations)
}

/// The `op`, `path` and `value` members of an operation object, each matched exactly first,
/// then case-insensitively (as [`crate::json::take_ci`] would), in one pass over the members.
fn op_members(op: Map<String, Value>) -> [Option<Value>; 3] {
    const NAMES: [&str; 3] = ["op", "path", "value"];
    let mut exact: [Option<Value>; 3] = Default::default();
    let mut variant: [Option<Value>; 3] = Default::default();
    for (key, value) in op {
        if let Some(i) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(&key)) {
            if key == NAMES[i] {
                exact[i] = Some(value);
            } else if variant[i].is_none() {
                variant[i] = Some(value);
            }
        }
    }
    let [a, b, c] = exact;
    let [x, y, z] = variant;
    [a.or(x), b.or(y), c.or(z)]
}

fn operation(op: Value, profile: Profile, limits: &Limits) -> Result<Operation, ScimError> {
    let Value::Object(op) = op else {
        return Err(ScimError::invalid_syntax(
            "an operation must be a JSON object",
        ));
    };
    let [op, path, value] = op_members(op);
    let kind = match op {
        Some(Value::String(name)) => match name.to_ascii_lowercase().as_str() {
            "add" => OpKind::Add,
            "remove" => OpKind::Remove,
            "replace" => OpKind::Replace,
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "unknown op \"{name}\" (expected add, remove or replace)"
                )));
            }
        },
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "\"op\" must be a string, not {other}"
            )));
        }
        None => return Err(ScimError::invalid_syntax("the operation has no \"op\"")),
    };
    let path = match path {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(Path::parse_with(&text, profile, limits)?),
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "\"path\" must be a string, not {other}"
            )));
        }
    };
    if kind != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_syntax(format!(
            "\"{kind}\" needs a \"value\""
        )));
    }
    Ok(Operation {
        op: kind,
        path,
        value,
    })
}
