//! Change requests (SPEC §5): the customer's form with its authorization statement, requests
//! raised by platform admins on an account's behalf and authorized by one of its administrators,
//! the staff workflow, and conversion of a mistaken request into a case.
//!
//! The authorization record (who, when, from where, the words agreed to) is written once, in the
//! transaction that moves the request out of Awaiting authorization, together with its audit
//! entry; the schema refuses to change it afterwards and refuses any state past Awaiting
//! authorization without it.

use super::audit::{self, Event};
use super::cases::pick;
use super::db::{execute, on_db, on_tx, Db, Tx};
use super::forms::{self, FormKind};
use super::mail::{self, Mail};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::change_flow::{self, ChangeFlow, ChangeMover, ChangeState, ChangeStep, Flow};
use crate::model::Actor;
use crate::model::{Authorization, ChangeDetail, ChangeOptions, ChangeSummary, Choice};
use serde_json::json;

mod form;
mod work;

pub use form::parse_local;
use form::{zone_of, NewChange};
pub use work::*;

pub const SHORT_MAX: usize = 160;
const TEXT_MAX: usize = 20_000;

/// The form as submitted; times are `YYYY-MM-DDTHH:MM` in the submitter's own time zone.
#[derive(Debug, Clone, Default)]
pub struct ChangeForm {
    pub requested_by: String,
    pub environment: String,
    pub short_description: String,
    pub description: String,
    pub reason: String,
    pub affects_capacity: bool,
    pub affects_performance: bool,
    pub affects_cost: bool,
    pub affects_security: bool,
    pub risk: String,
    pub window_start: String,
    pub window_end: String,
    pub rollback_plan: String,
    /// The customer ticked "I am authorized to request this change for …".
    pub authorized: bool,
    /// Staff on the account's behalf: the administrator asked to authorize (empty: any of them).
    pub authorizer_id: String,
    /// The form's idempotency key (see `server::forms`).
    pub form_key: String,
    /// Tokens of the files uploaded for it (see `server::attachments`).
    pub files: Vec<String>,
}

async fn choices(db: &Db, sql: &str, account_id: i64) -> Result<Vec<Choice>, AppError> {
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(account_id)
        .fetch_all(c)
        .await
        .map_err(AppError::from))
}

/// What the form offers for `account_id`.
#[tracing::instrument(skip_all)]
pub async fn options(db: &Db, account_id: i64, me: Option<i64>) -> Result<ChangeOptions, AppError> {
    let account: Option<(String, String, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT name, service_tier, environments FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    let (account_name, tier, environments) = account.ok_or(AppError::NotFound)?;
    Ok(ChangeOptions {
        statement: change_flow::authorization_statement(&account_name),
        account_name,
        managed: tier == "managed",
        environments: environments.lines().map(str::to_string).collect(),
        contacts: super::cases::active_users(db, account_id).await?,
        administrators: choices(
            db,
            "SELECT id, first_name || ' ' || last_name || ' (' || email || ')' AS name FROM users \
             WHERE account_id = $1 AND status = 'active' AND is_admin ORDER BY last_name, first_name, id",
            account_id,
        )
        .await?,
        me,
        file_limit: 0,
    })
}

async fn next_number(tx: &mut Tx) -> Result<String, AppError> {
    Ok(change_flow::change_number(
        super::db::next_counter(tx, "change").await?,
    ))
}

async fn add_entry(
    tx: &mut Tx,
    change_id: i64,
    kind: &str,
    author: Option<i64>,
    body: &str,
    now: i64,
) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "INSERT INTO change_entries (change_id, kind, author_id, body, at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(change_id)
    .bind(kind)
    .bind(author)
    .bind(body)
    .bind(now))?;
    Ok(())
}

