//! Multi-valued attributes kept as text (`patch::RawArray`) give what the `Value` path gives:
//! random groups and users whose `members`, `emails` and `phoneNumbers` hold unusual values
//! (escapes, case-variant and repeated names, unassigned and non-object values, several primaries;
//! or are no array at all),
//! under random runs of the operations that path takes (value filters, appends) and some it does
//! not, in both profiles.
use proptest::prelude::*;
use scim_patch::{Config, Engine, Profile, ScimError};
use serde_json::{Value, json};

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "A", "b", "work", "Work", "home", "x\"y", "\\", "ü", "Ü", "a@x", "", "mobile", "k",
        // The Kelvin sign lowercases to an ASCII `k`.
        "\u{212a}",
    ])
    .prop_map(str::to_string)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        word().prop_map(Value::String),
        Just(json!(true)),
        Just(json!(false)),
        Just(json!(null)),
        Just(json!(7)),
        Just(json!(["a", "b"])),
        Just(json!({"value": "a"})),
    ]
}

/// One value of a multi-valued attribute, mostly an object of known sub-attributes.
fn element() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "value", "Value", "VALUE", "type", "Type", "primary", "display", "$ref",
    ]);
    prop_oneof![
        8 => prop::collection::vec((key, scalar()), 0..4).prop_map(|members| {
            let mut m = serde_json::Map::new();
            for (k, v) in members {
                m.insert(k.to_string(), v);
            }
            Value::Object(m)
        }),
        4 => (word(), prop::option::of(word()), any::<bool>()).prop_map(|(v, t, p)| {
            let mut m = json!({"value": v});
            if let Some(t) = t {
                m["type"] = json!(t);
            }
            if p {
                m["primary"] = json!(true);
            }
            m
        }),
        1 => scalar(),
        1 => Just(json!({})),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    prop_oneof![
        word().prop_map(|w| format!("value eq {}", json!(w))),
        word().prop_map(|w| format!("type eq {}", json!(w))),
        (word(), word()).prop_map(|(a, b)| format!(
            "type eq {} and value eq {}",
            json!(a),
            json!(b)
        )),
        (word(), word()).prop_map(|(a, b)| format!(
            "value eq {} or type eq {}",
            json!(a),
            json!(b)
        )),
        prop::collection::vec(word(), 8..12).prop_map(|ws| ws
            .iter()
            .map(|w| format!("value eq {}", json!(w)))
            .collect::<Vec<_>>()
            .join(" or ")),
        Just("primary eq true".to_string()),
        Just("value co \"a\"".to_string()),
        Just("not (value eq \"a\")".to_string()),
        Just("value gt true".to_string()),
        Just("type eq \"work\" and value gt true".to_string()),
    ]
}

fn operation(attrs: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let attr = prop::sample::select(attrs.to_vec());
    let sub = prop::sample::select(vec!["", ".value", ".type", ".display", ".primary"]);
    let value = prop_oneof![
        scalar(),
        element(),
        prop::collection::vec(element(), 0..3).prop_map(Value::Array),
    ];
    prop_oneof![
        (attr.clone(), prop::collection::vec(element(), 0..3))
            .prop_map(|(a, items)| { json!({"op": "add", "path": a, "value": items}) }),
        (attr.clone(), value.clone())
            .prop_map(|(a, v)| json!({"op": "add", "path": a, "value": v})),
        (attr.clone(), filter(), sub.clone())
            .prop_map(|(a, f, s)| { json!({"op": "remove", "path": format!("{a}[{f}]{s}")}) }),
        (
            attr.clone(),
            filter(),
            sub,
            prop::sample::select(vec!["add", "replace"]),
            value.clone()
        )
            .prop_map(|(a, f, s, op, v)| {
                json!({"op": op, "path": format!("{a}[{f}]{s}"), "value": v})
            }),
        // Forms the text path leaves to `Value`s.
        (attr.clone(), value.clone())
            .prop_map(|(a, v)| json!({"op": "replace", "path": a, "value": v})),
        (attr.clone(), value).prop_map(|(a, v)| json!({"op": "remove", "path": a, "value": v})),
        Just(json!({"op": "replace", "value": {"displayName": "x"}})),
    ]
}

fn resource(kind: &'static str, attrs: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let member = prop_oneof![
        6 => prop::collection::vec(element(), 0..6).prop_map(Value::Array),
        1 => scalar(),
        1 => element(),
    ];
    prop::collection::vec(prop::option::of(member), attrs.len()).prop_map(move |lists| {
        let mut r = json!({"schemas": [format!("urn:ietf:params:scim:schemas:core:2.0:{kind}")],
                "id": "1", "displayName": "d", "userName": "u"});
        for (name, list) in attrs.iter().zip(lists) {
            if let Some(list) = list {
                r[*name] = list;
            }
        }
        r
    })
}

/// The resource's text, compact or spread out, some names and strings written with `\u` escapes.
fn text_of(resource: &Value, pretty: bool, escape: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(resource).unwrap_or_default()
    } else {
        resource.to_string()
    };
    if escape {
        text.replace("\"value\"", "\"v\\u0061lue\"")
            .replace("\"a\"", "\"\\u0061\"")
    } else {
        text
    }
}

fn same(a: &Result<Value, ScimError>, b: &Result<Value, ScimError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => {
            (x.status, x.scim_type, &x.detail) == (y.status, y.scim_type, &y.detail)
        }
        _ => false,
    }
}

fn check(resource: &Value, ops: &[Value], strict: bool, pretty: bool, escape: bool) {
    let mut config = Config::default();
    if strict {
        config.profile = Profile::Strict;
    }
    let engine = Engine::new(config);
    let patch =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let by_value = engine.apply(resource, &patch);
    let by_text = engine
        .apply_json(&text_of(resource, pretty, escape), &patch.to_string())
        .map(|t| serde_json::from_str::<Value>(&t).expect("apply_json gives JSON"));
    assert!(
        same(&by_value, &by_text),
        "resource {resource}\npatch {patch}\nvalue path {by_value:?}\ntext path  {by_text:?}"
    );
}

const GROUP: &[&str] = &["members"];
const USER: &[&str] = &["emails", "phoneNumbers"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn groups(r in resource("Group", GROUP), ops in prop::collection::vec(operation(GROUP), 1..5),
              strict in any::<bool>(), pretty in any::<bool>(), escape in any::<bool>()) {
        check(&r, &ops, strict, pretty, escape);
    }

    #[test]
    fn users(r in resource("User", USER), ops in prop::collection::vec(operation(USER), 1..5),
             strict in any::<bool>(), pretty in any::<bool>(), escape in any::<bool>()) {
        check(&r, &ops, strict, pretty, escape);
    }
}
