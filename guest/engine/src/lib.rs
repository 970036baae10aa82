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

mod attr_path;
mod build;
mod config;
mod datetime;
mod element_filter;
mod equality;
mod error;
mod eval;
mod filter;
pub mod json;
mod lazy;
pub mod limits;
mod op_reader;
mod patch;
mod path;
mod profile;
mod raw_element;
mod raw_filter;
mod raw_text;
mod readable;
pub mod request;
pub mod schema;
mod values;
mod write_json;
mod write_only;

use serde_json::{Map, Value};

pub use attr_path::AttrPath;
pub use build::BuiltResource;
pub use config::{Config, Profile};
pub use error::{ScimError, ScimType, Site};
pub use filter::{CompValue, CompareOp, Filter};
pub use limits::Limits;
pub use path::Path;
pub use request::{OpKind, Operation, PatchBody};
pub use schema::Registry;
pub use write_only::WriteOnly;

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

fn parse_json(text: &str, what: &str) -> Result<Value, ScimError> {
    serde_json::from_str(text).map_err(|e| {
        let detail = format!("the {what} is not valid JSON: {e}");
        if what == "patch" {
            ScimError::invalid_syntax(detail)
        } else {
            ScimError::invalid_value(detail)
        }
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
            return Err(ScimError::invalid_value(format!(
                "the {what} nests {depth} levels deep, over the limit of {limit}"
            )));
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
            return Err(ScimError::invalid_value(
                "the resource must be a JSON object",
            ));
        };
        let applier = patch::Applier::new(
            self.config.registry.resource_schemas(&doc)?,
            self.config.profile,
            &self.config.limits,
        );
        match request::parse(patch, self.config.profile, &self.config.limits)? {
            PatchBody::Operations(ops) => patch::apply_operations(&applier, &mut doc, ops)?,
            PatchBody::PartialResource(body) => patch::legacy::apply(&applier, &mut doc, body)?,
        }
        Ok(Value::Object(doc))
    }

    /// [`Engine::apply`] on JSON text: the form hosts and the WIT interface use.
    pub fn apply_json(&self, resource: &str, patch: &str) -> Result<String, ScimError> {
        let limits = &self.config.limits;
        if patch.len() > limits.max_patch_bytes {
            return Err(ScimError::too_large(
                "patch",
                patch.len(),
                limits.max_patch_bytes,
            ));
        }
        if resource.len() > limits.max_resource_bytes {
            return Err(ScimError::too_large(
                "resource",
                resource.len(),
                limits.max_resource_bytes,
            ));
        }
        if let Some(result) = lazy::apply(&self.config, resource, patch) {
            return result;
        }
        let patched = self.apply_owned(
            parse_json(resource, "resource")?,
            parse_json(patch, "patch")?,
        )?;
        serde_json::to_string(&patched)
            .map_err(|e| ScimError::internal(format!("could not serialize the result: {e}")))
    }

    /// Builds a `resource_type` resource (`User`, `Group`) from a POST or PUT body on top of
    /// `skeleton` (the service's `id`, `meta`, ...): names resolved to the schema's spelling,
    /// values checked as a path-less PATCH `add` checks them, extension URNs kept in step with
    /// `schemas` (which must list the core schema), readOnly attributes ignored (RFC 7644 §3.3).
    /// Unknown attributes are dropped and listed in [`BuiltResource::dropped`] (compatible
    /// profile) or refused with 400 invalidPath (strict). Never-returned attributes such as
    /// `password` stay in the result: take them out with [`Engine::take_write_only`].
    pub fn build_resource(
        &self,
        resource_type: &str,
        body: Value,
        skeleton: Map<String, Value>,
    ) -> Result<BuiltResource, ScimError> {
        self.check_depth(&body, "body")?;
        let applier = patch::Applier::new(
            self.config.registry.schemas_of_type(resource_type)?,
            self.config.profile,
            &self.config.limits,
        );
        build::build(&applier, body, skeleton)
    }

    /// Takes every attribute whose schema says `returned: "never"` (`password`, and any such
    /// extension attribute or sub-attribute) out of `resource`, however it was spelled, and
    /// returns them with their canonical paths. Call it after [`Engine::build_resource`] and
    /// after every PATCH, before storing or returning the resource.
    pub fn take_write_only(&self, resource: &mut Map<String, Value>) -> Vec<WriteOnly> {
        let Ok(schemas) = self.config.registry.resource_schemas(resource) else {
            return Vec::new();
        };
        let applier = patch::Applier::new(schemas, self.config.profile, &self.config.limits);
        write_only::take(&applier, resource)
    }

    /// 400 invalidFilter when a list filter names an attribute that is never returned
    /// (`filter=password eq "guess"` would reveal the password) in any of `resource_types`
    /// (`["User"]`, `["User", "Group"]` for a search across both); 400 invalidValue for a
    /// resource type the engine does not know.
    pub fn check_filter_readable(
        &self,
        filter: &Filter,
        resource_types: &[&str],
    ) -> Result<(), ScimError> {
        for name in resource_types {
            readable::check_filter(filter, self.config.registry.schemas_of_type(name)?)?;
        }
        Ok(())
    }

    /// True when `resource` matches the SCIM filter `filter` (RFC 7644 §3.4.2.2).
    pub fn matches(&self, resource: &Value, filter: &str) -> Result<bool, ScimError> {
        let filter = self.parse_filter(filter)?;
        self.matches_parsed(resource, &filter)
    }

    /// Parses a filter (RFC 7644 §3.4.2.2) under this engine's profile and limits: what list
    /// queries use before [`Engine::matches_parsed`].
    pub fn parse_filter(&self, text: &str) -> Result<Filter, ScimError> {
        Filter::parse_with(text, self.config.profile, &self.config.limits)
    }

    /// [`Engine::matches`] with a filter parsed once (for list queries over many resources).
    pub fn matches_parsed(&self, resource: &Value, filter: &Filter) -> Result<bool, ScimError> {
        let Value::Object(doc) = resource else {
            return Err(ScimError::invalid_value(
                "the resource must be a JSON object",
            ));
        };
        let schemas = self.config.registry.resource_schemas(doc)?;
        eval::evaluate(filter, eval::Scope::Resource(doc, schemas))
    }

    /// [`Engine::matches`] on JSON text.
    pub fn matches_json(&self, resource: &str, filter: &str) -> Result<bool, ScimError> {
        if resource.len() > self.config.limits.max_resource_bytes {
            return Err(ScimError::too_large(
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

/// The component's `memcmp`/`bcmp`; natively only its tests are built.
#[cfg(any(target_arch = "wasm32", test))]
mod byte_compare;
mod byte_scan;
