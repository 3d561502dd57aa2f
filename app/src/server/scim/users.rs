//! SCIM Users of one account: list and filter, read, create (an invited user with an invitation
//! mail), replace, patch, deactivate and reactivate (as a manual disable and re-enable: sessions
//! and open links end at once), and delete (disabled and no longer the provider's). The attributes
//! the provider sent are kept as it sent them and read back; the portal takes the person's email
//! and names from them.

use super::patch;
use super::user_input::{wanted, Wanted};
use super::{rfc3339, Provider, ScimError, MAX_RESULTS};
use crate::model::UserStatus;
use crate::server::access::{active_admins, lock_account, Target};
use crate::server::audit;
use crate::server::db::{execute, on_db, on_tx, Tx};
use crate::server::invitations::{issue_link, Purpose};
use crate::server::state::AppState;
use crate::server::users::{self, NewUser};
use serde_json::{json, Map, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

#[derive(sqlx::FromRow, Clone)]
struct Row {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    #[sqlx(try_from = "String")]
    status: UserStatus,
    is_admin: bool,
    has_password: bool,
    scim_user_name: Option<String>,
    scim_external_id: Option<String>,
    scim_resource: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, email, first_name, last_name, status, is_admin, \
    password_hash IS NOT NULL AS has_password, scim_user_name, scim_external_id, scim_resource, \
    created_at, updated_at";
/// The users a provider reaches: its own account's customer users it has not removed.
const SCOPE: &str = "kind = 'customer' AND account_id = $1 AND scim_removed_at IS NULL";

/// A user as SCIM shows them.
fn to_json(base: &str, r: &Row) -> Value {
    let mut v: Map<String, Value> = r
        .scim_resource
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_else(|| {
            // Someone the portal made: their portal name and email.
            json!({
                "name": { "givenName": r.first_name, "familyName": r.last_name },
                "emails": [{ "value": r.email, "type": "work", "primary": true }],
            })
            .as_object()
            .cloned()
            .unwrap_or_default()
        });
    v.insert("schemas".into(), json!([USER_SCHEMA]));
    v.insert("id".into(), json!(r.id.to_string()));
    v.insert(
        "userName".into(),
        json!(r.scim_user_name.clone().unwrap_or_else(|| r.email.clone())),
    );
    match &r.scim_external_id {
        Some(x) => v.insert("externalId".into(), json!(x)),
        None => v.remove("externalId"),
    };
    v.insert("active".into(), json!(r.status != UserStatus::Disabled));
    v.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": rfc3339(r.created_at),
            "lastModified": rfc3339(r.updated_at),
            "location": format!("{base}/Users/{}", r.id),
            "version": format!("W/\"{}\"", r.updated_at),
        }),
    );
    Value::Object(v)
}

async fn load(tx: &mut Tx, provider: &Provider, id: &str) -> Result<Row, ScimError> {
    let id: i64 = id.parse().map_err(|_| ScimError::not_found())?;
    let sql = format!("SELECT {COLUMNS} FROM users WHERE {SCOPE} AND id = $2");
    let row: Option<Row> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(provider.account_id)
        .bind(id)
        .fetch_optional(c)
        .await)
    .map_err(ScimError::from)?;
    row.ok_or_else(ScimError::not_found)
}

/// One user of the provider's account.
pub async fn get(state: &AppState, provider: &Provider, id: &str) -> Result<Value, ScimError> {
    let mut tx = state.db.begin().await?;
    let row = load(&mut tx, provider, id).await?;
    tx.commit().await?;
    Ok(to_json(&super::base_url(&state.settings), &row))
}

