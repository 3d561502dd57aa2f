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
use super::db::{execute, internal, on_db, on_tx, Db, Tx};
use super::mail::{self, Mail};
use super::state::AppState;
use crate::api::types::{Authorization, ChangeDetail, ChangeOptions, ChangeSummary, Choice};
use crate::change_flow::{self, ChangeMover, ChangeState, ChangeStep};
use crate::error::{AppError, Problems};
use crate::policy::{Actor, Role};
use serde_json::json;

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
}

async fn choices(db: &Db, sql: &str, account_id: i64) -> Result<Vec<Choice>, AppError> {
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(account_id)
        .fetch_all(c)
        .await
        .map_err(internal))
}

/// What the form offers for `account_id`.
pub async fn options(db: &Db, account_id: i64, me: i64) -> Result<ChangeOptions, AppError> {
    let account: Option<(String, String, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT name, service_tier, environments FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await
    .map_err(internal))?;
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
    })
}

/// A `datetime-local` value in zone `zone`, as Unix seconds.
pub fn parse_local(value: &str, zone: &str) -> Option<i64> {
    let civil: jiff::civil::DateTime = value.trim().parse().ok()?;
    let tz = crate::business_hours::zone(zone)?;
    Some(civil.to_zoned(tz).ok()?.timestamp().as_second())
}

/// The time zone person `user_id` sees times in.
async fn zone_of(db: &Db, user_id: i64) -> Result<String, AppError> {
    on_db!(db, |c| sqlx::query_scalar(
        "SELECT time_zone FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    .map_err(internal))
}

fn required(problems: &mut Problems, field: &str, value: &str, max: usize, what: &str) -> String {
    let value = value.trim().to_string();
    if value.is_empty() {
        problems.add(field, format!("Enter {what}"));
    } else if value.chars().count() > max {
        problems.add(field, format!("Keep {what} to {max} characters or fewer"));
    }
    value
}

/// A checked form.
struct Valid {
    requested_by: i64,
    environment: String,
    short_description: String,
    description: String,
    reason: String,
    risk: String,
    window_start: i64,
    window_end: i64,
    rollback_plan: String,
    authorizer: Option<i64>,
}

fn validate(
    opts: &ChangeOptions,
    form: &ChangeForm,
    on_behalf: bool,
    zone: &str,
    now: i64,
) -> Result<Valid, AppError> {
    let mut p = Problems::new();
    let requested_by = pick(
        &mut p,
        "requested_by",
        &form.requested_by,
        &opts.contacts,
        "Choose who requests the change: an active user of the account",
    );
    let environment = form.environment.trim().to_string();
    if !opts.environments.iter().any(|e| *e == environment) {
        p.add("environment", "Choose the environment to change");
    }
    let short_description = required(
        &mut p,
        "short_description",
        &form.short_description,
        SHORT_MAX,
        "a short description",
    );
    let description = required(
        &mut p,
        "description",
        &form.description,
        TEXT_MAX,
        "a description of the change",
    );
    let reason = required(
        &mut p,
        "reason",
        &form.reason,
        TEXT_MAX,
        "the reason for the change",
    );
    if !(form.affects_capacity
        || form.affects_performance
        || form.affects_cost
        || form.affects_security)
    {
        p.add(
            "affects",
            "Choose what the change can affect: capacity, performance, cost or security",
        );
    }
    let risk = form.risk.trim().to_string();
    if !matches!(risk.as_str(), "low" | "medium" | "high") {
        p.add("risk", "Choose the risk: low, medium or high");
    }
    let start = parse_local(&form.window_start, zone);
    let end = parse_local(&form.window_end, zone);
    match (start, end) {
        (None, _) => p.add("window_start", "Enter when the change may start"),
        (Some(s), _) if s < now => p.add("window_start", "The window cannot start in the past"),
        (_, None) => p.add("window_end", "Enter when the change must be done"),
        (Some(s), Some(e)) if e <= s => p.add("window_end", "The window must end after it starts"),
        _ => {}
    }
    let rollback_plan = required(
        &mut p,
        "rollback_plan",
        &form.rollback_plan,
        TEXT_MAX,
        "the rollback plan",
    );
    let authorizer = if on_behalf {
        if opts.administrators.is_empty() {
            p.add(
                "authorizer_id",
                "The account has no active administrator who could authorize the change",
            );
        }
        match form.authorizer_id.trim() {
            "" => None,
            v => Some(pick(
                &mut p,
                "authorizer_id",
                v,
                &opts.administrators,
                "Choose an active administrator of the account, or leave it to any of them",
            )),
        }
    } else {
        if !form.authorized {
            p.add("authorized", format!("Confirm: {}", opts.statement));
        }
        None
    };
    p.finish()?;
    Ok(Valid {
        requested_by,
        environment,
        short_description,
        description,
        reason,
        risk,
        window_start: start.unwrap_or_default(),
        window_end: end.unwrap_or_default(),
        rollback_plan,
        authorizer,
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
        action: "change.authorized",
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        account_id: Some(account_id),
        target: Some(format!("change:{number}")),
        after: Some(authorization_json(
            actor.user_id,
            now,
            client_addr,
            statement,
        )),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(tx, &event, now).await
}

/// The authorization record as the audit trail holds it (and as verification compares it).
pub fn authorization_json(by: i64, at: i64, from: &str, text: &str) -> serde_json::Value {
    json!({ "authorized_by": by, "authorized_at": at, "authorized_from": from, "authorization_text": text })
}

/// Files a change request for `account_id`: a customer's own (authorized by them as they file it),
/// or a platform admin's on the account's behalf (awaiting an administrator's authorization).
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
    let opts = options(&state.db, account_id, actor.user_id).await?;
    if !opts.managed {
        return Err(AppError::Conflict(
            "Change requests are for accounts whose environment the vendor manages. Open a case instead."
                .into(),
        ));
    }
    let zone = zone_of(&state.db, actor.user_id).await?;
    let v = validate(&opts, form, on_behalf, &zone, now)?;
    let mut tx = state.db.begin().await?;
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
    .map_err(internal)
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
         WHERE r.number = $1 AND ($2 = 0 OR r.account_id = $2)"
    );
    let mut detail: ChangeDetail = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(number)
        .bind(account_id.unwrap_or(0))
        .fetch_optional(c)
        .await
        .map_err(internal))?
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
    .map_err(internal)
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
    .map_err(internal)
    })?;
    let current = ChangeState::parse(&detail.state).ok_or(AppError::Internal)?;
    let mover = if staff {
        Some(ChangeMover::Staff)
    } else if may_authorize(actor, change_account, authorizer_id) {
        Some(ChangeMover::CustomerAdmin)
    } else {
        None
    };
    detail.steps = mover
        .map(|m| change_flow::steps(current, m))
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.as_str().to_string())
        .collect();
    detail.viewer_staff = staff;
    Ok(detail)
}

