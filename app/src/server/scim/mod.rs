//! SCIM 2.0 provisioning per customer account (RFC 7643/7644): a customer administrator makes a
//! bearer token for their identity provider, which then creates, updates, deactivates and
//! reactivates the account's users and manages who is an administrator through the
//! "Administrators" group. A token reaches its own account's customer users and nothing else:
//! never another account, vendor staff or contact designations. Every change is recorded in the
//! account's trail naming the token.

pub mod discovery;
pub mod groups;
pub mod patch;
mod user_input;
pub mod users;

use super::audit::{self, Event};
use super::db::{execute, on_db, Db};
use super::session::{new_token, token_hash};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::security::ScimTokenLine;
use crate::model::Actor;
use serde_json::{json, Value};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// How long a new token waits for the page that shows it once.
const REVEAL_SECONDS: i64 = 600;
/// The most resources one list answer holds.
pub const MAX_RESULTS: i64 = 200;

/// A SCIM error answer (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn invalid(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(400, Some(scim_type), detail)
    }

    pub fn not_found() -> Self {
        ScimError::new(404, None, "No such resource in this account")
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => ScimError::not_found(),
            AppError::Validation(fields) => ScimError::invalid(
                "invalidValue",
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::Conflict(message) => ScimError::new(409, Some("uniqueness"), message),
            AppError::Busy | AppError::TooManyRequests => {
                ScimError::new(503, None, "The portal is busy; try again")
            }
            _ => ScimError::new(500, None, "Internal error"),
        }
    }
}

impl From<sqlx::Error> for ScimError {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

impl From<patch::PatchError> for ScimError {
    fn from(e: patch::PatchError) -> Self {
        ScimError::invalid(e.scim_type, e.detail)
    }
}

/// The identity provider asking: the token it presented and the account that token serves.
#[derive(Debug, Clone)]
pub struct Provider {
    pub token_id: i64,
    pub account_id: i64,
    pub label: String,
}

impl Provider {
    /// The audit entry of a change the provider made, in its account's chain.
    pub fn event<'a>(&self, action: &'a str, target: String, after: Value) -> Event<'a> {
        let mut after = after;
        after["via"] = json!("scim");
        after["scim_token"] = json!({ "id": self.token_id, "label": self.label });
        Event {
            action,
            account_id: Some(self.account_id),
            target: Some(target),
            after: Some(after),
            ..Event::default()
        }
    }
}

/// The provider a request's `Authorization: Bearer …` header names, or 401.
pub async fn authenticate(
    db: &Db,
    authorization: Option<&str>,
    now: i64,
) -> Result<Provider, ScimError> {
    let unauthorized = || ScimError::new(401, None, "A valid bearer token is required");
    let token = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| t.starts_with("scim_") && t.len() < 100)
        .ok_or_else(unauthorized)?;
    let found: Option<(i64, i64, String, Option<i64>)> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, account_id, label, last_used_at FROM scim_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL"
    )
    .bind(token_hash(token))
    .fetch_optional(c)
    .await)
    .map_err(ScimError::from)?;
    let (token_id, account_id, label, last_used) = found.ok_or_else(unauthorized)?;
    // Written at most once a minute, so a busy provider does not make every read a write.
    if last_used.is_none_or(|t| now - t >= 60) {
        execute!(db: db, sqlx::query("UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(token_id))?;
    }
    Ok(Provider {
        token_id,
        account_id,
        label,
    })
}

/// Makes a token for the actor's account (a customer administrator's); it is shown once, on the
/// next visit of the provisioning section.
pub async fn create_token(
    state: &AppState,
    actor: &Actor,
    label: &str,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
    let account_id = actor.account_id.ok_or(AppError::Forbidden)?;
    let label = label.trim();
    let mut problems = Problems::new();
    if label.is_empty() {
        problems.add(
            "label",
            "Name the token after the identity provider that will use it",
        );
    } else if label.chars().count() > 80 {
        problems.add("label", "Keep the name to 80 characters or fewer");
    }
    problems.finish()?;
    let token = format!("scim_{}", new_token());
    let mut tx = state.db.begin().await?;
    let id: i64 = crate::on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO scim_tokens (account_id, token_hash, label, created_by, created_at, reveal, \
         reveal_until) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    )
    .bind(account_id)
    .bind(token_hash(&token))
    .bind(label)
    .bind(actor.user_id)
    .bind(now)
    .bind(&token)
    .bind(now + REVEAL_SECONDS)
    .fetch_one(c)
    .await
    })?;
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("scim_token:{id}")),
        after: Some(json!({ "label": label })),
        ..Event::by(actor, "scim.token_created", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Revokes token `id` of the actor's account: the provider is refused from the next request.
pub async fn revoke_token(
    state: &AppState,
    actor: &Actor,
    id: i64,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let account_id = actor.account_id.ok_or(AppError::Forbidden)?;
    let mut tx = state.db.begin().await?;
    let revoked = execute!(tx: &mut tx, sqlx::query(
        "UPDATE scim_tokens SET revoked_at = $1, revoked_by = $2, reveal = NULL \
         WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL"
    )
    .bind(now)
    .bind(actor.user_id)
    .bind(id)
    .bind(account_id))?;
    if revoked == 0 {
        return Err(AppError::NotFound);
    }
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("scim_token:{id}")),
        ..Event::by(actor, "scim.token_revoked", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}

/// The tokens of account `account_id`, newest first, and a token made in the last minutes by
/// `viewer`, once (it is forgotten as it is read).
pub async fn tokens(
    db: &Db,
    account_id: i64,
    viewer: i64,
    now: i64,
) -> Result<(Vec<ScimTokenLine>, Option<String>), AppError> {
    let mut tx = db.begin().await?;
    let fresh: Option<String> = crate::on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT reveal FROM scim_tokens WHERE account_id = $1 AND created_by = $2 \
         AND reveal IS NOT NULL AND reveal_until > $3 ORDER BY id DESC LIMIT 1"
    )
    .bind(account_id)
    .bind(viewer)
    .bind(now)
    .fetch_optional(c)
    .await)?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE scim_tokens SET reveal = NULL, reveal_until = NULL \
         WHERE account_id = $1 AND (created_by = $2 OR reveal_until <= $3)"
    )
    .bind(account_id)
    .bind(viewer)
    .bind(now))?;
    let lines: Vec<ScimTokenLine> = crate::on_tx!(&mut tx, |c| {
        sqlx::query_as(
        "SELECT t.id, t.label, t.created_at, u.first_name || ' ' || u.last_name AS created_by, \
         t.last_used_at, t.revoked_at FROM scim_tokens t JOIN users u ON u.id = t.created_by \
         WHERE t.account_id = $1 ORDER BY t.id DESC LIMIT 50"
    )
    .bind(account_id)
    .fetch_all(c)
    .await
    })?;
    tx.commit().await?;
    Ok((lines, fresh))
}

