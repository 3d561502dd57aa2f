//! Bulk creation of users (SPEC §3.3). An uploaded CSV is parsed and every row validated and
//! stored before anything is created: the preview says per row "create", "exists" (skipped, so
//! running the same file again is safe) or "invalid" with the reason. A confirmed import is carried
//! out by a background worker in chunks; each chunk — users, their invitation links and mails, the
//! audit entries and the rows marked done — is one transaction. A process killed part-way leaves
//! whole users only, and the next worker run (any instance, once the lease ends) does the rest.

use super::access::{StaffReason, Target};
use super::audit::{self, Event};
use super::db::{execute, on_db, on_tx, Db, Tx};
use super::invitations::{self, parse_name, Purpose};
use super::state::AppState;
use super::users::{self, NewUser};
use crate::error::{AppError, Problems};
use crate::model::domain::Email;
use crate::model::{ImportRow, ImportView, Page};
use crate::model::Actor;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// The most rows one file may have.
pub const MAX_ROWS: usize = 20_000;
/// Users created per transaction.
const CHUNK: i64 = 200;
/// How long a worker holds an import before another may take over. The worker renews it at every
/// chunk (a heartbeat: a chunk takes seconds), so a dead worker's import resumes within this time.
pub const LEASE_SECS: i64 = 45;

/// A row as read from the file, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub line_no: usize,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub administrator: String,
}

fn header_index(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| {
        let h = h.trim().to_lowercase().replace([' ', '-'], "_");
        names.contains(&h.as_str())
    })
}

/// Reads the CSV: with a header row naming the columns (`first_name`, `last_name`, `email`,
/// optional `administrator`, in any order), or without one as first name, last name, email and
/// an optional administrator column. Commas or semicolons; a UTF-8 byte-order mark is ignored.
pub fn parse_csv(text: &str) -> Result<Vec<RawRow>, AppError> {
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            AppError::field(
                "file",
                format!("Line {} could not be read as CSV: {e}", i + 1),
            )
        })?;
        let line = record
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(i + 1);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        records.push((line, cells));
    }
    if records.is_empty() {
        return Err(AppError::field("file", "The file has no rows"));
    }
    let header: Vec<String> = records[0].1.clone();
    let has_header = header
        .iter()
        .any(|h| h.trim().eq_ignore_ascii_case("email"));
    let (first, last, email, admin) = if has_header {
        let find = |names: &[&str]| header_index(&header, names);
        let (Some(f), Some(l), Some(e)) = (
            find(&["first_name", "firstname", "first", "given_name"]),
            find(&["last_name", "lastname", "last", "surname", "family_name"]),
            find(&["email", "email_address", "e_mail"]),
        ) else {
            return Err(AppError::field(
                "file",
                "The header row must name the columns first_name, last_name and email",
            ));
        };
        (f, l, e, find(&["administrator", "admin", "is_admin"]))
    } else {
        (0, 1, 2, Some(3))
    };
    let rows: Vec<RawRow> = records
        .into_iter()
        .skip(usize::from(has_header))
        .map(|(line_no, cells)| {
            let get = |i: Option<usize>| i.and_then(|i| cells.get(i)).cloned().unwrap_or_default();
            RawRow {
                line_no,
                first_name: get(Some(first)),
                last_name: get(Some(last)),
                email: get(Some(email)),
                administrator: get(admin),
            }
        })
        .collect();
    if rows.is_empty() {
        return Err(AppError::field(
            "file",
            "The file has a header row but no users",
        ));
    }
    if rows.len() > MAX_ROWS {
        return Err(AppError::field(
            "file",
            format!(
                "The file has {} rows; at most {MAX_ROWS} can be imported at once. Split it.",
                rows.len()
            ),
        ));
    }
    Ok(rows)
}

/// A validated row, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub line_no: usize,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    pub outcome: &'static str,
    pub message: Option<String>,
}

