//! Customer accounts (SPEC §2): create and edit them, and set their primary and secondary
//! contacts. Setting a contact makes them an administrator; replacing or clearing one leaves the
//! administrator flag as the platform admin answers; an account never ends up without an active
//! administrator.

use super::access::{self, StaffReason};
use super::audit::{self, Event};
use super::db::{execute, is_unique_violation, on_db, on_tx, Db, Tx};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::Actor;
use crate::model::{AccountDetail, AccountForm, PersonRef, UserStatus};
use serde_json::json;

mod contacts;
pub use contacts::*;

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    name: String,
    account_key: String,
    service_tier: String,
    environments: String,
    tam_user_id: Option<i64>,
    csm_user_id: Option<i64>,
    primary_contact_id: Option<i64>,
    secondary_contact_id: Option<i64>,
    time_zone: String,
    business_start: i32,
    business_end: i32,
    created_at: i64,
    updated_at: i64,
}

const ACCOUNT_COLUMNS: &str = "id, name, account_key, service_tier, environments, tam_user_id, \
     csm_user_id, primary_contact_id, secondary_contact_id, time_zone, \
     CAST(business_start AS INTEGER) AS business_start, CAST(business_end AS INTEGER) AS business_end, \
     created_at, updated_at";

async fn person(db: &Db, id: Option<i64>) -> Result<Option<PersonRef>, AppError> {
    let Some(id) = id else { return Ok(None) };
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, first_name || ' ' || last_name AS name, email, is_admin, status FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(AppError::from)
    })
}

