//! add and replace (RFC 7644 §3.5.2.1, §3.5.2.3): path-less members, extensions, attributes,
//! sub-attributes and values selected by a filter.

use serde_json::{Map, Value};

use super::Applier;
use super::filtered_write::{FilteredWrite, plan};
use super::guard::{check_new_element, check_sub_write};
use super::multi::{array_mut, fix_primary, remove_indices, set_sub_on};
use super::target::{AttrTarget, Target, container_mut, extension_attribute};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::json::{get_ci, is_unassigned, set_canonical, take_ci};
use crate::path::Path;
use crate::request::OpKind;
use crate::schema::{Attribute, Schema};
use crate::values;

impl<'e> Applier<'e> {
    /// A path-less add/replace: each member of the object is a target of its own.
    pub(crate) fn write_members(
        &self,
        doc: &mut Map<String, Value>,
        kind: OpKind,
        value: Value,
    ) -> Result<(), ScimError> {
        let members = match value {
            Value::Object(members) => members,
            Value::Null if kind == OpKind::Add => return Ok(()),
            other => {
                return Err(ScimError::invalid_value(format!(
                    "without a path, \"value\" must be an object of attributes, not {other}"
                )));
            }
        };
        for (key, member) in members {
            if key.eq_ignore_ascii_case("schemas") {
                self.check_schemas_member(&member)?;
                continue;
            }
            let path = Path::parse_with(&key, self.profile, self.limits).map_err(|e| {
                ScimError::invalid_path(format!(
                    "\"{key}\" is not an attribute name or path ({})",
                    e.detail
                ))
            })?;
            let target = self.resolve(&path)?;
            let plain = path.filter.is_none()
                && path.sub.is_none()
                && (path.schema.is_none() || !matches!(target, Target::Attr(_)));
            if !plain && self.strict() {
                return Err(ScimError::invalid_path(format!(
                    "\"{key}\" is a path; in a path-less operation the keys must be attribute names or schema URNs (strict profile)"
                )));
            }
            match target {
                Target::Resource => self.write_members(doc, kind, member)?,
                Target::Extension(ext) => self.write_extension(doc, kind, ext, member)?,
                Target::Attr(t) => self.guarded(doc, t, |d| {
                    self.write_attr(d, kind, t, path.filter.as_ref(), member)
                })?,
            }
        }
        Ok(())
    }

    pub(super) fn check_schemas_member(&self, value: &Value) -> Result<(), ScimError> {
        let urns = value.as_array().ok_or_else(|| {
            ScimError::invalid_value("\"schemas\" must be an array of schema URNs")
        })?;
        for urn in urns {
            let known = urn
                .as_str()
                .is_some_and(|u| self.schemas.is_core(u) || self.schemas.extension(u).is_some());
            if !known {
                return Err(ScimError::invalid_value(format!(
                    "{urn} is not a schema of a {}",
                    self.schemas.resource_type.name
                )));
            }
        }
        Ok(())
    }

    pub(super) fn write_extension(
        &self,
        doc: &mut Map<String, Value>,
        kind: OpKind,
        ext: &'e Schema,
        value: Value,
    ) -> Result<(), ScimError> {
        let members = match value {
            Value::Object(members) => members,
            Value::Null if kind == OpKind::Add => return Ok(()),
            Value::Null => return self.remove_extension(doc, ext),
            other => {
                return Err(ScimError::invalid_value(format!(
                    "the value for {} must be an object, not {other}",
                    ext.id
                )));
            }
        };
        for (key, member) in members {
            // Some clients (scim2-models) put the extension's own `schemas` inside its object.
            if key.eq_ignore_ascii_case("schemas") {
                self.check_schemas_member(&member)?;
                continue;
            }
            let t = extension_attribute(ext, &key)?;
            self.guarded(doc, t, |d| self.write_attr(d, kind, t, None, member))?;
        }
        Ok(())
    }

