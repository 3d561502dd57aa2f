//! Attachments (files on cases): receiving an upload as it streams in, the file store that keeps
//! the bytes under their SHA-256, attaching staged files to what a form creates, listing a case's
//! files for whoever may see them, removal with its evidence, and collecting bytes nothing refers
//! to any more.
//!
//! The bytes are written to a staging object while they arrive (never held whole in memory) and
//! moved under `blobs/` by the transaction that records them, holding the blob row's lock; the
//! collector deletes bytes under the same lock. So a file is recorded only once it is whole, a
//! killed upload leaves no row, and bytes that an attachment still refers to are never deleted.

mod access;
mod removal;
mod scan;
mod store;

pub use access::*;
pub use removal::*;
pub use scan::*;
pub use store::*;

use super::db::{execute, on_db, on_tx, Db, Tx};
use crate::error::AppError;
use crate::model::attachments::{human_size, ScanState};
use crate::model::Actor;

/// Raster image types a browser may show inline; every other file is only ever downloaded.
pub const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// At most this many files go with one form.
pub const MAX_FILES_PER_FORM: usize = 20;
/// Staged files not attached to anything within this long are dropped.
pub const STAGED_KEPT_SECONDS: i64 = 86_400;
/// Enough of a file's beginning to tell its type.
pub(super) const SNIFF_BYTES: usize = 8192;
/// How many parts of one upload may be on their way to an S3 store at once: what such an upload
/// holds in memory.
pub(super) const PARTS_IN_FLIGHT: usize = 2;

/// What a recorded file is attached to.
#[derive(Debug, Clone, Copy)]
pub enum Parent {
    /// Nothing yet: waiting for the form it was uploaded for.
    Staged,
    Case {
        case_id: i64,
        entry_id: Option<i64>,
        internal: bool,
    },
    Change {
        change_id: i64,
    },
    Article {
        article_id: i64,
    },
}

