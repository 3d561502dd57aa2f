//! Support cases (SPEC §4): the customer case form, case numbers, the customer's lists and the
//! case page with its customer-visible activity.

use super::db::{bind_args, execute, internal, on_db, on_tx, Arg, Db, Tx};
use super::mail::{self, Mail};
use super::state::AppState;
use crate::api::types::{CaseDetail, CaseOptions, CaseSummary, Choice};
use crate::business_hours::BusinessHours;
use crate::case_flow::{self, CaseState, Mover, Step};
use crate::error::{AppError, Problems};
use crate::policy::Actor;

/// The customer case form as submitted. Ids arrive as text so that an empty choice is an error
/// on its field, not a failed request.
#[derive(Debug, Clone, Default)]
pub struct CaseForm {
    pub contact_id: String,
    pub product_version_id: String,
    pub impact_id: String,
    pub workaround: String,
    pub feature_id: String,
    pub service_id: String,
    pub environment: String,
    pub availability_id: String,
    pub subject: String,
    pub description: String,
}

/// The longest subject (SPEC §4.1).
pub const SUBJECT_MAX: usize = 160;
const DESCRIPTION_MAX: usize = 20_000;
const COMMENT_MAX: usize = 20_000;

/// Priority from impact × urgency: the impact's severity (1 = production down), one step lower
/// when a workaround or rollback exists.
pub fn priority(severity: i32, workaround: &str) -> i32 {
    (severity + i32::from(workaround == "yes")).clamp(1, 4)
}

/// `CS` + 7 digits.
pub fn case_number(value: i64) -> String {
    format!("CS{value:07}")
}

async fn choices(db: &Db, sql: &str) -> Result<Vec<Choice>, AppError> {
    on_db!(db, |c| sqlx::query_as(sql)
        .fetch_all(c)
        .await
        .map_err(internal))
}

/// The active users of `account_id`, as "Name (email)": who can be a case's contact or a change
/// request's requester.
pub(crate) async fn active_users(db: &Db, account_id: i64) -> Result<Vec<Choice>, AppError> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT id, first_name || ' ' || last_name || ' (' || email || ')' AS name FROM users \
         WHERE account_id = $1 AND status = 'active' ORDER BY last_name, first_name, id"
    )
    .bind(account_id)
    .fetch_all(c)
    .await
    .map_err(internal))
}

/// The pick lists of the case form for `account_id`.
pub async fn options(db: &Db, account_id: i64, me: i64) -> Result<CaseOptions, AppError> {
    let account: Option<(String, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT name, environments FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await
    .map_err(internal))?;
    let (account_name, environments) = account.ok_or(AppError::NotFound)?;
    let contacts = active_users(db, account_id).await?;
    Ok(CaseOptions {
        account_name,
        me,
        contacts,
        versions: choices(
            db,
            "SELECT id, name FROM product_versions WHERE active ORDER BY sort DESC, name",
        )
        .await?,
        impacts: choices(
            db,
            "SELECT id, name FROM impact_levels WHERE active ORDER BY severity",
        )
        .await?,
        features: choices(
            db,
            "SELECT id, name FROM features WHERE active ORDER BY name",
        )
        .await?,
        services: choices(
            db,
            "SELECT id, name FROM services WHERE active ORDER BY name",
        )
        .await?,
        environments: environments.lines().map(str::to_string).collect(),
        windows: choices(
            db,
            "SELECT id, name FROM availability_windows WHERE active ORDER BY sort, name",
        )
        .await?,
    })
}

/// The active assignment groups.
pub async fn groups(db: &Db) -> Result<Vec<Choice>, AppError> {
    choices(
        db,
        "SELECT id, name FROM assignment_groups WHERE active ORDER BY name",
    )
    .await
}

/// A checked form, ready to store.
pub(crate) struct Valid {
    contact_id: i64,
    version_id: i64,
    impact_id: i64,
    severity: i32,
    workaround: String,
    feature_id: i64,
    service_id: i64,
    environment: String,
    availability_id: i64,
    subject: String,
    description: String,
}

pub(crate) fn pick(
    problems: &mut Problems,
    field: &str,
    value: &str,
    list: &[Choice],
    missing: &str,
) -> i64 {
    match value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| list.iter().any(|c| c.id == *id))
    {
        Some(id) => id,
        None => {
            problems.add(field, missing);
            0
        }
    }
}

