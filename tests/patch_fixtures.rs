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

#[test]
fn corpus_passes_through_the_component_with_the_same_results() {
    let host = scim_host::PatchEngine::new().expect("the embedded engine component loads");
    let mut compatible = host
        .patcher(r#"{"profile": "compatible"}"#)
        .expect("compatible patcher");
    let mut strict = host
        .patcher(r#"{"profile": "strict"}"#)
        .expect("strict patcher");
    let (total, failures) = run_corpus(|profile, resource: &Value, patch: &Value| {
        let patcher = if profile == "strict" {
            &mut strict
        } else {
            &mut compatible
        };
        match patcher.apply(&resource.to_string(), &patch.to_string()) {
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
fn native_and_component_errors_carry_the_same_detail() {
    let host = scim_host::PatchEngine::new().expect("component loads");
    let mut patcher = host.patcher("{}").expect("patcher");
    let native = Engine::default();
    for case in scim_tests::patch_cases()
        .iter()
        .filter(|c| c.profile == "compatible")
    {
        let (resource, patch) = (case.resource.to_string(), case.patch.to_string());
        let here = native.apply_json(&resource, &patch).map_err(|e| e.detail);
        let there = patcher
            .apply(&resource, &patch)
            .expect("no host error")
            .map_err(|e| e.detail);
        let here = here.map(|t| serde_json::from_str::<Value>(&t).ok());
        let there = there.map(|t| serde_json::from_str::<Value>(&t).ok());
        assert_eq!(here, there, "{}", case.name);
    }
}
