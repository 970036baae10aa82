//! What the lazy path reads of a resource: the top-level member names the operations touch
//! ([`Touched`]), and the resource's members split into parsed values, text left as it is, and
//! multi-valued attributes kept as the text of their values ([`MembersSeed`]).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::path::Path;
use crate::raw_text::Text;
use crate::request::{OpKind, Operation};

/// More distinct touched names than this and the full path is simpler (and as fast).
const MAX_TOUCHED: usize = 64;

/// A member of the resource as read.
pub(super) enum Member<'a> {
    /// Parsed: an operation may touch it.
    Parsed(Value),
    /// Left as text: no operation touches it.
    Raw(&'a RawValue),
    /// An array only value filters and appends reach: its values may stay text
    /// ([`crate::patch::RawArray`]), read as the text of each value.
    Array(Vec<&'a RawValue>),
}

/// A touched name (as an operation spells it), and whether every operation that names it
/// reaches it only through a value filter or appends to it.
struct Name<'o> {
    name: &'o str,
    by_value: bool,
}

/// The top-level member names the operations can read or write.
#[derive(Default)]
pub(super) struct Touched<'o> {
    names: Vec<Name<'o>>,
}

/// Whether `op` reaches the attribute its path names only as [`crate::patch::RawArray`] can:
/// `attr[filter]` (`.sub` or not) by add, replace or a remove without a value, or an add of
/// values to `attr`.
fn by_value(op: &Operation, path: &Path) -> bool {
    path.schema.is_none()
        && match (op.op, &path.filter, &path.sub) {
            (OpKind::Add, None, None) => true,
            (OpKind::Remove, Some(_), _) => op.value.as_ref().is_none_or(Value::is_null),
            (OpKind::Add | OpKind::Replace, Some(_), _) => true,
            _ => false,
        }
}

impl<'o> Touched<'o> {
    /// Records what `op` can touch; `None` when that is too much to track.
    pub(super) fn operation(&mut self, op: &'o Operation) -> Option<()> {
        match op.path.as_ref() {
            Some(
                path @ Path {
                    attribute: Some(name),
                    ..
                },
            ) => self.name(name, by_value(op, path)),
            // A path-less operation, or a path naming a schema: the value's members are the
            // targets.
            Some(_) | None => match &op.value {
                Some(Value::Object(members)) => self.members(members),
                _ => Some(()),
            },
        }
    }

    /// A path-less value's members: `name`, `name.sub`, `name[filter]`, URN-prefixed forms, and
    /// schema URNs holding more members.
    fn members(&mut self, members: &'o Map<String, Value>) -> Option<()> {
        for (key, value) in members {
            let is_urn = starts_with_urn(key);
            let local = if is_urn {
                key.rsplit(':').next().unwrap_or(key)
            } else {
                key
            };
            let end = local.find(['.', '[']).unwrap_or(local.len());
            self.name(&local[..end], false)?;
            if is_urn && let Value::Object(inner) = value {
                self.members(inner)?;
            }
        }
        Some(())
    }

    fn name(&mut self, name: &'o str, by_value: bool) -> Option<()> {
        match self
            .names
            .iter_mut()
            .find(|n| n.name.eq_ignore_ascii_case(name))
        {
            Some(known) => known.by_value &= by_value,
            None => {
                if self.names.len() == MAX_TOUCHED {
                    return None;
                }
                self.names.push(Name { name, by_value });
            }
        }
        Some(())
    }

    /// How the member `name` of the resource is read: `None` untouched, else whether only value
    /// filters and appends reach it. `schemas` and extension objects are always parsed (`tidy`
    /// may update those after any operation).
    fn reach(&self, name: &str) -> Option<bool> {
        if name.eq_ignore_ascii_case("schemas") || starts_with_urn(name) {
            return Some(false);
        }
        self.names
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(name))
            .map(|n| n.by_value)
    }
}

pub(super) fn starts_with_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Whether two member names are equal ignoring case (the full path then decides which wins).
pub(super) fn has_case_duplicates(members: &[(Cow<'_, str>, Member<'_>)]) -> bool {
    if members.len() <= 16 {
        return members.iter().enumerate().any(|(i, (a, _))| {
            members[i + 1..]
                .iter()
                .any(|(b, _)| a.eq_ignore_ascii_case(b))
        });
    }
    let mut seen = HashSet::with_capacity(members.len());
    !members
        .iter()
        .all(|(name, _)| seen.insert(name.to_ascii_lowercase()))
}

/// Reads a JSON object's members in document order, names decoded (borrowed when they have no
/// escapes), parsing the values `Touched` names and leaving the others as text.
pub(super) struct MembersSeed<'t, 'o>(pub &'t Touched<'o>);

impl<'de> DeserializeSeed<'de> for MembersSeed<'_, '_> {
    type Value = Vec<(Cow<'de, str>, Member<'de>)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MembersSeed<'_, '_> {
    type Value = Vec<(Cow<'de, str>, Member<'de>)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Text(name)) = map.next_key()? {
            let member = match self.0.reach(&name) {
                None => Member::Raw(map.next_value()?),
                Some(false) => Member::Parsed(map.next_value()?),
                Some(true) => map.next_value_seed(ArraySeed)?,
            };
            members.push((name, member));
        }
        Ok(members)
    }
}

/// A member that may be an array of values kept as text: [`Member::Array`] when it is an array,
/// else the value parsed ([`Member::Parsed`]).
struct ArraySeed;

impl<'de> DeserializeSeed<'de> for ArraySeed {
    type Value = Member<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(16));
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            items.push(item);
        }
        Ok(Member::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Member::Parsed)
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Member::Parsed(Value::String(text.to_string())))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Member::Parsed(Value::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Member::Parsed(Value::from(n)))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Member::Parsed(Value::from(n)))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Member::Parsed(Value::from(n)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Member::Parsed(Value::Null))
    }
}