pub(crate) async fn validate(
    db: &Db,
    opts: &CaseOptions,
    form: &CaseForm,
) -> Result<Valid, AppError> {
    let mut p = Problems::new();
    let contact_id = pick(
        &mut p,
        "contact_id",
        &form.contact_id,
        &opts.contacts,
        "Choose the contact for this case: an active user of your account",
    );
    let version_id = pick(
        &mut p,
        "product_version_id",
        &form.product_version_id,
        &opts.versions,
        "Choose the product version",
    );
    let impact_id = pick(
        &mut p,
        "impact_id",
        &form.impact_id,
        &opts.impacts,
        "Choose the impact on your business",
    );
    let workaround = form.workaround.trim().to_string();
    if !matches!(workaround.as_str(), "yes" | "no" | "unknown") {
        p.add(
            "workaround",
            "Say whether a workaround or rollback is available: yes, no or unknown",
        );
    }
    let feature_id = pick(
        &mut p,
        "feature_id",
        &form.feature_id,
        &opts.features,
        "Choose the feature",
    );
    let service_id = pick(
        &mut p,
        "service_id",
        &form.service_id,
        &opts.services,
        "Choose the service",
    );
    let environment = form.environment.trim().to_string();
    if !opts.environments.iter().any(|e| *e == environment) {
        p.add("environment", "Choose the affected environment");
    }
    let availability_id = pick(
        &mut p,
        "availability_id",
        &form.availability_id,
        &opts.windows,
        "Choose when we can reach you. There is no default: support needs to know when you are available",
    );
    let subject = form.subject.trim().to_string();
    if subject.is_empty() {
        p.add("subject", "Enter a subject");
    } else if subject.chars().count() > SUBJECT_MAX {
        p.add(
            "subject",
            format!("The subject must be {SUBJECT_MAX} characters or fewer"),
        );
    }
    let description = form.description.trim().to_string();
    if description.is_empty() {
        p.add("description", "Describe the problem");
    } else if description.chars().count() > DESCRIPTION_MAX {
        p.add(
            "description",
            format!("The description must be {DESCRIPTION_MAX} characters or fewer"),
        );
    }
    // The feature must exist in the chosen version (the compatibility matrix).
    if feature_id > 0 && version_id > 0 {
        let offered: i64 = on_db!(db, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM feature_versions WHERE feature_id = $1 AND version_id = $2"
        )
        .bind(feature_id)
        .bind(version_id)
        .fetch_one(c)
        .await
        .map_err(internal))?;
        if offered == 0 {
            p.add(
                "feature_id",
                "This feature is not available in the chosen version: see the compatibility matrix",
            );
        }
    }
    p.finish()?;
    let severity: i32 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT severity FROM impact_levels WHERE id = $1"
    )
    .bind(impact_id)
    .fetch_one(c)
    .await
    .map_err(internal))?;
    Ok(Valid {
        contact_id,
        version_id,
        impact_id,
        severity,
        workaround,
        feature_id,
        service_id,
        environment,
        availability_id,
        subject,
        description,
    })
}

/// The next case number, inside the caller's write transaction (the counter row is locked until
/// commit, so concurrent cases get distinct numbers on both engines, and a number is never reused).
async fn next_number(tx: &mut Tx) -> Result<String, AppError> {
    Ok(case_number(super::db::next_counter(tx, "case").await?))
}

/// Files a case for `account_id` — a customer's own, or any for vendor staff acting on the
/// customer's behalf (`actor.role` is staff), which the case and the audit trail record. The
/// contact is told by mail. Returns the number.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    form: &CaseForm,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let opts = options(&state.db, account_id, actor.user_id).await?;
    let v = validate(&state.db, &opts, form).await?;
    let mut tx = state.db.begin().await?;
    let (number, _) = insert(
        &mut tx,
        state,
        actor,
        (account_id, &opts.account_name),
        &v,
        None,
        client_addr,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}

/// Stores checked case `v` for account (`id`, `name`) in `tx`, with its first history entry,
/// SLA deadline, audit entry (on behalf) and the contact's mail. `from_change`: the change
/// request it is made from. Answers the case's number and id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    tx: &mut Tx,
    state: &AppState,
    actor: &Actor,
    account: (i64, &str),
    v: &Valid,
    from_change: Option<(i64, &str)>,
    client_addr: &str,
    now: i64,
) -> Result<(String, i64), AppError> {
    let (account_id, account_name) = account;
    let on_behalf = actor.role.is_staff();
    let number = next_number(tx).await?;
    let group: i64 = on_tx!(&mut *tx, |c| sqlx::query_scalar(
        super::catalog::DEFAULT_GROUP_SQL
    )
    .fetch_one(c)
    .await
    .map_err(internal))?;
    let case_id: i64 = on_tx!(&mut *tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO cases (number, account_id, contact_id, created_by, on_behalf, product_version_id, \
         impact_id, workaround, feature_id, service_id, environment, availability_id, subject, \
         description, state, priority, assignment_group_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $17, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'new', $14, $15, $16, $16) \
         RETURNING id"
    )
    .bind(&number)
    .bind(account_id)
    .bind(v.contact_id)
    .bind(actor.user_id)
    .bind(v.version_id)
    .bind(v.impact_id)
    .bind(&v.workaround)
    .bind(v.feature_id)
    .bind(v.service_id)
    .bind(&v.environment)
    .bind(v.availability_id)
    .bind(&v.subject)
    .bind(&v.description)
    .bind(priority(v.severity, &v.workaround))
    .bind(group)
    .bind(now)
    .bind(on_behalf)
    .fetch_one(c)
    .await
    .map_err(internal)
    })?;
    execute!(tx: &mut *tx, sqlx::query(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, 'change', $2, $3, $4)"
    )
    .bind(case_id)
    .bind(actor.user_id)
    .bind(match from_change {
        Some((_, change)) => format!("Case created by vendor staff from change request {change}"),
        None if on_behalf => "Case created by vendor staff on the customer's behalf".into(),
        None => "Case created".to_string(),
    })
    .bind(now))?;
    if let Some((change_id, _)) = from_change {
        execute!(tx: tx, sqlx::query("UPDATE cases SET from_change_id = $1 WHERE id = $2")
            .bind(change_id)
            .bind(case_id))?;
    }
    refresh_due(&mut *tx, case_id).await?;
    if on_behalf {
        let event = super::audit::Event {
            action: "case.created_on_behalf",
            actor_id: Some(actor.user_id),
            impersonator_id: actor.impersonator_id,
            account_id: Some(account_id),
            target: Some(format!("case:{number}")),
            after: Some(serde_json::json!({ "contact_id": v.contact_id, "subject": v.subject })),
            client_addr: Some(client_addr),
            ..Default::default()
        };
        super::audit::append(&mut *tx, &event, now).await?;
    }
    let contact = mail::recipient(&mut *tx, v.contact_id).await?;
    let link = mail::portal_url(&state.settings, &format!("/cases/{number}"));
    let mail = Mail {
        kind: "case_created",
        account_id: Some(account_id),
        to_address: &contact.0,
        to_name: &contact.1,
        subject: format!("[{number}] {}", v.subject),
        body: format!(
            "Hello {},\n\nCase {number} was opened for {}{} and you are its contact:\n\n  {}\n\n\
             Follow it and reply here: {link}\n\nWe answer within the time your service level sets.\n",
            contact.1,
            account_name,
            if on_behalf { " by our support staff on your behalf" } else { "" },
            v.subject
        ),
        secret_link: None,
    };
    mail::enqueue(tx, &mail, now).await?;
    Ok((number, case_id))
}

