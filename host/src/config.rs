//! The configuration JSON handed to the engine's `patcher.create` (see `wit/engine.wit`).

use serde_json::{Value, json};

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

/// A patcher configuration: the profile and the extra RFC 7643 §7 schema documents.
/// [`PatcherConfig::to_json`] gives the text [`PatchEngine::patcher`](crate::PatchEngine::patcher) takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatcherConfig {
    /// The compatibility profile.
    pub profile: Profile,
    /// Schema documents to add to the built-in ones, passed to the engine unchanged (it validates them).
    pub schemas: Vec<Value>,
}

impl PatcherConfig {
    /// Adds the schemas of one document that holds either a single schema or an array of them.
    pub fn add_schema_document(&mut self, document: Value) {
        match document {
            Value::Array(schemas) => self.schemas.extend(schemas),
            schema => self.schemas.push(schema),
        }
    }

    /// The configuration as JSON text: `{"profile": "...", "schemas": [...]}`.
    pub fn to_json(&self) -> String {
        json!({ "profile": self.profile.as_str(), "schemas": self.schemas }).to_string()
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
            schemas: Vec::new(),
        };
        config.add_schema_document(json!({"id": "urn:a"}));
        config.add_schema_document(json!([{"id": "urn:b"}, {"id": "urn:c"}]));
        assert_eq!(
            config.to_json(),
            r#"{"profile":"strict","schemas":[{"id":"urn:a"},{"id":"urn:b"},{"id":"urn:c"}]}"#
        );
    }
}
