//! The fixture corpus against the native engine (and, in `component_parity`, the component).
use scim_patch::{Config, Engine, Profile};
use scim_tests::{ErrorOutcome, run_corpus};
use serde_json::Value;

fn native(profile: &str) -> Engine {
    let profile = if profile == "strict" {
        Profile::Strict
    } else {
        Profile::Compatible
    };
    Engine::new(Config {
        profile,
        ..Config::default()
    })
}

#[test]
fn corpus_passes_on_the_native_engine() {
    let (compatible, strict) = (native("compatible"), native("strict"));
    let (total, failures) = run_corpus(|profile, resource: &Value, patch: &Value| {
        let engine = if profile == "strict" {
            &strict
        } else {
            &compatible
        };
        engine.apply(resource, patch).map_err(|e| ErrorOutcome {
            status: e.status,
            scim_type: e.scim_type.map(|t| t.as_str().to_string()),
            detail: e.detail,
        })
    });
    eprintln!("{total} fixture cases, {} failed", failures.len());
    assert!(total >= 200, "the corpus has only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