/// One page of an account's cases: all of them (`team`), or those the person opened or is the
/// contact of (`mine`). Newest first.
pub async fn list(
    db: &Db,
    account_id: i64,
    mine: Option<i64>,
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<(Vec<CaseSummary>, i64), AppError> {
    let me = mine.unwrap_or(0);
    let filter = "c.account_id = $1 AND ($2 = 0 OR c.contact_id = $2 OR c.created_by = $2)";
    let sql = format!(
        "SELECT c.number, c.subject, c.priority, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.contact_id) AS contact, \
         c.updated_at, {CLOCK_COLUMNS} FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN sla_targets t ON t.priority = c.priority WHERE c.id IN (SELECT c.id FROM cases c \
         WHERE {filter} ORDER BY c.created_at DESC, c.id DESC LIMIT $3 OFFSET $4) \
         ORDER BY c.created_at DESC, c.id DESC"
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        number: String,
        subject: String,
        priority: i32,
        contact: String,
        updated_at: i64,
        #[sqlx(flatten)]
        clock: ClockRow,
    }
    let offset = super::db::offset(page, per_page);
    let rows: Vec<Row> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .bind(me)
        .bind(per_page)
        .bind(offset)
        .fetch_all(c)
        .await
        .map_err(internal))?;
    let rows = rows
        .into_iter()
        .map(|r| CaseSummary {
            resolution_left: r.clock.left(now).1,
            number: r.number,
            subject: r.subject,
            state: r.clock.state.clone(),
            priority: r.priority,
            contact: r.contact,
            created_at: r.clock.created_at,
            updated_at: r.updated_at,
        })
        .collect();
    let count = format!("SELECT COUNT(*) FROM cases c WHERE {filter}");
    let total: i64 = on_db!(db, |c| sqlx::query_scalar(&count)
        .bind(account_id)
        .bind(me)
        .fetch_one(c)
        .await
        .map_err(internal))?;
    Ok((rows, total))
}

/// A case by number. `account_id` (a customer's) limits it to that account: any other case is
/// "not found", exactly like a number that does not exist. `with_notes` is for staff only.
pub async fn get(
    db: &Db,
    number: &str,
    account_id: Option<i64>,
    with_notes: bool,
    now: i64,
) -> Result<CaseDetail, AppError> {
    let mut detail: CaseDetail = on_db!(db, |c| sqlx::query_as(
        "SELECT c.number, a.name AS account, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.contact_id) AS contact, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.created_by) AS created_by, \
         c.on_behalf, v.name AS version, i.name AS impact, c.workaround, f.name AS feature, \
         s.name AS service, c.environment, w.name AS availability, c.subject, c.description, \
         c.state, c.priority, g.name AS assignment_group, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.assigned_to) AS assigned_to, \
         c.created_at, c.updated_at, c.priority_reason, \
         (SELECT r.number FROM change_requests r WHERE r.id = c.from_change_id) AS from_change \
         FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN product_versions v ON v.id = c.product_version_id JOIN impact_levels i ON i.id = c.impact_id \
         JOIN features f ON f.id = c.feature_id JOIN services s ON s.id = c.service_id \
         JOIN availability_windows w ON w.id = c.availability_id JOIN assignment_groups g ON g.id = c.assignment_group_id \
         WHERE c.number = $1 AND ($2 = 0 OR c.account_id = $2)"
    )
    .bind(number)
    .bind(account_id.unwrap_or(0))
    .fetch_optional(c)
    .await
    .map_err(internal))?
    .ok_or(AppError::NotFound)?;
    // Work notes are left out in the query itself, so they never reach a customer's response.
    detail.entries = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT e.kind, COALESCE(u.first_name || ' ' || u.last_name, 'Portcullis') AS author, e.body, e.at \
         FROM case_entries e JOIN cases c ON c.id = e.case_id LEFT JOIN users u ON u.id = e.author_id \
         WHERE c.number = $1 AND ($2 OR e.kind <> 'work_note') ORDER BY e.at, e.id"
    )
    .bind(number)
    .bind(with_notes)
    .fetch_all(c)
    .await
    .map_err(internal)
    })?;
    let clock: ClockRow = on_db!(db, |c| {
        sqlx::query_as(&format!(
            "SELECT {CLOCK_COLUMNS} FROM cases c JOIN sla_targets t ON t.priority = c.priority \
         JOIN accounts a ON a.id = c.account_id WHERE c.number = $1"
        ))
        .bind(number)
        .fetch_one(c)
        .await
        .map_err(internal)
    })?;
    detail.description_html = super::markdown::render(&detail.description);
    for entry in &mut detail.entries {
        // Activity lines ("change") are the portal's words around plain values (a reason, a group
        // name): shown as typed. Comments and notes are written as Markdown.
        entry.body_html = if entry.kind == "change" {
            super::markdown::plain_html(&entry.body)
        } else {
            super::markdown::render(&entry.body)
        };
    }
    let (first, resolution) = clock.left(now);
    detail.first_response_left = first;
    detail.resolution_left = resolution;
    detail.first_response_target = clock.first_response_minutes * 60;
    detail.resolution_target = clock.resolution_minutes * 60;
    Ok(detail)
}

