//! The operation semantics of RFC 7644 §3.5.2 (add, remove, replace), schema-aware, with the
//! compatible profile's identity-provider forms. See docs/semantics.md for every rule.
use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::element_filter::ElementFilter;
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::json::{
    canonical_key, canonical_key_after, get_ci, is_unassigned, key_ci, set_canonical, take_ci,
    values_equal,
};
use crate::limits::Limits;
use crate::path::Path;
use crate::profile::Profile;
use crate::request::{OpKind, Operation};
use crate::schema::{Attribute, Mutability, ResourceSchemas, Schema};
use crate::{readable, values};

/// What a path resolves to.
pub(crate) enum Target<'s> {
    /// The resource itself (the core schema URN).
    Resource,
    /// An extension schema as a whole.
    Extension(&'s Schema),
    /// An attribute, possibly a sub-attribute of it.
    Attr(AttrTarget<'s>),
}

/// An attribute target: where it lives (core or an extension), its definition, its sub-attribute.
#[derive(Clone, Copy)]
pub(crate) struct AttrTarget<'s> {
    pub ext: Option<&'s Schema>,
    pub attr: &'s Attribute,
    pub sub: Option<&'s Attribute>,
}

/// The attribute `name` of the extension `ext` as a target (400 invalidPath when it has none).
pub(crate) fn extension_attribute<'s>(
    ext: &'s Schema,
    name: &str,
) -> Result<AttrTarget<'s>, ScimError> {
    let attr = ext.attribute(name).ok_or_else(|| {
        ScimError::invalid_path(format!("\"{name}\" is not an attribute of {}", ext.id))
    })?;
    Ok(AttrTarget {
        ext: Some(ext),
        attr,
        sub: None,
    })
}

/// Applies operations to one resource, under one profile and set of limits.
pub(crate) struct Applier<'e> {
    pub schemas: ResourceSchemas<'e>,
    pub profile: Profile,
    pub limits: &'e Limits,
    /// The identities of the values of the attribute the previous operation appended to, so a
    /// run of single-member adds to a large group costs O(1) each instead of a scan each.
    append_index: RefCell<Option<AppendIndex>>,
    /// Whether the current operation appended through (and so kept) `append_index`.
    append_index_kept: Cell<bool>,
}

/// See [`Applier::append_index`].
struct AppendIndex {
    owner: (Option<String>, String),
    len: usize,
    /// The identity keys of the attribute's values; `None` after a first append that scanned
    /// instead (a single append never pays for building the index).
    keys: Option<HashSet<String>>,
}

fn container<'d>(
    doc: &'d Map<String, Value>,
    ext: Option<&Schema>,
) -> Option<&'d Map<String, Value>> {
    match ext {
        None => Some(doc),
        Some(ext) => get_ci(doc, &ext.id).and_then(Value::as_object),
    }
}

/// The object holding the attribute; an extension's object is created when missing (an empty one
/// is removed again by `tidy`).
fn container_mut<'d>(
    doc: &'d mut Map<String, Value>,
    ext: Option<&Schema>,
) -> &'d mut Map<String, Value> {
    let Some(ext) = ext else { return doc };
    let key = match key_ci(doc, &ext.id) {
        Some(key) if doc.get(&key).is_some_and(Value::is_object) => key,
        Some(key) => {
            doc.insert(key.clone(), Value::Object(Map::new()));
            key
        }
        None => {
            doc.insert(ext.id.clone(), Value::Object(Map::new()));
            ext.id.clone()
        }
    };
    match doc.get_mut(&key) {
        Some(Value::Object(map)) => map,
        // The member was made an object just above.
        _ => unreachable!("extension container is an object"),
    }
}

/// The array stored under `name` (canonicalised), created empty when absent; a lone non-array
/// value becomes a one-element array.
fn array_mut<'c>(container: &'c mut Map<String, Value>, name: &str) -> &'c mut Vec<Value> {
    let in_place = container.get(name).is_some_and(Value::is_array);
    if !in_place {
        let items = match take_ci(container, name) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(single) => vec![single],
        };
        container.insert(name.to_string(), Value::Array(items));
    }
    match container.get_mut(name) {
        Some(Value::Array(items)) => items,
        _ => unreachable!("an array is stored under the canonical name just above"),
    }
}

