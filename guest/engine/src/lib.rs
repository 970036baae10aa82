//! # scim-patch
//!
//! A SCIM PATCH engine (RFC 7644 §3.5.2): it applies PatchOp bodies to SCIM resources,
//! schema-aware (RFC 7643 types, mutability, caseExact, required), atomically, with the forms that
//! real identity providers send (Microsoft Entra ID, Okta, SCIM 1.1 partial resources) accepted in
//! the default profile and refused in the `strict` one. It also evaluates SCIM filters.
//!
//! ```
//! use scim_patch::Engine;
//! use serde_json::json;
//!
//! let engine = Engine::default();
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223", "userName": "bjensen",
//!     "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]
//! });
//! let patch = json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [
//!         {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"},
//!         {"op": "add", "path": "name.givenName", "value": "Barbara"}
//!     ]
//! });
//! let patched = engine.apply(&user, &patch)?;
//! assert_eq!(patched["emails"][0]["value"], "babs@example.com");
//! assert_eq!(patched["name"]["givenName"], "Barbara");
//! assert!(engine.matches(&patched, "emails[type eq \"work\" and value ew \"example.com\"]")?);
//! # Ok::<(), scim_patch::ScimError>(())
//! ```
//!
//! Every failure is a [`ScimError`] carrying the HTTP status, the RFC 7644 §3.12 `scimType` and a
//! detail naming the operation and path at fault. The rules are listed in `docs/semantics.md`.

pub mod config;
pub mod datetime;
pub mod error;
pub mod eval;
pub mod filter;
pub mod json;
mod lazy;
mod legacy;
pub mod limits;
mod patch;
pub mod path;
pub mod request;
pub mod schema;
pub mod values;

use serde_json::Value;

pub use config::{Config, Profile};
pub use error::{ScimError, ScimType};
pub use filter::{CompValue, CompareOp, Filter};
pub use limits::Limits;
pub use path::{AttrPath, Path};
pub use request::{OpKind, Operation, PatchBody};
pub use schema::Registry;

/// A configured PATCH engine: schemas, profile and limits. Cheap to share; `apply` and `matches`
/// are pure functions of their arguments.
#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
}

impl Default for Engine {
    /// The compatible profile, built-in schemas and default limits.
    fn default() -> Self {
        Engine {
            config: Config::default(),
        }
    }
}

fn too_large(what: &str, len: usize, limit: usize) -> ScimError {
    ScimError {
        status: 413,
        scim_type: None,
        detail: format!("the {what} is {len} bytes, over the limit of {limit}"),
    }
}

fn parse_json(text: &str, what: &str) -> Result<Value, ScimError> {
    serde_json::from_str(text).map_err(|e| {
        let kind = if what == "patch" {
            ScimType::InvalidSyntax
        } else {
            ScimType::InvalidValue
        };
        ScimError::bad_request(kind, format!("the {what} is not valid JSON: {e}"))
    })
}

impl Engine {
    /// An engine with this configuration.
    pub fn new(config: Config) -> Self {
        Engine { config }
    }

    /// An engine from a JSON configuration (`profile`, `schemas`, `resourceTypes`, `limits`).
    pub fn from_config_json(config: &str) -> Result<Self, ScimError> {
        Config::from_json(config).map(Engine::new)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn check_depth(&self, value: &Value, what: &str) -> Result<(), ScimError> {
        let depth = limits::json_depth(value);
        let limit = self.config.limits.max_json_depth;
        if depth > limit {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("the {what} nests {depth} levels deep, over the limit of {limit}"),
            ));
        }
        Ok(())
    }

    /// Applies a PATCH body to a resource and returns the patched copy. Atomic: on error the
    /// caller still holds the unchanged resource.
    pub fn apply(&self, resource: &Value, patch: &Value) -> Result<Value, ScimError> {
        self.apply_owned(resource.clone(), patch.clone())
    }

    /// [`Engine::apply`] taking ownership (saves the copies).
    pub fn apply_owned(&self, resource: Value, patch: Value) -> Result<Value, ScimError> {
        self.check_depth(&patch, "patch")?;
        self.check_depth(&resource, "resource")?;
        let Value::Object(mut doc) = resource else {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "the resource must be a JSON object",
            ));
        };
        let applier = patch::Applier::new(
            self.config.registry.resource_schemas(&doc)?,
            self.config.profile,
            &self.config.limits,
        );
        match request::parse(patch, self.config.profile, &self.config.limits)? {
            PatchBody::Operations(ops) => self.apply_operations(&applier, &mut doc, ops)?,
            PatchBody::PartialResource(body) => legacy::apply(&applier, &mut doc, body)?,
        }
        Ok(Value::Object(doc))
    }

    /// Applies PatchOp operations in order, naming the failing one in the error.
    fn apply_operations(
        &self,
        applier: &patch::Applier<'_>,
        doc: &mut serde_json::Map<String, Value>,
        ops: Vec<Operation>,
    ) -> Result<(), ScimError> {
        for (index, op) in ops.into_iter().enumerate() {
            let Operation { op, path, value } = op;
            applier
                .apply_parts(doc, op, path.as_ref(), value)
                .map_err(|e| {
                    // Described only on failure: formatting every operation's path cost more
                    // than applying it.
                    let what = match &path {
                        Some(path) => format!("{op} {path}"),
                        None => op.to_string(),
                    };
                    e.in_operation(index, Some(what))
                })?;
        }
        Ok(())
    }

    /// [`Engine::apply`] on JSON text: the form hosts and the WIT interface use.
    pub fn apply_json(&self, resource: &str, patch: &str) -> Result<String, ScimError> {
        let limits = &self.config.limits;
        if patch.len() > limits.max_patch_bytes {
            return Err(too_large("patch", patch.len(), limits.max_patch_bytes));
        }
        if resource.len() > limits.max_resource_bytes {
            return Err(too_large(
                "resource",
                resource.len(),
                limits.max_resource_bytes,
            ));
        }
        if let Some(result) = lazy::apply(self, resource, patch) {
            return result;
        }
        let patched = self.apply_owned(
            parse_json(resource, "resource")?,
            parse_json(patch, "patch")?,
        )?;
        serde_json::to_string(&patched).map_err(|e| ScimError {
            status: 500,
            scim_type: None,
            detail: format!("could not serialize the result: {e}"),
        })
    }

    /// True when `resource` matches the SCIM filter `filter` (RFC 7644 §3.4.2.2).
    pub fn matches(&self, resource: &Value, filter: &str) -> Result<bool, ScimError> {
        let filter = Filter::parse_with(filter, &self.config.limits)?;
        self.matches_parsed(resource, &filter)
    }

    /// [`Engine::matches`] with a filter parsed once (for list queries over many resources).
    pub fn matches_parsed(&self, resource: &Value, filter: &Filter) -> Result<bool, ScimError> {
        let Value::Object(doc) = resource else {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "the resource must be a JSON object",
            ));
        };
        let schemas = self.config.registry.resource_schemas(doc)?;
        eval::evaluate(filter, eval::Scope::Resource(doc, schemas))
    }

    /// [`Engine::matches`] on JSON text.
    pub fn matches_json(&self, resource: &str, filter: &str) -> Result<bool, ScimError> {
        if resource.len() > self.config.limits.max_resource_bytes {
            return Err(too_large(
                "resource",
                resource.len(),
                self.config.limits.max_resource_bytes,
            ));
        }
        let resource = parse_json(resource, "resource")?;
        self.check_depth(&resource, "resource")?;
        self.matches(&resource, filter)
    }
}

#[cfg(target_arch = "wasm32")]
mod component;
