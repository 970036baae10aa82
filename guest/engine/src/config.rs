//! Engine configuration: profile, schemas, resource types and limits, also readable from JSON
//! (the form the WIT `patcher.create` takes).
use serde_json::Value;

use crate::error::ScimError;
use crate::limits::{JSON_DEPTH_CEILING, Limits};
pub use crate::profile::Profile;
use crate::schema::Registry;

/// Everything an [`crate::Engine`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Accepted request forms.
    pub profile: Profile,
    /// Processing limits.
    pub limits: Limits,
    /// Schemas and resource types.
    pub registry: Registry,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: Profile::Compatible,
            limits: Limits::default(),
            registry: Registry::builtin(),
        }
    }
}

fn bad(detail: String) -> ScimError {
    ScimError::invalid_value(format!("invalid engine configuration: {detail}"))
}

fn docs(value: Value, key: &str) -> Result<Vec<Value>, ScimError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(_) => Ok(vec![value]),
        other => Err(bad(format!(
            "\"{key}\" must be an array of documents, not {other}"
        ))),
    }
}

impl Config {
    /// Reads `{"profile", "schemas", "resourceTypes", "limits"}` (all optional; names
    /// case-insensitive). Unknown members are refused so that typos do not pass silently.
    pub fn from_json(text: &str) -> Result<Config, ScimError> {
        let text = if text.trim().is_empty() { "{}" } else { text };
        let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Value::Object(members) = value else {
            return Err(bad("it must be a JSON object".into()));
        };
        let mut config = Config::default();
        let mut resource_types = Vec::new();
        for (key, value) in members {
            match key.to_ascii_lowercase().as_str() {
                "profile" => {
                    config.profile = match value.as_str().map(str::to_ascii_lowercase).as_deref() {
                        Some("compatible") => Profile::Compatible,
                        Some("strict") => Profile::Strict,
                        _ => {
                            return Err(bad(format!(
                                "\"profile\" must be \"compatible\" or \"strict\", not {value}"
                            )));
                        }
                    }
                }
                "schemas" => {
                    for doc in docs(value, "schemas")? {
                        config.registry.add_schema_json(&doc)?;
                    }
                }
                "resourcetypes" => resource_types = docs(value, "resourceTypes")?,
                "limits" => config.limits = limits(value)?,
                _ => {
                    return Err(bad(format!(
                        "unknown member \"{key}\" (expected profile, schemas, resourceTypes, limits)"
                    )));
                }
            }
        }
        for doc in resource_types {
            config.registry.add_resource_type_json(&doc)?;
        }
        Ok(config)
    }
}

fn limits(value: Value) -> Result<Limits, ScimError> {
    let Value::Object(members) = value else {
        return Err(bad("\"limits\" must be an object".into()));
    };
    let mut limits = Limits::default();
    for (key, value) in members {
        let n = value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                bad(format!(
                    "limit \"{key}\" must be a positive integer, not {value}"
                ))
            })?;
        let slot = match key.to_ascii_lowercase().as_str() {
            "maxoperations" => &mut limits.max_operations,
            "maxjsondepth" => {
                if n > JSON_DEPTH_CEILING {
                    return Err(bad(format!(
                        "\"maxJsonDepth\" can be at most {JSON_DEPTH_CEILING}"
                    )));
                }
                &mut limits.max_json_depth
            }
            "maxfilterlength" => &mut limits.max_filter_length,
            "maxfilterdepth" => &mut limits.max_filter_depth,
            "maxvaluesperattribute" => &mut limits.max_values_per_attribute,
            "maxpatchbytes" => &mut limits.max_patch_bytes,
            "maxresourcebytes" => &mut limits.max_resource_bytes,
            _ => return Err(bad(format!("unknown limit \"{key}\""))),
        };
        *slot = n;
    }
    Ok(limits)
}