/// A filter the list understands: `<attribute> eq "<value>"` on the attributes providers look
/// people up by.
fn filter_clause(filter: &str) -> Result<(&'static str, String), ScimError> {
    let unsupported = || {
        ScimError::invalid(
            "invalidFilter",
            "Supported filters: userName, externalId, emails.value or id, with eq",
        )
    };
    let mut parts = filter.trim().splitn(3, ' ');
    let (Some(attr), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(unsupported());
    };
    if !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let value = match serde_json::from_str::<Value>(value.trim()) {
        Ok(Value::String(s)) => s,
        _ => return Err(ScimError::invalid("invalidFilter", "Quote the value")),
    };
    let clause = match attr.to_ascii_lowercase().as_str() {
        "username" => "LOWER(COALESCE(scim_user_name, email)) = LOWER($2)",
        "externalid" => "scim_external_id = $2",
        "emails.value" | "emails" => "email = LOWER($2)",
        "id" => "CAST(id AS TEXT) = $2",
        _ => return Err(unsupported()),
    };
    Ok((clause, value))
}

/// A page of the account's users (`startIndex` from 1), optionally filtered.
pub async fn list(
    state: &AppState,
    provider: &Provider,
    filter: Option<&str>,
    start_index: i64,
    count: Option<i64>,
) -> Result<Value, ScimError> {
    let (clause, value) = match filter.filter(|f| !f.trim().is_empty()) {
        Some(f) => {
            let (c, v) = filter_clause(f)?;
            (c, Some(v))
        }
        None => ("($2 IS NULL OR $2 IS NOT NULL)", None),
    };
    let start = start_index.max(1);
    let count = count.unwrap_or(MAX_RESULTS).clamp(0, MAX_RESULTS);
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE {SCOPE} AND {clause} ORDER BY id LIMIT $3 OFFSET $4"
    );
    let count_sql = format!("SELECT COUNT(*) FROM users WHERE {SCOPE} AND {clause}");
    let db = &state.db;
    let rows: Vec<Row> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(provider.account_id)
        .bind(value.clone())
        .bind(count)
        .bind(start - 1)
        .fetch_all(c)
        .await)
    .map_err(ScimError::from)?;
    let total: i64 = on_db!(db, |c| sqlx::query_scalar(&count_sql)
        .bind(provider.account_id)
        .bind(value.clone())
        .fetch_one(c)
        .await)
    .map_err(ScimError::from)?;
    let base = super::base_url(&state.settings);
    Ok(json!({
        "schemas": [super::LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": rows.len(),
        "Resources": rows.iter().map(|r| to_json(&base, r)).collect::<Vec<_>>(),
    }))
}

/// Refuses a userName another user of the account has.
async fn user_name_free(
    tx: &mut Tx,
    provider: &Provider,
    user_name: &str,
    except: i64,
) -> Result<(), ScimError> {
    let sql = format!(
        "SELECT COUNT(*) FROM users WHERE {SCOPE} AND id <> $3 \
         AND LOWER(COALESCE(scim_user_name, email)) = LOWER($2)"
    );
    let taken: i64 = on_tx!(tx, |c| sqlx::query_scalar(&sql)
        .bind(provider.account_id)
        .bind(user_name)
        .bind(except)
        .fetch_one(c)
        .await)
    .map_err(ScimError::from)?;
    if taken > 0 {
        return Err(ScimError::new(
            409,
            Some("uniqueness"),
            "userName is already in use in this account",
        ));
    }
    Ok(())
}

fn email_taken() -> ScimError {
    ScimError::new(
        409,
        Some("uniqueness"),
        "This email address is already in use",
    )
}

/// Creates an invited user (or a disabled one, when `active` is false) and mails the invitation.
pub async fn create(
    state: &AppState,
    provider: &Provider,
    body: &Value,
    now: i64,
) -> Result<Value, ScimError> {
    let w = wanted(body)?;
    let mut tx = state.db.begin().await?;
    user_name_free(&mut tx, provider, &w.user_name, 0).await?;
    let status = if w.active {
        UserStatus::Invited
    } else {
        UserStatus::Disabled
    };
    let new = NewUser {
        account_id: Some(provider.account_id),
        email: &w.email,
        first_name: &w.first_name,
        last_name: &w.last_name,
        kind: "customer",
        is_admin: false,
        status,
        password_hash: None,
        created_by: None,
    };
    let id = match users::insert(&mut tx, &new, now).await {
        Ok(id) => id,
        Err(crate::error::AppError::Validation(_)) => return Err(email_taken()),
        Err(e) => return Err(e.into()),
    };
    store_scim_fields(&mut tx, id, &w, now).await?;
    if w.active {
        invite(state, &mut tx, provider, id, &w, now).await?;
    }
    let after = json!({ "email": w.email.as_str(), "status": status, "userName": w.user_name });
    audit::append(
        &mut tx,
        &provider.event("user.invited", format!("user:{id}"), after),
        now,
    )
    .await?;
    let row = load(&mut tx, provider, &id.to_string()).await?;
    tx.commit().await?;
    Ok(to_json(&super::base_url(&state.settings), &row))
}

