//! The built-in schemas: RFC 7643 §4 User and Group with the §3.1 common attributes, the §4.3
//! enterprise extension, the SCIM 1.1 enterprise extension, and the Workspace ONE extension.
use super::{
    AttrType, Attribute, Mutability, Registry, ResourceType, Returned, Schema, Uniqueness,
};

/// `urn:ietf:params:scim:schemas:core:2.0:User`
pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// `urn:ietf:params:scim:schemas:core:2.0:Group`
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// `urn:scim:schemas:extension:enterprise:1.0` (SCIM 1.1)
pub const ENTERPRISE_USER_1_1: &str = "urn:scim:schemas:extension:enterprise:1.0";
/// `urn:scim:schemas:extension:workspace:1.0` (VMware Workspace ONE)
pub const WORKSPACE_ONE_USER: &str = "urn:scim:schemas:extension:workspace:1.0";

fn attr(name: &str, ty: AttrType) -> Attribute {
    Attribute {
        name: name.to_string(),
        ty,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        sub_attributes: Vec::new(),
        canonical_values: Vec::new(),
        reference_types: Vec::new(),
        description: String::new(),
    }
}

fn string(name: &str) -> Attribute {
    attr(name, AttrType::String)
}

fn complex(name: &str, subs: Vec<Attribute>) -> Attribute {
    Attribute {
        sub_attributes: subs,
        ..attr(name, AttrType::Complex)
    }
}

trait Refine {
    fn multi(self) -> Self;
    fn required(self) -> Self;
    fn case_exact(self) -> Self;
    fn mutability(self, m: Mutability) -> Self;
    fn returned(self, r: Returned) -> Self;
    fn unique(self) -> Self;
    fn refs(self, types: &[&str]) -> Self;
    fn canonical(self, values: &[&str]) -> Self;
    fn describe(self, text: &str) -> Self;
}

impl Refine for Attribute {
    fn multi(self) -> Self {
        Attribute {
            multi_valued: true,
            ..self
        }
    }
    fn required(self) -> Self {
        Attribute {
            required: true,
            ..self
        }
    }
    fn case_exact(self) -> Self {
        Attribute {
            case_exact: true,
            ..self
        }
    }
    fn mutability(self, mutability: Mutability) -> Self {
        let subs = if mutability == Mutability::ReadOnly {
            self.sub_attributes
                .into_iter()
                .map(|s| s.mutability(Mutability::ReadOnly))
                .collect()
        } else {
            self.sub_attributes
        };
        Attribute {
            mutability,
            sub_attributes: subs,
            ..self
        }
    }
    fn returned(self, returned: Returned) -> Self {
        Attribute { returned, ..self }
    }
    fn unique(self) -> Self {
        Attribute {
            uniqueness: Uniqueness::Server,
            ..self
        }
    }
    fn refs(self, types: &[&str]) -> Self {
        Attribute {
            reference_types: types.iter().map(|s| s.to_string()).collect(),
            ..self
        }
    }
    fn canonical(self, values: &[&str]) -> Self {
        Attribute {
            canonical_values: values.iter().map(|s| s.to_string()).collect(),
            ..self
        }
    }
    fn describe(self, text: &str) -> Self {
        Attribute {
            description: text.to_string(),
            ..self
        }
    }
}

/// `value`, `display`, `type`, `primary`: the sub-attributes of most multi-valued attributes.
fn multi_standard(
    name: &str,
    value_type: AttrType,
    types: &[&str],
    description: &str,
) -> Attribute {
    complex(
        name,
        vec![
            attr("value", value_type),
            string("display"),
            string("type").canonical(types),
            attr("primary", AttrType::Boolean),
        ],
    )
    .multi()
    .describe(description)
}

fn common_attributes() -> Vec<Attribute> {
    vec![
        string("id")
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .unique()
            .describe("Unique identifier assigned by the service provider."),
        string("externalId")
            .case_exact()
            .describe("Identifier assigned by the provisioning client."),
        complex(
            "meta",
            vec![
                string("resourceType").case_exact(),
                attr("created", AttrType::DateTime),
                attr("lastModified", AttrType::DateTime),
                attr("location", AttrType::Reference)
                    .case_exact()
                    .refs(&["uri"]),
                string("version").case_exact(),
            ],
        )
        .mutability(Mutability::ReadOnly)
        .describe("Resource metadata maintained by the service provider."),
    ]
}