/// The SLA clock columns of case `c`: needs `t` (its priority's `sla_targets` row) and `a` (its
/// account) in the query.
const CLOCK_COLUMNS: &str =
    "c.state, c.created_at, c.paused_seconds, c.paused_business_seconds, c.paused_since, \
     c.first_response_at, c.resolved_at, \
     CAST(t.first_response_minutes AS BIGINT) AS first_response_minutes, \
     CAST(t.resolution_minutes AS BIGINT) AS resolution_minutes, \
     t.business_hours AS first_business, t.resolution_business_hours AS resolution_business, \
     a.time_zone, CAST(a.business_start AS INTEGER) AS business_start, \
     CAST(a.business_end AS INTEGER) AS business_end";

/// A case's SLA clock columns with its priority's targets and its account's business hours.
#[derive(sqlx::FromRow)]
struct ClockRow {
    state: String,
    created_at: i64,
    paused_seconds: i64,
    paused_business_seconds: i64,
    paused_since: Option<i64>,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    first_response_minutes: i64,
    resolution_minutes: i64,
    first_business: bool,
    resolution_business: bool,
    time_zone: String,
    business_start: i32,
    business_end: i32,
}

impl ClockRow {
    fn hours(&self) -> BusinessHours {
        BusinessHours::new(&self.time_zone, self.business_start, self.business_end)
    }

    /// Seconds of a target used at `now`: calendar time, or working time when `business`.
    fn used(&self, business: bool, hours: &BusinessHours, now: i64) -> i64 {
        let clock = case_flow::Clock {
            started_at: self.created_at,
            paused_seconds: if business {
                self.paused_business_seconds
            } else {
                self.paused_seconds
            },
            paused_since: self.paused_since,
            stopped_at: None,
        };
        if business {
            clock.elapsed_by(now, |a, b| hours.seconds_between(a, b))
        } else {
            clock.elapsed(now)
        }
    }

    /// Seconds left to first response and to resolution at `now`; `None` for a clock that no
    /// longer runs (met, or the case is closed or cancelled).
    fn left(&self, now: i64) -> (Option<i64>, Option<i64>) {
        let done = matches!(self.state.as_str(), "closed" | "cancelled");
        let hours = self.hours();
        let first = (!done && self.first_response_at.is_none()).then(|| {
            self.first_response_minutes * 60 - self.used(self.first_business, &hours, now)
        });
        let resolution = (!done && self.resolved_at.is_none()).then(|| {
            self.resolution_minutes * 60 - self.used(self.resolution_business, &hours, now)
        });
        (first, resolution)
    }

    /// When the resolution target runs out, while its clock runs: kept in `cases.due_at` so the
    /// "breaching" queue is an index range.
    fn resolution_due(&self) -> Option<i64> {
        let running = matches!(self.state.as_str(), "new" | "open")
            && self.paused_since.is_none()
            && self.resolved_at.is_none();
        let target = self.resolution_minutes * 60;
        running.then(|| {
            if self.resolution_business {
                self.hours()
                    .add(self.created_at, target + self.paused_business_seconds)
            } else {
                self.created_at + self.paused_seconds + target
            }
        })
    }
}

/// What a staff queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// `unassigned`, `mine`, `groups` (the viewer's assignment groups), `breaching` or `all`
    /// (open cases only except `all`).
    pub queue: String,
    pub state: String,
    pub priority: i32,
    pub account_key: String,
    /// An assignment group, 0 for any.
    pub group_id: i64,
    /// An assignee, 0 for anyone.
    pub assignee_id: i64,
    /// `newest` (the default), `oldest` or `priority` (P1 first, newest first within each); the
    /// breaching queue is always soonest deadline first.
    pub sort: String,
    /// A case number, or words of the subject.
    pub search: String,
}

/// Counts stop here: "more than 10,000" is all a person needs to know, and counting a million
/// matching rows would cost more than the page itself.
pub const COUNT_CAP: i64 = 10_000;

