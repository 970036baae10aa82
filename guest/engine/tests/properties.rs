//! Property tests: no input panics, apply is atomic, printed paths and filters parse back.
use proptest::prelude::*;
use scim_patch::{CompValue, CompareOp, Engine, Filter, Path, Profile};
use serde_json::{Value, json};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("emails".to_string()),
        Just("type".to_string()),
        Just("value".to_string()),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
    ]
}

fn attr_path() -> impl Strategy<Value = scim_patch::AttrPath> {
    (
        prop::option::of(Just(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string(),
        )),
        name(),
        prop::option::of(name()),
    )
        .prop_map(|(schema, name, sub)| scim_patch::AttrPath { schema, name, sub })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        ".{0,12}".prop_map(CompValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        attr_path().prop_map(Filter::Present),
        (attr_path(), op(), comp_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1", "userName": "bjensen", "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "a@example.com", "type": "work", "primary": true}, {"value": "b@example.com", "type": "home"}],
        "meta": {"resourceType": "User"}
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "work",
            "home",
            "True",
            "false",
            "bjensen",
            "",
            "2024-01-01T00:00:00Z"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "value",
                    "type",
                    "primary",
                    "display",
                    "givenName",
                    "x"
                ])
                .prop_map(str::to_string),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn path_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "name.givenName",
            "emails",
            "emails[type eq \"work\"]",
            "emails[type eq \"work\"].value",
            "emails[value co \"@\"].primary",
            "active",
            "id",
            "meta.created",
            "groups",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "phoneNumbers[type eq \"mobile\"].value",
            "name",
            "schemas",
            "emails[primary eq true]",
            "x[",
            "emails[type eq]",
            "",
        ])
        .prop_map(str::to_string),
        ".{0,30}",
    ]
}

fn operation() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "remove", "replace", "Add", "bogus"]),
        prop::option::of(path_text()),
        prop::option::of(json_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = serde_json::Map::new();
            o.insert("op".into(), json!(op));
            if let Some(p) = path {
                o.insert("path".into(), json!(p));
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        })
}

fn patch() -> impl Strategy<Value = Value> {
    prop::collection::vec(operation(), 1..6)
        .prop_map(|ops| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_filters_parse_back(f in filter()) {
        let text = f.to_string();
        prop_assert_eq!(Filter::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?, f);
    }

    #[test]
    fn printed_paths_parse_back(name in name(), sub in prop::option::of(name()), f in prop::option::of(leaf())) {
        let path = Path { schema: None, attribute: Some(name), filter: f, sub };
        let text = path.to_string();
        prop_assert_eq!(Path::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?, path);
    }

    #[test]
    fn arbitrary_filter_text_never_panics(text in ".{0,80}") {
        let _ = Filter::parse(&text);
        let _ = Path::parse(&text);
        let _ = Engine::default().matches(&user(), &text);
    }

    #[test]
    fn random_patches_never_panic_and_are_atomic(patch in patch(), strict in any::<bool>()) {
        let engine = Engine::new(scim_patch::Config { profile: if strict { Profile::Strict } else { Profile::Compatible }, ..Default::default() });
        let before = user();
        let input = before.clone();
        let result = engine.apply(&input, &patch);
        // The text path (which parses only the members the operations name) agrees exactly.
        let text = engine
            .apply_json(&input.to_string(), &patch.to_string())
            .map(|out| serde_json::from_str::<Value>(&out).expect("apply_json returns JSON"));
        prop_assert_eq!(&text, &result);
        match result {
            Ok(after) => {
                // Applying the operations one by one gives the same result (no hidden state).
                let ops = patch["Operations"].as_array().cloned().unwrap_or_default();
                let mut step = before.clone();
                for op in ops {
                    let single = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]});
                    step = engine.apply(&step, &single).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                prop_assert_eq!(step, after);
            }
            Err(e) => {
                prop_assert!(e.status == 400 || e.status == 413, "{e}");
                prop_assert!(e.scim_type.is_some());
            }
        }
        prop_assert_eq!(input, before);
    }

    #[test]
    fn arbitrary_json_bodies_never_panic(body in json_value(), resource in json_value()) {
        let engine = Engine::default();
        let _ = engine.apply_json(&resource.to_string(), &body.to_string());
        let _ = engine.apply(&user(), &body);
        let _ = engine.apply(&resource, &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "value": {"title": "x"}}]}));
        let _ = engine.apply(&user(), &json!({"Operations": [{"op": "replace", "value": body}]}));
    }
}

#[test]
fn deep_json_is_refused_not_overflowed() {
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": deep}]});
    let err = Engine::default().apply(&user(), &patch).unwrap_err();
    assert_eq!(err.scim_type, Some(scim_patch::ScimType::InvalidValue));
    let text = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let err = Engine::default()
        .apply_json(&user().to_string(), &text)
        .unwrap_err();
    assert_eq!(err.status, 400);
}

#[test]
fn large_groups_and_long_patches_are_accepted() {
    let members: Vec<Value> = (0..100_000)
        .map(|i| json!({"value": format!("user-{i}")}))
        .collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "All", "members": members});
    let adds: Vec<Value> = (0..1000)
        .map(|i| json!({"op": "add", "path": "members", "value": [{"value": format!("new-{i}")}]}))
        .collect();
    let patch =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": adds});
    let out = Engine::default().apply(&group, &patch).unwrap();
    assert_eq!(out["members"].as_array().map(Vec::len), Some(101_000));
}

#[test]
fn large_value_lists_merge_in_linear_time() {
    // Quadratic duplicate checks would take minutes here; hashing keeps each under a second.
    let emails: Vec<Value> = (0..20_000)
        .map(|i| json!({"value": format!("u{i}@example.com"), "type": "work"}))
        .collect();
    let mut doubled = emails.clone();
    doubled.extend(emails.iter().cloned());
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "emails", "value": doubled}]});
    let out = Engine::default().apply(&user(), &patch).unwrap();
    assert_eq!(out["emails"].as_array().map(Vec::len), Some(20_002));

    let members: Vec<Value> = (0..20_000)
        .map(|i| json!({"value": format!("m{i}")}))
        .collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "G", "members": members});
    let removals: Vec<Value> = (0..20_000)
        .step_by(2)
        .map(|i| json!({"value": format!("m{i}")}))
        .collect();
    let entra = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": "members", "value": removals}]});
    let out = Engine::default().apply(&group, &entra).unwrap();
    assert_eq!(out["members"].as_array().map(Vec::len), Some(10_000));

    let legacy_values: Vec<Value> = (0..20_000)
        .map(|i| {
            if i % 2 == 0 {
                json!({"value": format!("m{i}"), "operation": "delete"})
            } else {
                json!({"value": format!("n{i}")})
            }
        })
        .collect();
    let out = Engine::default()
        .apply(&group, &json!({"members": legacy_values}))
        .unwrap();
    assert_eq!(out["members"].as_array().map(Vec::len), Some(20_000));
}