fn parse_admin(value: &str) -> Result<bool, String> {
    match value.trim().to_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Ok(false),
        "yes" | "y" | "true" | "1" | "x" => Ok(true),
        other => Err(format!(
            "The administrator column says \"{other}\"; use yes or no"
        )),
    }
}

/// Validates every row against the rules of the add-user form, the rest of the file and the
/// users already in the portal (`existing`: lower-cased emails).
pub fn check_rows(rows: &[RawRow], existing: &HashSet<String>) -> Vec<Checked> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    rows.iter()
        .map(|r| {
            let mut problems = Problems::new();
            let first = parse_name(&mut problems, "first_name", "first name", &r.first_name);
            let last = parse_name(&mut problems, "last_name", "last name", &r.last_name);
            let email = problems.take("email", Email::parse(&r.email));
            let is_admin = problems.take("administrator", parse_admin(&r.administrator));
            let email_text = email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_else(|| r.email.trim().to_string());
            let (outcome, message) = match problems.finish() {
                Err(AppError::Validation(fields)) => (
                    "invalid",
                    Some(
                        fields
                            .into_iter()
                            .map(|f| f.message)
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                ),
                Err(_) => ("invalid", None),
                Ok(()) => {
                    if let Some(line) = seen.get(&email_text) {
                        (
                            "invalid",
                            Some(format!("Repeats the email address of line {line}")),
                        )
                    } else if existing.contains(&email_text) {
                        ("exists", Some("Already a user: skipped".to_string()))
                    } else {
                        ("create", None)
                    }
                }
            };
            if outcome != "invalid" {
                seen.entry(email_text.clone()).or_insert(r.line_no);
            }
            Checked {
                line_no: r.line_no,
                first_name: first,
                last_name: last,
                email: email_text,
                is_admin: is_admin.unwrap_or(false),
                outcome,
                message,
            }
        })
        .collect()
}

async fn existing_emails(db: &Db, rows: &[RawRow]) -> Result<HashSet<String>, AppError> {
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|r| Email::parse(&r.email).ok())
        .map(|e| e.as_str().to_string())
        .collect();
    let mut found = HashSet::new();
    for chunk in emails.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT email FROM users WHERE email IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<String> = on_db!(db, |c| {
            let mut q = sqlx::query_scalar(&sql);
            for e in chunk {
                q = q.bind(e);
            }
            q.fetch_all(c).await.map_err(AppError::from)
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Stores an uploaded file's rows for preview. Nothing is created yet.
pub async fn preview(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    file_name: &str,
    text: &str,
    now: i64,
) -> Result<i64, AppError> {
    let raw = parse_csv(text)?;
    let existing = existing_emails(&state.db, &raw).await?;
    let checked = check_rows(&raw, &existing);
    let mut tx = state.db.begin().await?;
    let found: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT id FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    found.ok_or(AppError::NotFound)?;
    let file_name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let import_id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "INSERT INTO imports (account_id, created_by, created_at, file_name, status) \
         VALUES ($1, $2, $3, $4, 'previewed') RETURNING id"
    )
    .bind(account_id)
    .bind(actor.user_id)
    .bind(now)
    .bind(if file_name.is_empty() {
        "upload.csv".to_string()
    } else {
        file_name
    })
    .fetch_one(c)
    .await)?;
    for chunk in checked.chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 7;
                format!(
                    "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO import_rows (import_id, line_no, first_name, last_name, email, is_admin, outcome, message) VALUES {}",
            values.join(", ")
        );
        on_tx!(&mut tx, |c| {
            let mut q = sqlx::query(&sql).bind(import_id);
            for r in chunk {
                q = q
                    .bind(r.line_no as i32)
                    .bind(&r.first_name)
                    .bind(&r.last_name)
                    .bind(&r.email)
                    .bind(r.is_admin)
                    .bind(r.outcome)
                    .bind(&r.message);
            }
            q.execute(c).await.map(|_| ()).map_err(AppError::from)
        })?;
    }
    tx.commit().await?;
    Ok(import_id)
}