/// The words of a search, lower-cased, letters and digits only (so no query syntax of either
/// engine's full-text search can be injected); `None` when nothing is left.
pub(crate) fn search_words(search: &str) -> Option<Vec<String>> {
    let words: Vec<String> = search
        .split(|ch: char| !ch.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(10)
        .map(str::to_lowercase)
        .collect();
    (!words.is_empty()).then_some(words)
}

/// One page of a staff queue, newest first; "breaching" lists open cases whose resolution clock
/// has run out or runs out within the hour, soonest first. The WHERE clause holds only the filters
/// in use, so each query shape gets a plan that walks an index in the order of the page, and the
/// total is counted up to [`COUNT_CAP`] (`COUNT_CAP + 1` means "more").
pub async fn queue(
    db: &Db,
    viewer: i64,
    filter: &QueueFilter,
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<(Vec<crate::api::types::QueueRow>, i64), AppError> {
    let mut args: Vec<Arg> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut arg = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    match filter.queue.as_str() {
        "unassigned" => conditions
            .push("c.assigned_to IS NULL AND c.state IN ('new', 'open', 'awaiting_info')".into()),
        "mine" => conditions.push(format!(
            "c.assigned_to = {} AND c.state IN ('new', 'open', 'awaiting_info', 'resolved')",
            arg(Arg::Int(viewer))
        )),
        "groups" => conditions.push(format!(
            "c.assignment_group_id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = {}) \
             AND c.state IN ('new', 'open', 'awaiting_info')",
            arg(Arg::Int(viewer))
        )),
        "breaching" => conditions.push(format!(
            "c.due_at IS NOT NULL AND c.due_at < {}",
            arg(Arg::Int(now + 3600))
        )),
        _ => {}
    }
    if CaseState::parse(&filter.state).is_some() {
        conditions.push(format!(
            "c.state = {}",
            arg(Arg::Text(filter.state.clone()))
        ));
    }
    if (1..=4).contains(&filter.priority) {
        conditions.push(format!(
            "c.priority = {}",
            arg(Arg::Int(filter.priority as i64))
        ));
    }
    if filter.group_id > 0 {
        conditions.push(format!(
            "c.assignment_group_id = {}",
            arg(Arg::Int(filter.group_id))
        ));
    }
    if filter.assignee_id > 0 {
        conditions.push(format!(
            "c.assigned_to = {}",
            arg(Arg::Int(filter.assignee_id))
        ));
    }
    let account_key = filter.account_key.trim().to_uppercase();
    if !account_key.is_empty() {
        conditions.push(format!(
            "c.account_id = (SELECT id FROM accounts WHERE account_key = {})",
            arg(Arg::Text(account_key))
        ));
    }
    let search = filter.search.trim();
    let as_number = search.to_uppercase();
    if as_number.len() == 9
        && as_number.starts_with("CS")
        && as_number[2..].chars().all(|ch| ch.is_ascii_digit())
    {
        conditions.push(format!("c.number = {}", arg(Arg::Text(as_number))));
    } else if let Some(words) = search_words(search) {
        // Full text over number, subject and description: every word must occur.
        conditions.push(match db {
            Db::Sqlite(_) => format!(
                "c.id IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH {})",
                arg(Arg::Text(
                    words
                        .iter()
                        .map(|w| format!("\"{w}\""))
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
            ),
            Db::Postgres(_) => format!(
                "c.search @@ plainto_tsquery('simple', {})",
                arg(Arg::Text(words.join(" ")))
            ),
        });
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let order = match (filter.queue.as_str(), filter.sort.as_str()) {
        ("breaching", _) => "c.due_at, c.id",
        (_, "oldest") => "c.created_at, c.id",
        (_, "priority") => "c.priority, c.created_at DESC, c.id DESC",
        _ => "c.created_at DESC, c.id DESC",
    };
    // The page's cases are chosen first, on the cases table alone, walking the index of the
    // chosen order; only those rows are then joined to their account and SLA targets (joined in
    // one statement, SQLite may start from the small tables and sort every matching case).
    let n = args.len();
    let sql = format!(
        "SELECT c.number, a.name AS account, c.subject, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.assigned_to) AS assignee, \
         {CLOCK_COLUMNS}, c.priority FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN sla_targets t ON t.priority = c.priority \
         WHERE c.id IN (SELECT c.id FROM cases c {where_clause} ORDER BY {order} LIMIT ${} OFFSET ${}) \
         ORDER BY {order}",
        n + 1,
        n + 2
    );
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM cases c {where_clause} LIMIT {}) capped",
        COUNT_CAP + 1
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        number: String,
        account: String,
        subject: String,
        assignee: Option<String>,
        priority: i32,
        #[sqlx(flatten)]
        clock: ClockRow,
    }
    let offset = super::db::offset(page, per_page);
    let rows: Vec<Row> = on_db!(db, |c| {
        bind_args!(sqlx::query_as(&sql), &args)
            .bind(per_page)
            .bind(offset)
            .fetch_all(c)
            .await
            .map_err(internal)
    })?;
    let total: i64 = on_db!(db, |c| {
        bind_args!(sqlx::query_scalar(&count_sql), &args)
            .fetch_one(c)
            .await
            .map_err(internal)
    })?;
    let rows = rows
        .into_iter()
        .map(|r| crate::api::types::QueueRow {
            resolution_left: r.clock.left(now).1,
            number: r.number,
            account: r.account,
            subject: r.subject,
            state: r.clock.state.clone(),
            priority: r.priority,
            assignee: r.assignee,
            created_at: r.clock.created_at,
        })
        .collect();
    Ok((rows, total))
}

#[derive(sqlx::FromRow)]
struct Locked {
    id: i64,
    state: String,
    subject: String,
    paused_since: Option<i64>,
    time_zone: String,
    business_start: i32,
    business_end: i32,
}

/// Loads a case for change, locked until the transaction ends (PostgreSQL; SQLite write
/// transactions are exclusive). `account_id` limits it to a customer's account.
async fn lock_case(tx: &mut Tx, number: &str, account_id: Option<i64>) -> Result<Locked, AppError> {
    let lock = match tx {
        Tx::Postgres(_) => "FOR UPDATE",
        Tx::Sqlite(_) => "",
    };
    let sql = format!(
        "SELECT id, state, subject, paused_since, \
         (SELECT a.time_zone FROM accounts a WHERE a.id = cases.account_id) AS time_zone, \
         (SELECT CAST(a.business_start AS INTEGER) FROM accounts a WHERE a.id = cases.account_id) AS business_start, \
         (SELECT CAST(a.business_end AS INTEGER) FROM accounts a WHERE a.id = cases.account_id) AS business_end \
         FROM cases WHERE number = $1 AND ($2 = 0 OR account_id = $2) {lock}"
    );
    let row: Option<Locked> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(number)
        .bind(account_id.unwrap_or(0))
        .fetch_optional(c)
        .await
        .map_err(internal))?;
    row.ok_or(AppError::NotFound)
}

async fn add_entry(
    tx: &mut Tx,
    case_id: i64,
    kind: &str,
    author: Option<i64>,
    body: &str,
    now: i64,
) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(case_id)
    .bind(kind)
    .bind(author)
    .bind(body)
    .bind(now))?;
    Ok(())
}

