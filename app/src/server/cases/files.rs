//! Files on a case: what a comment or note form sends with its staged files, and the case page's
//! "Add files" form.

use super::work::{add_entry, check_text, lock_case, Locked};
use super::*;

/// What a comment or work note form sends: its text, idempotency key and staged files, and where
/// it came from.
#[derive(Debug, Clone)]
pub struct Reply {
    pub body: String,
    pub form_key: Option<String>,
    /// Tokens of the files uploaded for it (see `server::attachments`).
    pub files: Vec<String>,
    pub client_addr: String,
}

impl Reply {
    /// The reply of a form sent in the current request: `attachments` is its hidden field of
    /// staged files' tokens.
    pub fn from_form(
        state: &AppState,
        body: String,
        form_key: Option<String>,
        attachments: Option<String>,
    ) -> Result<Reply, AppError> {
        Ok(Reply {
            body,
            form_key,
            files: super::super::attachments::parse_tokens(
                attachments.as_deref().unwrap_or_default(),
            )?,
            client_addr: crate::server::request::current_client_addr(state)?,
        })
    }
}

/// A reply's text, checked: it may be empty only when files go with it.
pub(super) fn reply_text(reply: &Reply, what: &str) -> Result<String, AppError> {
    if reply.body.trim().is_empty() && !reply.files.is_empty() {
        return Ok(String::new());
    }
    check_text("body", &reply.body, what)
}

/// Attaches `reply`'s staged files to entry `entry_id` of `case`; answers the mail's line about them.
pub(super) async fn attach_reply_files(
    tx: &mut Tx,
    state: &AppState,
    actor: &Actor,
    case: &Locked,
    number: &str,
    entry_id: i64,
    internal: bool,
    reply: &Reply,
    now: i64,
) -> Result<String, AppError> {
    let owner = super::super::attachments::Owner::Case {
        id: case.id,
        number,
        account_id: case.account_id,
        entry_id: Some(entry_id),
        internal,
    };
    let count = super::super::attachments::claim(
        tx,
        actor,
        &reply.files,
        owner,
        state.settings.max_case_bytes(),
        &reply.client_addr,
        now,
    )
    .await?;
    Ok(super::super::attachments::mail_line(count as i64))
}

/// The id of case `number` when `actor` may add files to it: a case they can read (a customer's
/// own account's) that is not closed.
pub async fn case_for_files(db: &Db, actor: &Actor, number: &str) -> Result<i64, AppError> {
    super::super::attachments::open_for_files(
        db,
        actor,
        "cases",
        number,
        |state| CaseState::parse(state).is_some_and(CaseState::is_final),
        "This case is closed: files can no longer be added. Open a new case and mention this one's number.",
    )
    .await
}

/// Files received from the case page's "Add files" form, recorded on case `number` in one
/// transaction with a line in its activity (a work note when `internal`, which only staff may
/// ask for) and an audit entry each. Answers their tokens.
pub async fn attach_files(
    state: &AppState,
    actor: &Actor,
    number: &str,
    received: Vec<super::super::attachments::Received>,
    internal: bool,
    client_addr: &str,
    now: i64,
) -> Result<Vec<String>, AppError> {
    use super::super::attachments as files;
    let total: i64 = received.iter().map(|f| f.size).sum();
    let checks = async {
        let scope = crate::policy::reading_scope(actor)?;
        if internal {
            crate::policy::can(actor, crate::policy::Action::SeeInternalNotes)?;
        }
        let mut tx = state.db.begin().await?;
        let case = lock_case(&mut tx, number, scope.account()).await?;
        if case.state.is_final() {
            return Err(AppError::Conflict(
                "This case is closed: files can no longer be added.".into(),
            ));
        }
        files::check_case_total(&mut tx, case.id, state.settings.max_case_bytes(), total).await?;
        Ok((tx, case))
    };
    let ((mut tx, case), received) = files::unless_refused(&state.files, received, checks).await?;
    let kind = if internal { "work_note" } else { "change" };
    let line = files::attached_line(&received);
    let entry = add_entry(&mut tx, case.id, kind, Some(actor.user_id), &line, now).await?;
    let owner = files::Owner::Case {
        id: case.id,
        number,
        account_id: case.account_id,
        entry_id: Some(entry),
        internal,
    };
    let tokens =
        files::record_all(&mut tx, state, actor, received, owner, client_addr, now).await?;
    execute!(tx: &mut tx, sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2").bind(now).bind(case.id))?;
    tx.commit().await?;
    Ok(tokens)
}
