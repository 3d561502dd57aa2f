//! Using a mailed link: what it is for and whose it is, setting the password it leads to, and
//! asking for a password reset.

use super::*;
use crate::server::second_factor::sign_in::stage_after_password;
use crate::server::session::Stage;

#[derive(sqlx::FromRow)]
struct LinkRow {
    user_id: i64,
    purpose: String,
    expires_at: i64,
    used_at: Option<i64>,
    void_reason: Option<String>,
    #[sqlx(try_from = "String")]
    status: UserStatus,
    email: String,
    first_name: String,
    last_name: String,
    account_id: i64,
    account_name: String,
}

async fn find_link(db_or_tx: LinkSource<'_>, token: &str) -> Result<Option<LinkRow>, AppError> {
    const SQL: &str = "SELECT t.user_id, t.purpose, t.expires_at, t.used_at, t.void_reason, \
         u.status, u.email, u.first_name, u.last_name, u.account_id, a.name AS account_name \
         FROM user_tokens t JOIN users u ON u.id = t.user_id JOIN accounts a ON a.id = u.account_id \
         WHERE t.token_hash = $1";
    let hash = session::token_hash(token);
    match db_or_tx {
        LinkSource::Db(db) => on_db!(db, |c| sqlx::query_as(SQL)
            .bind(&hash)
            .fetch_optional(c)
            .await
            .map_err(AppError::from)),
        LinkSource::Tx(tx) => on_tx!(tx, |c| sqlx::query_as(SQL)
            .bind(&hash)
            .fetch_optional(c)
            .await
            .map_err(AppError::from)),
    }
}

enum LinkSource<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

/// Why a link does not work, in words for the person holding it.
fn dead_link(row: Option<&LinkRow>, purpose: Purpose, now: i64) -> Option<AppError> {
    let again = match purpose {
        Purpose::Invitation => "Ask an administrator of your company to send you a new invitation.",
        Purpose::Reset => "You can ask for a new link on the sign-in page.",
    };
    let Some(row) = row.filter(|r| r.purpose == purpose.as_str()) else {
        return Some(AppError::Conflict(format!(
            "This link is not valid. Check that you copied the whole link from the mail. {again}"
        )));
    };
    let why = if row.used_at.is_some() {
        "This link has already been used. Links work only once."
    } else if row.void_reason.as_deref() == Some("resent") {
        "A newer invitation was sent after this one, so this link no longer works. Use the link in the newest mail."
    } else if row.void_reason.as_deref() == Some("superseded") {
        "A newer reset link was sent after this one, so this link no longer works. Use the link in the newest mail."
    } else if row.void_reason.is_some() || row.status == UserStatus::Disabled {
        "This link was withdrawn and no longer works."
    } else if now >= row.expires_at {
        "This link has expired."
    } else if purpose == Purpose::Invitation && row.status != UserStatus::Invited {
        "This invitation has already been accepted. Sign in with your email address and password."
    } else {
        return None;
    };
    Some(AppError::Conflict(format!("{why} {again}")))
}

/// Tells the accept or reset page whose link it is, or why it does not work. Reading a link does
/// not use it up.
#[tracing::instrument(skip_all)]
pub async fn inspect(
    db: &Db,
    token: &str,
    purpose: Purpose,
    now: i64,
) -> Result<LinkInfo, AppError> {
    let row = find_link(LinkSource::Db(db), token).await?;
    if let Some(err) = dead_link(row.as_ref(), purpose, now) {
        return Err(err);
    }
    let row = row.expect("a live link has a row");
    Ok(LinkInfo {
        email: row.email,
        first_name: row.first_name,
        account_name: row.account_name,
    })
}

