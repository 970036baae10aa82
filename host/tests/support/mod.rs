//! Inputs shared by the host's integration tests (valid for the real engine, not only the stub),
//! and what those tests read back of the compile cache.

#![allow(dead_code, reason = "each test binary uses a different subset")]

/// A valid core User.
pub const USER: &str = r#"{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "userName": "bjensen@example.com",
  "displayName": "Babs Jensen",
  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
  "meta": {"resourceType": "User", "version": "W/\"3694e05e9dff590\""}
}"#;

/// The `id` of [`USER`].
pub const USER_ID: &str = "2819c223-7f76-453a-919d-413861904646";

/// A valid RFC 7644 PatchOp body that any engine must accept on [`USER`].
pub const PATCH: &str = r#"{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "replace", "path": "displayName", "value": "Barbara Jensen"}]
}"#;

/// [`USER`] with a `displayName` of `len` characters: valid, and as large as wanted.
pub fn user_with_display_name_len(len: usize) -> String {
    let mut user: serde_json::Value = serde_json::from_str(USER).expect("USER is JSON");
    user["displayName"] = "x".repeat(len).into();
    user.to_string()
}

/// Parses `text` as a JSON object and returns its `id`.
pub fn id_of(text: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id in {text}"))
        .to_string()
}

/// A PatchOp that every engine must refuse on [`USER`]: `id` is readOnly (400 mutability).
pub const REMOVE_ID: &str = r#"{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "remove", "path": "id"}]
}"#;

/// The entries (compiled components) in a compile-cache directory; none when it is missing.
pub fn cache_entries(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache)
        .map(|listing| listing.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}