fn opt_equal(a: Option<&Value>, b: Option<&Value>, def: &Attribute) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => values_equal(x, y, Some(def)),
        _ => false,
    }
}

fn assigned(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !is_unassigned(v))
}

/// Checks a change of one sub-attribute of an existing value against its mutability/required.
fn check_sub_write(
    parent: &Attribute,
    sub: &Attribute,
    existing: Option<&Value>,
    new: Option<&Value>,
) -> Result<(), ScimError> {
    let was = assigned(existing);
    let now = assigned(new);
    let changed = !opt_equal(was, now, sub);
    match sub.mutability {
        Mutability::ReadOnly if changed => {
            return Err(ScimError::mutability(format!(
                "\"{}.{}\" is readOnly",
                parent.name, sub.name
            )));
        }
        Mutability::Immutable if changed && was.is_some() => {
            return Err(ScimError::mutability(format!(
                "\"{}.{}\" is immutable and already has a value",
                parent.name, sub.name
            )));
        }
        _ => {}
    }
    if sub.required && was.is_some() && now.is_none() {
        return Err(ScimError::mutability(format!(
            "\"{}.{}\" is required and cannot be removed",
            parent.name, sub.name
        )));
    }
    Ok(())
}

/// A brand-new value may not carry readOnly sub-attributes.
fn check_new_element(attr: &Attribute, element: &Value) -> Result<(), ScimError> {
    if let Value::Object(map) = element {
        for (key, v) in map {
            if let Some(sub) = attr.sub(key) {
                check_sub_write(attr, sub, None, Some(v))?;
            }
        }
    }
    Ok(())
}

fn is_primary(v: &Value) -> bool {
    v.as_object().and_then(|m| m.get("primary")) == Some(&Value::Bool(true))
}

/// RFC 7643 §2.4: at most one value is primary; the value this operation made primary wins.
fn fix_primary(attr: &Attribute, items: &mut [Value], touched: &[usize]) -> Result<(), ScimError> {
    if attr.sub("primary").is_none() {
        return Ok(());
    }
    let winners: Vec<usize> = touched
        .iter()
        .copied()
        .filter(|&i| items.get(i).is_some_and(is_primary))
        .collect();
    match winners.as_slice() {
        [] => Ok(()),
        [winner] => {
            for (i, v) in items.iter_mut().enumerate() {
                if i != *winner
                    && is_primary(v)
                    && let Some(m) = v.as_object_mut()
                {
                    m.insert("primary".into(), Value::Bool(false));
                }
            }
            Ok(())
        }
        _ => Err(ScimError::invalid_value(format!(
            "only one value of \"{}\" may have \"primary\": true",
            attr.name
        ))),
    }
}

fn compares_by_value(attr: &Attribute) -> bool {
    attr.is_complex()
        && attr
            .sub("value")
            .is_some_and(|s| s.mutability == Mutability::Immutable)
}

/// The `value` sub-attribute of a complex value, with its definition.
fn value_member<'v, 'a>(
    attr: &'a Attribute,
    v: &'v Value,
) -> Option<(&'v Value, Option<&'a Attribute>)> {
    Some((get_ci(v.as_object()?, "value")?, attr.sub("value")))
}

/// A hashable identity: values of attributes identified by `value` (group `members`) compare by
/// it; everything else compares whole, as [`values_equal`] does.
fn identity_key(attr: &Attribute, v: &Value) -> String {
    match value_member(attr, v).filter(|_| compares_by_value(attr)) {
        Some((value, def)) => canonical_key_after("v", value, def),
        None => canonical_key_after("w", v, Some(attr)),
    }
}

/// True when `a` and `b` have the same [`identity_key`], compared without building the keys.
fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
    if compares_by_value(attr) {
        match (value_member(attr, a), value_member(attr, b)) {
            (Some((x, def)), Some((y, _))) => return values_equal(x, y, def),
            (Some(_), None) | (None, Some(_)) => return false,
            (None, None) => {}
        }
    }
    values_equal(a, b, Some(attr))
}