/// Recomputes when the resolution target of case `case_id` runs out: set while its clock runs,
/// NULL while paused, met or closed. Called after every change of state, pause or priority.
pub(crate) async fn refresh_due(tx: &mut Tx, case_id: i64) -> Result<(), AppError> {
    let clock: ClockRow = on_tx!(tx, |c| sqlx::query_as(&format!(
        "SELECT {CLOCK_COLUMNS} FROM cases c JOIN sla_targets t ON t.priority = c.priority \
         JOIN accounts a ON a.id = c.account_id WHERE c.id = $1"
    ))
    .bind(case_id)
    .fetch_one(c)
    .await
    .map_err(internal))?;
    execute!(tx: tx, sqlx::query("UPDATE cases SET due_at = $1 WHERE id = $2")
        .bind(clock.resolution_due())
        .bind(case_id))?;
    Ok(())
}

/// Moves a locked case by `step`, keeping the SLA clocks: entering Awaiting Info or Resolved
/// pauses them, leaving resumes them; a proposed resolution stops the resolution clock until the
/// customer rejects it. Records the change in the activity stream.
async fn transition(
    tx: &mut Tx,
    case: &Locked,
    step: Step,
    by: Mover,
    author: Option<i64>,
    now: i64,
) -> Result<CaseState, AppError> {
    let from = CaseState::parse(&case.state).ok_or(AppError::Internal)?;
    let to = case_flow::next(from, step, by).map_err(|why| AppError::Conflict(why.to_string()))?;
    // The pause that ends now, in calendar seconds and in the account's working seconds.
    let hours = BusinessHours::new(&case.time_zone, case.business_start, case.business_end);
    let (paused_until_now, paused_business) = case
        .paused_since
        .map(|since| ((now - since).max(0), hours.seconds_between(since, now)))
        .unwrap_or((0, 0));
    let (add_paused, add_business, paused_since) = if to.pauses_clock() && !to.is_final() {
        (0, 0, case.paused_since.or(Some(now)))
    } else {
        (paused_until_now, paused_business, None)
    };
    execute!(tx: tx, sqlx::query(
        "UPDATE cases SET state = $1, paused_seconds = paused_seconds + $2, paused_since = $3, \
         resolved_at = CASE WHEN $1 = 'resolved' THEN $4 WHEN $1 = 'open' THEN NULL ELSE resolved_at END, \
         closed_at = CASE WHEN $1 IN ('closed', 'cancelled') THEN $4 ELSE closed_at END, \
         updated_at = $4, paused_business_seconds = paused_business_seconds + $6 WHERE id = $5"
    )
    .bind(to.as_str())
    .bind(add_paused)
    .bind(paused_since)
    .bind(now)
    .bind(case.id)
    .bind(add_business))?;
    refresh_due(tx, case.id).await?;
    let text = format!("State: {} → {}", from.label(), to.label());
    add_entry(tx, case.id, "change", author, &text, now).await?;
    Ok(to)
}

fn check_text(field: &str, body: &str, what: &str) -> Result<String, AppError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::field(field, format!("Write your {what}")));
    }
    if body.chars().count() > COMMENT_MAX {
        return Err(AppError::field(
            field,
            format!("A {what} must be {COMMENT_MAX} characters or fewer"),
        ));
    }
    Ok(body.to_string())
}

