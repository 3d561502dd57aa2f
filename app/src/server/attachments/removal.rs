//! Taking a file away, with its evidence, and deleting bytes nothing refers to any more.

use super::super::db::{execute, on_db, on_tx, Db};
use super::{blob_path, find, FileStore, STAGED_KEPT_SECONDS};
use crate::error::AppError;
use crate::model::Actor;

/// Removes attachment `token` for `actor` (who must be allowed: see `policy::may_remove_file`),
/// with `reason` (required of staff), leaving a line in the case's or change request's activity
/// and an audit entry. The bytes go once nothing refers to them. Answers the page to go back to.
pub async fn remove(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    token: &str,
    reason: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let reason = reason.trim();
    let stored = find(db, token).await?.ok_or(AppError::NotFound)?;
    crate::policy::may_see_file(Some(actor), &stored.scope())?;
    crate::policy::may_remove_file(actor, stored.uploaded_by, stored.answered)?;
    if actor.role.is_staff() && reason.is_empty() {
        return Err(AppError::field(
            "reason",
            "Say why the file is removed: the customer and the audit trail see it",
        ));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "Keep the reason under 500 characters",
        ));
    }
    let mut tx = db.begin().await?;
    let removed = execute!(tx: &mut tx, sqlx::query(
        "UPDATE attachments SET removed_at = $1, removed_by = $2, removed_reason = $3 \
         WHERE token = $4 AND removed_at IS NULL"
    )
    .bind(now)
    .bind(actor.user_id)
    .bind((!reason.is_empty()).then_some(reason))
    .bind(token))?;
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    let line = if reason.is_empty() {
        format!("Removed the file {}", stored.file_name)
    } else {
        format!("Removed the file {}: {reason}", stored.file_name)
    };
    // Where the person goes back to, and the activity line in the case's or request's history.
    let (page, target) = match (&stored.case_number, &stored.change_number) {
        (Some(number), _) => {
            let kind = if stored.internal {
                "work_note"
            } else {
                "change"
            };
            execute!(tx: &mut tx, sqlx::query(
                "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(stored.case_id)
            .bind(kind)
            .bind(actor.user_id)
            .bind(&line)
            .bind(now))?;
            (format!("/cases/{number}"), Some(format!("case:{number}")))
        }
        (None, Some(number)) => {
            execute!(tx: &mut tx, sqlx::query(
                "INSERT INTO change_entries (change_id, kind, author_id, body, at) VALUES ($1, 'change', $2, $3, $4)"
            )
            .bind(stored.change_id)
            .bind(actor.user_id)
            .bind(&line)
            .bind(now))?;
            (
                format!("/changes/{number}"),
                Some(format!("change:{number}")),
            )
        }
        (None, None) => match &stored.article_number {
            Some(number) => (format!("/staff/kb/{number}"), Some(number.clone())),
            None => ("/".to_string(), None),
        },
    };
    if let Some(target) = target {
        let event = crate::server::audit::Event {
            account_id: stored.account_id,
            target: Some(target),
            reason: (!reason.is_empty()).then_some(reason),
            before: Some(serde_json::json!({
                "file": stored.file_name, "sha256": stored.sha256, "size": stored.size,
            })),
            ..crate::server::audit::Event::by(actor, "attachment.removed", client_addr)
        };
        crate::server::audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    collect(db, files, &stored.sha256).await?;
    Ok(page)
}

/// Deletes blob `sha256` — bytes and row — when no live attachment refers to it, holding the
/// blob row's lock so no upload can refer to it meanwhile.
pub async fn collect(db: &Db, files: &FileStore, sha256: &str) -> Result<bool, AppError> {
    let mut tx = db.begin().await?;
    let lock = tx.for_update();
    let held: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(&format!(
        "SELECT sha256 FROM blobs WHERE sha256 = $1 {lock}"
    ))
    .bind(sha256)
    .fetch_optional(c)
    .await)?;
    if held.is_none() {
        return Ok(false);
    }
    let referred: bool = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1 AND removed_at IS NULL)"
    )
    .bind(sha256)
    .fetch_one(c)
    .await)?;
    if referred {
        return Ok(false);
    }
    // The bytes first: should the row's deletion then fail, the next round finds the row again
    // with nothing to delete, while the other order could leave bytes no row names.
    files.remove(&blob_path(sha256)).await?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM blobs WHERE sha256 = $1").bind(sha256))?;
    tx.commit().await?;
    Ok(true)
}

/// Housekeeping: drops staged files nobody attached within a day, then every blob nothing refers
/// to, then staging objects of uploads that never finished. Answers how many blobs went.
pub async fn sweep(db: &Db, files: &FileStore, now: i64) -> Result<usize, AppError> {
    execute!(db: db, sqlx::query(
        "DELETE FROM attachments WHERE case_id IS NULL AND change_id IS NULL AND article_id IS NULL \
         AND uploaded_at < $1"
    )
    .bind(now - STAGED_KEPT_SECONDS))?;
    let orphans: Vec<String> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT sha256 FROM blobs b WHERE NOT EXISTS \
         (SELECT 1 FROM attachments a WHERE a.sha256 = b.sha256 AND a.removed_at IS NULL) LIMIT 1000"
    )
    .fetch_all(c)
    .await
    })?;
    let mut gone = 0;
    for sha256 in orphans {
        if collect(db, files, &sha256).await? {
            gone += 1;
        }
    }
    files.sweep_staging(now - STAGED_KEPT_SECONDS).await?;
    Ok(gone)
}
