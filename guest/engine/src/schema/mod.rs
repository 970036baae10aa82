//! Schemas (RFC 7643 §2, §7): attribute definitions, the built-in schemas, runtime loading, and the
//! registry the engine resolves paths against.
mod builtin;
mod load;

use crate::error::ScimError;
use crate::json::eq_ci;

pub use builtin::{
    CORE_GROUP, CORE_USER, ENTERPRISE_USER, ENTERPRISE_USER_1_1, WORKSPACE_ONE_USER,
};

/// RFC 7643 §2.3 attribute data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// JSON string
    String,
    /// JSON boolean
    Boolean,
    /// JSON number
    Decimal,
    /// JSON number without a fraction
    Integer,
    /// xsd:dateTime string
    DateTime,
    /// base64 string
    Binary,
    /// URI string
    Reference,
    /// JSON object of sub-attributes
    Complex,
}

impl AttrType {
    /// Parses the `type` of a schema attribute document (case-insensitive).
    pub fn parse(name: &str) -> Option<AttrType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "string" => AttrType::String,
            "boolean" => AttrType::Boolean,
            "decimal" => AttrType::Decimal,
            "integer" => AttrType::Integer,
            "datetime" => AttrType::DateTime,
            "binary" => AttrType::Binary,
            "reference" => AttrType::Reference,
            "complex" => AttrType::Complex,
            _ => return None,
        })
    }

    /// The RFC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the service provider only.
    ReadOnly,
    /// Freely writable.
    ReadWrite,
    /// Writable once (when unassigned).
    Immutable,
    /// Writable, never returned.
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always returned.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded.
    Default,
    /// Returned only when requested.
    Request,
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// No uniqueness constraint.
    None,
    /// Unique within the service provider.
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition (RFC 7643 §7 "attributes" entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Canonical name (results use this spelling).
    pub name: String,
    /// Data type.
    pub ty: AttrType,
    /// Whether the attribute holds an array of values.
    pub multi_valued: bool,
    /// Whether the attribute may not be removed.
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    pub case_exact: bool,
    /// Who may write it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Uniqueness constraint (enforced by the service, not the engine).
    pub uniqueness: Uniqueness,
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: Vec<Attribute>,
    /// Suggested values (informative).
    pub canonical_values: Vec<String>,
    /// Resource types a reference may point to.
    pub reference_types: Vec<String>,
    /// Human-readable description.
    pub description: String,
}

impl Attribute {
    /// The sub-attribute named `name` (case-insensitive).
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// True when the attribute is never returned (`returned: "never"`, e.g. `password`).
    pub fn never_returned(&self) -> bool {
        self.returned == Returned::Never
    }

    /// True when the attribute is complex.
    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }
}

/// A schema (RFC 7643 §7): an id (URN) and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// Short name.
    pub name: String,
    /// Human-readable description.
    pub description: String,
    /// Top-level attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// The attribute named `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A resource type (RFC 7643 §6): its core schema and the extensions it may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// Name, e.g. `User`.
    pub name: String,
    /// Endpoint, e.g. `/Users`.
    pub endpoint: String,
    /// Core schema URN.
    pub schema: String,
    /// Extension schema URNs with their `required` flag.
    pub extensions: Vec<(String, bool)>,
}

/// All schemas and resource types an engine knows.
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceType>,
    common: Vec<Attribute>,
}

/// The schemas a given resource may use: its type, core schema and extensions.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchemas<'r> {
    /// The resource type.
    pub resource_type: &'r ResourceType,
    /// Its core schema.
    pub core: &'r Schema,
    registry: &'r Registry,
}

impl<'r> ResourceSchemas<'r> {
    /// A core or common attribute (`id`, `externalId`, `meta`), by name.
    pub fn core_attribute(&self, name: &str) -> Option<&'r Attribute> {
        self.core.attribute(name).or_else(|| {
            self.registry
                .common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }

    /// The extension schemas of this resource type.
    pub fn extensions(&self) -> impl Iterator<Item = (&'r Schema, bool)> + 'r {
        let registry = self.registry;
        self.resource_type
            .extensions
            .iter()
            .filter_map(move |(urn, required)| registry.schema(urn).map(|s| (s, *required)))
    }

    /// The extension with this URN (case-insensitive), when the resource type has it.
    pub fn extension(&self, urn: &str) -> Option<&'r Schema> {
        self.extensions()
            .find(|(s, _)| eq_ci(&s.id, urn))
            .map(|(s, _)| s)
    }

    /// True when `urn` is this resource's core schema.
    pub fn is_core(&self, urn: &str) -> bool {
        eq_ci(&self.core.id, urn)
    }
}

impl Registry {
    /// The built-in registry: User (+ enterprise 2.0, SCIM 1.1 enterprise, Workspace ONE) and Group.
    pub fn builtin() -> Registry {
        builtin::registry()
    }