/// Records received file `file` as uploaded by `actor` and attached to `parent`, in `tx`, moving
/// its bytes into place (or dropping them when the same content is stored already). Answers its
/// token.
pub async fn record(
    tx: &mut Tx,
    files: &FileStore,
    scanning: bool,
    actor: &Actor,
    file: Received,
    parent: Parent,
    now: i64,
) -> Result<String, AppError> {
    let scan = if scanning {
        ScanState::Pending
    } else {
        ScanState::Unscanned
    };
    let inserted = execute!(tx: &mut *tx, sqlx::query(
        "INSERT INTO blobs (sha256, size, content_type, scan, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (sha256) DO NOTHING"
    )
    .bind(&file.sha256)
    .bind(file.size)
    .bind(file.content_type)
    .bind(scan.as_str())
    .bind(now))?;
    // Holding the blob row's lock: the collector cannot delete these bytes meanwhile.
    let lock = tx.for_update();
    let present: Option<String> = on_tx!(&mut *tx, |c| sqlx::query_scalar(&format!(
        "SELECT sha256 FROM blobs WHERE sha256 = $1 {lock}"
    ))
    .bind(&file.sha256)
    .fetch_optional(c)
    .await)?;
    if present.is_none() {
        return Err(AppError::Internal);
    }
    let token = super::session::new_token();
    let (case_id, entry_id, internal, change_id, article_id) = match parent {
        Parent::Staged => (None, None, false, None, None),
        Parent::Case {
            case_id,
            entry_id,
            internal,
        } => (Some(case_id), entry_id, internal, None, None),
        Parent::Change { change_id } => (None, None, false, Some(change_id), None),
        Parent::Article { article_id } => (None, None, false, None, Some(article_id)),
    };
    execute!(tx: &mut *tx, sqlx::query(
        "INSERT INTO attachments (token, sha256, file_name, uploaded_by, uploaded_at, case_id, entry_id, internal, \
         change_id, article_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(&token)
    .bind(&file.sha256)
    .bind(&file.file_name)
    .bind(actor.user_id)
    .bind(now)
    .bind(case_id)
    .bind(entry_id)
    .bind(internal)
    .bind(change_id)
    .bind(article_id))?;
    let target = blob_path(&file.sha256);
    let moved = if inserted == 1 || !files.holds(&file.sha256).await {
        files.store.rename(&file.staging, &target).await
    } else {
        files.store.delete(&file.staging).await
    };
    moved.map_err(|e| {
        tracing::error!(error = %e, "an upload cannot be moved into the file store");
        AppError::Internal
    })?;
    Ok(token)
}

/// Drops the staged bytes of `received` (files refused after all).
pub async fn discard_all(files: &FileStore, received: Vec<Received>) {
    for file in received {
        file.discard(files).await;
    }
}

/// What `checks` (everything that may refuse `received`, before any is recorded) answers, with the
/// files to record; when they refuse, the files are dropped and the refusal answered.
pub async fn unless_refused<T>(
    files: &FileStore,
    received: Vec<Received>,
    checks: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<(T, Vec<Received>), AppError> {
    match checks.await {
        Ok(checked) => Ok((checked, received)),
        Err(e) => {
            discard_all(files, received).await;
            Err(e)
        }
    }
}

/// The activity line for files added on their own: "Attached a.log (1.0 KB)", or "Attached 3
/// files: …".
pub fn attached_line(received: &[Received]) -> String {
    let names: Vec<String> = received
        .iter()
        .map(|f| format!("{} ({})", f.file_name, human_size(f.size)))
        .collect();
    match names.as_slice() {
        [one] => format!("Attached {one}"),
        many => format!("Attached {} files: {}", many.len(), many.join(", ")),
    }
}

/// Records files `received` on `owner` in `tx`, each with its audit entry; answers their tokens.
pub async fn record_all(
    tx: &mut Tx,
    state: &super::state::AppState,
    actor: &Actor,
    received: Vec<Received>,
    owner: Owner<'_>,
    client_addr: &str,
    now: i64,
) -> Result<Vec<String>, AppError> {
    let parent = match owner {
        Owner::Case {
            id,
            entry_id,
            internal,
            ..
        } => Parent::Case {
            case_id: id,
            entry_id,
            internal,
        },
        Owner::Change { id, .. } => Parent::Change { change_id: id },
        Owner::Article { id, .. } => Parent::Article { article_id: id },
    };
    let scanning = state.settings.scanning();
    let mut tokens = Vec::new();
    for file in received {
        let (name, sha256, size) = (file.file_name.clone(), file.sha256.clone(), file.size);
        tokens.push(record(tx, &state.files, scanning, actor, file, parent, now).await?);
        audit_added(tx, actor, &owner, (&name, &sha256, size), client_addr, now).await?;
    }
    Ok(tokens)
}

/// The tokens of staged files a form carries (its hidden `attachments` field: tokens separated by
/// spaces or commas). Anything that is not a token is refused.
pub fn parse_tokens(field: &str) -> Result<Vec<String>, AppError> {
    let tokens: Vec<String> = field
        .split([' ', ',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let well_formed = |t: &String| {
        t.len() == 43
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !tokens.iter().all(well_formed) {
        return Err(AppError::field(
            "attachments",
            "A file could not be matched to this form: attach it again",
        ));
    }
    if tokens.len() > MAX_FILES_PER_FORM {
        return Err(AppError::field(
            "attachments",
            format!("Attach at most {MAX_FILES_PER_FORM} files at once"),
        ));
    }
    Ok(tokens)
}

/// What staged files are attached to by the form that carried them.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// A case (its id, number and account), with the comment or note `entry_id` (`None`: the case
    /// itself), staff only when `internal`.
    Case {
        id: i64,
        number: &'a str,
        account_id: i64,
        entry_id: Option<i64>,
        internal: bool,
    },
    /// A change request (its id, number and account).
    Change {
        id: i64,
        number: &'a str,
        account_id: i64,
    },
    /// A knowledge-base article (its id and number).
    Article { id: i64, number: &'a str },
}

impl Owner<'_> {
    /// Its name in the audit trail.
    fn target(&self) -> String {
        match self {
            Owner::Case { number, .. } => format!("case:{number}"),
            Owner::Change { number, .. } => format!("change:{number}"),
            Owner::Article { number, .. } => number.to_string(),
        }
    }

    fn account_id(&self) -> Option<i64> {
        match self {
            Owner::Case { account_id, .. } | Owner::Change { account_id, .. } => Some(*account_id),
            Owner::Article { .. } => None,
        }
    }

    /// Its row, as the `(case_id, change_id, article_id)` columns of an attachment.
    fn columns(&self) -> (Option<i64>, Option<i64>, Option<i64>) {
        match self {
            Owner::Case { id, .. } => (Some(*id), None, None),
            Owner::Change { id, .. } => (None, Some(*id), None),
            Owner::Article { id, .. } => (None, None, Some(*id)),
        }
    }
}

/// Attaches `actor`'s staged files `tokens` to `owner` in `tx`, with an audit entry each, refusing
/// the lot when one is not `actor`'s staged file any more or when the owner would hold more than
/// `limit` bytes. Answers how many were attached.
pub async fn claim(
    tx: &mut Tx,
    actor: &Actor,
    tokens: &[String],
    owner: Owner<'_>,
    limit: u64,
    client_addr: &str,
    now: i64,
) -> Result<usize, AppError> {
    let (entry_id, internal) = match owner {
        Owner::Case {
            entry_id, internal, ..
        } => (entry_id, internal),
        _ => (None, false),
    };
    let (case_id, change_id, article_id) = owner.columns();
    for token in tokens {
        let row: Option<(String, String, i64)> = on_tx!(&mut *tx, |c| {
            sqlx::query_as(
            "UPDATE attachments SET case_id = $1, entry_id = $2, internal = $3, change_id = $4, article_id = $7 \
             WHERE token = $5 AND uploaded_by = $6 AND case_id IS NULL AND change_id IS NULL \
             AND article_id IS NULL AND removed_at IS NULL \
             RETURNING file_name, sha256, (SELECT b.size FROM blobs b WHERE b.sha256 = attachments.sha256)"
        )
        .bind(case_id)
        .bind(entry_id)
        .bind(internal)
        .bind(change_id)
        .bind(token)
        .bind(actor.user_id)
        .bind(article_id)
        .fetch_optional(c)
        .await
        })?;
        let Some((name, sha256, size)) = row else {
            return Err(AppError::field(
                "attachments",
                "A file you attached is no longer waiting for this form: attach it again",
            ));
        };
        audit_added(tx, actor, &owner, (&name, &sha256, size), client_addr, now).await?;
    }
    if !tokens.is_empty() {
        let total: Option<i64> = on_tx!(&mut *tx, |c| sqlx::query_scalar(HELD_BYTES)
            .bind(case_id)
            .bind(change_id)
            .bind(article_id)
            .fetch_one(c)
            .await)?;
        if total.unwrap_or(0).max(0) as u64 > limit {
            return Err(too_much(limit));
        }
    }
    Ok(tokens.len())
}

/// The bytes of the live files of a case ($1), a change request ($2) or an article ($3).
const HELD_BYTES: &str = "SELECT CAST(SUM(b.size) AS BIGINT) FROM attachments a \
     JOIN blobs b ON b.sha256 = a.sha256 WHERE a.removed_at IS NULL \
     AND (a.case_id = $1 OR a.change_id = $2 OR a.article_id = $3)";

fn too_much(limit: u64) -> AppError {
    AppError::field(
        "attachments",
        format!(
            "A case holds at most {} of files; remove some or send a smaller file",
            human_size(limit as i64)
        ),
    )
}

/// Refuses (a validation error on `attachments`) when case `case_id` holds more than `limit`
/// bytes of files with `extra` bytes more.
pub async fn check_case_total(
    tx: &mut Tx,
    case_id: i64,
    limit: u64,
    extra: i64,
) -> Result<(), AppError> {
    check_total(tx, (Some(case_id), None), limit, extra).await
}

/// The same for the files of a case (`owner.0`) or a change request (`owner.1`).
pub async fn check_total(
    tx: &mut Tx,
    owner: (Option<i64>, Option<i64>),
    limit: u64,
    extra: i64,
) -> Result<(), AppError> {
    let total: Option<i64> = on_tx!(&mut *tx, |c| sqlx::query_scalar(HELD_BYTES)
        .bind(owner.0)
        .bind(owner.1)
        .bind(None::<i64>)
        .fetch_one(c)
        .await)?;
    if (total.unwrap_or(0) + extra).max(0) as u64 > limit {
        return Err(too_much(limit));
    }
    Ok(())
}

/// How many bytes the case (`owner.0`) or change request (`owner.1`) may still take.
pub async fn room(db: &Db, owner: (Option<i64>, Option<i64>), limit: u64) -> Result<u64, AppError> {
    let total: Option<i64> = on_db!(db, |c| sqlx::query_scalar(HELD_BYTES)
        .bind(owner.0)
        .bind(owner.1)
        .bind(None::<i64>)
        .fetch_one(c)
        .await)?;
    Ok(limit.saturating_sub(total.unwrap_or(0).max(0) as u64))
}

/// How many bytes `user_id` may still stage ahead of forms, of `limit` in all.
pub async fn staged_room(db: &Db, user_id: i64, limit: u64) -> Result<u64, AppError> {
    let total: Option<i64> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT CAST(SUM(b.size) AS BIGINT) FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 \
         WHERE a.uploaded_by = $1 AND a.case_id IS NULL AND a.change_id IS NULL \
         AND a.article_id IS NULL AND a.removed_at IS NULL"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    })?;
    Ok(limit.saturating_sub(total.unwrap_or(0).max(0) as u64))
}

/// The audit entry of a file attached to `owner`.
pub async fn audit_added(
    tx: &mut Tx,
    actor: &Actor,
    owner: &Owner<'_>,
    file: (&str, &str, i64),
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let (name, sha256, size) = file;
    let internal = matches!(owner, Owner::Case { internal: true, .. });
    let event = super::audit::Event {
        account_id: owner.account_id(),
        target: Some(owner.target()),
        after: Some(serde_json::json!({
            "file": name, "sha256": sha256, "size": size, "internal": internal,
        })),
        ..super::audit::Event::by(actor, "attachment.added", client_addr)
    };
    super::audit::append(tx, &event, now).await
}

/// Attaches change request `change_id`'s files to case `case_id` too (made from it), in `tx`: the
/// same bytes under new tokens, each with the uploader and time of the original.
pub async fn carry_to_case(tx: &mut Tx, change_id: i64, case_id: i64) -> Result<usize, AppError> {
    let rows: Vec<(String, String, i64, i64)> = on_tx!(&mut *tx, |c| sqlx::query_as(
        "SELECT sha256, file_name, uploaded_by, uploaded_at FROM attachments \
         WHERE change_id = $1 AND removed_at IS NULL ORDER BY id"
    )
    .bind(change_id)
    .fetch_all(c)
    .await)?;
    for (sha256, name, by, at) in &rows {
        execute!(tx: &mut *tx, sqlx::query(
            "INSERT INTO attachments (token, sha256, file_name, uploaded_by, uploaded_at, case_id) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(super::session::new_token())
        .bind(sha256)
        .bind(name)
        .bind(by)
        .bind(at)
        .bind(case_id))?;
    }
    Ok(rows.len())
}

/// The sentence a mail adds about the files that came with it.
pub fn mail_line(count: i64) -> String {
    match count {
        0 => String::new(),
        1 => {
            "1 file was attached; it is on the case page (files are never sent by mail).\n\n".into()
        }
        n => format!(
            "{n} files were attached; they are on the case page (files are never sent by mail).\n\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_carry_tokens_only() {
        let t = "a".repeat(43);
        assert_eq!(parse_tokens(&format!(" {t}, {t}\n")).unwrap().len(), 2);
        assert!(parse_tokens("").unwrap().is_empty());
        assert!(parse_tokens("../../etc/passwd").is_err());
        assert!(parse_tokens(&vec![t; MAX_FILES_PER_FORM + 1].join(" ")).is_err());
    }

    #[test]
    fn mails_count_files_and_never_carry_them() {
        assert_eq!(mail_line(0), "");
        assert!(mail_line(1).starts_with("1 file was attached"));
        assert!(mail_line(3).starts_with("3 files were attached"));
    }
}
