//! Shared test support: the fixture corpus (`fixtures/patch/*.json`) and how to judge an outcome.
use std::path::{Path, PathBuf};

use serde_json::Value;

/// What a case expects.
#[derive(Debug, Clone)]
pub enum Expected {
    /// The full resource after the patch.
    Resource(Value),
    /// A SCIM error with this status and scimType.
    Error {
        status: u16,
        scim_type: Option<String>,
    },
}

/// One fixture case.
#[derive(Debug, Clone)]
pub struct Case {
    /// `file.json: name`
    pub name: String,
    /// "compatible" or "strict"
    pub profile: String,
    /// The resource before.
    pub resource: Value,
    /// The PATCH body.
    pub patch: Value,
    /// Extra engine configuration (`schemas`, `resourceTypes`, `limits`), if the case has one.
    pub config: Option<Value>,
    /// What must come out.
    pub expected: Expected,
}

/// A SCIM error as either side reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorOutcome {
    /// HTTP status.
    pub status: u16,
    /// scimType, if any.
    pub scim_type: Option<String>,
    /// detail text.
    pub detail: String,
}

/// The directory holding `fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every case of the patch corpus, in file then array order.
pub fn patch_cases() -> Vec<Case> {
    let dir = fixtures_dir().join("patch");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entries = match read_json(&file) {
            Value::Array(items) => items,
            single => vec![single],
        };
        for entry in entries {
            let name = format!(
                "{file_name}: {}",
                entry["name"].as_str().unwrap_or("<unnamed>")
            );
            let resource = match &entry["resource"] {
                Value::String(base) => read_json(
                    &fixtures_dir()
                        .join("resources")
                        .join(format!("{base}.json")),
                ),
                inline => inline.clone(),
            };
            let expected = if let Some(error) = entry.get("error") {
                Expected::Error {
                    status: error["status"]
                        .as_u64()
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(400),
                    scim_type: error
                        .get("scimType")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }
            } else {
                Expected::Resource(
                    entry
                        .get("expect")
                        .cloned()
                        .unwrap_or_else(|| panic!("{name}: needs expect or error")),
                )
            };
            cases.push(Case {
                name,
                profile: entry
                    .get("profile")
                    .and_then(Value::as_str)
                    .unwrap_or("compatible")
                    .to_string(),
                resource,
                patch: entry["patch"].clone(),
                config: entry.get("config").cloned(),
                expected,
            });
        }
    }
    cases
}

/// Compares an outcome with the case's expectation; `Err` explains the difference.
pub fn judge(case: &Case, outcome: &Result<Value, ErrorOutcome>) -> Result<(), String> {
    match (&case.expected, outcome) {
        (Expected::Resource(want), Ok(got)) if want == got => Ok(()),
        (Expected::Resource(want), Ok(got)) => Err(format!("expected\n  {want}\ngot\n  {got}")),
        (Expected::Resource(_), Err(e)) => Err(format!(
            "expected a resource, got error {} {:?}: {}",
            e.status, e.scim_type, e.detail
        )),
        (Expected::Error { status, scim_type }, Err(e))
            if *status == e.status && *scim_type == e.scim_type =>
        {
            Ok(())
        }
        (Expected::Error { status, scim_type }, Err(e)) => Err(format!(
            "expected error {status} {scim_type:?}, got {} {:?}: {}",
            e.status, e.scim_type, e.detail
        )),
        (Expected::Error { status, scim_type }, Ok(got)) => Err(format!(
            "expected error {status} {scim_type:?}, got resource {got}"
        )),
    }
}

impl Case {
    /// The engine configuration JSON for this case: its `config` plus its `profile`.
    pub fn config_json(&self) -> String {
        let mut config = match &self.config {
            Some(Value::Object(map)) => map.clone(),
            _ => serde_json::Map::new(),
        };
        config.insert("profile".into(), Value::String(self.profile.clone()));
        Value::Object(config).to_string()
    }
}

/// Runs every case through `apply(case)` and returns the case count and the failures.
pub fn run_corpus(
    mut apply: impl FnMut(&Case) -> Result<Value, ErrorOutcome>,
) -> (usize, Vec<String>) {
    let cases = patch_cases();
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = apply(case);
        if let Err(why) = judge(case, &outcome) {
            failures.push(format!("{} [{}]\n  {why}", case.name, case.profile));
        }
    }
    (cases.len(), failures)
}