/// Whether `actor` may authorize or decline a change of `account_id`: an administrator of that
/// account — the one named, if one was — speaking for themselves (not impersonated).
fn may_authorize(actor: &Actor, account_id: i64, authorizer_id: Option<i64>) -> bool {
    actor.role == Role::CustomerAdmin
        && actor.account_id == Some(account_id)
        && actor.impersonator_id.is_none()
        && authorizer_id.is_none_or(|id| id == actor.user_id)
}

/// A page of change requests: one account's (customers), or any account's in `state` (staff).
pub async fn list(
    db: &Db,
    account_id: Option<i64>,
    state_filter: &str,
    search: &str,
    page: i64,
    per_page: i64,
) -> Result<(Vec<ChangeSummary>, i64), AppError> {
    let state_filter = ChangeState::parse(state_filter)
        .map(|s| s.as_str())
        .unwrap_or("");
    let search = search.trim().to_uppercase();
    // A number, exactly; otherwise words looked up in the full-text index (every word must occur)
    // of number, short description and description.
    let by_number = if search.len() == 10
        && search.starts_with("CHG")
        && search[3..].chars().all(|ch| ch.is_ascii_digit())
    {
        search.clone()
    } else {
        String::new()
    };
    let words = if by_number.is_empty() {
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
        "($1 = 0 OR r.account_id = $1) AND ($2 = '' OR r.state = $2) \
         AND ($3 = '' OR r.number = $3) AND {word_condition}"
    );
    let sql = format!(
        "SELECT r.number, a.name AS account, r.short_description, r.state, {NAME}r.requested_by) AS requested_by, \
         r.window_start, r.created_at FROM change_requests r JOIN accounts a ON a.id = r.account_id \
         WHERE {filter} ORDER BY r.created_at DESC, r.id DESC LIMIT $5 OFFSET $6"
    );
    let offset = super::db::offset(page, per_page);
    let rows: Vec<ChangeSummary> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id.unwrap_or(0))
        .bind(state_filter)
        .bind(&by_number)
        .bind(&words)
        .bind(per_page)
        .bind(offset)
        .fetch_all(c)
        .await
        .map_err(internal))?;
    let count = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM change_requests r WHERE {filter} LIMIT 10001) capped"
    );
    let total: i64 = on_db!(db, |c| sqlx::query_scalar(&count)
        .bind(account_id.unwrap_or(0))
        .bind(state_filter)
        .bind(&by_number)
        .bind(&words)
        .fetch_one(c)
        .await
        .map_err(internal))?;
    Ok((rows, total))
}