/// Writes the authorization record of change `change_id` and its audit entry, in `tx`.
async fn record_authorization(
    tx: &mut Tx,
    actor: &Actor,
    change: (i64, &str, i64),
    statement: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let (change_id, number, account_id) = change;
    execute!(tx: tx, sqlx::query(
        "UPDATE change_requests SET authorized_by = $1, authorized_at = $2, authorized_from = $3, \
         authorization_text = $4 WHERE id = $5 AND authorized_at IS NULL"
    )
    .bind(actor.user_id)
    .bind(now)
    .bind(client_addr)
    .bind(statement)
    .bind(change_id))?;
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("change:{number}")),
        after: Some(authorization_json(
            actor.user_id,
            now,
            client_addr,
            statement,
        )),
        ..Event::by(actor, "change.authorized", client_addr)
    };
    audit::append(tx, &event, now).await
}

/// The authorization record as the audit trail holds it (and as verification compares it).
pub fn authorization_json(by: i64, at: i64, from: &str, text: &str) -> serde_json::Value {
    json!({ "authorized_by": by, "authorized_at": at, "authorized_from": from, "authorization_text": text })
}

/// Files a change request for `account_id`: a customer's own (authorized by them as they file it),
/// or a platform admin's on the account's behalf (awaiting an administrator's authorization).
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    form: &ChangeForm,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let on_behalf = actor.role.is_staff();
    if actor.impersonator_id.is_some() {
        // An authorization is the customer's own word: nobody gives it while impersonating them.
        return Err(AppError::Forbidden);
    }
    let opts = options(&state.db, account_id, Some(actor.user_id)).await?;
    if !opts.managed {
        return Err(AppError::Conflict(
            "Change requests are for accounts whose environment the vendor manages. Open a case instead."
                .into(),
        ));
    }
    let zone = zone_of(&state.db, actor.user_id).await?;
    let v = NewChange::parse(&opts, form, on_behalf, &zone, now)?;
    let mut tx = state.db.begin().await?;
    let key = Some(form.form_key.as_str());
    let lookup = "SELECT number FROM change_requests WHERE id = $1";
    if let Some(number) =
        forms::number_made_before(&mut tx, actor.user_id, FormKind::Change, key, lookup, now)
            .await?
    {
        return Ok(number);
    }
    let number = next_number(&mut tx).await?;
    let state_now = if on_behalf {
        ChangeState::AwaitingAuthorization
    } else {
        ChangeState::New
    };
    let change_id: i64 = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO change_requests (number, account_id, requested_by, created_by, on_behalf, authorizer_id, \
         environment, short_description, description, reason, affects_capacity, affects_performance, \
         affects_cost, affects_security, risk, window_start, window_end, rollback_plan, state, created_at, \
         updated_at, authorized_by, authorized_at, authorized_from, authorization_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, \
         $21, $22, $23, $24) RETURNING id"
    )
    .bind(&number)
    .bind(account_id)
    .bind(v.requested_by)
    .bind(actor.user_id)
    .bind(on_behalf)
    .bind(v.authorizer)
    .bind(&v.environment)
    .bind(&v.short_description)
    .bind(&v.description)
    .bind(&v.reason)
    .bind(form.affects_capacity)
    .bind(form.affects_performance)
    .bind(form.affects_cost)
    .bind(form.affects_security)
    .bind(&v.risk)
    .bind(v.window_start)
    .bind(v.window_end)
    .bind(&v.rollback_plan)
    .bind(state_now.as_str())
    .bind(now)
    // A customer's own request carries their authorization from the start.
    .bind((!on_behalf).then_some(actor.user_id))
    .bind((!on_behalf).then_some(now))
    .bind((!on_behalf).then_some(client_addr))
    .bind((!on_behalf).then_some(opts.statement.as_str()))
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    let created = if on_behalf {
        "Change request raised by vendor staff on the account's behalf; awaiting authorization"
    } else {
        "Change request filed and authorized by the requester"
    };
    add_entry(
        &mut tx,
        change_id,
        "change",
        Some(actor.user_id),
        created,
        now,
    )
    .await?;
    let mut event = Event {
        action: if on_behalf {
            "change.created_on_behalf"
        } else {
            "change.created"
        },
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        account_id: Some(account_id),
        target: Some(format!("change:{number}")),
        after: Some(json!({
            "requested_by": v.requested_by, "short_description": v.short_description,
            "environment": v.environment, "authorizer_id": v.authorizer,
        })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    if !on_behalf {
        event.after = Some(json!({
            "requested_by": v.requested_by, "short_description": v.short_description,
            "environment": v.environment,
            "authorization": authorization_json(actor.user_id, now, client_addr, &opts.statement),
        }));
    }
    audit::append(&mut tx, &event, now).await?;
    let owner = super::attachments::Owner::Change {
        id: change_id,
        number: &number,
        account_id,
    };
    let limit = state.settings.max_case_bytes();
    super::attachments::claim(&mut tx, actor, &form.files, owner, limit, client_addr, now).await?;
    forms::record(&mut tx, actor.user_id, key, change_id).await?;
    if on_behalf {
        // The administrators (or the one named) are asked to authorize it in the portal.
        let link = mail::portal_url(&state.settings, &format!("/changes/{number}"));
        let asked: Vec<&Choice> = opts
            .administrators
            .iter()
            .filter(|a| v.authorizer.is_none_or(|id| id == a.id))
            .collect();
        for admin in asked {
            let (email, name) = mail::recipient(&mut tx, admin.id).await?;
            let mail = Mail {
                kind: "change_authorization",
                account_id: Some(account_id),
                to_address: &email,
                to_name: &name,
                subject: format!("[{number}] Authorization needed: {}", v.short_description),
                body: format!(
                    "Hello {name},\n\nOur staff raised change request {number} for {} on your behalf:\n\n  {}\n\n\
                     Nothing will be done until an administrator of your account authorizes it. Sign in, \
                     read it and authorize or decline it here: {link}\n",
                    opts.account_name, v.short_description
                ),
                secret_link: None,
            };
            mail::enqueue(&mut tx, &mail, now).await?;
        }
    }
    tx.commit().await?;
    Ok(number)
}

const NAME: &str = "(SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = ";

/// A change request's page. `account_id` (a customer's) limits it to that account: any other is
/// "not found", like a number that does not exist. Staff notes only for staff.
#[tracing::instrument(skip_all)]
pub async fn get(
    db: &Db,
    actor: &Actor,
    number: &str,
    account_id: Option<i64>,
) -> Result<ChangeDetail, AppError> {
    let sql = format!(
        "SELECT r.number, r.account_id, a.name AS account, {NAME}r.requested_by) AS requested_by, \
         {NAME}r.created_by) AS created_by, r.on_behalf, {NAME}r.authorizer_id) AS authorizer, \
         r.environment, r.short_description, r.description, r.reason, r.affects_capacity, \
         r.affects_performance, r.affects_cost, r.affects_security, r.risk, r.window_start, r.window_end, \
         r.rollback_plan, r.state, r.scheduled_start, r.scheduled_end, {NAME}r.implementer_id) AS implementer, \
         (SELECT c.number FROM cases c WHERE c.id = r.converted_case_id) AS converted_case, r.created_at \
         FROM change_requests r JOIN accounts a ON a.id = r.account_id \
         WHERE r.number = $1 AND ($2 IS NULL OR r.account_id = $2)"
    );
    let mut detail: ChangeDetail = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(number)
        .bind(account_id)
        .fetch_optional(c)
        .await)?
    .ok_or(AppError::NotFound)?;
    let record: (
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
        i64,
        Option<i64>,
    ) = on_db!(db, |c| {
        sqlx::query_as(&format!(
        "SELECT r.authorized_by, {NAME}r.authorized_by), r.authorized_at, r.authorized_from, \
         r.authorization_text, r.account_id, r.authorizer_id FROM change_requests r WHERE r.number = $1"
    ))
    .bind(number)
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    let (by_id, by, at, from, text, change_account, authorizer_id) = record;
    if let (Some(_), Some(by), Some(at), Some(from), Some(text)) = (by_id, by, at, from, text) {
        detail.authorization = Some(Authorization { by, at, from, text });
    }
    let staff = actor.role.is_staff();
    detail.entries = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT e.kind, COALESCE(u.first_name || ' ' || u.last_name, 'Portcullis') AS author, e.body, e.at \
         FROM change_entries e JOIN change_requests r ON r.id = e.change_id \
         LEFT JOIN users u ON u.id = e.author_id \
         WHERE r.number = $1 AND ($2 OR e.kind <> 'note') ORDER BY e.at, e.id"
    )
    .bind(number)
    .bind(staff)
    .fetch_all(c)
    .await
    .map_err(AppError::from)
    })?;
    let current = detail.state;
    detail.steps = crate::policy::change_mover(actor, change_account, authorizer_id)
        .map(|m| ChangeFlow::steps(current, m))
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.as_str().to_string())
        .collect();
    detail.viewer_staff = staff;
    let id: i64 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT id FROM change_requests WHERE number = $1"
    )
    .bind(number)
    .fetch_one(c)
    .await)?;
    detail.attachments = super::attachments::for_change(db, id, actor).await?;
    Ok(detail)
}