/// Mails the case's contact about `what` happened, inside the change's transaction.
async fn tell_contact(
    tx: &mut Tx,
    state: &AppState,
    case_id: i64,
    kind: &str,
    what: &str,
    now: i64,
) -> Result<(), AppError> {
    let row: (String, String, String, String, i64) = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT c.number, c.subject, u.email, u.first_name || ' ' || u.last_name, c.account_id \
         FROM cases c JOIN users u ON u.id = c.contact_id WHERE c.id = $1"
    )
    .bind(case_id)
    .fetch_one(c)
    .await
    .map_err(internal)
    })?;
    let (number, subject, email, name, account_id) = row;
    let link = mail::portal_url(&state.settings, &format!("/cases/{number}"));
    let mail = Mail {
        kind,
        account_id: Some(account_id),
        to_address: &email,
        to_name: &name,
        subject: format!("[{number}] {subject}"),
        body: format!("Hello {name},\n\n{what}\n\nSee the case and answer: {link}\n"),
        secret_link: None,
    };
    mail::enqueue(tx, &mail, now).await.map(|_| ())
}

/// A customer's comment on their account's case. A reply while the case awaits information
/// moves it back to Open (SPEC §4.2).
pub async fn comment(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    number: &str,
    body: &str,
    now: i64,
) -> Result<(), AppError> {
    let body = check_text("body", body, "comment")?;
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, Some(account_id)).await?;
    if matches!(case.state.as_str(), "closed" | "cancelled") {
        return Err(AppError::Conflict(
            "This case is closed. Open a new case and mention this one's number.".into(),
        ));
    }
    add_entry(&mut tx, case.id, "comment", Some(actor.user_id), &body, now).await?;
    if case.state == "awaiting_info" {
        transition(
            &mut tx,
            &case,
            Step::CustomerReply,
            Mover::Customer,
            Some(actor.user_id),
            now,
        )
        .await?;
    } else {
        execute!(tx: &mut tx, sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2").bind(now).bind(case.id))?;
    }
    tx.commit().await
}

/// The customer accepts (closes) or rejects (reopens) a proposed resolution.
pub async fn customer_step(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    number: &str,
    step: Step,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, Some(account_id)).await?;
    let to = transition(
        &mut tx,
        &case,
        step,
        Mover::Customer,
        Some(actor.user_id),
        now,
    )
    .await?;
    if to == CaseState::Closed {
        tell_contact(
            &mut tx,
            state,
            case.id,
            "case_closed",
            &format!(
                "Case \"{}\" is closed: the resolution was accepted.",
                case.subject
            ),
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Vendor staff move a case, optionally with a comment to the customer.
pub async fn staff_step(
    state: &AppState,
    actor: &Actor,
    number: &str,
    step: Step,
    comment: Option<&str>,
    now: i64,
) -> Result<(), AppError> {
    let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(check_text("comment", c, "comment")?),
        None => None,
    };
    if matches!(step, Step::AskInfo | Step::Resolve) && comment.is_none() {
        return Err(AppError::field(
            "comment",
            "Tell the customer what you need or what the resolution is",
        ));
    }
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, None).await?;
    let to = transition(&mut tx, &case, step, Mover::Staff, Some(actor.user_id), now).await?;
    if let Some(text) = &comment {
        add_entry(&mut tx, case.id, "comment", Some(actor.user_id), text, now).await?;
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE cases SET first_response_at = COALESCE(first_response_at, $1) WHERE id = $2"
        )
        .bind(now)
        .bind(case.id))?;
    }
    let news = match to {
        CaseState::AwaitingInfo => Some((
            "case_awaiting_info",
            "We need more information from you to continue.",
        )),
        CaseState::Resolved => Some((
            "case_resolved",
            "We propose a resolution. Please accept it to close the case, or reject it to reopen.",
        )),
        CaseState::Cancelled | CaseState::Closed => Some(("case_closed", "The case is closed.")),
        _ => None,
    };
    if let Some((kind, what)) = news {
        let what = match &comment {
            Some(text) => format!("{what}\n\n{text}"),
            None => what.to_string(),
        };
        tell_contact(&mut tx, state, case.id, kind, &what, now).await?;
    }
    tx.commit().await
}

