//! What the fuzz targets check, shared by the afl binaries and by the corpus replay test.
use scim_patch::{Config, Engine, Filter, Path, Profile};
use serde_json::Value;

/// Splits a fuzz input into its profile (first byte, low bit) and the text after it.
pub fn profile_and_text(data: &[u8]) -> Option<(Profile, &str)> {
    let (&first, rest) = data.split_first()?;
    let profile = if first & 1 == 1 {
        Profile::Strict
    } else {
        Profile::Compatible
    };
    Some((profile, std::str::from_utf8(rest).ok()?))
}

/// The engine of a profile, with default schemas and limits.
pub fn engine(profile: Profile) -> Engine {
    Engine::new(Config {
        profile,
        ..Config::default()
    })
}

/// `apply_json` on `resource` NUL `patch`: never panics, and when both texts are JSON its answer
/// equals `apply` on the parsed values (the same resource, or an error with the same status and
/// scimType).
pub fn check_apply(data: &[u8]) {
    let Some((profile, text)) = profile_and_text(data) else {
        return;
    };
    let Some((resource, patch)) = text.split_once('\0') else {
        return;
    };
    let engine = engine(profile);
    let text_result = engine.apply_json(resource, patch);
    let (Ok(resource_value), Ok(patch_value)) = (
        serde_json::from_str::<Value>(resource),
        serde_json::from_str::<Value>(patch),
    ) else {
        return;
    };
    let value_result = engine.apply(&resource_value, &patch_value);
    match (&text_result, &value_result) {
        (Ok(text), Ok(value)) => {
            let parsed: Value = match serde_json::from_str(text) {
                Ok(parsed) => parsed,
                Err(e) => panic!("apply_json returned invalid JSON ({e}): {text}"),
            };
            assert_eq!(&parsed, value, "text path and Value path differ");
        }
        (Err(a), Err(b)) => assert_eq!(
            (a.status, a.scim_type),
            (b.status, b.scim_type),
            "text path error {a} differs from Value path error {b}"
        ),
        // The text path also enforces the byte-size limits the Value path cannot see.
        (Err(a), Ok(_)) if a.status == 413 => {}
        _ => panic!("text path {text_result:?} differs from Value path {value_result:?}"),
    }
}

/// A path parses without panicking; a parsed path prints as text that parses back to it.
pub fn check_path(data: &[u8]) {
    let Some((profile, text)) = profile_and_text(data) else {
        return;
    };
    let limits = scim_patch::Limits::default();
    if let Ok(path) = Path::parse_with(text, profile, &limits) {
        let printed = path.to_string();
        match Path::parse_with(&printed, profile, &reparse_limits(&printed)) {
            Ok(again) => assert_eq!(again, path, "{text:?} printed as {printed:?}"),
            Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
        }
    }
}

/// Limits for parsing printed text again: printing may lengthen text (control characters become
/// `\u000b`), and the round trip is about syntax, not size.
fn reparse_limits(printed: &str) -> scim_patch::Limits {
    let mut limits = scim_patch::Limits::default();
    limits.max_filter_length = limits.max_filter_length.max(printed.len());
    limits
}

/// A filter parses without panicking; a parsed filter prints as text that parses back to it.
pub fn check_filter(data: &[u8]) {
    let Some((profile, text)) = profile_and_text(data) else {
        return;
    };
    let limits = scim_patch::Limits::default();
    if let Ok(filter) = Filter::parse_with(text, profile, &limits) {
        let printed = filter.to_string();
        match Filter::parse_with(&printed, profile, &reparse_limits(&printed)) {
            Ok(again) => assert_eq!(again, filter, "{text:?} printed as {printed:?}"),
            Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
        }
    }
}
