//! What the portal's SCIM service publishes about itself (RFC 7643 §5–7): its configuration, its
//! resource types and the schemas of their attributes — exactly the attributes it reads back.

use super::groups::GROUP_SCHEMA;
use super::users::USER_SCHEMA;
use super::{LIST_SCHEMA, MAX_RESULTS};
use serde_json::{json, Value};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": format!("{}/kb", base.trim_end_matches("/scim/v2")),
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token a customer administrator made in Manage Accounts",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    })
}

fn resource_type(base: &str, id: &str, endpoint: &str, schema: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": id,
        "name": id,
        "endpoint": endpoint,
        "description": format!("{id}s of the token's customer account"),
        "schema": schema,
        "schemaExtensions": [],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{id}") },
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        resource_type(base, "User", "/Users", USER_SCHEMA),
        resource_type(base, "Group", "/Groups", GROUP_SCHEMA),
    ]
}

fn attribute(name: &str, kind: &str, required: bool, extra: Value) -> Value {
    let mut a = json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": required,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    });
    if let (Some(a), Some(extra)) = (a.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

fn user_schema(base: &str) -> Value {
    let string = |name: &str| attribute(name, "string", false, json!({}));
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person of the customer account",
        "attributes": [
            attribute("userName", "string", true, json!({ "uniqueness": "server" })),
            attribute("name", "complex", false, json!({
                "subAttributes": [string("givenName"), string("familyName"), string("formatted")],
            })),
            string("displayName"),
            // The portal needs each person's email address: the primary one (or the first).
            attribute("emails", "complex", true, json!({
                "multiValued": true,
                "subAttributes": [
                    attribute("value", "string", true, json!({})),
                    string("type"),
                    attribute("primary", "boolean", false, json!({})),
                ],
            })),
            // Whether the person may sign in; taken as true when a provider leaves it out.
            attribute("active", "boolean", true, json!({})),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    })
}

fn group_schema(base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "The account's administrators",
        "attributes": [
            attribute("displayName", "string", true, json!({ "mutability": "readOnly" })),
            attribute("members", "complex", false, json!({
                "multiValued": true,
                "subAttributes": [
                    attribute("value", "string", false, json!({ "mutability": "immutable" })),
                    attribute("display", "string", false, json!({ "mutability": "readOnly" })),
                    attribute("type", "string", false, json!({ "mutability": "readOnly" })),
                    attribute("$ref", "reference", false, json!({ "mutability": "readOnly", "referenceTypes": ["User"] })),
                ],
            })),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}") },
    })
}

pub fn schemas(base: &str) -> Vec<Value> {
    vec![user_schema(base), group_schema(base)]
}

/// A discovery list (`/ResourceTypes`, `/Schemas`).
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The one of `resources` whose `id` is `id`.
pub fn find(resources: Vec<Value>, id: &str) -> Option<Value> {
    resources.into_iter().find(|r| r["id"] == id)
}