#[derive(sqlx::FromRow)]
struct Locked {
    id: i64,
    number: String,
    account_id: i64,
    state: String,
    authorizer_id: Option<i64>,
    short_description: String,
    requested_by: i64,
}

async fn lock(tx: &mut Tx, number: &str, account_id: Option<i64>) -> Result<Locked, AppError> {
    let lock = match tx {
        Tx::Postgres(_) => "FOR UPDATE",
        Tx::Sqlite(_) => "",
    };
    let sql = format!(
        "SELECT id, number, account_id, state, authorizer_id, short_description, requested_by \
         FROM change_requests WHERE number = $1 AND ($2 = 0 OR account_id = $2) {lock}"
    );
    let row: Option<Locked> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(number)
        .bind(account_id.unwrap_or(0))
        .fetch_optional(c)
        .await
        .map_err(internal))?;
    row.ok_or(AppError::NotFound)
}

/// What goes with a step: a note for the history, and for Schedule the window and implementer.
#[derive(Debug, Clone, Default)]
pub struct StepForm {
    pub note: String,
    pub scheduled_start: String,
    pub scheduled_end: String,
    pub implementer_id: String,
}

/// Moves change request `number` by `step`. Customers reach only their own account's requests;
/// authorizing writes the authorization record; Schedule sets the window and implementer.
pub async fn step(
    state: &AppState,
    actor: &Actor,
    number: &str,
    step: ChangeStep,
    form: &StepForm,
    client_addr: &str,
    now: i64,
) -> Result<ChangeState, AppError> {
    let db = &state.db;
    let staff = actor.role.is_staff();
    let scope = if staff {
        None
    } else {
        Some(actor.account_id()?)
    };
    let zone = zone_of(db, actor.user_id).await?;
    let mut p = Problems::new();
    let note = form.note.trim().to_string();
    if note.chars().count() > TEXT_MAX {
        p.add(
            "note",
            format!("Keep the note to {TEXT_MAX} characters or fewer"),
        );
    }
    let mut schedule: Option<(i64, i64, Option<i64>)> = None;
    if step == ChangeStep::Schedule {
        let mut window = None;
        let start = parse_local(&form.scheduled_start, &zone);
        let end = parse_local(&form.scheduled_end, &zone);
        match (start, end) {
            (None, _) => p.add("scheduled_start", "Enter when the work starts"),
            (_, None) => p.add("scheduled_end", "Enter when the work ends"),
            (Some(s), Some(e)) if e <= s => {
                p.add("scheduled_end", "The work must end after it starts")
            }
            (Some(s), Some(e)) => window = Some((s, e)),
        }
        let people = super::accounts::staff_members(db).await?;
        let implementer = match form.implementer_id.trim() {
            "" => None,
            "me" => Some(actor.user_id),
            v => match v
                .parse::<i64>()
                .ok()
                .filter(|id| people.iter().any(|s| s.id == *id))
            {
                Some(id) => Some(id),
                None => {
                    p.add("implementer_id", "Choose a member of the vendor staff");
                    None
                }
            },
        };
        schedule = window.map(|(s, e)| (s, e, implementer));
    }
    let mut tx = db.begin().await?;
    let change = lock(&mut tx, number, scope).await?;
    let mover = if staff {
        ChangeMover::Staff
    } else if may_authorize(actor, change.account_id, change.authorizer_id) {
        ChangeMover::CustomerAdmin
    } else {
        return Err(AppError::Forbidden);
    };
    let from = ChangeState::parse(&change.state).ok_or(AppError::Internal)?;
    if step == ChangeStep::Convert {
        return Err(AppError::Conflict(
            "Use the conversion form: a case needs its own details".into(),
        ));
    }
    let to = change_flow::next(from, step, mover).map_err(|why| AppError::Conflict(why.into()))?;
    // The step applies: now what came with it must be right.
    p.finish()?;
    if step == ChangeStep::Authorize {
        let account: String = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT name FROM accounts WHERE id = $1"
        )
        .bind(change.account_id)
        .fetch_one(c)
        .await
        .map_err(internal))?;
        let statement = change_flow::authorization_statement(&account);
        record_authorization(
            &mut tx,
            actor,
            (change.id, &change.number, change.account_id),
            &statement,
            client_addr,
            now,
        )
        .await?;
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE change_requests SET state = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(to.as_str())
    .bind(now)
    .bind(change.id))?;
    let mut text = format!("State: {} → {}", from.label(), to.label());
    if let Some((start, end, implementer)) = schedule {
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE change_requests SET scheduled_start = $1, scheduled_end = $2, implementer_id = $3 WHERE id = $4"
        )
        .bind(start)
        .bind(end)
        .bind(implementer)
        .bind(change.id))?;
        let who = match implementer {
            Some(id) => mail::recipient(&mut tx, id).await?.1,
            None => "nobody yet".into(),
        };
        text.push_str(&format!(
            "; window {} – {}; implementer: {who}",
            crate::components::time::format_time_in(Some(start), "UTC"),
            crate::components::time::format_time_in(Some(end), "UTC"),
        ));
    }
    add_entry(
        &mut tx,
        change.id,
        "change",
        Some(actor.user_id),
        &text,
        now,
    )
    .await?;
    if !note.is_empty() {
        let kind = if staff { "note" } else { "change" };
        add_entry(&mut tx, change.id, kind, Some(actor.user_id), &note, now).await?;
    }
    if matches!(step, ChangeStep::Authorize | ChangeStep::Decline) {
        let event = Event {
            action: if step == ChangeStep::Decline {
                "change.declined"
            } else {
                "change.moved"
            },
            actor_id: Some(actor.user_id),
            impersonator_id: actor.impersonator_id,
            account_id: Some(change.account_id),
            target: Some(format!("change:{}", change.number)),
            before: Some(json!({ "state": from.as_str() })),
            after: Some(json!({ "state": to.as_str(), "note": note })),
            client_addr: Some(client_addr),
            ..Event::default()
        };
        audit::append(&mut tx, &event, now).await?;
    }
    // The requester hears of every step.
    let (email, name) = mail::recipient(&mut tx, change.requested_by).await?;
    let link = mail::portal_url(&state.settings, &format!("/changes/{}", change.number));
    let mail = Mail {
        kind: "change_step",
        account_id: Some(change.account_id),
        to_address: &email,
        to_name: &name,
        subject: format!("[{}] {}", change.number, change.short_description),
        body: format!(
            "Hello {name},\n\nChange request {} is now {}.\n\nSee it here: {link}\n",
            change.number,
            to.label()
        ),
        secret_link: None,
    };
    mail::enqueue(&mut tx, &mail, now).await?;
    tx.commit().await?;
    Ok(to)
}

