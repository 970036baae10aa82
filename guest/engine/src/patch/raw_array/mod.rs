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

mod ops;

use super::Applier;
use super::identity::same_value;
use super::target::Target;
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
}
