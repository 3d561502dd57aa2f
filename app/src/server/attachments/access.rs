//! Which files a page lists for the person looking, and what deciding on a download needs.

use super::super::db::{on_db, Db};
use crate::error::AppError;
use crate::model::attachments::{Attachment, ScanState};
use crate::model::Actor;

/// A case's files that `viewer` may see (`with_internal`: staff), oldest first, each marked
/// removable when `viewer` may remove it.
pub async fn for_case(
    db: &Db,
    case_id: i64,
    viewer: &Actor,
    with_internal: bool,
) -> Result<Vec<Attachment>, AppError> {
    listed(db, "a.case_id = $1", case_id, Some(viewer), with_internal).await
}

/// A change request's files, for `viewer` (who may see the request).
pub async fn for_change(
    db: &Db,
    change_id: i64,
    viewer: &Actor,
) -> Result<Vec<Attachment>, AppError> {
    listed(db, "a.change_id = $1", change_id, Some(viewer), false).await
}

/// An article's files, for `viewer` (who may read the article; `None`: a visitor).
pub async fn for_article(
    db: &Db,
    article_id: i64,
    viewer: Option<&Actor>,
) -> Result<Vec<Attachment>, AppError> {
    listed(db, "a.article_id = $1", article_id, viewer, false).await
}

/// The id of `table`'s row `number` (a case, a change request) when `actor` may add files to it:
/// one they can read (a customer's own account's) whose stored state `finished` does not call
/// finished; a conflict saying `refusal` when it does.
pub async fn open_for_files(
    db: &Db,
    actor: &Actor,
    table: &str,
    number: &str,
    finished: impl Fn(&str) -> bool,
    refusal: &str,
) -> Result<i64, AppError> {
    crate::policy::may_upload_files(actor)?;
    let scope = crate::policy::reading_scope(actor)?;
    let (id, state): (i64, String) = db
        .numbered(table, "id, state", number, scope.account())
        .await?;
    if finished(&state) {
        return Err(AppError::Conflict(refusal.into()));
    }
    Ok(id)
}

/// Whether staff have written to the case or change request since the file was uploaded (then
/// its uploader may no longer take it back): SQL over `a` (attachments).
const ANSWERED: &str = "(EXISTS (SELECT 1 FROM case_entries e JOIN users s ON s.id = e.author_id \
     WHERE e.case_id = a.case_id AND e.kind = 'comment' AND s.account_id IS NULL AND e.at >= a.uploaded_at) \
     OR EXISTS (SELECT 1 FROM change_entries e JOIN users s ON s.id = e.author_id \
     WHERE e.change_id = a.change_id AND s.account_id IS NULL AND e.at >= a.uploaded_at))";

async fn listed(
    db: &Db,
    owner: &str,
    owner_id: i64,
    viewer: Option<&Actor>,
    with_internal: bool,
) -> Result<Vec<Attachment>, AppError> {
    let sql = format!(
        "SELECT a.token, a.file_name, b.size, b.content_type, b.scan, \
         u.first_name || ' ' || u.last_name AS uploaded_by, a.uploaded_at, a.entry_id, a.internal, \
         a.uploaded_by AS uploader_id, {ANSWERED} AS answered \
         FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 JOIN users u ON u.id = a.uploaded_by \
         WHERE {owner} AND a.removed_at IS NULL AND ($2 OR NOT a.internal) ORDER BY a.id"
    );
    let rows: Vec<AttachmentRow> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(owner_id)
        .bind(with_internal)
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut a = r.attachment;
            a.removable = viewer.is_some_and(|viewer| {
                crate::policy::may_remove_file(viewer, r.uploader_id, r.answered).is_ok()
            });
            a
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    #[sqlx(flatten)]
    attachment: Attachment,
    uploader_id: i64,
    answered: bool,
}

/// What deciding on a download needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub sha256: String,
    pub file_name: String,
    pub size: i64,
    pub content_type: String,
    #[sqlx(try_from = "String")]
    pub scan: ScanState,
    pub uploaded_by: i64,
    pub internal: bool,
    /// The account of its case or change request; `None` while staged.
    pub account_id: Option<i64>,
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    pub change_id: Option<i64>,
    pub change_number: Option<String>,
    pub article_number: Option<String>,
    /// The article's visibility and state.
    pub article_visibility: Option<String>,
    pub article_state: Option<String>,
    /// Whether vendor staff have commented on the case since it was uploaded.
    pub answered: bool,
}

impl Stored {
    /// Who may see it, for the policy module.
    pub fn scope(&self) -> crate::policy::FileScope {
        crate::policy::FileScope {
            account_id: self.account_id,
            uploaded_by: self.uploaded_by,
            internal: self.internal,
            article: self.article_number.as_ref().map(|_| {
                let visibility = self
                    .article_visibility
                    .as_deref()
                    .and_then(crate::model::kb::KbVisibility::parse)
                    // An unknown visibility is the narrowest.
                    .unwrap_or(crate::model::kb::KbVisibility::Internal);
                (
                    visibility,
                    self.article_state.as_deref() == Some("published"),
                )
            }),
        }
    }
}

/// The live (not removed) attachment `token`.
pub async fn find(db: &Db, token: &str) -> Result<Option<Stored>, AppError> {
    let sql = format!(
        "SELECT a.sha256, a.file_name, b.size, b.content_type, b.scan, a.uploaded_by, a.internal, \
         COALESCE(c.account_id, r.account_id) AS account_id, a.case_id, c.number AS case_number, \
         a.change_id, r.number AS change_number, k.number AS article_number, \
         k.visibility AS article_visibility, k.state AS article_state, {ANSWERED} AS answered \
         FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 LEFT JOIN cases c ON c.id = a.case_id \
         LEFT JOIN change_requests r ON r.id = a.change_id LEFT JOIN kb_articles k ON k.id = a.article_id \
         WHERE a.token = $1 AND a.removed_at IS NULL"
    );
    Ok(on_db!(db, |c| sqlx::query_as(&sql)
        .bind(token)
        .fetch_optional(c)
        .await)?)
}
