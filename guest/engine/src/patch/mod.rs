//! The operation semantics of RFC 7644 §3.5.2 (add, remove, replace), schema-aware, with the
//! compatible profile's identity-provider forms. See docs/semantics.md for every rule.
//!
//! This module holds the [`Applier`] and its dispatch; the concerns live in the submodules:
//! target resolution, mutability guards, identity and de-duplication, multi-valued helpers, the
//! writes, the removals, `tidy`, and SCIM 1.1 partial resources (`legacy`).

mod filtered_write;
mod guard;
mod identity;
pub(crate) mod legacy;
mod multi;
mod raw_array;
mod remove;
mod target;
mod tidy;
mod write;

use std::cell::{Cell, RefCell};

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::limits::Limits;
use crate::path::Path;
use crate::profile::Profile;
use crate::request::{OpKind, Operation};
use crate::schema::ResourceSchemas;

use identity::AppendIndex;
pub(crate) use raw_array::RawArray;
pub(crate) use target::{AttrTarget, Target, extension_attribute};

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
    /// Whether `tidy` ran after an earlier operation (see [`Applier::settle`]).
    tidied: Cell<bool>,
}

impl<'e> Applier<'e> {
    /// An applier for one resource.
    pub(crate) fn new(schemas: ResourceSchemas<'e>, profile: Profile, limits: &'e Limits) -> Self {
        Applier {
            schemas,
            profile,
            limits,
            append_index: RefCell::new(None),
            append_index_kept: Cell::new(false),
            tidied: Cell::new(false),
        }
    }

    pub(super) fn strict(&self) -> bool {
        self.profile == Profile::Strict
    }

    /// Applies one operation (not atomic by itself: the engine works on a copy).
    pub(crate) fn apply(
        &self,
        doc: &mut Map<String, Value>,
        op: Operation,
    ) -> Result<(), ScimError> {
        self.apply_parts(doc, op.op, op.path.as_ref(), op.value)
    }

    /// [`Applier::apply`] on an operation taken apart, so the caller keeps the path (to describe
    /// a failure) without copying it.
    pub(crate) fn apply_parts(
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
        self.settle(doc, path);
        Ok(())
    }

    /// `tidy` after an operation on `path` succeeded. An operation on a core attribute changes
    /// neither `schemas` nor an extension's object, so once `tidy` has run the document stays
    /// tidy through such operations and `tidy` is skipped.
    pub(crate) fn settle(&self, doc: &mut Map<String, Value>, path: Option<&Path>) {
        let core = path.is_some_and(|p| p.schema.is_none() && p.attribute.is_some());
        if !core || !self.tidied.get() {
            self.tidy(doc);
            self.tidied.set(true);
        }
    }

    pub(super) fn write(
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

    pub(super) fn remove(
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
}

/// Applies PatchOp operations in order, naming the failing one in the error (its index, op and
/// path: data on the error, rendered at the edge).
pub(crate) fn apply_operations(
    applier: &Applier<'_>,
    doc: &mut Map<String, Value>,
    ops: Vec<Operation>,
) -> Result<(), ScimError> {
    for (index, op) in ops.into_iter().enumerate() {
        let Operation { op, path, value } = op;
        applier
            .apply_parts(doc, op, path.as_ref(), value)
            .map_err(|e| in_operation(e, index, op, path.as_ref()))?;
    }
    Ok(())
}

/// `error` as the failure of operation `index` (`op` on `path`).
pub(crate) fn in_operation(
    error: ScimError,
    index: usize,
    op: OpKind,
    path: Option<&Path>,
) -> ScimError {
    // Described only on failure: formatting every operation's path cost more than applying it.
    let what = match path {
        Some(path) => format!("{op} {path}"),
        None => op.to_string(),
    };
    error.in_operation(index, Some(what))
}