/// Mails user `id` an invitation to choose their password, from the provider.
async fn invite(
    state: &AppState,
    tx: &mut Tx,
    provider: &Provider,
    id: i64,
    w: &Wanted,
    now: i64,
) -> Result<(), ScimError> {
    let account: String = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT name FROM accounts WHERE id = $1"
    )
    .bind(provider.account_id)
    .fetch_one(c)
    .await)
    .map_err(ScimError::from)?;
    let target = Target {
        id,
        account_id: provider.account_id,
        email: w.email.as_str().to_string(),
        first_name: w.first_name.clone(),
        last_name: w.last_name.clone(),
        status: UserStatus::Invited,
        is_admin: false,
        has_password: false,
    };
    let from = "Your company's identity provider";
    issue_link(
        tx,
        state,
        Purpose::Invitation,
        &target,
        &account,
        None,
        from,
        now,
    )
    .await?;
    Ok(())
}

async fn store_scim_fields(tx: &mut Tx, id: i64, w: &Wanted, now: i64) -> Result<(), ScimError> {
    execute!(tx: tx, sqlx::query(
        "UPDATE users SET scim_user_name = $1, scim_external_id = $2, scim_resource = $3, \
         updated_at = $4 WHERE id = $5"
    )
    .bind(&w.user_name)
    .bind(&w.external_id)
    .bind(Value::Object(w.resource.clone()).to_string())
    .bind(now)
    .bind(id))?;
    Ok(())
}

