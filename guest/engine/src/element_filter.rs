//! A PATCH value filter (`attr[filter]`, RFC 7644 §3.5.2) prepared once for every value of one
//! multi-valued attribute. A long disjunction of string equalities (`members[value eq "a" or
//! value eq "b" or ...]`, the way clients remove many members at once) is looked up in hash sets,
//! so a remove of 1,000 members from a 100k-member group costs one lookup per member instead of
//! 1,000 comparisons per member. Everything else is evaluated as written ([`crate::eval`]).
use std::collections::HashSet;

use serde_json::Value;

use crate::attr_path::AttrPath;
use crate::error::ScimError;
use crate::eval::{Scope, evaluate, lookup};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::schema::{AttrType, Attribute};

/// Fewer `or` terms than this and comparing them one by one is as cheap as hashing.
const MIN_TERMS_FOR_SETS: usize = 8;

/// A value filter ready to run on each value of `attr`.
pub(crate) struct ElementFilter<'f> {
    filter: &'f Filter,
    attr: &'f Attribute,
    /// Present when the filter is a disjunction of string equalities: one set per attribute.
    sets: Option<Vec<EqualitySet<'f>>>,
}

/// The literals of `path eq "..."` terms: as written (for caseExact values) and lowercased (for
/// the others), matching [`crate::eval`]'s string equality exactly.
struct EqualitySet<'f> {
    path: &'f AttrPath,
    exact: HashSet<&'f str>,
    folded: HashSet<String>,
}

/// Lowercases as the evaluator's case-insensitive comparison does.
fn fold(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.to_lowercase()
    }
}

impl<'f> ElementFilter<'f> {
    /// Prepares `filter` for the values of `attr`.
    pub(crate) fn new(filter: &'f Filter, attr: &'f Attribute) -> Self {
        ElementFilter {
            filter,
            attr,
            sets: equality_sets(filter, attr),
        }
    }

    /// Whether `element`, one value of the attribute, matches.
    pub(crate) fn matches(&self, element: &Value) -> Result<bool, ScimError> {
        let Some(sets) = &self.sets else {
            return evaluate(self.filter, Scope::Element(element, self.attr));
        };
        for set in sets {
            let (candidates, def) = lookup(Scope::Element(element, self.attr), set.path, false)?;
            let case_exact = def.is_some_and(|d| d.case_exact);
            let hit = candidates.iter().any(|c| match c {
                Value::String(text) if case_exact => set.exact.contains(text.as_str()),
                Value::String(text) => set.folded.contains(&fold(text)),
                _ => false,
            });
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The definition a path inside `attr[...]` names, as the evaluator resolves it.
fn definition<'a>(attr: &'a Attribute, path: &AttrPath) -> Option<&'a Attribute> {
    if attr.is_complex() {
        attr.sub(&path.name)
    } else {
        path.name.eq_ignore_ascii_case("value").then_some(attr)
    }
}

/// Hash sets for `filter` when it is `p eq "..." or q eq "..." or ...` with enough terms, on
/// plain names whose values do not compare as dateTimes; `None` otherwise.
fn equality_sets<'f>(filter: &'f Filter, attr: &Attribute) -> Option<Vec<EqualitySet<'f>>> {
    let Filter::Or(terms) = filter else {
        return None;
    };
    if terms.len() < MIN_TERMS_FOR_SETS {
        return None;
    }
    let mut sets: Vec<EqualitySet<'f>> = Vec::new();
    for term in terms {
        let Filter::Compare(path, CompareOp::Eq, CompValue::String(literal)) = term else {
            return None;
        };
        if path.schema.is_some() || path.sub.is_some() {
            return None;
        }
        if definition(attr, path).is_some_and(|d| d.ty == AttrType::DateTime) {
            return None;
        }
        let index = match sets
            .iter()
            .position(|s| s.path.name.eq_ignore_ascii_case(&path.name))
        {
            Some(index) => index,
            None => {
                sets.push(EqualitySet {
                    path,
                    exact: HashSet::new(),
                    folded: HashSet::new(),
                });
                sets.len() - 1
            }
        };
        sets[index].exact.insert(literal);
        sets[index].folded.insert(fold(literal));
    }
    Some(sets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use serde_json::json;

    /// The prepared filter and the evaluator agree on every value, whether or not sets are used.
    #[test]
    fn sets_agree_with_the_evaluator() {
        let registry = Engine::default().config().registry.clone();
        let user = registry.schema(crate::schema::CORE_USER).expect("built-in");
        let group = registry
            .schema(crate::schema::CORE_GROUP)
            .expect("built-in");
        let emails = user.attribute("emails").expect("built-in");
        let members = group.attribute("members").expect("built-in");
        let values = [
            json!({"value": "ABC", "type": "Work"}),
            json!({"value": "abc"}),
            json!({"Value": "abc", "display": "Ünïcode"}),
            json!({"value": "ünïcode"}),
            json!({"value": ["abc", "x"]}),
            json!({"value": {"value": "abc"}}),
            json!({"value": 7}),
            json!({"display": "abc"}),
            json!("abc"),
            json!(null),
        ];
        let literals = ["abc", "ABC", "ÜNÏCODE", "x", "work", "nothing"];
        for attr in [emails, members] {
            for take in 1..=literals.len() {
                // Padded with non-matching terms past the threshold, so the sets are used.
                let mut terms: Vec<String> = literals[..take]
                    .iter()
                    .flat_map(|l| {
                        [
                            format!("value eq \"{l}\""),
                            format!("display eq \"{l}\""),
                            format!("type eq \"{l}\""),
                        ]
                    })
                    .collect();
                terms.extend((0..MIN_TERMS_FOR_SETS).map(|i| format!("value eq \"pad{i}\"")));
                let filter = Filter::parse(&terms.join(" or ")).expect("parses");
                let prepared = ElementFilter::new(&filter, attr);
                assert!(prepared.sets.is_some(), "{filter}");
                for value in &values {
                    let want = evaluate(&filter, Scope::Element(value, attr)).expect("evaluates");
                    let got = prepared.matches(value).expect("evaluates");
                    assert_eq!(got, want, "{} {value} [{filter}]", attr.name);
                }
            }
        }
    }

    #[test]
    fn other_filters_are_evaluated_as_written() {
        let filter = Filter::parse("value eq \"a\" or value eq \"b\"").expect("parses");
        let registry = Engine::default().config().registry.clone();
        let members = registry
            .schema(crate::schema::CORE_GROUP)
            .and_then(|g| g.attribute("members"))
            .expect("built-in");
        assert!(ElementFilter::new(&filter, members).sets.is_none());
        let mixed = (0..10)
            .map(|i| format!("value eq \"{i}\""))
            .chain(["display sw \"x\"".to_string()])
            .collect::<Vec<_>>()
            .join(" or ");
        let filter = Filter::parse(&mixed).expect("parses");
        assert!(ElementFilter::new(&filter, members).sets.is_none());
    }
}
