//! The one SCIM Group of an account, "Administrators": its members are the account's customer
//! administrators. A provider adds and removes members (PATCH or PUT) to grant and revoke
//! administrator rights, under the portal's rule that an account keeps an active administrator.
//! Other groups cannot be made: the portal has no other roles for a provider to manage.

use super::users::{operations, patched};
use super::{rfc3339, Provider, ScimError};
use crate::server::access::{active_admins, lock_account};
use crate::server::audit;
use crate::server::db::{execute, on_tx, Tx};
use crate::server::state::AppState;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const GROUP_ID: &str = "administrators";
const DISPLAY_NAME: &str = "Administrators";

/// The administrators of the provider's account: (id, name), by id.
async fn members(tx: &mut Tx, provider: &Provider) -> Result<Vec<(i64, String)>, ScimError> {
    on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, first_name || ' ' || last_name FROM users WHERE kind = 'customer' \
         AND account_id = $1 AND is_admin AND scim_removed_at IS NULL ORDER BY id"
    )
    .bind(provider.account_id)
    .fetch_all(c)
    .await)
    .map_err(ScimError::from)
}

fn to_json(base: &str, members: &[(i64, String)], updated: i64) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "id": GROUP_ID,
        "displayName": DISPLAY_NAME,
        "members": members.iter().map(|(id, name)| json!({
            "value": id.to_string(),
            "display": name,
            "type": "User",
            "$ref": format!("{base}/Users/{id}"),
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Group",
            "created": rfc3339(0),
            "lastModified": rfc3339(updated),
            "location": format!("{base}/Groups/{GROUP_ID}"),
        },
    })
}

async fn current(state: &AppState, tx: &mut Tx, provider: &Provider) -> Result<Value, ScimError> {
    let members = members(tx, provider).await?;
    let updated: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT MAX(updated_at) FROM users WHERE account_id = $1 AND is_admin"
    )
    .bind(provider.account_id)
    .fetch_one(c)
    .await)
    .map_err(ScimError::from)?;
    Ok(to_json(
        &super::base_url(&state.settings),
        &members,
        updated.unwrap_or(0),
    ))
}

/// The group, when `id` names it.
pub async fn get(state: &AppState, provider: &Provider, id: &str) -> Result<Value, ScimError> {
    if !id.eq_ignore_ascii_case(GROUP_ID) {
        return Err(ScimError::not_found());
    }
    let mut tx = state.db.begin().await?;
    let group = current(state, &mut tx, provider).await?;
    tx.commit().await?;
    Ok(group)
}

/// The account's groups (the one), filtered by `displayName eq "…"` if asked.
pub async fn list(
    state: &AppState,
    provider: &Provider,
    filter: Option<&str>,
) -> Result<Value, ScimError> {
    let wanted = match filter.map(str::trim).filter(|f| !f.is_empty()) {
        None => true,
        Some(f) => {
            let mut parts = f.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(op), Some(v))
                    if a.eq_ignore_ascii_case("displayName") && op.eq_ignore_ascii_case("eq") =>
                {
                    serde_json::from_str::<String>(v.trim())
                        .is_ok_and(|v| v.eq_ignore_ascii_case(DISPLAY_NAME))
                }
                _ => {
                    return Err(ScimError::invalid(
                        "invalidFilter",
                        "Supported filter: displayName eq \"…\"",
                    ))
                }
            }
        }
    };
    let mut resources = Vec::new();
    if wanted {
        let mut tx = state.db.begin().await?;
        resources.push(current(state, &mut tx, provider).await?);
        tx.commit().await?;
    }
    Ok(json!({
        "schemas": [super::LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
}

/// The member ids a group resource lists.
fn member_ids(group: &Map<String, Value>) -> Result<BTreeSet<i64>, ScimError> {
    let Some(list) = group
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("members"))
        .map(|(_, v)| v)
    else {
        return Ok(BTreeSet::new());
    };
    list.as_array()
        .ok_or_else(|| ScimError::invalid("invalidValue", "members must be a list"))?
        .iter()
        .map(|m| {
            m.get("value")
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|n| n.to_string()))
                })
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| {
                    ScimError::invalid("invalidValue", "Each member needs the value of a user's id")
                })
        })
        .collect()
}

/// Makes the group's members exactly `wanted`: grants and revokes, each recorded.
async fn set_members(
    tx: &mut Tx,
    provider: &Provider,
    wanted: BTreeSet<i64>,
    now: i64,
) -> Result<(), ScimError> {
    lock_account(tx, provider.account_id).await?;
    let have: BTreeSet<i64> = members(tx, provider)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in wanted.difference(&have) {
        // Only the account's own customer users, not removed and not disabled.
        let granted = execute!(tx: tx, sqlx::query(
            "UPDATE users SET is_admin = TRUE, updated_at = $1 WHERE id = $2 AND kind = 'customer' \
             AND account_id = $3 AND status <> 'disabled' AND scim_removed_at IS NULL"
        )
        .bind(now)
        .bind(id)
        .bind(provider.account_id))?;
        if granted == 0 {
            return Err(ScimError::invalid(
                "invalidValue",
                format!("{id} is not an active user of this account"),
            ));
        }
        let event = provider.event(
            "administrator.granted",
            format!("user:{id}"),
            json!({ "is_admin": true }),
        );
        audit::append(tx, &event, now).await?;
    }
    for id in have.difference(&wanted) {
        execute!(tx: tx, sqlx::query("UPDATE users SET is_admin = FALSE, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id))?;
        let event = provider.event(
            "administrator.revoked",
            format!("user:{id}"),
            json!({ "is_admin": false }),
        );
        audit::append(tx, &event, now).await?;
    }
    if active_admins(tx, provider.account_id).await? == 0 {
        return Err(ScimError::new(
            409,
            Some("mutability"),
            "The account must keep an active administrator",
        ));
    }
    Ok(())
}

/// PATCH: member changes applied to the group.
pub async fn modify(
    state: &AppState,
    provider: &Provider,
    id: &str,
    body: &Value,
    now: i64,
) -> Result<Value, ScimError> {
    if !id.eq_ignore_ascii_case(GROUP_ID) {
        return Err(ScimError::not_found());
    }
    let ops = operations(body)?;
    let mut tx = state.db.begin().await?;
    let group = patched(current(state, &mut tx, provider).await?, ops)?;
    finish(state, tx, provider, group, now).await
}

/// PUT: the group's members become the body's.
pub async fn replace(
    state: &AppState,
    provider: &Provider,
    id: &str,
    body: &Value,
    now: i64,
) -> Result<Value, ScimError> {
    if !id.eq_ignore_ascii_case(GROUP_ID) {
        return Err(ScimError::not_found());
    }
    let group = body
        .as_object()
        .cloned()
        .ok_or_else(|| ScimError::invalid("invalidSyntax", "The body must be a JSON object"))?;
    let tx = state.db.begin().await?;
    finish(state, tx, provider, group, now).await
}

async fn finish(
    state: &AppState,
    mut tx: Tx,
    provider: &Provider,
    group: Map<String, Value>,
    now: i64,
) -> Result<Value, ScimError> {
    let name = group
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("displayName"))
        .and_then(|(_, v)| v.as_str());
    if name.is_some_and(|n| n != DISPLAY_NAME) {
        return Err(ScimError::invalid(
            "mutability",
            "The Administrators group cannot be renamed",
        ));
    }
    set_members(&mut tx, provider, member_ids(&group)?, now).await?;
    let answer = current(state, &mut tx, provider).await?;
    tx.commit().await?;
    Ok(answer)
}
