//! SCIM errors (RFC 7644 §3.12) as data: HTTP status, `scimType`, a detail, and where in the
//! request the error was found. The parts are rendered into text only at the edge
//! ([`ScimError::to_json`], `Display`, the WIT component).
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

/// Where in a request an error was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// A PatchOp operation: its 0-based index and, once its path parsed, `op path`.
    Operation {
        /// 0-based index in `Operations`.
        index: usize,
        /// `add emails[type eq "work"].value`, or `None` when the operation did not parse.
        description: Option<String>,
    },
    /// A member of a SCIM 1.1 partial resource: `member "emails"`, `meta.attributes "title"`.
    PartialResource(String),
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Site::Operation {
                index,
                description: Some(what),
            } => write!(f, "operation {index} ({what})"),
            Site::Operation {
                index,
                description: None,
            } => write!(f, "operation {index}"),
            Site::PartialResource(what) => write!(f, "SCIM 1.1 partial resource, {what}"),
        }
    }
}

/// A SCIM protocol error: HTTP status, optional `scimType`, a detail a person can act on, and
/// the part of the request at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScimError {
    /// HTTP status code (400 for every request error the engine finds).
    pub status: u16,
    /// RFC 7644 §3.12 error type, when one applies.
    pub scim_type: Option<ScimType>,
    /// What is wrong, without the site (see [`ScimError::message`] for both).
    pub detail: String,
    /// The operation or SCIM 1.1 member the error came from, when it came from one.
    pub site: Option<Site>,
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.scim_type.map_or("error", ScimType::as_str);
        write!(f, "{} {kind}: ", self.status)?;
        self.write_message(f)
    }
}

impl ScimError {
    /// An error with this status, type and detail, at no particular site.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            site: None,
        }
    }

    /// A 400 error of the given type.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(400, Some(scim_type), detail)
    }

    /// 400 `invalidFilter`: a filter that does not parse, is too long or deep, or is refused.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidFilter, detail)
    }

    /// 400 `invalidPath`: a path that does not parse or names nothing of the resource's schemas.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidPath, detail)
    }

    /// 400 `invalidSyntax`: a request body of the wrong shape.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidValue`: a value of the wrong type or shape.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidValue, detail)
    }

    /// 400 `mutability`: a change the attribute's mutability (or `required`) forbids.
    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::Mutability, detail)
    }

    /// 400 `noTarget`: nothing to operate on where something is required.
    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::NoTarget, detail)
    }

    /// 400 `tooMany`: more operations or values than the limits allow.
    pub fn too_many(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::TooMany, detail)
    }

    /// 409 `uniqueness`: a value another resource already holds.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 413: the `what` text is `len` bytes, over `limit`.
    pub fn too_large(what: &str, len: usize, limit: usize) -> Self {
        ScimError::new(
            413,
            None,
            format!("the {what} is {len} bytes, over the limit of {limit}"),
        )
    }

    /// 500: the engine failed (never the client's fault).
    pub fn internal(detail: impl Into<String>) -> Self {
        ScimError::new(500, None, detail)
    }

    /// The same error, found in operation `index` (0-based), described as `op path` when known.
    pub fn in_operation(mut self, index: usize, description: Option<String>) -> Self {
        self.site = Some(Site::Operation { index, description });
        self
    }

    /// The same error, found at `site`.
    pub fn at(mut self, site: Site) -> Self {
        self.site = Some(site);
        self
    }

    /// The same error with no site: for callers that report the site themselves.
    pub fn without_site(mut self) -> Self {
        self.site = None;
        self
    }

    fn write_message(&self, f: &mut impl fmt::Write) -> fmt::Result {
        if let Some(site) = &self.site {
            write!(f, "{site}: ")?;
        }
        f.write_str(&self.detail)
    }

    /// The detail as the SCIM error document carries it: the site, then what is wrong
    /// (`operation 1 (replace emails[type eq "work"].value): no value of "emails" matches ...`).
    pub fn message(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_message(&mut out);
        out
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
        doc.insert("detail".into(), self.message().into());
        doc.insert("status".into(), self.status.to_string().into());
        serde_json::Value::Object(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_data_rendered_at_the_edge() {
        let e = ScimError::no_target("no value of \"emails\" matches [type eq \"work\"]")
            .in_operation(1, Some("replace emails[type eq \"work\"].value".into()));
        assert_eq!(
            e.detail,
            "no value of \"emails\" matches [type eq \"work\"]"
        );
        assert_eq!(
            e.site,
            Some(Site::Operation {
                index: 1,
                description: Some("replace emails[type eq \"work\"].value".into())
            })
        );
        let doc = e.to_json();
        assert_eq!(
            doc["detail"],
            "operation 1 (replace emails[type eq \"work\"].value): no value of \"emails\" matches [type eq \"work\"]"
        );
        assert_eq!(doc["status"], "400");
        assert_eq!(doc["scimType"], "noTarget");
        assert_eq!(
            e.to_string(),
            format!(
                "400 noTarget: {}",
                doc["detail"].as_str().unwrap_or_default()
            )
        );
        assert_eq!(
            e.without_site().message(),
            "no value of \"emails\" matches [type eq \"work\"]"
        );
    }

    #[test]
    fn constructors_set_status_and_type() {
        assert_eq!(ScimError::uniqueness("x").status, 409);
        let big = ScimError::too_large("patch", 10, 5);
        assert_eq!((big.status, big.scim_type), (413, None));
        assert_eq!(big.detail, "the patch is 10 bytes, over the limit of 5");
        assert_eq!(
            ScimError::at(
                ScimError::invalid_value("bad"),
                Site::PartialResource("member \"x\"".into())
            )
            .message(),
            "SCIM 1.1 partial resource, member \"x\": bad"
        );
    }
}
