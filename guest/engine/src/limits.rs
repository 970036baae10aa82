//! Resource limits: what the engine refuses to process, so hostile input fails fast with a 400.

/// Configurable limits. The defaults admit real directories (100k+ member groups, 1,000-operation
/// patches) while bounding work and nesting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Operations per PatchOp request (400 tooMany past it).
    pub max_operations: usize,
    /// Nesting depth of the patch and resource JSON (400 invalidValue past it; at most 120).
    pub max_json_depth: usize,
    /// Bytes in one filter (400 invalidFilter past it). The default, 65,536, admits a remove of
    /// 1,000 members by `value eq` clauses joined with `or`.
    pub max_filter_length: usize,
    /// Parenthesis / `not` / `[...]` nesting in one filter (400 invalidFilter past it).
    pub max_filter_depth: usize,
    /// Values of one multi-valued attribute after an operation (400 tooMany past it).
    pub max_values_per_attribute: usize,
    /// Bytes of patch JSON text (413 past it).
    pub max_patch_bytes: usize,
    /// Bytes of resource JSON text (413 past it).
    pub max_resource_bytes: usize,
}

/// serde_json refuses nesting past 128 levels; our own limit must stay below it to answer with
/// our error rather than a parse error.
pub const JSON_DEPTH_CEILING: usize = 120;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 10_000,
            max_json_depth: 64,
            max_filter_length: 65_536,
            max_filter_depth: 32,
            max_values_per_attribute: 1_000_000,
            max_patch_bytes: 16 << 20,
            max_resource_bytes: 64 << 20,
        }
    }
}

/// Nesting depth of a JSON value (scalars are 0, `[]`/`{}` are 1), counted up to
/// [`DEPTH_COUNTED`] (deeper values count as that: over every limit). Recursive, bounded by that
/// cap, so it allocates nothing.
pub fn json_depth(value: &serde_json::Value) -> usize {
    depth_below(value, DEPTH_COUNTED)
}

/// How deep [`json_depth`] counts: past serde_json's own parsing limit and any `max_json_depth`.
pub const DEPTH_COUNTED: usize = 130;

fn depth_below(value: &serde_json::Value, budget: usize) -> usize {
    if budget == 0 {
        return 0;
    }
    let inner = |v: &serde_json::Value| depth_below(v, budget - 1);
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(inner).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(inner).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::json_depth;
    use serde_json::json;

    #[test]
    fn measures_depth() {
        assert_eq!(json_depth(&json!(1)), 0);
        assert_eq!(json_depth(&json!({"a": [1, {"b": []}]})), 4);
        let mut deep = json!(1);
        for _ in 0..500 {
            deep = json!([deep]);
        }
        assert_eq!(json_depth(&deep), super::DEPTH_COUNTED);
    }
}
