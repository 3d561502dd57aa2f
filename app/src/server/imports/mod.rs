//! Bulk creation of users (SPEC §3.3). An uploaded CSV is parsed and every row validated and
//! stored before anything is created: the preview says per row "create", "exists" (skipped, so
//! running the same file again is safe) or "invalid" with the reason. A confirmed import is carried
//! out by a background worker in chunks; each chunk — users, their invitation links and mails, the
//! audit entries and the rows marked done — is one transaction. A process killed part-way leaves
//! whole users only, and the next worker run (any instance, once the lease ends) does the rest.

use super::access::{StaffReason, Target};
use super::audit::{self, Event};
use super::db::{execute, on_db, on_tx, placeholders, Db, Tx};
use super::invitations::{self, parse_name, Purpose};
use super::state::AppState;
use super::users::{self, NewUser};
use crate::error::{AppError, Problems};
use crate::model::domain::Email;
use crate::model::Actor;
use crate::model::{ImportRow, ImportView, Page, UserStatus};
use serde_json::json;
use std::collections::{HashMap, HashSet};

mod file;
mod work;
pub use file::*;
pub use work::*;

/// The most rows one file may have.
pub const MAX_ROWS: usize = 20_000;
/// Users created per transaction.
const CHUNK: i64 = 200;
/// How long a worker holds an import before another may take over. The worker renews it at every
/// chunk (a heartbeat: a chunk takes seconds), so a dead worker's import resumes within this time.
pub const LEASE_SECS: i64 = 45;
async fn existing_emails(db: &Db, rows: &[RawRow]) -> Result<HashSet<String>, AppError> {
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|r| Email::parse(&r.email).ok())
        .map(|e| e.as_str().to_string())
        .collect();
    let mut found = HashSet::new();
    for chunk in emails.chunks(500) {
        let sql = format!(
            "SELECT email FROM users WHERE email IN ({})",
            placeholders(1, chunk.len())
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
#[tracing::instrument(skip_all)]
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
        // `$1` is the import; each row binds seven values after it.
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, {})", placeholders(2 + i * 7, 7)))
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
#[tracing::instrument(skip_all)]
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
    let outcome = ["create", "exists", "invalid"]
        .into_iter()
        .find(|o| *o == outcome);
    let offset = super::db::offset(page, per_page);
    let rows: Vec<ImportRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT line_no, first_name, last_name, email, is_admin, outcome, message, \
         (done_at IS NOT NULL) AS done FROM import_rows \
         WHERE import_id = $1 AND ($2 IS NULL OR outcome = $2) ORDER BY line_no LIMIT $3 OFFSET $4"
    )
    .bind(import_id)
    .bind(outcome)
    .bind(per_page)
    .bind(offset)
    .fetch_all(c)
    .await)?;
    let total = match outcome {
        Some("create") => counts.0,
        Some("exists") => counts.2,
        Some("invalid") => counts.3,
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
            page: page.clamp(1, crate::model::MAX_PAGE),
            per_page,
        },
    })
}

/// Confirms a previewed import (or discards it): the worker creates the users.
#[tracing::instrument(skip_all)]
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