/// Builds `{x: v, ...}` from a filter that is `x eq v` or an `and` of such (Entra's creation form).
fn eq_conjunction(
    filter: &Filter,
    attr: &Attribute,
    profile: Profile,
) -> Option<Map<String, Value>> {
    let terms: Vec<&Filter> = match filter {
        Filter::And(terms) => terms.iter().collect(),
        single => vec![single],
    };
    let mut out = Map::new();
    for term in terms {
        let Filter::Compare(path, CompareOp::Eq, literal) = term else {
            return None;
        };
        if path.schema.is_some() || path.sub.is_some() {
            return None;
        }
        let sub = attr.sub(&path.name)?;
        let value = match literal {
            CompValue::String(s) => Value::String(s.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        out.insert(sub.name.clone(), values::simple(sub, value, profile).ok()?);
    }
    Some(out)
}

impl<'e> Applier<'e> {
    /// An applier for one resource.
    pub fn new(schemas: ResourceSchemas<'e>, profile: Profile, limits: &'e Limits) -> Self {
        Applier {
            schemas,
            profile,
            limits,
            append_index: RefCell::new(None),
            append_index_kept: Cell::new(false),
        }
    }

    fn strict(&self) -> bool {
        self.profile == Profile::Strict
    }

    /// Resolves a path against the resource's schemas.
    pub fn resolve(&self, path: &Path) -> Result<Target<'e>, ScimError> {
        let schemas = self.schemas;
        let Some(name) = &path.attribute else {
            let urn = path.schema.as_deref().unwrap_or_default();
            if schemas.is_core(urn) {
                return Ok(Target::Resource);
            }
            return schemas
                .extension(urn)
                .map(Target::Extension)
                .ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "unknown schema \"{urn}\" for a {}",
                        schemas.resource_type.name
                    ))
                });
        };
        let (ext, attr) = match &path.schema {
            Some(urn) => {
                let joined = format!("{urn}:{name}");
                if path.sub.is_none() && path.filter.is_none() {
                    if schemas.is_core(&joined) {
                        return Ok(Target::Resource);
                    }
                    if let Some(ext) = schemas.extension(&joined) {
                        return Ok(Target::Extension(ext));
                    }
                }
                if schemas.is_core(urn) {
                    (None, schemas.core_attribute(name))
                } else if let Some(ext) = schemas.extension(urn) {
                    (Some(ext), ext.attribute(name))
                } else {
                    return Err(ScimError::invalid_path(format!(
                        "unknown schema \"{urn}\" for a {}",
                        schemas.resource_type.name
                    )));
                }
            }
            None if name.eq_ignore_ascii_case("schemas") => {
                return Err(ScimError::mutability(
                    "\"schemas\" is maintained by the service provider: it follows the attributes set",
                ));
            }
            None => (None, schemas.core_attribute(name)),
        };
        let attr = attr.ok_or_else(|| {
            let owner = ext.map_or_else(|| schemas.resource_type.name.clone(), |e| e.id.clone());
            ScimError::invalid_path(format!("\"{name}\" is not an attribute of {owner}"))
        })?;
        let sub = match &path.sub {
            None => None,
            Some(sub_name) if attr.is_complex() => Some(attr.sub(sub_name).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "\"{}\" has no sub-attribute \"{sub_name}\"",
                    attr.name
                ))
            })?),
            Some(sub_name) => {
                return Err(ScimError::invalid_path(format!(
                    "\"{}\" is not complex, so it has no \"{sub_name}\"",
                    attr.name
                )));
            }
        };
        if let Some(filter) = &path.filter {
            if !attr.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "\"{}\" is single-valued, so it cannot take a [filter]",
                    attr.name
                )));
            }
            readable::check_value_filter(filter, attr)?;
        }
        Ok(Target::Attr(AttrTarget { ext, attr, sub }))
    }

    /// Applies one operation (not atomic by itself: the engine works on a copy).
    pub fn apply(&self, doc: &mut Map<String, Value>, op: Operation) -> Result<(), ScimError> {
        self.apply_parts(doc, op.op, op.path.as_ref(), op.value)
    }

    /// [`Applier::apply`] on an operation taken apart, so the caller keeps the path (to describe
    /// a failure) without copying it.
    pub fn apply_parts(
        &self,
        doc: &mut Map<String, Value>,
        kind: OpKind,
        path: Option<&Path>,
        value: Option<Value>,
    ) -> Result<(), ScimError> {
        self.append_index_kept.set(false);
        let result = match kind {
            OpKind::Remove => self.remove(doc, path, value),
            kind => self.write(doc, kind, path, value.unwrap_or(Value::Null)),
        };
        if !self.append_index_kept.get() {
            self.append_index.take();
        }
        result?;
        self.tidy(doc);
        Ok(())
    }

    /// Appends `items` to the values of `t`, skipping those already present (see `append_distinct`),
    /// reusing the identity index of the previous operation when it appended to the same attribute.
    fn append(&self, t: AttrTarget<'e>, arr: &mut Vec<Value>, items: Vec<Value>) -> Vec<usize> {
        let attr = t.attr;
        let owner = (t.ext.map(|e| e.id.clone()), attr.name.clone());
        let previous = self
            .append_index
            .take()
            .filter(|index| index.owner == owner && index.len == arr.len());
        let mut keys: HashSet<String> = match previous {
            // The previous operation appended here too: index now, so that a run of appends
            // (1,000 adds to a 100k-member group) stays linear.
            Some(index) => index
                .keys
                .unwrap_or_else(|| arr.iter().map(|v| identity_key(attr, v)).collect()),
            // A first append of a few values: comparing them with each value is cheaper than
            // hashing every value.
            None if items.len() <= 16 => {
                let touched = append_distinct(attr, arr, items);
                self.keep_append_index(owner, arr.len(), None);
                return touched;
            }
            None => arr.iter().map(|v| identity_key(attr, v)).collect(),
        };
        let mut touched = Vec::with_capacity(items.len());
        for item in items {
            if keys.insert(identity_key(attr, &item)) {
                touched.push(arr.len());
                arr.push(item);
            }
        }
        self.keep_append_index(owner, arr.len(), Some(keys));
        touched
    }

    /// Keeps what the next operation needs to append to the same attribute in linear time.
    fn keep_append_index(
        &self,
        owner: (Option<String>, String),
        len: usize,
        keys: Option<HashSet<String>>,
    ) {
        self.append_index
            .replace(Some(AppendIndex { owner, len, keys }));
        self.append_index_kept.set(true);
    }

    fn write(
        &self,
        doc: &mut Map<String, Value>,
        kind: OpKind,
        path: Option<&Path>,
        value: Value,
    ) -> Result<(), ScimError> {
        let Some(path) = path else {
            return self.write_members(doc, kind, value);
        };
        match self.resolve(path)? {
            Target::Resource => self.write_members(doc, kind, value),
            Target::Extension(ext) => self.write_extension(doc, kind, ext, value),
            Target::Attr(t) => self.guarded(doc, t, |d| {
                self.write_attr(d, kind, t, path.filter.as_ref(), value)
            }),
        }
    }

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

    fn check_schemas_member(&self, value: &Value) -> Result<(), ScimError> {
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

    fn write_extension(
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

    fn remove_extension(
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

    /// Runs `change` on an attribute, then enforces readOnly / immutable / required by comparing
    /// the attribute before and after: unchanged values pass (Okta re-sends `id`).
    fn guarded(
        &self,
        doc: &mut Map<String, Value>,
        t: AttrTarget<'e>,
        change: impl FnOnce(&mut Map<String, Value>) -> Result<(), ScimError>,
    ) -> Result<(), ScimError> {
        let attr = t.attr;
        let watched = matches!(
            attr.mutability,
            Mutability::ReadOnly | Mutability::Immutable
        ) || attr.required;
        let before = if watched {
            container(doc, t.ext)
                .and_then(|c| get_ci(c, &attr.name))
                .cloned()
        } else {
            None
        };
        change(doc)?;
        if !watched {
            return Ok(());
        }
        let after = container(doc, t.ext).and_then(|c| get_ci(c, &attr.name));
        let (was, now) = (assigned(before.as_ref()), assigned(after));
        let changed = !opt_equal(was, now, attr);
        match attr.mutability {
            Mutability::ReadOnly if changed => {
                return Err(ScimError::mutability(format!(
                    "\"{}\" is readOnly: the service provider sets it",
                    attr.name
                )));
            }
            Mutability::Immutable if changed && was.is_some() => {
                return Err(ScimError::mutability(format!(
                    "\"{}\" is immutable and already has a value",
                    attr.name
                )));
            }
            _ => {}
        }
        if attr.required && was.is_some() && now.is_none() {
            return Err(ScimError::mutability(format!(
                "\"{}\" is required and cannot be removed",
                attr.name
            )));
        }
        Ok(())
    }

    fn check_size(&self, attr: &Attribute, len: usize) -> Result<(), ScimError> {
        if len > self.limits.max_values_per_attribute {
            return Err(ScimError::too_many(format!(
                "\"{}\" would have {len} values, over the limit of {}",
                attr.name, self.limits.max_values_per_attribute
            )));
        }
        Ok(())
    }

    fn write_attr(
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
                let mut given = Map::new();
                given.insert(sub.name.clone(), v);
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

    /// Drops an emptied multi-valued attribute and enforces the values limit.
    fn finish_array(
        &self,
        container: &mut Map<String, Value>,
        attr: &Attribute,
        len: usize,
    ) -> Result<(), ScimError> {
        if len == 0 {
            take_ci(container, &attr.name);
        }
        self.check_size(attr, len)
    }

    /// Add/replace sub-attributes of a singular complex attribute (RFC 7644 §3.5.2.3: the others
    /// are left as they are). A `null` member unassigns when replacing and is ignored when adding.
    fn merge_singular(
        &self,
        container: &mut Map<String, Value>,
        kind: OpKind,
        attr: &Attribute,
        given: Map<String, Value>,
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

    fn matching_indices(
        &self,
        attr: &Attribute,
        filter: &Filter,
        items: &[Value],
    ) -> Result<Vec<usize>, ScimError> {
        let filter = ElementFilter::new(filter, attr);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if filter.matches(item)? {
                out.push(i);
            }
        }
        Ok(out)
    }

    fn no_target(attr: &Attribute, filter: &Filter) -> ScimError {
        ScimError::no_target(format!("no value of \"{}\" matches [{filter}]", attr.name))
    }

    fn write_filtered(
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
        let touched = if matches.is_empty() {
            let created = match t.sub {
                Some(sub) if !self.strict() => {
                    eq_conjunction(filter, attr, self.profile).map(|base| (sub, base))
                }
                _ => None,
            };
            let Some((sub, mut element)) = created else {
                let len = arr.len();
                self.finish_array(container, attr, len)?;
                return Err(Self::no_target(attr, filter));
            };
            if !value.is_null() {
                element.insert(sub.name.clone(), values::simple(sub, value, self.profile)?);
                let element = Value::Object(element);
                check_new_element(attr, &element)?;
                arr.push(element);
            }
            vec![arr.len().saturating_sub(1)]
        } else if let Some(sub) = t.sub {
            if value.is_null() && kind == OpKind::Add {
                return Ok(());
            }
            let v = if value.is_null() {
                None
            } else {
                Some(values::simple(sub, value, self.profile)?)
            };
            set_sub_on(attr, sub, arr, matches.iter().copied(), v.as_ref())?;
            matches
        } else {
            let value = match value {
                Value::Array(mut one) if one.len() == 1 && !self.strict() => one.swap_remove(0),
                other => other,
            };
            match values::element(attr, value, self.profile)? {
                None if kind == OpKind::Add => return Ok(()),
                None => {
                    let drop: HashSet<usize> = matches.into_iter().collect();
                    let mut i = 0;
                    arr.retain(|_| (!drop.contains(&i), i += 1).0);
                    Vec::new()
                }
                Some(new) => {
                    check_new_element(attr, &new)?;
                    for &i in &matches {
                        arr[i] = new.clone();
                    }
                    matches
                }
            }
        };
        arr.retain(|v| !is_unassigned(v));
        fix_primary(attr, arr, &touched)?;
        let len = arr.len();
        self.finish_array(container, attr, len)
    }

    fn remove(
        &self,
        doc: &mut Map<String, Value>,
        path: Option<&Path>,
        value: Option<Value>,
    ) -> Result<(), ScimError> {
        let Some(path) = path else {
            return Err(ScimError::no_target(
                "remove needs a \"path\" naming what to remove",
            ));
        };
        let value = value.filter(|v| !v.is_null());
        if value.is_some() && self.strict() {
            return Err(ScimError::invalid_syntax(
                "remove takes no \"value\" (strict profile); select values with a filter such as members[value eq \"...\"]",
            ));
        }
        match self.resolve(path)? {
            Target::Resource => Err(ScimError::no_target(
                "remove cannot target the resource itself",
            )),
            Target::Extension(ext) => self.remove_extension(doc, ext),
            Target::Attr(t) => self.guarded(doc, t, |d| {
                self.remove_attr(d, t, path.filter.as_ref(), value)
            }),
        }
    }

    fn remove_attr(
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
                        let drop: HashSet<usize> = matches.into_iter().collect();
                        let mut i = 0;
                        arr.retain(|_| (!drop.contains(&i), i += 1).0);
                    }
                }
            }
        }
        arr.retain(|v| !is_unassigned(v));
        let len = arr.len();
        self.finish_array(container, attr, len)
    }

    /// Keeps each extension's object and its URN in `schemas` in step: an extension with data is
    /// listed (and spelled canonically); one left empty is dropped with its URN.
    pub fn tidy(&self, doc: &mut Map<String, Value>) {
        for (ext, _) in self.schemas.extensions() {
            // Runs after every operation: the common cases (extension absent, or present under
            // its canonical name and already listed) allocate nothing.
            let found = doc
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&ext.id))
                .map(|(k, v)| (k.as_str() == ext.id, !is_unassigned(v)));
            let Some((canonical, has_data)) = found else {
                continue;
            };
            if !has_data {
                if let Some(key) = key_ci(doc, &ext.id) {
                    doc.shift_remove(&key);
                }
            } else if !canonical && let Some(data) = get_ci(doc, &ext.id).cloned() {
                set_canonical(doc, &ext.id, data);
            }
            let is_ext = |u: &Value| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(&ext.id));
            let listed = doc
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
                .map(|(_, v)| v);
            let list = match listed {
                Some(Value::Array(list)) => list,
                Some(other) => {
                    *other = Value::Array(Vec::new());
                    match other {
                        Value::Array(list) => list,
                        _ => continue,
                    }
                }
                None => match doc
                    .entry("schemas")
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(list) => list,
                    _ => continue,
                },
            };
            match (has_data, list.iter().any(is_ext)) {
                (true, false) => list.push(Value::String(ext.id.clone())),
                (false, true) => list.retain(|u| !is_ext(u)),
                _ => {}
            }
        }
    }
}