#[derive(sqlx::FromRow)]
struct ImportHead {
    id: i64,
    account_id: i64,
    account_name: String,
    file_name: String,
    status: String,
}

/// The import with its counts and one page of rows (all, or those of one outcome).
pub async fn view(
    db: &Db,
    import_id: i64,
    outcome: &str,
    page: i64,
    per_page: i64,
) -> Result<ImportView, AppError> {
    let head: Option<ImportHead> = on_db!(db, |c| sqlx::query_as(
        "SELECT i.id, i.account_id, a.name AS account_name, i.file_name, i.status \
         FROM imports i JOIN accounts a ON a.id = i.account_id WHERE i.id = $1"
    )
    .bind(import_id)
    .fetch_optional(c)
    .await)?;
    let head = head.ok_or(AppError::NotFound)?;
    let counts: (i64, i64, i64, i64) = on_db!(db, |c| sqlx::query_as(
        "SELECT \
         COALESCE(SUM(CASE WHEN outcome = 'create' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN outcome = 'create' AND done_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN outcome = 'exists' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN outcome = 'invalid' THEN 1 ELSE 0 END), 0) \
         FROM import_rows WHERE import_id = $1"
    )
    .bind(import_id)
    .fetch_one(c)
    .await)?;
    let outcome = match outcome {
        "create" | "exists" | "invalid" => outcome,
        _ => "",
    };
    let offset = super::db::offset(page, per_page);
    let rows: Vec<ImportRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT line_no, first_name, last_name, email, is_admin, outcome, message, \
         (done_at IS NOT NULL) AS done FROM import_rows \
         WHERE import_id = $1 AND ($2 = '' OR outcome = $2) ORDER BY line_no LIMIT $3 OFFSET $4"
    )
    .bind(import_id)
    .bind(outcome)
    .bind(per_page)
    .bind(offset)
    .fetch_all(c)
    .await)?;
    let total = match outcome {
        "create" => counts.0,
        "exists" => counts.2,
        "invalid" => counts.3,
        _ => counts.0 + counts.2 + counts.3,
    };
    Ok(ImportView {
        id: head.id,
        account_id: head.account_id,
        account_name: head.account_name,
        file_name: head.file_name,
        status: head.status,
        to_create: counts.0,
        created: counts.1,
        existing: counts.2,
        invalid: counts.3,
        rows: Page {
            rows,
            total,
            page: page.clamp(1, crate::api::MAX_PAGE),
            per_page,
        },
    })
}

/// Confirms a previewed import (or discards it): the worker creates the users.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    import_id: i64,
    confirm: bool,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let head: Option<(i64, String)> = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT account_id, status FROM imports WHERE id = $1"
    )
    .bind(import_id)
    .fetch_optional(c)
    .await)?;
    let (account_id, status) = head.ok_or(AppError::NotFound)?;
    if status != "previewed" {
        return Err(AppError::Conflict(
            "This import was already confirmed or discarded.".into(),
        ));
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE imports SET status = $1, reason = $2, reference = $3, confirmed_by = $4, \
         confirmed_at = $5, client_addr = $6 WHERE id = $7"
    )
    .bind(if confirm { "queued" } else { "discarded" })
    .bind(&why.reason)
    .bind(&why.reference)
    .bind(actor.user_id)
    .bind(now)
    .bind(client_addr)
    .bind(import_id))?;
    let event = Event {
        action: if confirm {
            "bulk_import.confirmed"
        } else {
            "bulk_import.discarded"
        },
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        account_id: Some(account_id),
        target: Some(format!("import:{import_id}")),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: i64,
    account_id: i64,
    confirmed_by: Option<i64>,
    reason: Option<String>,
    reference: Option<String>,
    client_addr: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    line_no: i32,
    first_name: String,
    last_name: String,
    email: String,
    is_admin: bool,
}

