//! A multi-valued attribute kept as the JSON text of its values (DESIGN §2, issue 12 item 2):
//! the operations that reach it only through a value filter, or only append to it, parse just the
//! values a filter may match (see [`crate::raw_filter`]), that an append must compare with, or
//! that the primary rule must change; the other values are written back as they were.
//!
//! Each operation repeats what [`Applier::write_filtered`], [`Applier::remove_attr`] and the
//! append of [`Applier::write_attr`] do to a parsed array, step for step, with the same helpers
//! and errors. The lazy path only hands it those operations (`lazy` decides which).

use std::borrow::Cow;

use serde_json::Value;
use serde_json::value::RawValue;

use super::Applier;
use super::guard::check_new_element;
use super::identity::same_value;
use super::multi::{is_primary, remove_indices, set_sub_on, two_primaries};
use super::target::{AttrTarget, Target};
use super::write::eq_conjunction;
use crate::element_filter::ElementFilter;
use crate::error::ScimError;
use crate::filter::Filter;
use crate::json::{get_ci, is_unassigned};
use crate::limits::Limits;
use crate::path::Path;
use crate::raw_element::{self, Field};
use crate::raw_filter::{Prefilter, may_have_value};
use crate::raw_text::nests_deeper_than;
use crate::request::OpKind;
use crate::schema::{AttrType, Attribute};
use crate::values;
use crate::write_json;

/// The values of one attribute, each as text or parsed (once read for a change).
pub(crate) struct RawArray<'a, 'e> {
    attr: &'e Attribute,
    /// The member's name: as written, and the canonical one once an operation reached the array.
    name: Cow<'a, str>,
    /// Whether the resource has the attribute (an operation that empties it removes it).
    present: bool,
    elems: Vec<Elem<'a>>,
    /// Whether a value still held as text may be unassigned (`null`, `[]`, `{}`).
    raw_unassigned: bool,
}

enum Elem<'a> {
    Raw(&'a str),
    Parsed(Value),
}

/// Why an operation stopped: its error, or something the full path must do instead.
enum Stop {
    Error(ScimError),
    Fallback,
}

impl From<ScimError> for Stop {
    fn from(error: ScimError) -> Self {
        Stop::Error(error)
    }
}

fn parse(text: &str) -> Result<Value, Stop> {
    serde_json::from_str(text).map_err(|_| Stop::Fallback)
}

impl<'a, 'e> RawArray<'a, 'e> {
    /// The values `items` (the texts of the array that is the member `name` of a resource) of
    /// `attr`; `None` when one nests deeper than the limits allow (the full path reports it).
    pub(crate) fn new(
        attr: &'e Attribute,
        name: Cow<'a, str>,
        items: Vec<&'a RawValue>,
        limits: &Limits,
    ) -> Option<Self> {
        // The resource and the array are two levels.
        let limit = limits.max_json_depth.checked_sub(2)?;
        let mut raw_unassigned = false;
        let mut elems = Vec::with_capacity(items.len());
        for item in items {
            let text = item.get();
            if nests_deeper_than(text, limit) {
                return None;
            }
            raw_unassigned |= raw_element::is_unassigned(text);
            elems.push(Elem::Raw(text));
        }
        Some(RawArray {
            attr,
            name,
            present: true,
            elems,
            raw_unassigned,
        })
    }

    /// The member's name as it is to be written, when the attribute is still there.
    pub(crate) fn written_name(&self) -> Option<&str> {
        self.present.then_some(self.name.as_ref())
    }