/// One account with its contacts and staff, for the staff account page.
#[tracing::instrument(skip_all)]
pub async fn detail(db: &Db, account_id: i64) -> Result<AccountDetail, AppError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row: Option<AccountRow> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .fetch_optional(c)
        .await)?;
    let row = row.ok_or(AppError::NotFound)?;
    Ok(AccountDetail {
        id: row.id,
        name: row.name,
        account_key: row.account_key,
        service_tier: row.service_tier,
        environments: row.environments.lines().map(str::to_string).collect(),
        tam: person(db, row.tam_user_id).await?,
        csm: person(db, row.csm_user_id).await?,
        primary_contact: person(db, row.primary_contact_id).await?,
        secondary_contact: person(db, row.secondary_contact_id).await?,
        time_zone: row.time_zone,
        business_start: row.business_start,
        business_end: row.business_end,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Validated account fields.
struct Valid {
    name: String,
    key: String,
    tier: String,
    environments: String,
    tam: Option<i64>,
    csm: Option<i64>,
    time_zone: String,
    business_start: i32,
    business_end: i32,
}

/// The business hours an account has now (`None`: a new account, which gets the defaults).
async fn current_hours(db: &Db, account_id: Option<i64>) -> Result<(String, i32, i32), AppError> {
    let Some(id) = account_id else {
        return Ok(("UTC".into(), 540, 1020));
    };
    let row: Option<(String, i32, i32)> = on_db!(db, |c| sqlx::query_as(
        "SELECT time_zone, CAST(business_start AS INTEGER), CAST(business_end AS INTEGER) \
         FROM accounts WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    row.ok_or(AppError::NotFound)
}

async fn validate(db: &Db, form: &AccountForm, account_id: Option<i64>) -> Result<Valid, AppError> {
    let mut problems = Problems::new();
    let name = problems.text(
        "name",
        &form.name,
        200,
        "Enter the account's name",
        "The name must be 200 characters or fewer",
    );
    let key = form.account_key.trim().to_uppercase();
    let key_ok = (2..=20).contains(&key.len())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && key.starts_with(|c: char| c.is_ascii_alphabetic());
    if !key_ok {
        problems.add(
            "account_key",
            "Enter a key of 2 to 20 letters, digits or hyphens, starting with a letter, like ACME",
        );
    }
    let tier = form.service_tier.trim().to_string();
    if tier != "managed" && tier != "self-hosted" {
        problems.add("service_tier", "Choose the service tier");
    }
    let mut environments: Vec<String> = Vec::new();
    for env in form
        .environments
        .lines()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if env.chars().count() > 50 {
            problems.add(
                "environments",
                "Each environment name must be 50 characters or fewer",
            );
            break;
        }
        if !environments.iter().any(|e| e.eq_ignore_ascii_case(env)) {
            environments.push(env.to_string());
        }
    }
    if environments.is_empty() {
        problems.add(
            "environments",
            "Enter at least one environment, one per line",
        );
    }
    let staff = super::directory::staff_members(db).await?;
    let pick = |problems: &mut Problems, field: &str, value: &Option<String>| {
        let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        match value
            .parse::<i64>()
            .ok()
            .filter(|id| staff.iter().any(|s| s.id == *id))
        {
            Some(id) => Some(id),
            None => {
                problems.add(field, "Choose a member of the vendor's staff");
                None
            }
        }
    };
    let tam = pick(&mut problems, "tam_user_id", &form.tam_user_id);
    let csm = pick(&mut problems, "csm_user_id", &form.csm_user_id);
    let (zone_now, start_now, end_now) = current_hours(db, account_id).await?;
    let time_zone = form
        .time_zone
        .as_deref()
        .map_or(zone_now, |z| z.trim().to_string());
    if crate::model::business_hours::zone(&time_zone).is_none() {
        problems.add(
            "time_zone",
            "Choose the time zone of the account's business hours",
        );
    }
    let clock = |value: &Option<String>, now: i32| match value {
        Some(v) => crate::model::business_hours::parse_clock(v),
        None => Some(now),
    };
    let start = clock(&form.business_start, start_now);
    let end = clock(&form.business_end, end_now);
    match (start, end) {
        (None, _) => problems.add(
            "business_start",
            "Enter the opening time as HH:MM, like 09:00",
        ),
        (_, None) => problems.add(
            "business_end",
            "Enter the closing time as HH:MM, like 17:00",
        ),
        (Some(s), Some(e)) if s >= e => problems.add(
            "business_end",
            "The closing time must be after the opening time",
        ),
        _ => {}
    }
    problems.finish()?;
    Ok(Valid {
        name,
        key,
        tier,
        environments: environments.join("\n"),
        tam,
        csm,
        time_zone,
        business_start: start.unwrap_or(540),
        business_end: end.unwrap_or(1020),
    })
}

fn key_taken(err: sqlx::Error) -> AppError {
    if is_unique_violation(&err) {
        AppError::field("account_key", "Another account already has this key")
    } else {
        AppError::from(err)
    }
}

/// Creates (`account_id` = `None`) or updates an account; audited with before and after.
#[tracing::instrument(skip_all)]
pub async fn save(
    state: &AppState,
    actor: &Actor,
    account_id: Option<i64>,
    form: &AccountForm,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
    let v = validate(&state.db, form, account_id).await?;
    let after = json!({
        "name": v.name, "account_key": v.key, "service_tier": v.tier,
        "environments": v.environments, "tam_user_id": v.tam, "csm_user_id": v.csm,
        "time_zone": v.time_zone, "business_start": v.business_start, "business_end": v.business_end,
    });
    // The saved fields, bound as `$1`…`$10` of both statements below.
    macro_rules! bind_fields {
        ($query:expr) => {
            $query
                .bind(&v.name)
                .bind(&v.key)
                .bind(&v.tier)
                .bind(&v.environments)
                .bind(v.tam)
                .bind(v.csm)
                .bind(now)
                .bind(&v.time_zone)
                .bind(v.business_start)
                .bind(v.business_end)
        };
    }
    let mut tx = state.db.begin().await?;
    let (id, before, action) = match account_id {
        None => {
            let id: i64 = on_tx!(&mut tx, |c| {
                bind_fields!(sqlx::query_scalar(
                    "INSERT INTO accounts (name, account_key, service_tier, environments, \
                     tam_user_id, csm_user_id, created_at, updated_at, time_zone, business_start, \
                     business_end) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10) RETURNING id"
                ))
                .fetch_one(c)
                .await
                .map_err(key_taken)
            })?;
            (id, None, "account.created")
        }
        Some(id) => {
            access::lock_account(&mut tx, id).await?;
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
            let old: Option<AccountRow> = on_tx!(&mut tx, |c| sqlx::query_as(&sql)
                .bind(id)
                .fetch_optional(c)
                .await)?;
            let old = old.ok_or(AppError::NotFound)?;
            on_tx!(&mut tx, |c| {
                bind_fields!(sqlx::query(
                    "UPDATE accounts SET name = $1, account_key = $2, service_tier = $3, \
                     environments = $4, tam_user_id = $5, csm_user_id = $6, updated_at = $7, \
                     time_zone = $8, business_start = $9, business_end = $10 WHERE id = $11"
                ))
                .bind(id)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
                .map_err(key_taken)
            })?;
            let before = json!({
                "name": old.name, "account_key": old.account_key, "service_tier": old.service_tier,
                "environments": old.environments, "tam_user_id": old.tam_user_id, "csm_user_id": old.csm_user_id,
                "time_zone": old.time_zone, "business_start": old.business_start, "business_end": old.business_end,
            });
            // Running clocks that count this account's business hours follow the new hours.
            let running: Vec<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
                "SELECT c.id FROM cases c JOIN sla_targets t ON t.priority = c.priority \
                 WHERE c.account_id = $1 AND c.due_at IS NOT NULL AND t.resolution_business_hours"
            )
            .bind(id)
            .fetch_all(c)
            .await)?;
            for case_id in running {
                super::cases::refresh_due(&mut tx, case_id).await?;
            }
            (id, Some(before), "account.updated")
        }
    };
    let event = Event {
        account_id: Some(id),
        target: Some(format!("account:{id}")),
        before,
        after: Some(after),
        ..Event::by(actor, action, client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(id)
}