    pub(super) fn write_attr(
        &self,
        doc: &mut Map<String, Value>,
        kind: OpKind,
        t: AttrTarget<'e>,
        filter: Option<&Filter>,
        value: Value,
    ) -> Result<(), ScimError> {
        let attr = t.attr;
        if let Some(filter) = filter {
            return self.write_filtered(doc, kind, t, filter, value);
        }
        let container = container_mut(doc, t.ext);
        match (attr.multi_valued, t.sub) {
            (false, None) if value.is_null() => {
                if kind == OpKind::Replace {
                    take_ci(container, &attr.name);
                }
                Ok(())
            }
            (false, None) if !attr.is_complex() => {
                let v = values::simple(attr, value, self.profile)?;
                set_canonical(container, &attr.name, v);
                Ok(())
            }
            (false, None) => {
                let given = values::complex(attr, value, self.profile)?;
                self.merge_singular(container, kind, attr, given)
            }
            (false, Some(sub)) => {
                if value.is_null() && kind == OpKind::Add {
                    return Ok(());
                }
                let v = if value.is_null() {
                    Value::Null
                } else {
                    values::simple(sub, value, self.profile)?
                };
                let given = std::iter::once((sub.name.clone(), v));
                self.merge_singular(container, kind, attr, given)
            }
            (true, None) => {
                let items = values::elements(attr, value, self.profile)?;
                for item in &items {
                    check_new_element(attr, item)?;
                }
                let arr = array_mut(container, &attr.name);
                let touched = match kind {
                    OpKind::Replace => {
                        *arr = items;
                        (0..arr.len()).collect()
                    }
                    _ => self.append(t, arr, items),
                };
                fix_primary(attr, arr, &touched)?;
                let len = arr.len();
                self.finish_array(container, attr, len)
            }
            (true, Some(sub)) => {
                if value.is_null() && kind == OpKind::Add {
                    return Ok(());
                }
                let v = if value.is_null() {
                    None
                } else {
                    Some(values::simple(sub, value, self.profile)?)
                };
                let arr = array_mut(container, &attr.name);
                if arr.is_empty() {
                    if let Some(v) = v {
                        let mut element = Map::new();
                        element.insert(sub.name.clone(), v);
                        arr.push(Value::Object(element));
                    }
                } else {
                    let all = 0..arr.len();
                    set_sub_on(attr, sub, arr, all, v.as_ref())?;
                }
                let touched: Vec<usize> = (0..arr.len()).collect();
                fix_primary(attr, arr, &touched)?;
                let len = arr.len();
                self.finish_array(container, attr, len)
            }
        }
    }

    /// Add/replace sub-attributes of a singular complex attribute (RFC 7644 §3.5.2.3: the others
    /// are left as they are). A `null` member unassigns when replacing and is ignored when adding.
    pub(super) fn merge_singular(
        &self,
        container: &mut Map<String, Value>,
        kind: OpKind,
        attr: &Attribute,
        given: impl IntoIterator<Item = (String, Value)>,
    ) -> Result<(), ScimError> {
        let mut current = match take_ci(container, &attr.name) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for (key, v) in given {
            if v.is_null() && kind == OpKind::Add {
                continue;
            }
            if let Some(sub) = attr.sub(&key) {
                check_sub_write(attr, sub, get_ci(&current, &key), Some(&v))?;
            }
            if v.is_null() {
                take_ci(&mut current, &key);
            } else {
                set_canonical(&mut current, &key, v);
            }
        }
        if !current.is_empty() {
            container.insert(attr.name.clone(), Value::Object(current));
        }
        Ok(())
    }

    pub(super) fn write_filtered(
        &self,
        doc: &mut Map<String, Value>,
        kind: OpKind,
        t: AttrTarget<'e>,
        filter: &Filter,
        value: Value,
    ) -> Result<(), ScimError> {
        let attr = t.attr;
        let container = container_mut(doc, t.ext);
        let arr = array_mut(container, &attr.name);
        let matches = self.matching_indices(attr, filter, arr)?;
        let touched = match plan(kind, &t, filter, value, !matches.is_empty(), self.profile)? {
            FilteredWrite::NoTarget => {
                let len = arr.len();
                self.finish_array(container, attr, len)?;
                return Err(Self::no_target(attr, filter));
            }
            FilteredWrite::Nothing => return Ok(()),
            FilteredWrite::Append(element) => {
                arr.extend(element);
                vec![arr.len().saturating_sub(1)]
            }
            FilteredWrite::SetSub(sub, v) => {
                set_sub_on(attr, sub, arr, matches.iter().copied(), v.as_ref())?;
                matches
            }
            FilteredWrite::RemoveMatches => {
                remove_indices(arr, &matches);
                Vec::new()
            }
            FilteredWrite::ReplaceMatches(new) => {
                for &i in &matches {
                    arr[i] = new.clone();
                }
                matches
            }
        };
        arr.retain(|v| !is_unassigned(v));
        fix_primary(attr, arr, &touched)?;
        let len = arr.len();
        self.finish_array(container, attr, len)
    }
}
