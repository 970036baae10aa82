//! The fixture corpus against the native engine and through the engine component (parity).
use std::collections::HashMap;

use scim_patch::Engine;
use scim_tests::{Case, ErrorOutcome, patch_cases, run_corpus};
use serde_json::Value;

/// Engines (or patchers) are built once per distinct configuration.
fn cached<'c, T>(
    cache: &'c mut HashMap<String, T>,
    case: &Case,
    build: impl FnOnce(&str) -> T,
) -> &'c mut T {
    let key = case.config_json();
    cache.entry(key.clone()).or_insert_with(|| build(&key))
}

#[test]
fn corpus_passes_on_the_native_engine() {
    let mut engines: HashMap<String, Engine> = HashMap::new();
    let (total, failures) = run_corpus(|case| {
        let engine = cached(&mut engines, case, |config| {
            Engine::from_config_json(config).expect("case config is valid")
        });
        engine
            .apply(&case.resource, &case.patch)
            .map_err(|e| ErrorOutcome {
                status: e.status,
                scim_type: e.scim_type.map(|t| t.as_str().to_string()),
                detail: e.message(),
            })
    });
    eprintln!(
        "{total} fixture cases on the native engine, {} failed",
        failures.len()
    );
    assert!(total >= 200, "the corpus has only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_passes_through_the_component_with_the_same_results() {
    let host = scim_host::PatchEngine::new().expect("the embedded engine component loads");
    let mut patchers = HashMap::new();
    let (total, failures) = run_corpus(|case| {
        let patcher = cached(&mut patchers, case, |config| {
            host.patcher_from_json(config)
                .expect("case config is valid")
        });
        match patcher.apply(&case.resource.to_string(), &case.patch.to_string()) {
            Ok(Ok(text)) => serde_json::from_str(&text).map_err(|e| ErrorOutcome {
                status: 0,
                scim_type: None,
                detail: format!("component returned bad JSON: {e}"),
            }),
            Ok(Err(e)) => Err(ErrorOutcome {
                status: e.status,
                scim_type: e.scim_type,
                detail: e.detail,
            }),
            Err(host_error) => Err(ErrorOutcome {
                status: 0,
                scim_type: None,
                detail: format!("host error: {host_error}"),
            }),
        }
    });
    eprintln!(
        "{total} fixture cases through the component, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed through the component:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn native_and_component_agree_byte_for_byte_including_error_details() {
    let host = scim_host::PatchEngine::new().expect("component loads");
    let mut patchers = HashMap::new();
    let mut engines: HashMap<String, Engine> = HashMap::new();
    for case in patch_cases() {
        let (resource, patch) = (case.resource.to_string(), case.patch.to_string());
        let engine = cached(&mut engines, &case, |config| {
            Engine::from_config_json(config).expect("valid config")
        });
        let here = engine
            .apply_json(&resource, &patch)
            .map_err(|e| (e.status, e.message()));
        let patcher = cached(&mut patchers, &case, |config| {
            host.patcher_from_json(config).expect("valid config")
        });
        let there = patcher
            .apply(&resource, &patch)
            .expect("no host error")
            .map_err(|e| (e.status, e.detail));
        assert_eq!(here, there, "{}", case.name);
    }
}

#[test]
fn error_cases_leave_the_input_untouched_and_render_as_scim_errors() {
    let engine = Engine::default();
    for case in patch_cases()
        .into_iter()
        .filter(|c| c.config.is_none() && c.profile == "compatible")
    {
        let before = case.resource.clone();
        if let Err(e) = engine.apply(&case.resource, &case.patch) {
            assert_eq!(case.resource, before, "{}", case.name);
            let doc: Value = e.to_json();
            assert_eq!(
                doc["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
                "{}",
                case.name
            );
            assert_eq!(
                doc["status"],
                Value::String(e.status.to_string()),
                "{}",
                case.name
            );
            assert!(!e.detail.is_empty(), "{}", case.name);
        }
    }
}

/// `apply_json` reads only the members the operations name and copies the rest as text; it must
/// give what the `Value` path gives, errors and their details included, on every case.
#[test]
fn text_path_agrees_with_the_value_path() {
    let mut engines: HashMap<String, Engine> = HashMap::new();
    let mut changed = 0;
    for case in patch_cases() {
        let engine = cached(&mut engines, &case, |config| {
            Engine::from_config_json(config).expect("valid config")
        });
        // Pretty-printed input: the copied members keep their spacing, and still parse the same.
        let resource = serde_json::to_string_pretty(&case.resource).expect("serializes");
        let text = engine
            .apply_json(&resource, &case.patch.to_string())
            .map(|out| serde_json::from_str::<Value>(&out).expect("apply_json returns JSON"))
            .map_err(|e| (e.status, e.message()));
        let value = engine
            .apply(&case.resource, &case.patch)
            .map_err(|e| (e.status, e.message()));
        assert_eq!(text, value, "{}", case.name);
        if let Ok(out) = &text {
            changed += usize::from(*out != case.resource);
        }
    }
    assert!(changed > 300, "only {changed} cases changed the resource");
}
