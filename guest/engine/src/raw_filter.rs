//! A necessary condition for a PATCH value filter (`members[value eq "x"]`) on a value still held
//! as JSON text: when it says no, the evaluator ([`crate::element_filter`]) would answer
//! `Ok(false)` for that value, so it is not parsed. It understands string equalities (`name eq
//! "..."`) under `and` and `or`; anything else, and any string it cannot compare as the evaluator
//! would without parsing (non-ASCII text, dateTimes, arrays, objects), means "maybe": the value is
//! parsed and evaluated as written.
use std::collections::HashSet;

use crate::filter::{CompValue, CompareOp, Filter};
use crate::raw_element::{Field, may_contain, scan};
use crate::schema::{AttrType, Attribute};

/// More `or`-ed literals on one name than this and they are looked up in a set.
const SET_FROM: usize = 8;

/// More distinct names than this and the filter is not worth pre-checking.
const MAX_NAMES: usize = 4;

/// At most this many literals and a value without escapes is searched for them as bytes
/// ([`may_contain`]) instead of being scanned.
const MAX_SEARCHED: usize = 4;

/// A filter's necessary condition, prepared once for every value of one attribute.
pub(crate) struct Prefilter<'f> {
    names: Vec<&'f str>,
    root: Node<'f>,
    /// Whether the literals are few enough to search for ([`MAX_SEARCHED`]).
    searched: bool,
}

enum Node<'f> {
    /// The member `names[name]` is a string equal (ASCII case folded) to one of the literals.
    Eq {
        name: usize,
        literals: Vec<&'f str>,
        folded: Option<HashSet<String>>,
    },
    Any(Vec<Node<'f>>),
    /// Terms in order; evaluation stops at the first one that is false.
    All(Vec<Node<'f>>),
    /// Not understood: the value must be evaluated (which may fail).
    Unknown,
}

impl<'f> Prefilter<'f> {
    /// The condition of `filter` on the values of the complex attribute `attr`.
    pub(crate) fn new(filter: &'f Filter, attr: &Attribute) -> Self {
        let mut names = Vec::new();
        let root = node(filter, attr, &mut names);
        let root = if names.len() > MAX_NAMES {
            Node::Unknown
        } else {
            root
        };
        let searched = literal_count(&root) <= MAX_SEARCHED;
        Prefilter {
            names,
            root,
            searched,
        }
    }

    /// Whether the value `text` may match (and so must be parsed and evaluated).
    pub(crate) fn may_match<'a>(
        &self,
        text: &'a str,
        scratch: &mut Vec<(usize, Field<'a>)>,
    ) -> bool {
        if matches!(self.root, Node::Unknown) {
            return true;
        }
        if self.searched {
            // The string a term compares with is somewhere in the text, whatever its member.
            let mut escaped = false;
            let found = maybe(&self.root, &mut |_, literals, _| {
                literals.iter().any(|l| {
                    may_contain(text, l).unwrap_or_else(|| {
                        escaped = true;
                        true
                    })
                })
            });
            if !escaped {
                return found;
            }
        }
        if !scan(text, &self.names, scratch) {
            return true;
        }
        maybe(&self.root, &mut |name, literals, folded| {
            equal_field(scratch, name, literals, folded)
        })
    }
}

fn literal_count(node: &Node<'_>) -> usize {
    match node {
        Node::Eq {
            literals, folded, ..
        } => match folded {
            Some(_) => usize::MAX,
            None => literals.len(),
        },
        Node::Any(nodes) | Node::All(nodes) => nodes
            .iter()
            .map(literal_count)
            .fold(0, usize::saturating_add),
        Node::Unknown => 0,
    }
}

fn node<'f>(filter: &'f Filter, attr: &Attribute, names: &mut Vec<&'f str>) -> Node<'f> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::String(literal))
            if path.schema.is_none()
                && path.sub.is_none()
                && literal.is_ascii()
                && attr
                    .sub(&path.name)
                    .is_none_or(|d| d.ty != AttrType::DateTime) =>
        {
            Node::Eq {
                name: name_index(names, &path.name),
                literals: vec![literal.as_str()],
                folded: None,
            }
        }
        Filter::Or(terms) => {
            let mut nodes: Vec<Node<'f>> = Vec::new();
            for term in terms {
                match node(term, attr, names) {
                    Node::Unknown => return Node::Unknown,
                    Node::Eq { name, literals, .. } => match nodes
                        .iter_mut()
                        .find(|n| matches!(n, Node::Eq { name: m, .. } if *m == name))
                    {
                        Some(Node::Eq { literals: all, .. }) => all.extend(literals),
                        _ => nodes.push(Node::Eq {
                            name,
                            literals,
                            folded: None,
                        }),
                    },
                    other => nodes.push(other),
                }
            }
            for n in &mut nodes {
                if let Node::Eq {
                    literals, folded, ..
                } = n
                    && literals.len() >= SET_FROM
                {
                    *folded = Some(literals.iter().map(|l| l.to_ascii_lowercase()).collect());
                }
            }
            Node::Any(nodes)
        }
        Filter::And(terms) => Node::All(terms.iter().map(|t| node(t, attr, names)).collect()),
        _ => Node::Unknown,
    }
}