    /// The member's name as read (operations name it in any case).
    pub(crate) fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Writes the array: values still held as text verbatim, the others serialised.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.push(b'[');
        for (i, elem) in self.elems.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match elem {
                Elem::Raw(text) => out.extend_from_slice(text.as_bytes()),
                Elem::Parsed(value) => write_json::value(out, value)?,
            }
        }
        out.push(b']');
        Ok(())
    }

    /// Applies one operation whose path names this attribute; `None` when the full path must.
    pub(crate) fn apply(
        &mut self,
        applier: &Applier<'e>,
        kind: OpKind,
        path: &Path,
        value: Option<Value>,
    ) -> Option<Result<(), ScimError>> {
        let result = self.dispatch(applier, kind, path, value);
        match result {
            Ok(()) => Some(Ok(())),
            Err(Stop::Error(error)) => Some(Err(error)),
            Err(Stop::Fallback) => None,
        }
    }

    fn dispatch(
        &mut self,
        applier: &Applier<'e>,
        kind: OpKind,
        path: &Path,
        value: Option<Value>,
    ) -> Result<(), Stop> {
        if kind == OpKind::Remove && value.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(Stop::Fallback);
        }
        let t = match applier.resolve(path)? {
            Target::Attr(t) if t.ext.is_none() && std::ptr::eq(t.attr, self.attr) => t,
            _ => return Err(Stop::Fallback),
        };
        match (kind, &path.filter) {
            (OpKind::Remove, Some(filter)) => self.remove_filtered(applier, t, filter),
            (OpKind::Add | OpKind::Replace, Some(filter)) => {
                self.write_filtered(applier, kind, t, filter, value.unwrap_or(Value::Null))
            }
            (OpKind::Add, None) if t.sub.is_none() => {
                self.append(applier, value.unwrap_or(Value::Null))
            }
            _ => Err(Stop::Fallback),
        }
    }

    /// As `array_mut`: the attribute exists (empty when it did not) under its canonical name.
    fn array_mut(&mut self) {
        if !self.present {
            self.present = true;
            self.elems.clear();
            self.raw_unassigned = false;
        }
        if self.name != self.attr.name.as_str() {
            self.name = Cow::Owned(self.attr.name.clone());
        }
    }

    /// As `finish_array`: an emptied attribute is removed; the values limit holds.
    fn finish(&mut self, applier: &Applier<'e>) -> Result<(), Stop> {
        let len = self.elems.len();
        if len == 0 {
            self.present = false;
        }
        Ok(applier.check_size(self.attr, len)?)
    }

    /// `arr.retain(|v| !is_unassigned(v))`.
    fn retain_assigned(&mut self) {
        let raw = self.raw_unassigned;
        self.elems.retain(|e| match e {
            Elem::Raw(text) => !(raw && raw_element::is_unassigned(text)),
            Elem::Parsed(value) => !is_unassigned(value),
        });
        self.raw_unassigned = false;
    }

    /// The value at `i`, parsed for reading.
    fn read(&self, i: usize) -> Result<Option<Cow<'_, Value>>, Stop> {
        Ok(match self.elems.get(i) {
            None => None,
            Some(Elem::Raw(text)) => Some(Cow::Owned(parse(text)?)),
            Some(Elem::Parsed(value)) => Some(Cow::Borrowed(value)),
        })
    }

    /// The value at `i`, parsed for a change.
    fn parsed_mut(&mut self, i: usize) -> Result<Option<&mut Value>, Stop> {
        let Some(elem) = self.elems.get_mut(i) else {
            return Ok(None);
        };
        if let Elem::Raw(text) = elem {
            *elem = Elem::Parsed(parse(text)?);
        }
        Ok(match elem {
            Elem::Parsed(value) => Some(value),
            Elem::Raw(_) => None,
        })
    }

    /// As `matching_indices`: the values the filter matches, ascending; values the prefilter
    /// rules out are not parsed, and those it matches stay parsed (the operation changes them).
    fn matching(&mut self, filter: &Filter) -> Result<Vec<usize>, Stop> {
        let exact = ElementFilter::new(filter, self.attr);
        let pre = Prefilter::new(filter, self.attr);
        let mut scratch = Vec::new();
        let mut out = Vec::new();
        for (i, elem) in self.elems.iter_mut().enumerate() {
            let hit = match elem {
                Elem::Parsed(value) => exact.matches(value)?,
                Elem::Raw(text) if pre.may_match(text, &mut scratch) => {
                    let value = parse(text)?;
                    let hit = exact.matches(&value)?;
                    if hit {
                        *elem = Elem::Parsed(value);
                    }
                    hit
                }
                Elem::Raw(_) => false,
            };
            if hit {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Whether a value equal to `item` (as `same_value` says) is present.
    fn contains(&self, item: &Value) -> Result<bool, Stop> {
        let attr = self.attr;
        let probe = item
            .as_object()
            .and_then(|m| get_ci(m, "value"))
            .and_then(Value::as_str)
            .filter(|s| s.is_ascii())
            .filter(|_| attr.sub("value").is_none_or(|d| d.ty != AttrType::DateTime));
        let mut scratch: Vec<(usize, Field<'a>)> = Vec::new();
        for elem in &self.elems {
            let equal = match elem {
                Elem::Parsed(value) => same_value(attr, value, item),
                Elem::Raw(text) => {
                    let may = match probe {
                        Some(literal) => {
                            raw_element::may_contain(text, literal).unwrap_or_else(|| {
                                !raw_element::scan(text, &["value"], &mut scratch)
                                    || may_have_value(&scratch, literal)
                            })
                        }
                        None => true,
                    };
                    may && same_value(attr, &parse(text)?, item)
                }
            };
            if equal {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// As `fix_primary`: the value this operation made primary wins.
    fn fix_primary(&mut self, touched: &[usize]) -> Result<(), Stop> {
        if self.attr.sub("primary").is_none() {
            return Ok(());
        }
        let mut winners = Vec::new();
        for &i in touched {
            if self.read(i)?.is_some_and(|v| is_primary(&v)) {
                winners.push(i);
            }
        }
        let winner = match winners.as_slice() {
            [] => return Ok(()),
            [winner] => *winner,
            _ => return Err(two_primaries(self.attr).into()),
        };
        let mut scratch = Vec::new();
        for i in 0..self.elems.len() {
            if i == winner {
                continue;
            }
            if let Elem::Raw(text) = self.elems[i]
                && (raw_element::may_contain(text, "true") == Some(false)
                    || raw_element::scan(text, &["primary"], &mut scratch)
                        && !scratch.iter().any(|(_, f)| matches!(f, Field::True)))
            {
                continue;
            }
            if let Some(value) = self.parsed_mut(i)?
                && is_primary(value)
                && let Some(m) = value.as_object_mut()
            {
                m.insert("primary".into(), Value::Bool(false));
            }
        }
        Ok(())
    }

    /// `add` without a filter: the values not already present are appended.
    fn append(&mut self, applier: &Applier<'e>, value: Value) -> Result<(), Stop> {
        let attr = self.attr;
        let items = values::elements(attr, value, applier.profile)?;
        for item in &items {
            check_new_element(attr, item)?;
        }
        self.array_mut();
        let mut touched = Vec::with_capacity(items.len());
        for item in items {
            if !self.contains(&item)? {
                touched.push(self.elems.len());
                self.elems.push(Elem::Parsed(item));
            }
        }
        self.fix_primary(&touched)?;
        self.finish(applier)
    }

    /// `remove attr[filter]` and `remove attr[filter].sub`.
    fn remove_filtered(
        &mut self,
        applier: &Applier<'e>,
        t: AttrTarget<'e>,
        filter: &Filter,
    ) -> Result<(), Stop> {
        if !self.present {
            return match applier.strict() {
                true => Err(Applier::no_target(self.attr, filter).into()),
                false => Ok(()),
            };
        }
        self.array_mut();
        let matches = self.matching(filter)?;
        if matches.is_empty() && applier.strict() {
            return Err(Applier::no_target(self.attr, filter).into());
        }
        match t.sub {
            Some(sub) => {
                for &i in &matches {
                    self.set_sub(i, sub, None)?;
                }
            }
            None => remove_indices(&mut self.elems, &matches),
        }
        self.retain_assigned();
        self.finish(applier)
    }

    /// `set_sub_on` for the value at `i`.
    fn set_sub(&mut self, i: usize, sub: &Attribute, value: Option<&Value>) -> Result<(), Stop> {
        let attr = self.attr;
        if let Some(element) = self.parsed_mut(i)? {
            set_sub_on(attr, sub, std::slice::from_mut(element), 0..1, value)?;
        }
        Ok(())
    }

    /// `add`/`replace` of `attr[filter]` or `attr[filter].sub`.
    fn write_filtered(
        &mut self,
        applier: &Applier<'e>,
        kind: OpKind,
        t: AttrTarget<'e>,
        filter: &Filter,
        value: Value,
    ) -> Result<(), Stop> {
        let (attr, profile) = (self.attr, applier.profile);
        self.array_mut();
        let matches = self.matching(filter)?;
        let touched = if matches.is_empty() {
            let created = match t.sub {
                Some(sub) if !applier.strict() => {
                    eq_conjunction(filter, attr, profile).map(|base| (sub, base))
                }
                _ => None,
            };
            let Some((sub, mut element)) = created else {
                self.finish(applier)?;
                return Err(Applier::no_target(attr, filter).into());
            };
            if !value.is_null() {
                element.insert(sub.name.clone(), values::simple(sub, value, profile)?);
                let element = Value::Object(element);
                check_new_element(attr, &element)?;
                self.elems.push(Elem::Parsed(element));
            }
            vec![self.elems.len().saturating_sub(1)]
        } else if let Some(sub) = t.sub {
            if value.is_null() && kind == OpKind::Add {
                return Ok(());
            }
            let v = if value.is_null() {
                None
            } else {
                Some(values::simple(sub, value, profile)?)
            };
            for &i in &matches {
                self.set_sub(i, sub, v.as_ref())?;
            }
            matches
        } else {
            let value = match value {
                Value::Array(mut one) if one.len() == 1 && !applier.strict() => one.swap_remove(0),
                other => other,
            };
            match values::element(attr, value, profile)? {
                None if kind == OpKind::Add => return Ok(()),
                None => {
                    remove_indices(&mut self.elems, &matches);
                    Vec::new()
                }
                Some(new) => {
                    check_new_element(attr, &new)?;
                    for &i in &matches {
                        self.elems[i] = Elem::Parsed(new.clone());
                    }
                    matches
                }
            }
        };
        self.retain_assigned();
        self.fix_primary(&touched)?;
        self.finish(applier)
    }
}
