//! [`PatcherConfig`]: a patcher's configuration, typed; rendered to the JSON the engine's
//! `patcher.create` takes (see `wit/engine.wit`) only when it is handed over.

use serde_json::{Map, Value, json};

/// Which identity-provider tolerances the engine applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Accepts the documented identity-provider forms (Entra, Okta, SCIM 1.1 bodies) as well as
    /// the RFC forms. The engine's default.
    #[default]
    Compatible,
    /// RFC 7644 forms only.
    Strict,
}

impl Profile {
    /// The name the engine's configuration uses: `"compatible"` or `"strict"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Compatible => "compatible",
            Profile::Strict => "strict",
        }
    }
}

/// A patcher configuration: the profile, the extra schema and resource-type documents, and the
/// engine's limits on one request. [`PatchEngine::patcher`](crate::PatchEngine::patcher) takes
/// it; [`PatcherConfig::to_json`] is the engine's JSON form of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatcherConfig {
    /// The compatibility profile.
    pub profile: Profile,
    /// RFC 7643 §7 schema documents to add to the built-in ones, passed to the engine unchanged
    /// (it validates them).
    pub schemas: Vec<Value>,
    /// RFC 7643 §6 resource-type documents to add, passed unchanged.
    pub resource_types: Vec<Value>,
    /// What the engine accepts in one request (each unset one: the engine's default).
    pub limits: PatchLimits,
}

/// The engine's own caps on one request (README "Limits"): past one, the request is a SCIM 400
/// or 413, not a host failure. `None` keeps the engine's default. (The sandbox's caps on the
/// instance running it are [`SandboxLimits`](crate::SandboxLimits).)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatchLimits {
    /// Operations per PatchOp request (default 10,000).
    pub max_operations: Option<usize>,
    /// Nesting depth of the patch and resource JSON (default 64, at most 120).
    pub max_json_depth: Option<usize>,
    /// Bytes in one filter (default 65,536).
    pub max_filter_length: Option<usize>,
    /// Nesting in one filter (default 32).
    pub max_filter_depth: Option<usize>,
    /// Values of one multi-valued attribute after an operation (default 1,000,000).
    pub max_values_per_attribute: Option<usize>,
    /// Bytes of patch JSON (default 16 MiB).
    pub max_patch_bytes: Option<usize>,
    /// Bytes of resource JSON (default 64 MiB).
    pub max_resource_bytes: Option<usize>,
}

impl PatchLimits {
    /// The set limits as the engine's `limits` object (camelCase names).
    fn to_value(self) -> Value {
        let named = [
            ("maxOperations", self.max_operations),
            ("maxJsonDepth", self.max_json_depth),
            ("maxFilterLength", self.max_filter_length),
            ("maxFilterDepth", self.max_filter_depth),
            ("maxValuesPerAttribute", self.max_values_per_attribute),
            ("maxPatchBytes", self.max_patch_bytes),
            ("maxResourceBytes", self.max_resource_bytes),
        ];
        let set: Map<String, Value> = named
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?.into())))
            .collect();
        Value::Object(set)
    }
}

impl PatcherConfig {
    /// Adds the schemas of one document that holds either a single schema or an array of them.
    pub fn add_schema_document(&mut self, document: Value) {
        match document {
            Value::Array(schemas) => self.schemas.extend(schemas),
            schema => self.schemas.push(schema),
        }
    }

    /// The configuration as the engine's JSON text: `{"profile": "...", "schemas": [...]}`,
    /// with `resourceTypes` and `limits` when any are set.
    pub fn to_json(&self) -> String {
        let mut config = json!({ "profile": self.profile.as_str(), "schemas": self.schemas });
        if !self.resource_types.is_empty() {
            config["resourceTypes"] = self.resource_types.clone().into();
        }
        let limits = self.limits.to_value();
        if limits.as_object().is_some_and(|set| !set.is_empty()) {
            config["limits"] = limits;
        }
        config.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_names_the_profile_and_no_schemas() {
        assert_eq!(
            PatcherConfig::default().to_json(),
            r#"{"profile":"compatible","schemas":[]}"#
        );
    }

    #[test]
    fn schema_documents_hold_one_schema_or_an_array() {
        let mut config = PatcherConfig {
            profile: Profile::Strict,
            ..PatcherConfig::default()
        };
        config.add_schema_document(json!({"id": "urn:a"}));
        config.add_schema_document(json!([{"id": "urn:b"}, {"id": "urn:c"}]));
        assert_eq!(
            config.to_json(),
            r#"{"profile":"strict","schemas":[{"id":"urn:a"},{"id":"urn:b"},{"id":"urn:c"}]}"#
        );
    }

    #[test]
    fn resource_types_and_set_limits_are_passed_on() {
        let config = PatcherConfig {
            resource_types: vec![json!({"id": "Device"})],
            limits: PatchLimits {
                max_operations: Some(5),
                max_filter_length: Some(100),
                ..PatchLimits::default()
            },
            ..PatcherConfig::default()
        };
        assert_eq!(
            config.to_json(),
            r#"{"profile":"compatible","schemas":[],"resourceTypes":[{"id":"Device"}],"limits":{"maxOperations":5,"maxFilterLength":100}}"#
        );
    }
}
