//! SCIM errors (RFC 7644 §3.12).
use std::fmt;

/// The `scimType` codes of RFC 7644 §3.12 that this engine produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter syntax was invalid or the filter is too complex.
    InvalidFilter,
    /// Too many operations or values.
    TooMany,
    /// A value violated a uniqueness constraint.
    Uniqueness,
    /// The attempted modification is not compatible with the target attribute's mutability.
    Mutability,
    /// The request body structure was invalid.
    InvalidSyntax,
    /// The path attribute was invalid or malformed.
    InvalidPath,
    /// The path did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing or a value was not compatible with the attribute.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request would reveal sensitive information.
    Sensitive,
}

impl ScimType {
    /// The wire spelling (`noTarget`, `invalidPath`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM protocol error: HTTP status, optional `scimType`, and a detail a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map(|t| t.as_str()).unwrap_or("error"))]
pub struct ScimError {
    /// HTTP status code (400 for every request error the engine finds).
    pub status: u16,
    /// RFC 7644 §3.12 error type, when one applies.
    pub scim_type: Option<ScimType>,
    /// Human-readable explanation, naming the operation and path at fault.
    pub detail: String,
}

impl ScimError {
    /// A 400 error of the given type.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// The same error, with `detail` saying which operation (0-based) and path it came from.
    pub fn in_operation(mut self, index: usize, what: Option<String>) -> Self {
        self.detail = match what {
            Some(what) => format!("operation {index} ({what}): {}", self.detail),
            None => format!("operation {index}: {}", self.detail),
        };
        self
    }

    /// The `urn:ietf:params:scim:api:messages:2.0:Error` document (status as a string, per RFC 7644).
    pub fn to_json(&self) -> serde_json::Value {
        let mut doc = serde_json::Map::new();
        doc.insert(
            "schemas".into(),
            serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        );
        if let Some(t) = self.scim_type {
            doc.insert("scimType".into(), t.as_str().into());
        }
        doc.insert("detail".into(), self.detail.clone().into());
        doc.insert("status".into(), self.status.to_string().into());
        serde_json::Value::Object(doc)
    }
}
