//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4, RFC 7643 §5–7): describing
//! exactly what this service supports.
use scim_patch::schema::{Attribute, Mutability, Registry, Returned, Schema, Uniqueness};
use serde_json::{Value, json};

/// Maximum resources per list page.
pub const MAX_RESULTS: usize = 1000;

/// The service provider configuration.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://example.invalid/scim-patch/README.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the bearer token configured in the scim_token variable",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

/// Whether a schema is advertised. SCIM 1.1 extensions (`urn:scim:...`) are accepted for
/// compatibility but not listed: SCIM 2.0 clients cannot address attributes under a URN whose
/// last segment is a version such as `1.0` (scim2-tester fails to parse them).
pub fn advertised(urn: &str) -> bool {
    !urn.to_ascii_lowercase().starts_with("urn:scim:")
}

/// One resource type document.
pub fn resource_type(registry: &Registry, name: &str, base: &str) -> Option<Value> {
    let rt = registry
        .resource_types()
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))?;
    let extensions: Vec<Value> = rt
        .extensions
        .iter()
        .filter(|(urn, _)| advertised(urn))
        .map(|(urn, required)| json!({"schema": urn, "required": required}))
        .collect();
    Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": format!("{} resources", rt.name),
        "schema": rt.schema,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", rt.name)}
    }))
}

/// Every resource type document.
pub fn resource_types(registry: &Registry, base: &str) -> Vec<Value> {
    registry
        .resource_types()
        .iter()
        .filter_map(|rt| resource_type(registry, &rt.name, base))
        .collect()
}

fn attribute(attr: &Attribute) -> Value {
    let mut doc = json!({
        "name": attr.name,
        "type": attr.ty.as_str(),
        "multiValued": attr.multi_valued,
        "description": attr.description,
        "required": attr.required,
        "caseExact": attr.case_exact,
        "mutability": match attr.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match attr.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
        "uniqueness": match attr.uniqueness {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        },
    });
    if !attr.canonical_values.is_empty() {
        doc["canonicalValues"] = json!(attr.canonical_values);
    }
    if !attr.reference_types.is_empty() {
        doc["referenceTypes"] = json!(attr.reference_types);
    }
    if attr.is_complex() {
        doc["subAttributes"] = Value::Array(attr.sub_attributes.iter().map(attribute).collect());
    }
    doc
}

/// One schema document (RFC 7643 §7).
pub fn schema(schema: &Schema, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", schema.id)}
    })
}

/// A ListResponse holding `resources` (all of them: discovery lists are short).
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources
    })
}
