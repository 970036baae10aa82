//! The fixture corpus through `apply_json` (the text path: a PatchOp reader and untouched members
//! kept as text) gives what `apply` (the `Value` path) gives, case by case: the same resource, or
//! an error with the same status and scimType. The corpus's expectations are checked against
//! `apply` and the component by the `scim-tests` crate.
use std::path::PathBuf;

use scim_patch::{Config, Engine};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn read(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn text_path_equals_value_path_on_the_corpus() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("patch"))
        .expect("the corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut total, mut failures) = (0, Vec::new());
    for file in files {
        let Value::Array(cases) = read(&file) else {
            continue;
        };
        for case in cases {
            let resource = match &case["resource"] {
                Value::String(name) => read(&fixtures().join(format!("resources/{name}.json"))),
                inline => inline.clone(),
            };
            let mut config = case.get("config").cloned().unwrap_or(Value::Null);
            if let Some(profile) = case.get("profile") {
                if config.is_null() {
                    config = Value::Object(Default::default());
                }
                config["profile"] = profile.clone();
            }
            let engine = if config.is_null() {
                Engine::new(Config::default())
            } else {
                Engine::from_config_json(&config.to_string()).expect("the case's config is valid")
            };
            let by_value = engine.apply(&resource, &case["patch"]);
            let by_text = engine
                .apply_json(&resource.to_string(), &case["patch"].to_string())
                .map(|text| serde_json::from_str::<Value>(&text).expect("apply_json gives JSON"));
            total += 1;
            let same = match (&by_value, &by_text) {
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => (a.status, a.scim_type) == (b.status, b.scim_type),
                _ => false,
            };
            if !same {
                failures.push(format!(
                    "{}: {}\n  value path: {by_value:?}\n  text path:  {by_text:?}",
                    file.display(),
                    case["name"]
                ));
            }
        }
    }
    assert!(total >= 600, "only {total} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