    /// The schema with this URN (case-insensitive).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| eq_ci(&s.id, urn))
    }

    /// All schemas.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// All resource types.
    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }

    /// Adds or replaces a schema from its RFC 7643 §7 JSON. A new schema that no resource type
    /// names is offered as an extension of every resource type (add `resourceTypes` to be precise).
    pub fn add_schema_json(&mut self, doc: &serde_json::Value) -> Result<(), ScimError> {
        let schema = load::schema(doc)?;
        let is_new = self.schema(&schema.id).is_none();
        let id = schema.id.clone();
        self.schemas.retain(|s| !s.id.eq_ignore_ascii_case(&id));
        self.schemas.push(schema);
        if is_new
            && !self
                .resource_types
                .iter()
                .any(|rt| rt.schema.eq_ignore_ascii_case(&id))
        {
            for rt in &mut self.resource_types {
                rt.extensions.push((id.clone(), false));
            }
        }
        Ok(())
    }

    /// Adds or replaces a resource type from its RFC 7643 §6 JSON; its schemas must be known.
    pub fn add_resource_type_json(&mut self, doc: &serde_json::Value) -> Result<(), ScimError> {
        let rt = load::resource_type(doc)?;
        for urn in std::iter::once(&rt.schema).chain(rt.extensions.iter().map(|(u, _)| u)) {
            if self.schema(urn).is_none() {
                return Err(ScimError::invalid_value(format!(
                    "resource type \"{}\" names schema \"{urn}\", which is not loaded",
                    rt.name
                )));
            }
        }
        // A schema that is now some type's core is no longer a free-floating extension.
        for other in &mut self.resource_types {
            other
                .extensions
                .retain(|(u, _)| !u.eq_ignore_ascii_case(&rt.schema));
        }
        self.resource_types
            .retain(|r| !r.name.eq_ignore_ascii_case(&rt.name));
        self.resource_types.push(rt);
        Ok(())
    }

    /// The schemas of the resource type named `name` (`User`, `Group`; case-insensitive);
    /// 400 invalidValue for a type this registry does not have.
    pub fn schemas_of_type(&self, name: &str) -> Result<ResourceSchemas<'_>, ScimError> {
        let resource_type = self
            .resource_types
            .iter()
            .find(|rt| rt.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ScimError::invalid_value(format!("there is no resource type \"{name}\""))
            })?;
        self.schemas_for(resource_type)
    }

    fn schemas_for<'r>(
        &'r self,
        resource_type: &'r ResourceType,
    ) -> Result<ResourceSchemas<'r>, ScimError> {
        let core = self.schema(&resource_type.schema).ok_or_else(|| {
            ScimError::invalid_value(format!("schema {} is not loaded", resource_type.schema))
        })?;
        Ok(ResourceSchemas {
            resource_type,
            core,
            registry: self,
        })
    }

    /// The schemas of `resource`: the resource type whose core schema is listed in its `schemas`,
    /// else the one named by `meta.resourceType`.
    pub fn resource_schemas(
        &self,
        resource: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ResourceSchemas<'_>, ScimError> {
        let listed = crate::json::get_ci(resource, "schemas").and_then(|v| v.as_array());
        let by_schema = listed
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str())
            .find_map(|urn| {
                self.resource_types
                    .iter()
                    .find(|rt| rt.schema.eq_ignore_ascii_case(urn))
            });
        let by_meta = || {
            let meta = crate::json::get_ci(resource, "meta")?.as_object()?;
            let name = crate::json::get_ci(meta, "resourceType")?.as_str()?;
            self.resource_types
                .iter()
                .find(|rt| rt.name.eq_ignore_ascii_case(name))
        };
        let resource_type = by_schema.or_else(by_meta).ok_or_else(|| {
            ScimError::invalid_value(
                "the resource's \"schemas\" names no known resource type (expected e.g. urn:ietf:params:scim:schemas:core:2.0:User)",
            )
        })?;
        self.schemas_for(resource_type)
    }
}
