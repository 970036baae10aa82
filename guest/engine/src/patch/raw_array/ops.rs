//! The operations on a [`RawArray`], step for step as on a parsed array: appends, filtered
//! removes and writes, and the primary rule.

use serde_json::Value;

use super::{Elem, RawArray, Stop};
use crate::filter::Filter;
use crate::patch::Applier;
use crate::patch::filtered_write::{FilteredWrite, plan};
use crate::patch::guard::check_new_element;
use crate::patch::multi::{is_primary, remove_indices, set_sub_on, two_primaries};
use crate::patch::target::AttrTarget;
use crate::raw_element::{self, Field};
use crate::request::OpKind;
use crate::schema::Attribute;
use crate::values;

impl<'a, 'e> RawArray<'a, 'e> {
    /// As `fix_primary`: the value this operation made primary wins.
    pub(super) fn fix_primary(&mut self, touched: &[usize]) -> Result<(), Stop> {
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
    pub(super) fn append(&mut self, applier: &Applier<'e>, value: Value) -> Result<(), Stop> {
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
    pub(super) fn remove_filtered(
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
    pub(super) fn set_sub(
        &mut self,
        i: usize,
        sub: &Attribute,
        value: Option<&Value>,
    ) -> Result<(), Stop> {
        let attr = self.attr;
        if let Some(element) = self.parsed_mut(i)? {
            set_sub_on(attr, sub, std::slice::from_mut(element), 0..1, value)?;
        }
        Ok(())
    }

    /// `add`/`replace` of `attr[filter]` or `attr[filter].sub`.
    pub(super) fn write_filtered(
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
        let touched = match plan(kind, &t, filter, value, !matches.is_empty(), profile)? {
            FilteredWrite::NoTarget => {
                self.finish(applier)?;
                return Err(Applier::no_target(attr, filter).into());
            }
            FilteredWrite::Nothing => return Ok(()),
            FilteredWrite::Append(element) => {
                self.elems.extend(element.map(Elem::Parsed));
                vec![self.elems.len().saturating_sub(1)]
            }
            FilteredWrite::SetSub(sub, v) => {
                for &i in &matches {
                    self.set_sub(i, sub, v.as_ref())?;
                }
                matches
            }
            FilteredWrite::RemoveMatches => {
                remove_indices(&mut self.elems, &matches);
                Vec::new()
            }
            FilteredWrite::ReplaceMatches(new) => {
                for &i in &matches {
                    self.elems[i] = Elem::Parsed(new.clone());
                }
                matches
            }
        };
        self.retain_assigned();
        self.fix_primary(&touched)?;
        self.finish(applier)
    }
}
