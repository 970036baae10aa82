//! remove (RFC 7644 §3.5.2.2): attributes, sub-attributes, values selected by a filter or
//! listed in `value`, extensions.

use serde_json::{Map, Value};

use super::Applier;
use super::guard::check_sub_write;
use super::identity::remove_listed;
use super::multi::{array_mut, remove_indices, set_sub_on};
use super::target::{AttrTarget, container, container_mut};
use crate::error::ScimError;
use crate::filter::Filter;
use crate::json::{get_ci, is_unassigned, key_ci, set_canonical, take_ci};
use crate::schema::Schema;
use crate::values;

impl<'e> Applier<'e> {
    pub(super) fn remove_extension(
        &self,
        doc: &mut Map<String, Value>,
        ext: &Schema,
    ) -> Result<(), ScimError> {
        let required = self
            .schemas
            .extensions()
            .any(|(s, required)| required && s.id == ext.id);
        if required && get_ci(doc, &ext.id).is_some() {
            return Err(ScimError::mutability(format!(
                "the extension {} is required",
                ext.id
            )));
        }
        if let Some(key) = key_ci(doc, &ext.id) {
            doc.insert(key, Value::Object(Map::new()));
        }
        Ok(())
    }

    pub(super) fn remove_attr(
        &self,
        doc: &mut Map<String, Value>,
        t: AttrTarget<'e>,
        filter: Option<&Filter>,
        value: Option<Value>,
    ) -> Result<(), ScimError> {
        let attr = t.attr;
        let absent = container(doc, t.ext)
            .and_then(|c| get_ci(c, &attr.name))
            .is_none_or(Value::is_null);
        if absent {
            return match filter {
                Some(f) if self.strict() => Err(Self::no_target(attr, f)),
                _ => Ok(()),
            };
        }
        let container = container_mut(doc, t.ext);
        if !attr.multi_valued {
            match t.sub {
                None => {
                    take_ci(container, &attr.name);
                }
                Some(sub) => {
                    if let Some(Value::Object(current)) = get_ci(container, &attr.name).cloned() {
                        let mut current = current;
                        check_sub_write(attr, sub, get_ci(&current, &sub.name), None)?;
                        take_ci(&mut current, &sub.name);
                        if current.is_empty() {
                            take_ci(container, &attr.name);
                        } else {
                            set_canonical(container, &attr.name, Value::Object(current));
                        }
                    }
                }
            }
            return Ok(());
        }
        let arr = array_mut(container, &attr.name);
        match (filter, t.sub) {
            (None, None) => match value {
                Some(listed) => {
                    remove_listed(attr, arr, values::elements(attr, listed, self.profile)?)
                }
                None => arr.clear(),
            },
            (None, Some(sub)) => {
                let all = 0..arr.len();
                set_sub_on(attr, sub, arr, all, None)?
            }
            (Some(f), sub) => {
                let matches = self.matching_indices(attr, f, arr)?;
                if matches.is_empty() && self.strict() {
                    return Err(Self::no_target(attr, f));
                }
                match sub {
                    Some(sub) => set_sub_on(attr, sub, arr, matches.into_iter(), None)?,
                    None => {
                        remove_indices(arr, &matches);
                    }
                }
            }
        }
        arr.retain(|v| !is_unassigned(v));
        let len = arr.len();
        self.finish_array(container, attr, len)
    }
}