/// Makes user `id` what `w` says: names, email, the provider's attributes, active or not.
async fn save(
    state: &AppState,
    tx: &mut Tx,
    provider: &Provider,
    row: &Row,
    w: Wanted,
    now: i64,
) -> Result<Value, ScimError> {
    user_name_free(tx, provider, &w.user_name, row.id).await?;
    if w.email.as_str() != row.email {
        let taken: i64 = on_tx!(tx, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE email = $1 AND id <> $2"
        )
        .bind(w.email.as_str())
        .bind(row.id)
        .fetch_one(c)
        .await)
        .map_err(ScimError::from)?;
        if taken > 0 {
            return Err(email_taken());
        }
    }
    execute!(tx: tx, sqlx::query(
        "UPDATE users SET email = $1, first_name = $2, last_name = $3 WHERE id = $4"
    )
    .bind(w.email.as_str())
    .bind(&w.first_name)
    .bind(&w.last_name)
    .bind(row.id))?;
    store_scim_fields(tx, row.id, &w, now).await?;
    let was_active = row.status != UserStatus::Disabled;
    let target = format!("user:{}", row.id);
    if was_active && !w.active {
        deactivate(tx, provider, row, now).await?;
        audit::append(
            tx,
            &provider.event(
                "user.disabled",
                target.clone(),
                json!({ "status": "disabled" }),
            ),
            now,
        )
        .await?;
    } else if !was_active && w.active {
        let status = if row.has_password {
            UserStatus::Active
        } else {
            UserStatus::Invited
        };
        execute!(tx: tx, sqlx::query("UPDATE users SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(row.id))?;
        if !row.has_password {
            // Made inactive, never signed in: the way in is a new invitation.
            invite(state, tx, provider, row.id, &w, now).await?;
        }
        audit::append(
            tx,
            &provider.event("user.enabled", target.clone(), json!({ "status": status })),
            now,
        )
        .await?;
    }
    let changed = row.email != w.email.as_str()
        || row.first_name != w.first_name
        || row.last_name != w.last_name;
    if changed {
        let after = json!({ "email": w.email.as_str(), "first_name": w.first_name, "last_name": w.last_name });
        let mut event = provider.event("user.updated", target, after);
        event.before = Some(
            json!({ "email": row.email, "first_name": row.first_name, "last_name": row.last_name }),
        );
        audit::append(tx, &event, now).await?;
    }
    let fresh = load(tx, provider, &row.id.to_string()).await?;
    Ok(to_json(&super::base_url(&state.settings), &fresh))
}

/// Disables user `row` as a manual disable does — sessions and open links end now — unless they
/// are the account's last active administrator.
async fn deactivate(
    tx: &mut Tx,
    provider: &Provider,
    row: &Row,
    now: i64,
) -> Result<(), ScimError> {
    lock_account(tx, provider.account_id).await?;
    if row.is_admin
        && row.status == UserStatus::Active
        && active_admins(tx, provider.account_id).await? <= 1
    {
        return Err(ScimError::new(
            409,
            Some("mutability"),
            "This is the account's last active administrator; make someone else an administrator first",
        ));
    }
    execute!(tx: tx, sqlx::query("UPDATE users SET status = 'disabled', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(row.id))?;
    execute!(tx: tx, sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(row.id))?;
    crate::server::tokens::void_open_links(tx, row.id, None, "revoked", now).await?;
    Ok(())
}

/// PUT: the user becomes exactly what the body says.
pub async fn replace(
    state: &AppState,
    provider: &Provider,
    id: &str,
    body: &Value,
    now: i64,
) -> Result<Value, ScimError> {
    let w = wanted(body)?;
    let mut tx = state.db.begin().await?;
    let row = load(&mut tx, provider, id).await?;
    let answer = save(state, &mut tx, provider, &row, w, now).await?;
    tx.commit().await?;
    Ok(answer)
}

/// One operation of a PatchOp: `op`, `path`, `value`.
pub type Operation = (String, Option<String>, Option<Value>);

/// The operations of a PatchOp body.
pub fn operations(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let ops = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid("invalidSyntax", "A PatchOp needs Operations"))?;
    ops.iter()
        .map(|op| {
            let name = op
                .get("op")
                .and_then(Value::as_str)
                .ok_or_else(|| ScimError::invalid("invalidSyntax", "Each operation needs an op"))?;
            Ok((
                name.to_string(),
                op.get("path").and_then(Value::as_str).map(str::to_string),
                op.get("value").cloned(),
            ))
        })
        .collect()
}

/// `resource` (a JSON object) with operations `ops` applied in order.
pub fn patched(resource: Value, ops: Vec<Operation>) -> Result<Map<String, Value>, ScimError> {
    let mut resource = match resource {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    for (op, path, value) in ops {
        patch::apply(&mut resource, &op, path.as_deref(), value)?;
    }
    Ok(resource)
}

/// PATCH: the operations applied to the user as SCIM shows them, then saved like a PUT.
pub async fn modify(
    state: &AppState,
    provider: &Provider,
    id: &str,
    body: &Value,
    now: i64,
) -> Result<Value, ScimError> {
    let ops = operations(body)?;
    let mut tx = state.db.begin().await?;
    let row = load(&mut tx, provider, id).await?;
    let current = patched(to_json(&super::base_url(&state.settings), &row), ops)?;
    let w = wanted(&Value::Object(current))?;
    let answer = save(state, &mut tx, provider, &row, w, now).await?;
    tx.commit().await?;
    Ok(answer)
}

/// DELETE: the user is disabled (their history stays) and is no longer one of the provider's.
pub async fn remove(
    state: &AppState,
    provider: &Provider,
    id: &str,
    now: i64,
) -> Result<(), ScimError> {
    let mut tx = state.db.begin().await?;
    let row = load(&mut tx, provider, id).await?;
    if row.status != UserStatus::Disabled {
        deactivate(&mut tx, provider, &row, now).await?;
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE users SET scim_removed_at = $1, scim_user_name = NULL, updated_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(row.id))?;
    let after = json!({ "status": "disabled", "removed_by_provider": true });
    audit::append(
        &mut tx,
        &provider.event("user.disabled", format!("user:{}", row.id), after),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
