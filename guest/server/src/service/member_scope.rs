//! Which members a group PATCH can touch (RFC 7644 §3.5.2 on `members`), read off the parsed
//! request without loading any member: the ids named by `add` values, by `members[value eq
//! "id"]` filters (joined by `or`, or narrowed by `and`) and by Entra's remove-by-value list —
//! or every member, when the request cannot say (`replace members`, other filters, a
//! sub-attribute of every member).
use std::collections::BTreeSet;

use scim_patch::json::get_ci;
use scim_patch::request::{OpKind, PatchBody};
use scim_patch::{CompValue, CompareOp, Filter};
use serde_json::Value;

/// Which members a PATCH can touch.
#[derive(Debug, PartialEq)]
pub(crate) enum Scope {
    Ids(BTreeSet<String>),
    All,
}

impl Scope {
    fn add(&mut self, ids: Option<BTreeSet<String>>) {
        match (self, ids) {
            (Scope::Ids(mine), Some(more)) => mine.extend(more),
            (scope, None) => *scope = Scope::All,
            (Scope::All, Some(_)) => {}
        }
    }
}

fn names_members(key: &str) -> bool {
    key.eq_ignore_ascii_case("members")
        || key
            .strip_suffix(":members")
            .or_else(|| key.strip_suffix(":Members"))
            .is_some_and(|urn| urn.eq_ignore_ascii_case(scim_patch::schema::CORE_GROUP))
        || (key.len() > 8
            && key[key.len() - 8..].eq_ignore_ascii_case(":members")
            && key[..key.len() - 8].eq_ignore_ascii_case(scim_patch::schema::CORE_GROUP))
}

/// The ids in a members value: objects with `value`, or bare ids (compatible profile).
fn ids_in(value: Option<&Value>) -> Option<BTreeSet<String>> {
    let id = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => get_ci(o, "value")?.as_str().map(str::to_string),
        _ => None,
    };
    match value? {
        Value::Array(items) => items.iter().map(id).collect(),
        single => id(single).map(|i| BTreeSet::from([i])),
    }
}

/// The ids a filter inside `members[...]` can match: `value eq "id"`, joined by `or` (or
/// narrowed by `and`); `None` when any other form could match members not named.
fn ids_in_filter(filter: &Filter) -> Option<BTreeSet<String>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::String(id))
            if path.schema.is_none()
                && path.sub.is_none()
                && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(BTreeSet::from([id.clone()]))
        }
        Filter::Or(parts) => {
            parts
                .iter()
                .map(ids_in_filter)
                .try_fold(BTreeSet::new(), |mut all, ids| {
                    all.extend(ids?);
                    Some(all)
                })
        }
        Filter::And(parts) => parts.iter().find_map(ids_in_filter),
        _ => None,
    }
}

/// Which members `body` can touch.
pub(crate) fn scope(body: &PatchBody) -> Scope {
    let mut scope = Scope::Ids(BTreeSet::new());
    match body {
        PatchBody::Operations(ops) => {
            for op in ops {
                let targets_whole = op.path.as_ref().is_none_or(|p| {
                    p.attribute.is_none()
                        && p.schema
                            .as_deref()
                            .is_none_or(|u| u.eq_ignore_ascii_case(scim_patch::schema::CORE_GROUP))
                });
                if targets_whole {
                    let Some(Value::Object(value)) = &op.value else {
                        continue;
                    };
                    for (key, v) in value {
                        if names_members(key) {
                            scope.add(if op.op == OpKind::Add {
                                ids_in(Some(v))
                            } else {
                                None
                            });
                        }
                    }
                    continue;
                }
                let Some(path) = &op.path else { continue };
                let on_members = path
                    .attribute
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case("members"))
                    && path
                        .schema
                        .as_deref()
                        .is_none_or(|u| u.eq_ignore_ascii_case(scim_patch::schema::CORE_GROUP));
                if !on_members {
                    continue;
                }
                match (&path.filter, op.op) {
                    (Some(filter), _) => {
                        scope.add(ids_in_filter(filter));
                        if op.op != OpKind::Remove && path.sub.is_none() {
                            scope.add(ids_in(op.value.as_ref()));
                        }
                    }
                    (None, _) if path.sub.is_some() => scope.add(None),
                    (None, OpKind::Add) => scope.add(ids_in(op.value.as_ref())),
                    (None, OpKind::Remove) if op.value.is_some() => {
                        scope.add(ids_in(op.value.as_ref()));
                    }
                    (None, _) => scope.add(None),
                }
            }
        }
        PatchBody::PartialResource(map) => {
            let mentioned = get_ci(map, "meta")
                .and_then(|m| m.as_object())
                .and_then(|m| get_ci(m, "attributes"))
                .is_some_and(|a| a.to_string().to_ascii_lowercase().contains("members"));
            if mentioned {
                scope.add(None);
            }
            for (key, v) in map {
                if names_members(key) {
                    scope.add(ids_in(Some(v)));
                }
            }
        }
    }
    scope
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_patch::Profile;
    use serde_json::json;

    fn scope_of(patch: Value) -> Scope {
        let parsed =
            scim_patch::request::parse(patch, Profile::Compatible, &scim_patch::Limits::default())
                .unwrap();
        scope(&parsed)
    }

    fn ops(ops: Value) -> Value {
        json!({"schemas": [scim_patch::request::PATCH_OP], "Operations": ops})
    }

    fn ids(list: &[&str]) -> Scope {
        Scope::Ids(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn a_patch_names_the_members_it_can_touch() {
        assert_eq!(
            scope_of(ops(
                json!([{"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}])
            )),
            ids(&["a", "b"])
        );
        assert_eq!(
            scope_of(ops(
                json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}])
            )),
            ids(&["a", "b"])
        );
        assert_eq!(
            scope_of(ops(
                json!([{"op": "Remove", "path": "members", "value": [{"value": "c"}]}])
            )),
            ids(&["c"])
        );
        assert_eq!(
            scope_of(ops(
                json!([{"op": "replace", "path": "displayName", "value": "x"}])
            )),
            ids(&[])
        );
        assert_eq!(
            scope_of(ops(
                json!([{"op": "add", "value": {"members": [{"value": "d"}], "displayName": "x"}}])
            )),
            ids(&["d"])
        );
    }

    #[test]
    fn anything_else_on_members_loads_them_all() {
        for patch in [
            json!([{"op": "replace", "path": "members", "value": []}]),
            json!([{"op": "remove", "path": "members"}]),
            json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
            json!([{"op": "replace", "value": {"members": []}}]),
            json!([{"op": "add", "path": "members.display", "value": "x"}]),
        ] {
            assert_eq!(scope_of(ops(patch.clone())), Scope::All, "{patch}");
        }
    }
}