/// Carries out confirmed imports: claims one, creates its users chunk by chunk, and marks it done.
/// `max_chunks` stops early (as a killed process would, between two chunks); `None` runs to the
/// end. Answers how many users were created.
pub async fn work(
    state: &AppState,
    instance: &str,
    max_chunks: Option<usize>,
    now: impl Fn() -> i64,
) -> Result<usize, AppError> {
    let db = &state.db;
    let lock = match db {
        Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE imports SET claimed_by = $1, claimed_until = $2 WHERE id = (\
         SELECT id FROM imports WHERE status = 'queued' AND (claimed_until IS NULL OR claimed_until < $3) \
         ORDER BY id LIMIT 1 {lock}) \
         RETURNING id, account_id, confirmed_by, reason, reference, client_addr"
    );
    let t = now();
    let claimed: Option<Claimed> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(instance)
        .bind(t + LEASE_SECS)
        .bind(t)
        .fetch_optional(c)
        .await)?;
    let Some(import) = claimed else {
        return Ok(0);
    };
    let mut created = 0;
    let mut chunks = 0;
    loop {
        if max_chunks.is_some_and(|m| chunks >= m) {
            return Ok(created);
        }
        let t = now();
        let mut tx = db.begin().await?;
        // Still ours? (Another instance takes over only after the lease ended.)
        let ours = execute!(tx: &mut tx, sqlx::query(
            "UPDATE imports SET claimed_until = $1 WHERE id = $2 AND claimed_by = $3 AND status = 'queued'"
        )
        .bind(t + LEASE_SECS)
        .bind(import.id)
        .bind(instance))?;
        if ours == 0 {
            return Ok(created);
        }
        let rows: Vec<PendingRow> = on_tx!(&mut tx, |c| {
            sqlx::query_as(
            "SELECT line_no, first_name, last_name, email, is_admin FROM import_rows \
             WHERE import_id = $1 AND outcome = 'create' AND done_at IS NULL ORDER BY line_no LIMIT $2"
        )
        .bind(import.id)
        .bind(CHUNK)
        .fetch_all(c)
        .await
        .map_err(AppError::from)
        })?;
        if rows.is_empty() {
            finish(&mut tx, &import, t).await?;
            tx.commit().await?;
            return Ok(created);
        }
        for row in &rows {
            created += create_one(state, &mut tx, &import, row, t).await?;
        }
        tx.commit().await?;
        chunks += 1;
    }
}

/// Creates one row's user with invitation and audit entry, inside the chunk's transaction. An
/// address taken since the preview is skipped and marked so.
async fn create_one(
    state: &AppState,
    tx: &mut Tx,
    import: &Claimed,
    row: &PendingRow,
    now: i64,
) -> Result<usize, AppError> {
    let email = Email::parse(&row.email).map_err(|_| AppError::Internal)?;
    let taken: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE email = $1"
    )
    .bind(email.as_str())
    .fetch_one(c)
    .await)?;
    if taken > 0 {
        execute!(tx: tx, sqlx::query(
            "UPDATE import_rows SET outcome = 'exists', message = 'Became a user after the preview: skipped', \
             done_at = $1 WHERE import_id = $2 AND line_no = $3"
        )
        .bind(now)
        .bind(import.id)
        .bind(row.line_no))?;
        return Ok(0);
    }
    let user_id = users::insert(
        tx,
        &NewUser {
            account_id: Some(import.account_id),
            email: &email,
            first_name: &row.first_name,
            last_name: &row.last_name,
            kind: "customer",
            is_admin: row.is_admin,
            status: "invited",
            password_hash: None,
            created_by: import.confirmed_by,
        },
        now,
    )
    .await?;
    let account: String = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT name FROM accounts WHERE id = $1"
    )
    .bind(import.account_id)
    .fetch_one(c)
    .await)?;
    let target = Target {
        id: user_id,
        account_id: import.account_id,
        email: email.as_str().to_string(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        status: "invited".into(),
        is_admin: row.is_admin,
        has_password: false,
    };
    invitations::issue_link(
        tx,
        state,
        Purpose::Invitation,
        &target,
        &account,
        import.confirmed_by,
        "The vendor's support team",
        now,
    )
    .await?;
    let event = Event {
        action: "user.invited",
        actor_id: import.confirmed_by,
        account_id: Some(import.account_id),
        target: Some(format!("user:{user_id}")),
        reason: import.reason.as_deref(),
        reference: import.reference.as_deref(),
        after: Some(json!({
            "email": email.as_str(), "is_admin": row.is_admin, "status": "invited",
            "import": import.id, "line": row.line_no,
        })),
        client_addr: import.client_addr.as_deref(),
        ..Event::default()
    };
    audit::append(tx, &event, now).await?;
    if row.is_admin {
        super::access::record_admin_change(tx, &event, user_id, true, "bulk import", now).await?;
    }
    execute!(tx: tx, sqlx::query(
        "UPDATE import_rows SET user_id = $1, done_at = $2 WHERE import_id = $3 AND line_no = $4"
    )
    .bind(user_id)
    .bind(now)
    .bind(import.id)
    .bind(row.line_no))?;
    Ok(1)
}