/// Change requests past Awaiting authorization without a complete authorization record: the
/// schema forbids them, so this lists none unless the database was edited behind the portal's
/// back. Also lists records that differ from the one the audit trail holds.
pub async fn unauthorized(db: &Db) -> Result<Vec<String>, AppError> {
    let rows: Vec<(
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT r.number, r.state, r.authorized_by, r.authorized_at, r.authorized_from, \
             r.authorization_text, (SELECT l.after_state FROM audit_log l \
             WHERE l.target = 'change:' || r.number AND l.action IN ('change.authorized', 'change.created') \
             ORDER BY l.id LIMIT 1) FROM change_requests r ORDER BY r.id"
        )
        .fetch_all(c)
        .await
        .map_err(internal)
    })?;
    let mut broken = Vec::new();
    for (number, state, by, at, from, text, audited) in rows {
        let Some(state) = ChangeState::parse(&state) else {
            broken.push(format!("{number}: unknown state {state}"));
            continue;
        };
        let record = match (by, at, &from, &text) {
            (Some(by), Some(at), Some(from), Some(text)) => {
                Some(authorization_json(by, at, from, text))
            }
            _ => None,
        };
        if state.needs_authorization() && record.is_none() {
            broken.push(format!(
                "{number}: {} without an authorization record",
                state.label()
            ));
            continue;
        }
        if let Some(record) = record {
            let audited: Option<serde_json::Value> = audited
                .as_deref()
                .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
                .map(|v| v.get("authorization").cloned().unwrap_or(v));
            if audited.as_ref() != Some(&record) {
                broken.push(format!(
                    "{number}: the authorization differs from the one in the audit trail"
                ));
            }
        }
    }
    Ok(broken)
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