fn name_index<'f>(names: &mut Vec<&'f str>, name: &'f str) -> usize {
    match names.iter().position(|n| n.eq_ignore_ascii_case(name)) {
        Some(index) => index,
        None => {
            names.push(name);
            names.len() - 1
        }
    }
}

/// What a term `names[name] eq literals` may be for one value.
type EqTerm<'t, 'f> = dyn FnMut(usize, &[&'f str], &Option<HashSet<String>>) -> bool + 't;

/// Whether a value may satisfy `node`, given what its equality terms may be.
fn maybe<'f>(node: &Node<'f>, eq: &mut EqTerm<'_, 'f>) -> bool {
    match node {
        Node::Eq {
            name,
            literals,
            folded,
        } => eq(*name, literals, folded),
        Node::Any(nodes) => nodes.iter().any(|n| maybe(n, eq)),
        Node::All(nodes) => {
            for n in nodes {
                // An unknown term may fail when evaluated: the terms after it decide nothing.
                if matches!(n, Node::Unknown) {
                    return true;
                }
                if !maybe(n, eq) {
                    return false;
                }
            }
            true
        }
        Node::Unknown => true,
    }
}

/// Whether a scanned member `name` of a value may equal one of `literals`.
fn equal_field(
    fields: &[(usize, Field<'_>)],
    name: usize,
    literals: &[&str],
    folded: &Option<HashSet<String>>,
) -> bool {
    fields
        .iter()
        .filter(|(i, _)| *i == name)
        .any(|(_, field)| match field {
            Field::Str(text) if !text.is_ascii() => true,
            Field::Str(text) => match folded {
                Some(set) => set.contains(&text.to_ascii_lowercase()),
                None => literals.iter().any(|l| l.eq_ignore_ascii_case(text)),
            },
            Field::Container => true,
            Field::True | Field::Scalar => false,
        })
}

/// Whether a value of `attr` scanned into `fields` may equal a new value whose `value` member is
/// the ASCII string `literal` (the members' and whole-value identities of
/// `patch::identity::same_value` both need an equal `value`).
pub(crate) fn may_have_value(fields: &[(usize, Field<'_>)], literal: &str) -> bool {
    fields.iter().any(|(_, field)| match field {
        Field::Str(text) => !text.is_ascii() || text.eq_ignore_ascii_case(literal),
        Field::Container => true,
        Field::True | Field::Scalar => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::element_filter::ElementFilter;
    use serde_json::Value;

    /// Wherever the condition says no, the evaluator says `Ok(false)`.
    #[test]
    fn never_rules_out_a_match() {
        let registry = Engine::default().config().registry.clone();
        let user = registry.schema(crate::schema::CORE_USER).expect("built-in");
        let emails = user.attribute("emails").expect("built-in");
        let values = [
            r#"{"value":"A@x","type":"work"}"#,
            r#"{"Value":"a@x","type":"Work","primary":true}"#,
            r#"{"value":"\u0041@x","TYPE":"home"}"#,
            r#"{"value":["a@x"],"type":7}"#,
            r#"{"value":{"value":"a@x"}}"#,
            r#"{"value":"ä@x","type":null}"#,
            r#"{"display":"a@x"}"#,
            "{\"value\":\"\u{212a}@x\",\"type\":\"wor\u{212a}\"}",
            r#"{"value":"a@x","value":"b@x"}"#,
            r#""a@x""#,
            "null",
            "{}",
        ];
        let mut literals: Vec<String> = ["a@x", "b@x", "work", "Home", "Ä@X"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        literals.extend((0..SET_FROM).map(|i| format!("pad{i}")));
        let mut filters = vec![
            "value eq \"a@x\"".to_string(),
            "type eq \"work\" and value eq \"A@X\"".to_string(),
            "value eq \"k@x\" or type eq \"WORK\"".to_string(),
            "value pr and type eq \"home\"".to_string(),
            "type eq \"home\" and value gt \"a\"".to_string(),
            "not (value eq \"a@x\")".to_string(),
            "value eq \"b@x\" or type eq \"home\"".to_string(),
        ];
        filters.push(
            literals
                .iter()
                .map(|l| format!("value eq \"{l}\""))
                .collect::<Vec<_>>()
                .join(" or "),
        );
        let mut scratch = Vec::new();
        for text in filters {
            let filter = Filter::parse(&text).expect("parses");
            let pre = Prefilter::new(&filter, emails);
            let exact = ElementFilter::new(&filter, emails);
            for raw in values {
                let value: Value = serde_json::from_str(raw).expect("JSON");
                let result = exact.matches(&value);
                if !pre.may_match(raw, &mut scratch) {
                    assert!(matches!(result, Ok(false)), "{raw} [{text}]: {result:?}");
                }
            }
        }
    }
}
