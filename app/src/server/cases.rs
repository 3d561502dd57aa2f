//! Support cases (SPEC §4): the customer case form, case numbers, the customer's lists and the
//! case page with its customer-visible activity.

use super::db::{execute, internal, on_db, on_tx, Db, Tx};
use super::mail::{self, Mail};
use super::state::AppState;
use crate::api::types::{CaseDetail, CaseOptions, CaseSummary, Choice};
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
    let contacts: Vec<Choice> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, first_name || ' ' || last_name || ' (' || email || ')' AS name FROM users \
         WHERE account_id = $1 AND status = 'active' ORDER BY last_name, first_name, id"
    )
    .bind(account_id)
    .fetch_all(c)
    .await
    .map_err(internal))?;
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

/// A checked form, ready to store.
struct Valid {
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

fn pick(problems: &mut Problems, field: &str, value: &str, list: &[Choice], missing: &str) -> i64 {
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

async fn validate(db: &Db, opts: &CaseOptions, form: &CaseForm) -> Result<Valid, AppError> {
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
    let value: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'case' RETURNING value"
    )
    .fetch_one(c)
    .await
    .map_err(internal))?;
    Ok(case_number(value))
}

/// Files a case for the customer's own account; the contact is told by mail. Returns the number.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    form: &CaseForm,
    now: i64,
) -> Result<String, AppError> {
    let opts = options(&state.db, account_id, actor.user_id).await?;
    let v = validate(&state.db, &opts, form).await?;
    let mut tx = state.db.begin().await?;
    let number = next_number(&mut tx).await?;
    let group: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT id FROM assignment_groups WHERE name = 'Technical Support'"
    )
    .fetch_one(c)
    .await
    .map_err(internal))?;
    let case_id: i64 = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO cases (number, account_id, contact_id, created_by, on_behalf, product_version_id, \
         impact_id, workaround, feature_id, service_id, environment, availability_id, subject, \
         description, state, priority, assignment_group_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'new', $14, $15, $16, $16) \
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
    .fetch_one(c)
    .await
    .map_err(internal)
    })?;
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, 'change', $2, $3, $4)"
    )
    .bind(case_id)
    .bind(actor.user_id)
    .bind("Case created")
    .bind(now))?;
    let contact: (String, String) = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT email, first_name || ' ' || last_name FROM users WHERE id = $1"
    )
    .bind(v.contact_id)
    .fetch_one(c)
    .await
    .map_err(internal))?;
    let link = mail::portal_url(&state.settings, &format!("/cases/{number}"));
    let mail = Mail {
        kind: "case_created",
        account_id: Some(account_id),
        to_address: &contact.0,
        to_name: &contact.1,
        subject: format!("[{number}] {}", v.subject),
        body: format!(
            "Hello {},\n\nCase {number} was opened for {} and you are its contact:\n\n  {}\n\n\
             Follow it and reply here: {link}\n\nWe answer within the time your service level sets.\n",
            contact.1, opts.account_name, v.subject
        ),
        secret_link: None,
    };
    mail::enqueue(&mut tx, &mail, now).await?;
    tx.commit().await?;
    Ok(number)
}

/// One page of an account's cases: all of them (`team`), or those the person opened or is the
/// contact of (`mine`). Newest first.
pub async fn list(
    db: &Db,
    account_id: i64,
    mine: Option<i64>,
    page: i64,
    per_page: i64,
) -> Result<(Vec<CaseSummary>, i64), AppError> {
    let me = mine.unwrap_or(0);
    let filter = "c.account_id = $1 AND ($2 = 0 OR c.contact_id = $2 OR c.created_by = $2)";
    let sql = format!(
        "SELECT c.number, c.subject, c.state, c.priority, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.contact_id) AS contact, \
         c.created_at, c.updated_at FROM cases c WHERE {filter} \
         ORDER BY c.created_at DESC, c.id DESC LIMIT $3 OFFSET $4"
    );
    let offset = (page.max(1) - 1) * per_page;
    let rows: Vec<CaseSummary> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .bind(me)
        .bind(per_page)
        .bind(offset)
        .fetch_all(c)
        .await
        .map_err(internal))?;
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
) -> Result<CaseDetail, AppError> {
    let mut detail: CaseDetail = on_db!(db, |c| sqlx::query_as(
        "SELECT c.number, a.name AS account, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.contact_id) AS contact, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.created_by) AS created_by, \
         c.on_behalf, v.name AS version, i.name AS impact, c.workaround, f.name AS feature, \
         s.name AS service, c.environment, w.name AS availability, c.subject, c.description, \
         c.state, c.priority, g.name AS assignment_group, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.assigned_to) AS assigned_to, \
         c.created_at, c.updated_at \
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
    detail.entries = on_db!(db, |c| sqlx::query_as(
        "SELECT e.kind, u.first_name || ' ' || u.last_name AS author, e.body, e.at \
         FROM case_entries e JOIN cases c ON c.id = e.case_id JOIN users u ON u.id = e.author_id \
         WHERE c.number = $1 AND ($2 OR e.kind <> 'work_note') ORDER BY e.at, e.id"
    )
    .bind(number)
    .bind(with_notes)
    .fetch_all(c)
    .await
    .map_err(internal))?;
    Ok(detail)
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
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::field("body", "Write your comment"));
    }
    if body.chars().count() > COMMENT_MAX {
        return Err(AppError::field(
            "body",
            format!("A comment must be {COMMENT_MAX} characters or fewer"),
        ));
    }
    let mut tx = state.db.begin().await?;
    let found: Option<(i64, String)> = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT id, state FROM cases WHERE number = $1 AND account_id = $2"
    )
    .bind(number)
    .bind(account_id)
    .fetch_optional(c)
    .await
    .map_err(internal))?;
    let (case_id, case_state) = found.ok_or(AppError::NotFound)?;
    if matches!(case_state.as_str(), "closed" | "cancelled") {
        return Err(AppError::Conflict(
            "This case is closed. Open a new case and mention this one's number.".into(),
        ));
    }
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, 'comment', $2, $3, $4)"
    )
    .bind(case_id)
    .bind(actor.user_id)
    .bind(body)
    .bind(now))?;
    let reopened = case_state == "awaiting_info";
    if reopened {
        execute!(tx: &mut tx, sqlx::query(
            "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, 'change', $2, $3, $4)"
        )
        .bind(case_id)
        .bind(actor.user_id)
        .bind("State: Awaiting Info → Open (customer replied)")
        .bind(now))?;
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE cases SET updated_at = $1, state = CASE WHEN state = 'awaiting_info' THEN 'open' ELSE state END WHERE id = $2"
    )
    .bind(now)
    .bind(case_id))?;
    tx.commit().await
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
    fn numbers_are_cs_and_seven_digits() {
        assert_eq!(case_number(1001), "CS0001001");
        assert_eq!(case_number(9_999_999), "CS9999999");
    }
}