/// A page of change requests: one account's (customers), or any account's in `state` (staff).
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    account_id: Option<i64>,
    state_filter: &str,
    search: &str,
    page: i64,
    per_page: i64,
) -> Result<(Vec<ChangeSummary>, i64), AppError> {
    let state_filter = ChangeState::parse(state_filter).map(ChangeState::as_str);
    let search = search.trim().to_uppercase();
    // A number, exactly; otherwise words looked up in the full-text index (every word must occur)
    // of number, short description and description.
    let by_number = (search.len() == 10
        && search.starts_with("CHG")
        && search[3..].chars().all(|ch| ch.is_ascii_digit()))
    .then(|| search.clone());
    let words = if by_number.is_none() {
        super::cases::search_words(&search).unwrap_or_default()
    } else {
        Vec::new()
    };
    let (words, text_match) = match db {
        Db::Sqlite(_) => (
            words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" "),
            "r.id IN (SELECT rowid FROM change_requests_fts WHERE change_requests_fts MATCH $4)",
        ),
        Db::Postgres(_) => (words.join(" "), "r.search @@ plainto_tsquery('simple', $4)"),
    };
    // Without words, $4 is bound empty and matches every row; the full-text condition appears
    // only when there is something to look up (an empty FTS5 query is a syntax error).
    let word_condition = if words.is_empty() {
        "$4 = ''"
    } else {
        text_match
    };
    let filter = format!(
        "($1 IS NULL OR r.account_id = $1) AND ($2 IS NULL OR r.state = $2) \
         AND ($3 IS NULL OR r.number = $3) AND {word_condition}"
    );
    let sql = format!(
        "SELECT r.number, a.name AS account, r.short_description, r.state, {NAME}r.requested_by) AS requested_by, \
         r.window_start, r.created_at FROM change_requests r JOIN accounts a ON a.id = r.account_id \
         WHERE {filter} ORDER BY r.created_at DESC, r.id DESC LIMIT $5 OFFSET $6"
    );
    let offset = super::db::offset(page, per_page);
    let rows: Vec<ChangeSummary> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .bind(state_filter)
        .bind(&by_number)
        .bind(&words)
        .bind(per_page)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    let count = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM change_requests r WHERE {filter} LIMIT 10001) capped"
    );
    let total: i64 = on_db!(db, |c| sqlx::query_scalar(&count)
        .bind(account_id)
        .bind(state_filter)
        .bind(&by_number)
        .bind(&words)
        .fetch_one(c)
        .await)?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::parse_local;

    #[test]
    fn local_times_are_read_in_the_persons_zone() {
        assert_eq!(parse_local("2026-11-22T21:58", "UTC"), Some(1_795_384_680));
        assert_eq!(
            parse_local("2026-11-22T22:58", "Europe/Berlin"),
            Some(1_795_384_680)
        );
        assert_eq!(parse_local("tomorrow", "UTC"), None);
        assert_eq!(parse_local("2026-11-22T21:58", "Nowhere/Else"), None);
    }
}