/// A staff comment to the customer (mailed, and the first response on the SLA clock) or an
/// internal work note (never shown or sent to a customer).
pub async fn staff_note(
    state: &AppState,
    actor: &Actor,
    number: &str,
    body: &str,
    internal_note: bool,
    now: i64,
) -> Result<(), AppError> {
    let body = check_text(
        "body",
        body,
        if internal_note {
            "work note"
        } else {
            "comment"
        },
    )?;
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, None).await?;
    if matches!(case.state.as_str(), "closed" | "cancelled") && !internal_note {
        return Err(AppError::Conflict("This case is closed.".into()));
    }
    let kind = if internal_note {
        "work_note"
    } else {
        "comment"
    };
    add_entry(&mut tx, case.id, kind, Some(actor.user_id), &body, now).await?;
    if internal_note {
        execute!(tx: &mut tx, sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2").bind(now).bind(case.id))?;
    } else {
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE cases SET updated_at = $1, first_response_at = COALESCE(first_response_at, $1) WHERE id = $2"
        )
        .bind(now)
        .bind(case.id))?;
        tell_contact(
            &mut tx,
            state,
            case.id,
            "case_comment",
            &format!("Support replied:\n\n{body}"),
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Staff fields: assignee (`""` nobody, `"me"`, or a staff member's id), assignment group, and a
/// priority override (`""` keeps the computed one) with its required reason. Each change is
/// recorded with who and when.
pub async fn staff_fields(
    state: &AppState,
    actor: &Actor,
    number: &str,
    assigned_to: &str,
    group_id: &str,
    priority_value: &str,
    priority_reason: &str,
    now: i64,
) -> Result<(), AppError> {
    let db = &state.db;
    let mut p = Problems::new();
    let staff = super::accounts::staff_members(db).await?;
    let assignee = match assigned_to.trim() {
        "" => None,
        "me" => Some(actor.user_id),
        v => match v
            .parse::<i64>()
            .ok()
            .filter(|id| staff.iter().any(|s| s.id == *id))
        {
            Some(id) => Some(id),
            None => {
                p.add(
                    "assigned_to",
                    "Choose a member of the support staff, or nobody",
                );
                None
            }
        },
    };
    let groups = groups(db).await?;
    let group = pick(
        &mut p,
        "assignment_group_id",
        group_id,
        &groups,
        "Choose an assignment group",
    );
    let override_priority = match priority_value.trim() {
        "" => None,
        v => match v.parse::<i32>().ok().filter(|n| (1..=4).contains(n)) {
            Some(n) => Some(n),
            None => {
                p.add("priority", "Choose a priority from P1 to P4");
                None
            }
        },
    };
    let reason = priority_reason.trim();
    if override_priority.is_some() && reason.is_empty() {
        p.add(
            "priority_reason",
            "Give the reason for setting the priority by hand",
        );
    }
    p.finish()?;

    let mut tx = db.begin().await?;
    let case = lock_case(&mut tx, number, None).await?;
    let current: (Option<i64>, i64, i32, i32, String) = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT c.assigned_to, c.assignment_group_id, c.priority, i.severity, c.workaround \
         FROM cases c JOIN impact_levels i ON i.id = c.impact_id WHERE c.id = $1"
    )
    .bind(case.id)
    .fetch_one(c)
    .await
    .map_err(internal))?;
    let (old_assignee, old_group, old_priority, severity, workaround) = current;
    let name = |id: Option<i64>| {
        id.and_then(|id| staff.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "nobody".into())
    };
    let mut changes = Vec::new();
    if assignee != old_assignee {
        changes.push(format!(
            "Assigned to: {} → {}",
            name(old_assignee),
            name(assignee)
        ));
    }
    if group != old_group {
        let label = |id: i64| {
            groups
                .iter()
                .find(|g| g.id == id)
                .map(|g| g.name.clone())
                .unwrap_or_default()
        };
        changes.push(format!(
            "Assignment group: {} → {}",
            label(old_group),
            label(group)
        ));
    }
    let new_priority = override_priority.unwrap_or_else(|| priority(severity, &workaround));
    if new_priority != old_priority {
        changes.push(match override_priority {
            Some(_) => {
                format!("Priority: P{old_priority} → P{new_priority} (set by hand: {reason})")
            }
            None => format!("Priority: P{old_priority} → P{new_priority} (computed)"),
        });
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE cases SET assigned_to = $1, assignment_group_id = $2, priority = $3, priority_reason = $4, \
         updated_at = $5 WHERE id = $6"
    )
    .bind(assignee)
    .bind(group)
    .bind(new_priority)
    .bind(override_priority.map(|_| reason.to_string()))
    .bind(now)
    .bind(case.id))?;
    refresh_due(&mut tx, case.id).await?;
    for change in changes {
        add_entry(
            &mut tx,
            case.id,
            "change",
            Some(actor.user_id),
            &change,
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Closes cases resolved for more than `days` days without an answer (SPEC §4.2); answers how
/// many. Each case is its own transaction, so several instances doing this at once is harmless:
/// the second finds the case already closed and skips it.
pub async fn auto_close(state: &AppState, days: i64, now: i64) -> Result<usize, AppError> {
    let due: Vec<String> = on_db!(&state.db, |c| {
        sqlx::query_scalar(
        "SELECT number FROM cases WHERE state = 'resolved' AND resolved_at < $1 ORDER BY resolved_at LIMIT 500"
    )
    .bind(now - days * 86_400)
    .fetch_all(c)
    .await
    .map_err(internal)
    })?;
    let mut closed = 0;
    for number in due {
        let mut tx = state.db.begin().await?;
        let case = lock_case(&mut tx, &number, None).await?;
        if case.state != "resolved" {
            continue;
        }
        transition(&mut tx, &case, Step::AutoClose, Mover::System, None, now).await?;
        let what = format!(
            "Case \"{}\" was resolved {days} days ago without an answer and is now closed. If the problem is back, open a new case and mention this one.",
            case.subject
        );
        tell_contact(&mut tx, state, case.id, "case_closed", &what, now).await?;
        tx.commit().await?;
        closed += 1;
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_follows_impact_and_workaround() {
        assert_eq!(priority(1, "no"), 1);
        assert_eq!(priority(1, "unknown"), 1);
        assert_eq!(priority(1, "yes"), 2);
        assert_eq!(priority(3, "yes"), 4);
        assert_eq!(priority(4, "yes"), 4);
    }

    #[test]
    fn search_words_carry_no_query_syntax() {
        let words = |v: &[&str]| Some(v.iter().map(|w| w.to_string()).collect::<Vec<_>>());
        assert_eq!(
            search_words("Canary \"stall\" OR NEAR(x*) -y"),
            words(&["canary", "stall", "or", "near", "x", "y"])
        );
        assert_eq!(search_words(" *:- "), None);
    }

    #[test]
    fn numbers_are_cs_and_seven_digits() {
        assert_eq!(case_number(1001), "CS0001001");
        assert_eq!(case_number(9_999_999), "CS9999999");
    }
}