/// Turns change request `number` — one that has not reached Implement — into a case carrying its
/// content and history (SPEC §5.3). Staff give what a case needs and a CR lacks (`form`: product
/// version, impact, workaround, feature, service, availability); the requester, environment,
/// subject and description come from the CR. The CR ends Cancelled, both point at each other,
/// it is audited, and the contact is mailed the new case.
pub async fn convert(
    state: &AppState,
    actor: &Actor,
    number: &str,
    form: &super::cases::CaseForm,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let db = &state.db;
    let found: Option<(
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    )> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT r.account_id, r.requested_by, r.environment, r.short_description, r.description, \
             r.reason, r.risk, r.rollback_plan, r.state FROM change_requests r WHERE r.number = $1"
    )
    .bind(number)
    .fetch_optional(c)
    .await
    .map_err(internal)
    })?;
    let (
        account_id,
        requested_by,
        environment,
        short,
        description,
        reason,
        risk,
        rollback,
        state_now,
    ) = found.ok_or(AppError::NotFound)?;
    let from = ChangeState::parse(&state_now).ok_or(AppError::Internal)?;
    change_flow::next(from, ChangeStep::Convert, ChangeMover::Staff)
        .map_err(|why| AppError::Conflict(why.into()))?;
    let case_form = super::cases::CaseForm {
        contact_id: requested_by.to_string(),
        environment,
        subject: short,
        description: format!(
            "Converted from change request {number}.\n\n{description}\n\n**Reason:** {reason}\n\n\
             **Risk:** {risk}\n\n**Rollback plan:** {rollback}"
        ),
        ..form.clone()
    };
    let opts = super::cases::options(db, account_id, 0).await?;
    let valid = super::cases::validate(db, &opts, &case_form).await?;
    let mut tx = db.begin().await?;
    let change = lock(&mut tx, number, None).await?;
    if change.state != state_now {
        return Err(AppError::Conflict(
            "The change request moved meanwhile; reload it".into(),
        ));
    }
    let (case_number, case_id) = super::cases::insert(
        &mut tx,
        state,
        actor,
        (account_id, &opts.account_name),
        &valid,
        Some((change.id, number)),
        client_addr,
        now,
    )
    .await?;
    // The CR's history, in order, becomes the case's (staff notes stay staff-only).
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) \
         SELECT $1, CASE WHEN kind = 'note' THEN 'work_note' ELSE 'change' END, author_id, \
         $2 || body, at FROM change_entries WHERE change_id = $3"
    )
    .bind(case_id)
    .bind(format!("{number}: "))
    .bind(change.id))?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE change_requests SET state = 'cancelled', converted_case_id = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(case_id)
    .bind(now)
    .bind(change.id))?;
    add_entry(
        &mut tx,
        change.id,
        "change",
        Some(actor.user_id),
        &format!(
            "State: {} → Cancelled (converted into case {case_number})",
            from.label()
        ),
        now,
    )
    .await?;
    let event = Event {
        action: "change.converted",
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        account_id: Some(account_id),
        target: Some(format!("change:{number}")),
        before: Some(json!({ "state": from.as_str() })),
        after: Some(json!({ "state": "cancelled", "case": case_number })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(case_number)
}