/// Sets (or, with `None`, removes) `sub` on the values at `indices`, checking its mutability.
fn set_sub_on(
    attr: &Attribute,
    sub: &Attribute,
    arr: &mut [Value],
    indices: impl Iterator<Item = usize>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    for i in indices {
        let Some(Value::Object(element)) = arr.get_mut(i) else {
            continue;
        };
        check_sub_write(attr, sub, get_ci(element, &sub.name), value)?;
        match value {
            Some(v) => set_canonical(element, &sub.name, v.clone()),
            None => {
                take_ci(element, &sub.name);
            }
        }
    }
    Ok(())
}

/// Appends the values not already present, found by a scan; returns the indices appended.
fn append_distinct(attr: &Attribute, arr: &mut Vec<Value>, items: Vec<Value>) -> Vec<usize> {
    let mut touched = Vec::with_capacity(items.len());
    for item in items {
        if !arr.iter().any(|e| same_value(attr, e, &item)) {
            touched.push(arr.len());
            arr.push(item);
        }
    }
    touched
}

/// Entra's remove-with-value: drops the values listed, matched by `value` when a listed item has
/// one (`members: [{"value": id}]`), else whole. Hash sets keep it linear.
fn remove_listed(attr: &Attribute, arr: &mut Vec<Value>, listed: Vec<Value>) {
    let by_value = |v: &Value| value_member(attr, v).map(|(value, def)| canonical_key(value, def));
    let mut value_keys = HashSet::new();
    let mut whole_keys = HashSet::new();
    for item in &listed {
        match by_value(item) {
            Some(key) => value_keys.insert(key),
            None => whole_keys.insert(canonical_key(item, Some(attr))),
        };
    }
    arr.retain(|e| {
        let listed_by_value = by_value(e).is_some_and(|k| value_keys.contains(&k));
        !(listed_by_value
            || (!whole_keys.is_empty() && whole_keys.contains(&canonical_key(e, Some(attr)))))
    });
}
