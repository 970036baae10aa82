//! The two kinds of failure: a SCIM error the engine reports ([`ScimErrorDoc`]) and everything
//! else that can go wrong on the host side ([`HostError`]).

use std::fmt;
use std::path::PathBuf;

/// The schema URN of an RFC 7644 §3.12 error response.
pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error returned by the engine (RFC 7644 §3.12): the HTTP status, the optional
/// `scimType` keyword and a human-readable detail.
///
/// This is an expected outcome of `apply`/`matches` (a patch the engine rejects), not a host
/// failure; render it for clients with [`ScimErrorDoc::to_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimErrorDoc {
    /// HTTP status code, e.g. 400.
    pub status: u16,
    /// The `scimType` keyword (`invalidPath`, `noTarget`, `mutability`, ...), if any.
    pub scim_type: Option<String>,
    /// Human-readable description of what went wrong.
    pub detail: String,
}

impl ScimErrorDoc {
    /// The RFC 7644 error document as a JSON value: `schemas`, `scimType` (only when present),
    /// `detail`, and `status` as a string, as the RFC's examples show.
    pub fn to_value(&self) -> serde_json::Value {
        let mut doc = serde_json::Map::new();
        doc.insert("schemas".into(), serde_json::json!([SCIM_ERROR_SCHEMA]));
        if let Some(scim_type) = &self.scim_type {
            doc.insert("scimType".into(), scim_type.as_str().into());
        }
        doc.insert("detail".into(), self.detail.as_str().into());
        doc.insert("status".into(), self.status.to_string().into());
        serde_json::Value::Object(doc)
    }

    /// The RFC 7644 error document as compact JSON text, e.g.
    /// `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"noTarget","detail":"...","status":"400"}`.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

impl fmt::Display for ScimErrorDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scim_type {
            Some(scim_type) => write!(
                f,
                "SCIM error {} ({scim_type}): {}",
                self.status, self.detail
            ),
            None => write!(f, "SCIM error {}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimErrorDoc {}

/// A failure of the host or the sandbox, as opposed to a SCIM error the engine reports.
///
/// Traps, exhausted fuel or time, and exhausted memory all end up here, never as a panic of the host.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The component file could not be read.
    #[error("cannot read component {path}")]
    ReadComponent {
        /// The file that was asked for.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid component, or wasmtime could not compile or link it (for
    /// example it does not export `scim:patch/engine` or imports something the host lacks).
    #[error("cannot load the engine component: {0:#}")]
    Load(wasmtime::Error),
    /// An input string is larger than [`SandboxLimits::max_input_bytes`](crate::SandboxLimits::max_input_bytes)
    /// and was not passed to the engine.
    #[error("{input} is {len} bytes, over the host's limit of {limit} bytes")]
    InputTooLarge {
        /// Which argument: `"config"`, `"resource"`, `"patch"` or `"filter"`.
        input: &'static str,
        /// Its size in bytes.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The engine rejected the patcher configuration (the JSON given to
    /// [`PatchEngine::patcher`](crate::PatchEngine::patcher)).
    #[error("invalid engine configuration: {0}")]
    Config(ScimErrorDoc),
    /// The call used up its fuel budget ([`CpuLimit::Fuel`](crate::CpuLimit::Fuel)).
    #[error("the engine ran out of fuel (CPU budget of {budget} units per call)")]
    OutOfFuel {
        /// The per-call budget that was exhausted.
        budget: u64,
    },
    /// The call ran past its deadline ([`CpuLimit::Deadline`](crate::CpuLimit::Deadline)).
    #[error("the engine ran past its deadline of {limit:?} per call")]
    Timeout {
        /// The per-call deadline.
        limit: std::time::Duration,
    },
    /// The guest tried to grow its memory past [`SandboxLimits::max_memory_bytes`](crate::SandboxLimits::max_memory_bytes)
    /// and then failed.
    #[error("the engine exceeded its memory limit of {limit} bytes")]
    OutOfMemory {
        /// The configured limit.
        limit: usize,
    },
    /// The guest trapped (a panic in the engine, a stack overflow, ...) or the call failed in
    /// the runtime. `message` holds wasmtime's error and the tail of the guest's stderr (where
    /// a Rust panic message goes).
    #[error("the engine trapped: {message}")]
    Trap {
        /// wasmtime's description, followed by the guest's stderr if it wrote any.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_rfc_7644_error_document() {
        let error = ScimErrorDoc {
            status: 400,
            scim_type: Some("noTarget".into()),
            detail: "no \"match\"".into(),
        };
        assert_eq!(
            error.to_json(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"noTarget","detail":"no \"match\"","status":"400"}"#
        );
        assert_eq!(
            error.to_string(),
            r#"SCIM error 400 (noTarget): no "match""#
        );
    }

    #[test]
    fn omits_an_absent_scim_type() {
        let error = ScimErrorDoc {
            status: 413,
            scim_type: None,
            detail: "too big".into(),
        };
        assert_eq!(
            error.to_json(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"too big","status":"413"}"#
        );
    }
}
