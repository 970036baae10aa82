//! The library API and its sandbox: limits end calls with a `HostError`, never a panic, and a
//! patcher recovers after such a failure.

mod support;

use std::sync::OnceLock;

use std::time::Duration;

use scim_host::{
    CpuLimit, EMBEDDED_COMPONENT, HostError, PatchEngine, Patcher, PatcherConfig, SandboxLimits,
};
use support::{PATCH, REMOVE_ID, USER, USER_ID, id_of, user_with_display_name_len};

/// The embedded engine with the default limits, compiled once for all tests that need no others.
fn default_engine() -> &'static PatchEngine {
    static ENGINE: OnceLock<PatchEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PatchEngine::new().expect("the embedded component loads"))
}

fn engine(limits: SandboxLimits) -> PatchEngine {
    PatchEngine::from_bytes(EMBEDDED_COMPONENT, limits).expect("the embedded component loads")
}

fn default_patcher(engine: &PatchEngine) -> Patcher {
    engine
        .patcher(&PatcherConfig::default())
        .expect("default config")
}

/// Asserts that `patcher` still applies [`PATCH`] correctly.
fn assert_applies(patcher: &mut Patcher) {
    let patched = patcher
        .apply(USER, PATCH)
        .expect("no host error")
        .expect("no SCIM error");
    assert_eq!(id_of(&patched), USER_ID);
}

#[test]
fn engine_and_patcher_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<PatchEngine>();
    send::<Patcher>();
}

#[test]
fn one_engine_serves_many_threads() {
    let engine = default_engine();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let mut patcher = default_patcher(engine);
                for _ in 0..3 {
                    assert_applies(&mut patcher);
                }
            });
        }
    });
}

/// The embedded engine metering fuel, `budget` per call.
fn fuel_engine(budget: u64) -> PatchEngine {
    engine(SandboxLimits {
        cpu: CpuLimit::Fuel(budget),
        ..SandboxLimits::default()
    })
}

#[test]
fn apply_returns_the_patched_resource_and_measures_fuel() {
    let mut patcher = default_patcher(&fuel_engine(20_000_000_000));
    assert!(patcher.fuel_used() > 0, "create consumes fuel");
    assert_applies(&mut patcher);
    assert!(patcher.fuel_used() > 0, "apply consumes fuel");
}

#[test]
fn the_default_deadline_engine_meters_no_fuel() {
    let mut patcher = default_patcher(default_engine());
    assert_applies(&mut patcher);
    assert_eq!(patcher.fuel_used(), 0);
}

#[test]
fn a_tiny_fuel_budget_fails_creation_cleanly() {
    let error = fuel_engine(1)
        .patcher(&PatcherConfig::default())
        .expect_err("out of fuel");
    assert!(
        matches!(error, HostError::OutOfFuel { budget: 1 }),
        "{error:?}"
    );
}

#[test]
fn running_out_of_fuel_in_apply_is_a_host_error_and_the_patcher_recovers() {
    // A budget that covers `create` but not reading a resource several times its size.
    let create_cost = default_patcher(&fuel_engine(20_000_000_000)).fuel_used();
    let budget = 2 * create_cost + 10_000;
    let mut patcher = default_patcher(&fuel_engine(budget));
    let big_user = user_with_display_name_len(usize::try_from(4 * budget).expect("fits usize"));

    let error = patcher.apply(&big_user, PATCH).expect_err("out of fuel");
    assert!(
        matches!(error, HostError::OutOfFuel { budget: b } if b == budget),
        "{error:?}"
    );
    assert_applies(&mut patcher);
}

#[test]
fn running_past_the_deadline_is_a_host_error_and_the_patcher_recovers() {
    let limit = Duration::from_millis(1);
    let mut patcher = default_patcher(&engine(SandboxLimits {
        cpu: CpuLimit::Deadline(limit),
        ..SandboxLimits::default()
    }));
    // Several epoch ticks of work: a patch of many filtered operations on a large user.
    let big_user = user_with_display_name_len(16 << 20);
    let operations: Vec<String> = (0..2_000)
        .map(|i| format!(r#"{{"op":"replace","path":"displayName","value":"name {i}"}}"#))
        .collect();
    let slow_patch = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{}]}}"#,
        operations.join(",")
    );
    let started = std::time::Instant::now();
    let error = patcher
        .apply(&big_user, &slow_patch)
        .expect_err("past the deadline");
    assert!(
        matches!(error, HostError::Timeout { limit: l } if l == limit),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped at the deadline, not after finishing"
    );
    // A small patch fits in the same deadline.
    assert_applies(&mut patcher);
}

#[test]
fn exceeding_the_memory_cap_is_a_host_error_and_the_patcher_recovers() {
    let limit = 8 << 20;
    let mut patcher = default_patcher(&engine(SandboxLimits {
        max_memory_bytes: limit,
        ..SandboxLimits::default()
    }));
    let big_user = user_with_display_name_len(12 << 20);

    let error = patcher.apply(&big_user, PATCH).expect_err("out of memory");
    assert!(
        matches!(error, HostError::OutOfMemory { limit: l } if l == limit),
        "{error:?}"
    );
    assert_applies(&mut patcher);
}

#[test]
fn oversized_inputs_are_refused_before_entering_the_engine() {
    let limit = USER.len();
    let mut patcher = default_patcher(&engine(SandboxLimits {
        max_input_bytes: limit,
        ..SandboxLimits::default()
    }));
    let big_user = user_with_display_name_len(limit);

    let error = patcher.apply(&big_user, PATCH).expect_err("too large");
    assert!(
        matches!(
            error,
            HostError::InputTooLarge {
                input: "resource",
                ..
            }
        ),
        "{error:?}"
    );
    let error = patcher
        .matches(USER, &"a".repeat(limit + 1))
        .expect_err("too large");
    assert!(
        matches!(
            error,
            HostError::InputTooLarge {
                input: "filter",
                ..
            }
        ),
        "{error:?}"
    );
    assert_applies(&mut patcher);
}

#[test]
fn a_rejected_patch_is_a_scim_error_not_a_host_error() {
    let mut patcher = default_patcher(default_engine());
    let error = patcher
        .apply(USER, REMOVE_ID)
        .expect("no host error")
        .expect_err("id is readOnly");
    assert_eq!(
        (error.status, error.scim_type.as_deref()),
        (400, Some("mutability")),
        "{error}"
    );
    assert_applies(&mut patcher);
}

#[test]
fn an_invalid_configuration_is_a_config_error() {
    let error = default_engine()
        .patcher_from_json(r#"{"profile": "lenient"}"#)
        .expect_err("bad profile");
    assert!(
        matches!(&error, HostError::Config(doc) if doc.status == 400),
        "{error:?}"
    );
}

#[test]
fn matches_returns_a_result() {
    let mut patcher = default_patcher(default_engine());
    let matched = patcher
        .matches(USER, r#"userName eq "bjensen@example.com""#)
        .expect("no host error");
    assert_eq!(matched, Ok(true));
}

#[test]
fn bytes_that_are_not_a_component_fail_to_load() {
    let error = PatchEngine::from_bytes(b"not wasm", SandboxLimits::default())
        .expect_err("not a component");
    assert!(matches!(error, HostError::Load(_)), "{error:?}");
}

#[test]
fn a_missing_component_file_is_a_read_error() {
    let error = PatchEngine::from_file("/nonexistent/engine.wasm", SandboxLimits::default())
        .expect_err("no file");
    assert!(
        matches!(error, HostError::ReadComponent { .. }),
        "{error:?}"
    );
}