/// The SCIM address of the portal, as the provider is told to use it.
pub fn base_url(settings: &super::state::Settings) -> String {
    format!("{}/scim/v2", settings.public_url.trim_end_matches('/'))
}

/// RFC 3339 for a stored Unix time, as SCIM's `meta` dates are written.
pub fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A resource narrowed to the attributes asked for (`attributes`) or without those asked away
/// (`excludedAttributes`), both comma-separated, top-level or `parent.sub`; `schemas` and `id`
/// always stay (RFC 7644 §3.9).
pub fn project(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let Value::Object(object) = resource else {
        return resource;
    };
    let names = |list: Option<&str>| -> Vec<(String, Option<String>)> {
        list.unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                let a = a
                    .rsplit_once(':')
                    .map(|(_, a)| a)
                    .unwrap_or(a)
                    .to_ascii_lowercase();
                match a.split_once('.') {
                    Some((p, s)) => (p.to_string(), Some(s.to_string())),
                    None => (a, None),
                }
            })
            .collect()
    };
    let (keep, drop) = (names(attributes), names(excluded));
    let always = |k: &str| k == "schemas" || k == "id";
    let mut out = serde_json::Map::new();
    for (key, value) in object {
        let lower = key.to_ascii_lowercase();
        let kept: Vec<&Option<String>> = keep
            .iter()
            .filter(|(p, _)| *p == lower)
            .map(|(_, s)| s)
            .collect();
        let value = if !keep.is_empty() && !always(&key) {
            if kept.is_empty() {
                continue;
            }
            if kept.iter().any(|s| s.is_none()) {
                value
            } else {
                sub_attributes(value, |sub| kept.iter().any(|s| s.as_deref() == Some(sub)))
            }
        } else {
            value
        };
        let dropped: Vec<&Option<String>> = drop
            .iter()
            .filter(|(p, _)| *p == lower)
            .map(|(_, s)| s)
            .collect();
        if always(&key) || dropped.is_empty() {
            out.insert(key, value);
        } else if dropped.iter().all(|s| s.is_some()) {
            let value = sub_attributes(value, |sub| {
                !dropped.iter().any(|s| s.as_deref() == Some(sub))
            });
            out.insert(key, value);
        }
    }
    Value::Object(out)
}

/// `value` (an object, or a list of objects) with only the sub-attributes `keep` accepts.
fn sub_attributes(value: Value, keep: impl Fn(&str) -> bool + Copy) -> Value {
    match value {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| keep(&k.to_ascii_lowercase()))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| sub_attributes(v, keep)).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::project;
    use serde_json::json;

    #[test]
    fn attributes_narrow_and_exclusions_remove() {
        let user = json!({ "schemas": ["s"], "id": "1", "userName": "u",
            "name": { "givenName": "A", "familyName": "B" }, "active": true });
        assert_eq!(
            project(user.clone(), Some("userName"), None),
            json!({ "schemas": ["s"], "id": "1", "userName": "u" })
        );
        assert_eq!(
            project(user.clone(), Some("name.familyName"), None),
            json!({ "schemas": ["s"], "id": "1", "name": { "familyName": "B" } })
        );
        assert_eq!(
            project(user.clone(), None, Some("name,ACTIVE,id")),
            json!({ "schemas": ["s"], "id": "1", "userName": "u" })
        );
        assert_eq!(
            project(user.clone(), None, Some("name.givenName"))["name"],
            json!({ "familyName": "B" })
        );
        assert_eq!(project(user.clone(), None, None), user);
    }
}
