//! What a provider sends as a User (RFC 7643 §4.1), read into what the portal keeps: the person's
//! email (the primary one, else the first, else the userName), names, whether they are active,
//! the provider's userName and externalId, and the rest of the attributes as sent.

use super::ScimError;
use crate::model::domain::Email;
use serde_json::{Map, Value};

/// What a provider asks a user to be.
pub struct Wanted {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    /// The attributes kept as sent (all but those the portal keeps in columns).
    pub resource: Map<String, Value>,
}

fn text<'a>(v: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    v.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.as_str())
}

fn field<'a>(v: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    v.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Reads a User resource the provider sent.
pub fn wanted(body: &Value) -> Result<Wanted, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid("invalidSyntax", "The body must be a JSON object"))?;
    let user_name = text(object, "userName")
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.chars().count() <= 200)
        .ok_or_else(|| ScimError::invalid("invalidValue", "userName is required"))?
        .to_string();
    let active = match field(object, "active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        // Some providers send the word.
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            return Err(ScimError::invalid(
                "invalidValue",
                "active must be true or false",
            ))
        }
    };
    let external_id = text(object, "externalId").map(str::to_string);
    let emails: Vec<&Map<String, Value>> = field(object, "emails")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let primary = emails
        .iter()
        .find(|e| field(e, "primary") == Some(&Value::Bool(true)))
        .or(emails.first())
        .and_then(|e| text(e, "value"));
    let email = primary
        .and_then(|p| Email::parse(p).ok())
        .or_else(|| Email::parse(&user_name).ok())
        .ok_or_else(|| {
            ScimError::invalid(
                "invalidValue",
                "The person's email address is needed: as the primary email or as the userName",
            )
        })?;
    let name = field(object, "name").and_then(Value::as_object);
    let part = |key: &str| -> Result<String, ScimError> {
        let value = name.and_then(|n| text(n, key)).unwrap_or_default().trim();
        if value.chars().count() > 100 || value.chars().any(char::is_control) {
            return Err(ScimError::invalid(
                "invalidValue",
                format!("name.{key} must be plain text of at most 100 characters"),
            ));
        }
        Ok(value.to_string())
    };
    let (first_name, last_name) = (part("givenName")?, part("familyName")?);
    let resource: Map<String, Value> = object
        .iter()
        .filter(|(k, _)| {
            ![
                "schemas",
                "id",
                "meta",
                "userName",
                "externalId",
                "active",
                "password",
                "groups",
            ]
            .iter()
            .any(|skip| k.eq_ignore_ascii_case(skip))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Wanted {
        user_name,
        external_id,
        active,
        email,
        first_name,
        last_name,
        resource,
    })
}
