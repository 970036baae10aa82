//! Reading RFC 7643 §7 schema documents and §6 resource-type documents.
use serde_json::Value;

use super::{AttrType, Attribute, Mutability, ResourceType, Returned, Schema, Uniqueness};
use crate::error::ScimError;
use crate::json::get_ci;

fn text<'v>(doc: &'v Value, key: &str) -> Option<&'v str> {
    doc.as_object()
        .and_then(|m| get_ci(m, key))
        .and_then(Value::as_str)
}

fn flag(doc: &Value, key: &str, context: &str) -> Result<bool, ScimError> {
    match doc.as_object().and_then(|m| get_ci(m, key)) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ScimError::invalid_value(format!(
            "{context}: \"{key}\" must be a boolean, not {other}"
        ))),
    }
}

fn strings(doc: &Value, key: &str) -> Vec<String> {
    doc.as_object()
        .and_then(|m| get_ci(m, key))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn attribute(doc: &Value, context: &str, depth: usize) -> Result<Attribute, ScimError> {
    let name = text(doc, "name").ok_or_else(|| {
        ScimError::invalid_value(format!("{context}: an attribute has no \"name\""))
    })?;
    if !crate::attr_path::is_attr_name(name) {
        return Err(ScimError::invalid_value(format!(
            "{context}: \"{name}\" is not a valid attribute name"
        )));
    }
    let context = format!("{context}.{name}");
    let ty_name = text(doc, "type").unwrap_or("string");
    let ty = AttrType::parse(ty_name).ok_or_else(|| {
        ScimError::invalid_value(format!("{context}: unknown type \"{ty_name}\""))
    })?;
    let mutability = match text(doc, "mutability")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("readwrite") => Mutability::ReadWrite,
        Some("readonly") => Mutability::ReadOnly,
        Some("immutable") => Mutability::Immutable,
        Some("writeonly") => Mutability::WriteOnly,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "{context}: unknown mutability \"{other}\""
            )));
        }
    };
    let returned = match text(doc, "returned")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("default") => Returned::Default,
        Some("always") => Returned::Always,
        Some("never") => Returned::Never,
        Some("request") => Returned::Request,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "{context}: unknown returned \"{other}\""
            )));
        }
    };
    let uniqueness = match text(doc, "uniqueness")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("none") => Uniqueness::None,
        Some("server") => Uniqueness::Server,
        Some("global") => Uniqueness::Global,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "{context}: unknown uniqueness \"{other}\""
            )));
        }
    };
    let mut sub_attributes = Vec::new();
    if let Some(subs) = doc.as_object().and_then(|m| get_ci(m, "subAttributes")) {
        let subs = subs.as_array().ok_or_else(|| {
            ScimError::invalid_value(format!("{context}: \"subAttributes\" must be an array"))
        })?;
        if depth > 0 && !subs.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "{context}: sub-attributes cannot have sub-attributes (RFC 7643 §2.3.8)"
            )));
        }
        for sub in subs {
            sub_attributes.push(attribute(sub, &context, depth + 1)?);
        }
    }
    if ty == AttrType::Complex && sub_attributes.is_empty() {
        return Err(ScimError::invalid_value(format!(
            "{context}: a complex attribute needs \"subAttributes\""
        )));
    }
    Ok(Attribute {
        name: name.to_string(),
        ty,
        multi_valued: flag(doc, "multiValued", &context)?,
        required: flag(doc, "required", &context)?,
        case_exact: flag(doc, "caseExact", &context)?,
        mutability,
        returned,
        uniqueness,
        sub_attributes,
        canonical_values: strings(doc, "canonicalValues"),
        reference_types: strings(doc, "referenceTypes"),
        description: text(doc, "description").unwrap_or_default().to_string(),
    })
}

/// Reads one schema document (`id`, `name`, `attributes`).
pub fn schema(doc: &Value) -> Result<Schema, ScimError> {
    let id = text(doc, "id").ok_or_else(|| {
        ScimError::invalid_value("a schema document needs a string \"id\" (its URN)")
    })?;
    if !id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Err(ScimError::invalid_value(format!(
            "schema id \"{id}\" must be a URN"
        )));
    }
    let attrs = doc
        .as_object()
        .and_then(|m| get_ci(m, "attributes"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::invalid_value(format!("schema {id}: \"attributes\" must be an array"))
        })?;
    let attributes = attrs
        .iter()
        .map(|a| attribute(a, id, 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Schema {
        id: id.to_string(),
        name: text(doc, "name").unwrap_or_default().to_string(),
        description: text(doc, "description").unwrap_or_default().to_string(),
        attributes,
    })
}

/// Reads one resource-type document (`name`, `endpoint`, `schema`, `schemaExtensions`).
pub fn resource_type(doc: &Value) -> Result<ResourceType, ScimError> {
    let name = text(doc, "name")
        .ok_or_else(|| ScimError::invalid_value("a resource type needs a \"name\""))?;
    let schema = text(doc, "schema").ok_or_else(|| {
        ScimError::invalid_value(format!("resource type {name} needs a \"schema\""))
    })?;
    let mut extensions = Vec::new();
    if let Some(list) = doc
        .as_object()
        .and_then(|m| get_ci(m, "schemaExtensions"))
        .and_then(Value::as_array)
    {
        for ext in list {
            let urn = text(ext, "schema").ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "resource type {name}: an extension needs a \"schema\""
                ))
            })?;
            extensions.push((urn.to_string(), flag(ext, "required", name)?));
        }
    }
    Ok(ResourceType {
        name: name.to_string(),
        endpoint: text(doc, "endpoint")
            .map(str::to_string)
            .unwrap_or_else(|| format!("/{name}s")),
        schema: schema.to_string(),
        extensions,
    })
}