/// Uses a link: sets the password under the §3.4 rules, activates an invited user, ends every
/// other session and link of theirs, and signs them in — or takes them to the second factor.
/// Returns the new session's token and how far it is signed in; `None` where the account signs
/// in through its identity provider only.
#[tracing::instrument(skip_all)]
pub async fn complete(
    state: &AppState,
    token: &str,
    purpose: Purpose,
    new_password: String,
    confirm: String,
    client_addr: &str,
    now: i64,
) -> Result<Option<(String, Stage)>, AppError> {
    let row = find_link(LinkSource::Db(&state.db), token).await?;
    if let Some(err) = dead_link(row.as_ref(), purpose, now) {
        return Err(err);
    }
    let row = row.expect("a live link has a row");
    let mut problems = Problems::new();
    if let Err(message) = password::check_new_password(
        &new_password,
        &[&row.email, &row.first_name, &row.last_name],
    ) {
        problems.add("new_password", message);
    }
    if confirm != new_password {
        problems.add("confirm_password", "The passwords do not match");
    }
    problems.finish()?;
    let hash = password::hash(new_password).await?;

    let mut tx = state.db.begin().await?;
    // Checked again inside the write transaction: of two concurrent uses, only one gets here with
    // the link still open.
    let again = find_link(LinkSource::Tx(&mut tx), token).await?;
    if let Some(err) = dead_link(again.as_ref(), purpose, now) {
        return Err(err);
    }
    let used = execute!(tx: &mut tx, sqlx::query(
        "UPDATE user_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND voided_at IS NULL"
    )
    .bind(now)
    .bind(session::token_hash(token)))?;
    if used != 1 {
        return Err(AppError::Conflict(
            "This link has already been used. Links work only once.".into(),
        ));
    }
    void_open_links(&mut tx, row.user_id, None, "superseded", now).await?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, \
         status = 'active', last_sign_in_at = $2 WHERE id = $3"
    )
    .bind(&hash)
    .bind(now)
    .bind(row.user_id))?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM sessions WHERE user_id = $1 OR impersonator_id = $1").bind(row.user_id))?;
    // A link proves the mailbox, not the second factor: a person who has (or must have) one
    // still gives it before they are signed in.
    let stage = stage_after_password(
        &mut tx,
        &state.settings,
        row.user_id,
        "customer",
        Some(row.account_id),
    )
    .await?;
    // Where the account signs in through its identity provider only, the link activates the
    // person but signs nobody in: the provider does that.
    let sso_only: Option<bool> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT required FROM account_sso WHERE account_id = $1"
    )
    .bind(row.account_id)
    .fetch_optional(c)
    .await)?;
    let session_token = if sso_only == Some(true) {
        None
    } else {
        Some(
            session::create_staged(
                &mut tx,
                &state.settings,
                row.user_id,
                stage,
                client_addr,
                now,
            )
            .await?,
        )
    };
    let action = match purpose {
        Purpose::Invitation => "user.activated",
        Purpose::Reset => "password.reset",
    };
    let event = Event {
        action,
        actor_id: Some(row.user_id),
        account_id: Some(row.account_id),
        target: Some(format!("user:{}", row.user_id)),
        before: Some(json!({ "status": row.status })),
        after: Some(json!({ "status": "active" })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = row.user_id, action, "link used");
    Ok(session_token.map(|token| (token, stage)))
}

/// At most this many reset mails per person per hour, so the form cannot be used to flood a
/// mailbox.
const RESETS_PER_HOUR: i64 = 3;

/// Queues a reset mail when `email` belongs to an active customer user. The answer is the same
/// whether or not it does (no enumeration); only valid input is checked.
#[tracing::instrument(skip_all)]
pub async fn request_reset(
    state: &AppState,
    email: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut problems = Problems::new();
    let email = problems.take("email", Email::parse(email));
    problems.finish()?;
    let email = email.expect("parsed when there were no problems");
    let mut tx = state.db.begin().await?;
    let target: Option<Target> = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT id, account_id, email, first_name, last_name, status, is_admin, \
         password_hash IS NOT NULL AS has_password FROM users \
         WHERE email = $1 AND kind = 'customer' AND status = 'active' AND account_id IS NOT NULL"
    )
    .bind(email.as_str())
    .fetch_optional(c)
    .await)?;
    let Some(target) = target else {
        tracing::info!(
            client_addr,
            "password reset asked for an unknown or inactive address"
        );
        return Ok(());
    };
    let recent: i64 = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_tokens WHERE user_id = $1 AND purpose = 'reset' AND created_at > $2"
    )
    .bind(target.id)
    .bind(now - 3600)
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    if recent >= RESETS_PER_HOUR {
        tracing::warn!(
            user_id = target.id,
            client_addr,
            "password reset mails throttled"
        );
        return Ok(());
    }
    let account = account_name(&mut tx, target.account_id)
        .await?
        .unwrap_or_default();
    issue_link(
        &mut tx,
        state,
        Purpose::Reset,
        &target,
        &account,
        None,
        "",
        now,
    )
    .await?;
    let event = Event {
        action: "password.reset_requested",
        account_id: Some(target.account_id),
        target: Some(format!("user:{}", target.id)),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}