async fn finish(tx: &mut Tx, import: &Claimed, now: i64) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "UPDATE imports SET status = 'done', finished_at = $1, claimed_by = NULL, claimed_until = NULL WHERE id = $2"
    )
    .bind(now)
    .bind(import.id))?;
    let (created, skipped): (i64, i64) = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN user_id IS NOT NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN user_id IS NULL THEN 1 ELSE 0 END), 0) FROM import_rows WHERE import_id = $1"
    )
    .bind(import.id)
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    let event = Event {
        action: "bulk_import.completed",
        actor_id: import.confirmed_by,
        account_id: Some(import.account_id),
        target: Some(format!("import:{}", import.id)),
        reason: import.reason.as_deref(),
        reference: import.reference.as_deref(),
        after: Some(json!({ "created": created, "skipped": skipped })),
        client_addr: import.client_addr.as_deref(),
        ..Event::default()
    };
    audit::append(tx, &event, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rows_name_columns_in_any_order() {
        let rows =
            parse_csv("\u{feff}Email;Last Name;First Name;Admin\nann@x.example;Lee;Ann;yes\n\n")
                .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].first_name, "Ann");
        assert_eq!(rows[0].email, "ann@x.example");
        assert_eq!(rows[0].administrator, "yes");
        assert_eq!(rows[0].line_no, 2);
    }

    #[test]
    fn files_without_a_header_are_positional() {
        let rows = parse_csv("Ann,Lee,ann@x.example\n\"Bo, Jr\",Kim,bo@x.example,no").unwrap();
        assert_eq!(rows[1].first_name, "Bo, Jr");
        assert_eq!(rows[1].administrator, "no");
        assert!(parse_csv("\n\n").is_err());
        assert!(
            parse_csv("name,mail\nx,y").is_ok(),
            "no 'email' header: read as data"
        );
        assert!(parse_csv("first,surname,email\n").is_err());
    }

    #[test]
    fn every_row_gets_an_outcome_and_a_reason() {
        let rows = parse_csv(
            "first_name,last_name,email,administrator\n\
             Ann,Lee,ann@x.example,\n\
             Bo,Kim,BO@x.example,maybe\n\
             ,Kim,cy@x.example,\n\
             Dee,Ray,old@x.example,\n\
             Ann,Again,ANN@x.example,\n\
             Eve,Zed,not-an-email,yes",
        )
        .unwrap();
        let existing: HashSet<String> = ["old@x.example".to_string()].into();
        let checked = check_rows(&rows, &existing);
        let outcomes: Vec<&str> = checked.iter().map(|c| c.outcome).collect();
        assert_eq!(
            outcomes,
            ["create", "invalid", "invalid", "exists", "invalid", "invalid"]
        );
        assert!(checked[1].message.as_deref().unwrap().contains("maybe"));
        assert!(checked[2]
            .message
            .as_deref()
            .unwrap()
            .contains("first name"));
        assert!(checked[4].message.as_deref().unwrap().contains("line 2"));
        assert!(checked[5].message.as_deref().unwrap().contains("format"));
    }
}