fn user() -> Schema {
    let address = complex(
        "addresses",
        vec![
            string("formatted"),
            string("streetAddress"),
            string("locality"),
            string("region"),
            string("postalCode"),
            string("country"),
            string("type").canonical(&["work", "home", "other"]),
            attr("primary", AttrType::Boolean),
        ],
    )
    .multi()
    .describe("Physical mailing addresses.");
    let groups = complex(
        "groups",
        vec![
            string("value"),
            attr("$ref", AttrType::Reference).refs(&["User", "Group"]),
            string("display"),
            string("type").canonical(&["direct", "indirect"]),
        ],
    )
    .multi()
    .mutability(Mutability::ReadOnly)
    .describe("Groups the user belongs to, derived by the service provider.");
    Schema {
        id: CORE_USER.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: vec![
            string("userName")
                .required()
                .unique()
                .describe("Unique identifier for the user, used to sign in."),
            complex(
                "name",
                vec![
                    string("formatted"),
                    string("familyName"),
                    string("givenName"),
                    string("middleName"),
                    string("honorificPrefix"),
                    string("honorificSuffix"),
                ],
            )
            .describe("The components of the user's real name."),
            string("displayName"),
            string("nickName"),
            attr("profileUrl", AttrType::Reference).refs(&["external"]),
            string("title"),
            string("userType"),
            string("preferredLanguage"),
            string("locale"),
            string("timezone"),
            attr("active", AttrType::Boolean),
            string("password")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            multi_standard(
                "emails",
                AttrType::String,
                &["work", "home", "other"],
                "Email addresses.",
            ),
            multi_standard(
                "phoneNumbers",
                AttrType::String,
                &["work", "home", "mobile", "fax", "pager", "other"],
                "Phone numbers.",
            ),
            multi_standard(
                "ims",
                AttrType::String,
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                "Instant messaging addresses.",
            ),
            multi_standard(
                "photos",
                AttrType::Reference,
                &["photo", "thumbnail"],
                "URLs of photos.",
            ),
            address,
            groups,
            multi_standard("entitlements", AttrType::String, &[], "Entitlements."),
            multi_standard("roles", AttrType::String, &[], "Roles."),
            multi_standard(
                "x509Certificates",
                AttrType::Binary,
                &[],
                "DER-encoded X.509 certificates.",
            ),
        ],
    }
}

fn group() -> Schema {
    Schema {
        id: CORE_GROUP.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            string("displayName")
                .required()
                .describe("Human-readable group name."),
            complex(
                "members",
                vec![
                    string("value")
                        .case_exact()
                        .mutability(Mutability::Immutable),
                    attr("$ref", AttrType::Reference)
                        .refs(&["User", "Group"])
                        .mutability(Mutability::Immutable),
                    string("type")
                        .canonical(&["User", "Group"])
                        .mutability(Mutability::Immutable),
                    string("display"),
                ],
            )
            .multi()
            .describe("Members of the group (compared by value)."),
        ],
    }
}

fn enterprise_user() -> Schema {
    Schema {
        id: ENTERPRISE_USER.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            string("employeeNumber"),
            string("costCenter"),
            string("organization"),
            string("division"),
            string("department"),
            complex(
                "manager",
                vec![
                    string("value"),
                    attr("$ref", AttrType::Reference).refs(&["User"]),
                    string("displayName").mutability(Mutability::ReadOnly),
                ],
            )
            .describe("The user's manager."),
        ],
    }
}

fn enterprise_user_1_1() -> Schema {
    Schema {
        id: ENTERPRISE_USER_1_1.into(),
        name: "Enterprise User (SCIM 1.1)".into(),
        description: "SCIM 1.1 enterprise user extension".into(),
        attributes: vec![
            string("employeeNumber"),
            string("costCenter"),
            string("organization"),
            string("division"),
            string("department"),
            complex("manager", vec![string("managerId"), string("displayName")])
                .describe("The user's manager."),
        ],
    }
}

fn workspace_one_user() -> Schema {
    Schema {
        id: WORKSPACE_ONE_USER.into(),
        name: "Workspace ONE User".into(),
        description: "VMware Workspace ONE user extension".into(),
        // The attributes the Workspace ONE user API lists for this extension.
        attributes: vec![
            string("internalUserType").describe(
                "Whose directory owns the user (e.g. LOCAL, or an external directory type).",
            ),
            string("userStatus"),
            string("domain"),
            string("userPrincipalName"),
            string("distinguishedName").describe("The user's LDAP distinguished name."),
            string("userStoreUuid").describe("The directory (user store) the user comes from."),
            attr("softDeleted", AttrType::Boolean),
            attr("firstLoginUrl", AttrType::Reference).refs(&["external"]),
            string("aadMappingAttribute"),
            attr("externalUserDisabled", AttrType::Boolean),
        ],
    }
}

pub(super) fn registry() -> Registry {
    Registry {
        schemas: vec![
            user(),
            group(),
            enterprise_user(),
            enterprise_user_1_1(),
            workspace_one_user(),
        ],
        resource_types: vec![
            ResourceType {
                name: "User".into(),
                endpoint: "/Users".into(),
                schema: CORE_USER.into(),
                extensions: vec![
                    (ENTERPRISE_USER.into(), false),
                    (ENTERPRISE_USER_1_1.into(), false),
                    (WORKSPACE_ONE_USER.into(), false),
                ],
            },
            ResourceType {
                name: "Group".into(),
                endpoint: "/Groups".into(),
                schema: CORE_GROUP.into(),
                extensions: vec![],
            },
        ],
        common: common_attributes(),
    }
}
