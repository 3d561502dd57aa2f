//! Invitations and password resets (SPEC §3.1, §3.4): single-use links that expire, stored only as
//! a SHA-256 hash, each issued in the transaction that queues its mail.

use super::access::{self, StaffReason, Target};
use super::audit::{self, Event};
use super::db::{execute, on_db, on_tx, Db, Tx};
use super::mail::{self, Mail};
use super::state::AppState;
use super::{password, session, users};
use crate::error::{AppError, Problems};
use crate::model::domain::Email;
use crate::model::LinkInfo;
use crate::model::{Actor, Role};
use serde_json::json;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }

    fn lifetime(self, state: &AppState) -> i64 {
        match self {
            Purpose::Invitation => state.settings.invitation_hours * 3600,
            Purpose::Reset => state.settings.reset_minutes * 60,
        }
    }
}

/// Voids every open link of `user_id` (of one purpose, or all) with `reason`.
pub async fn void_open_links(
    tx: &mut Tx,
    user_id: i64,
    purpose: Option<Purpose>,
    reason: &str,
    now: i64,
) -> Result<u64, AppError> {
    execute!(tx: tx, sqlx::query(
        "UPDATE user_tokens SET voided_at = $1, void_reason = $2 \
         WHERE user_id = $3 AND used_at IS NULL AND voided_at IS NULL AND ($4 = '' OR purpose = $4)"
    )
    .bind(now)
    .bind(reason)
    .bind(user_id)
    .bind(purpose.map(Purpose::as_str).unwrap_or("")))
}

/// Issues a new link for `user_id`, voiding the open ones of the same purpose, and queues its mail.
#[allow(clippy::too_many_arguments)]
pub async fn issue_link(
    tx: &mut Tx,
    state: &AppState,
    purpose: Purpose,
    user: &Target,
    account_name: &str,
    created_by: Option<i64>,
    inviter: &str,
    now: i64,
) -> Result<(), AppError> {
    let replaced = match purpose {
        Purpose::Invitation => "resent",
        Purpose::Reset => "superseded",
    };
    void_open_links(tx, user.id, Some(purpose), replaced, now).await?;
    let token = session::new_token();
    execute!(tx: tx, sqlx::query(
        "INSERT INTO user_tokens (token_hash, user_id, purpose, created_at, created_by, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(session::token_hash(&token))
    .bind(user.id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(created_by)
    .bind(now + purpose.lifetime(state)))?;
    let settings = &state.settings;
    let (subject, body, path) = match purpose {
        Purpose::Invitation => {
            let (s, b) = mail::invitation(settings, account_name, inviter, &user.first_name);
            (s, b, "/accept")
        }
        Purpose::Reset => {
            let (s, b) = mail::password_reset(settings, &user.first_name);
            (s, b, "/reset")
        }
    };
    let to_name = format!("{} {}", user.first_name, user.last_name);
    let mail = Mail {
        kind: purpose.as_str(),
        account_id: Some(user.account_id),
        to_address: &user.email,
        to_name: &to_name,
        subject,
        body,
        secret_link: Some(mail::portal_url(settings, &format!("{path}?token={token}"))),
    };
    mail::enqueue(tx, &mail, now).await.map(|_| ())
}

/// A new user for an account, as the add-user form sends it.
pub struct Invite {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
}

pub fn parse_name(problems: &mut Problems, field: &str, what: &str, value: &str) -> String {
    let value = value.trim().to_string();
    if value.is_empty() {
        problems.add(field, format!("Enter the {what}"));
    } else if value.chars().count() > 100 {
        problems.add(field, format!("The {what} must be 100 characters or fewer"));
    } else if value.chars().any(char::is_control) {
        problems.add(
            field,
            format!("The {what} cannot contain control characters"),
        );
    }
    value
}

/// Checks an invitation's fields: names present and plain, email well-formed.
pub fn validate_invite(invite: &Invite) -> Result<(String, String, Email), AppError> {
    let mut problems = Problems::new();
    let first = parse_name(
        &mut problems,
        "first_name",
        "first name",
        &invite.first_name,
    );
    let last = parse_name(&mut problems, "last_name", "last name", &invite.last_name);
    let email = problems.take("email", Email::parse(&invite.email));
    problems.finish()?;
    Ok((
        first,
        last,
        email.expect("parsed when there were no problems"),
    ))
}

/// The display name of a user, for mails ("Ada Admin").
async fn display_name(tx: &mut Tx, user_id: i64) -> Result<String, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT first_name || ' ' || last_name FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

async fn account_name(tx: &mut Tx, account_id: i64) -> Result<Option<String>, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT name FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await
    .map_err(AppError::from))
}

/// The name the mail gives as inviter: the person the customer knows. A platform admin acting
/// for the vendor is "the support team of <vendor>", not a name the customer has never heard.
async fn inviter_name(tx: &mut Tx, actor: &Actor) -> Result<String, AppError> {
    if actor.role.is_staff() {
        Ok("The vendor's support team".into())
    } else {
        display_name(tx, actor.user_id).await
    }
}

/// Creates an invited user in `account_id` and queues their invitation, in one transaction.
/// The caller has passed the policy check; a customer administrator's `account_id` is their own.
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    invite: &Invite,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
    let (first, last, email) = validate_invite(invite)?;
    let mut tx = state.db.begin().await?;
    let Some(account) = account_name(&mut tx, account_id).await? else {
        return Err(AppError::NotFound);
    };
    let user_id = match users::insert(
        &mut tx,
        &users::NewUser {
            account_id: Some(account_id),
            email: &email,
            first_name: &first,
            last_name: &last,
            kind: "customer",
            is_admin: invite.is_admin,
            status: "invited",
            password_hash: None,
            created_by: Some(actor.user_id),
        },
        now,
    )
    .await
    {
        Ok(id) => id,
        Err(AppError::Validation(_)) => {
            return Err(taken_email(&state.db, actor, &email, account_id).await?)
        }
        Err(other) => return Err(other),
    };
    let target = Target {
        id: user_id,
        account_id,
        email: email.as_str().to_string(),
        first_name: first,
        last_name: last,
        status: "invited".into(),
        is_admin: invite.is_admin,
        has_password: false,
    };
    let inviter = inviter_name(&mut tx, actor).await?;
    issue_link(
        &mut tx,
        state,
        Purpose::Invitation,
        &target,
        &account,
        Some(actor.user_id),
        &inviter,
        now,
    )
    .await?;
    let event = Event {
        action: "user.invited",
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        account_id: Some(account_id),
        target: Some(format!("user:{user_id}")),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        after: Some(
            json!({ "email": email.as_str(), "is_admin": invite.is_admin, "status": "invited" }),
        ),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    if invite.is_admin {
        super::access::record_admin_change(&mut tx, &event, user_id, true, "invitation", now)
            .await?;
    }
    tx.commit().await?;
    Ok(user_id)
}

/// The answer to an email that is already taken. Within the caller's own account the person is
/// on their list anyway; staff see everything. A customer administrator is not told whether the
/// address belongs to another company (SPEC §3.4: no enumeration through invitations).
async fn taken_email(
    db: &Db,
    actor: &Actor,
    email: &Email,
    account_id: i64,
) -> Result<AppError, AppError> {
    let owner: Option<Option<i64>> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT account_id FROM users WHERE email = $1"
    )
    .bind(email.as_str())
    .fetch_optional(c)
    .await)?;
    let message = match owner {
        Some(Some(id)) if id == account_id => "This person is already a user of this account",
        _ if actor.role == Role::PlatformAdmin => {
            "This email address already belongs to another account or to vendor staff"
        }
        _ => "This email address cannot be added here. If this person should have access, contact the vendor's support team.",
    };
    Ok(AppError::field("email", message))
}

/// What re-sending or revoking does to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationChange {
    /// A new link is mailed; the old one stops working.
    Resend,
    /// The link stops working and the user is disabled.
    Revoke,
}

/// Re-sends or revokes the invitation of an invited user the actor may manage.
pub async fn change_invitation(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    change: InvitationChange,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let target = access::load_target(&mut tx, actor, user_id).await?;
    if target.status != "invited" {
        return Err(AppError::Conflict(
            "This person has already accepted their invitation, or was disabled.".into(),
        ));
    }
    let action = match change {
        InvitationChange::Resend => {
            let account = account_name(&mut tx, target.account_id)
                .await?
                .ok_or(AppError::NotFound)?;
            let inviter = inviter_name(&mut tx, actor).await?;
            issue_link(
                &mut tx,
                state,
                Purpose::Invitation,
                &target,
                &account,
                Some(actor.user_id),
                &inviter,
                now,
            )
            .await?;
            "invitation.resent"
        }
        InvitationChange::Revoke => {
            void_open_links(&mut tx, target.id, None, "revoked", now).await?;
            execute!(tx: &mut tx, sqlx::query(
                "UPDATE users SET status = 'disabled', updated_at = $1 WHERE id = $2"
            )
            .bind(now)
            .bind(target.id))?;
            "invitation.revoked"
        }
    };
    let event = Event {
        action,
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        account_id: Some(target.account_id),
        target: Some(format!("user:{}", target.id)),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        before: Some(json!({ "status": target.status })),
        after: Some(json!({
            "status": if change == InvitationChange::Revoke { "disabled" } else { "invited" }
        })),
        client_addr: Some(client_addr),
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    user_id: i64,
    purpose: String,
    expires_at: i64,
    used_at: Option<i64>,
    void_reason: Option<String>,
    status: String,
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
    } else if row.void_reason.is_some() || row.status == "disabled" {
        "This link was withdrawn and no longer works."
    } else if now >= row.expires_at {
        "This link has expired."
    } else if purpose == Purpose::Invitation && row.status != "invited" {
        "This invitation has already been accepted. Sign in with your email address and password."
    } else {
        return None;
    };
    Some(AppError::Conflict(format!("{why} {again}")))
}

/// Tells the accept or reset page whose link it is, or why it does not work. Reading a link does
/// not use it up.
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
/// other session and link of theirs, and signs them in. Returns the new session token.
pub async fn complete(
    state: &AppState,
    token: &str,
    purpose: Purpose,
    new_password: String,
    confirm: String,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
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
    let session_token = session::create(
        &mut tx,
        &state.settings,
        row.user_id,
        None,
        client_addr,
        now,
    )
    .await?;
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
    Ok(session_token)
}

/// At most this many reset mails per person per hour, so the form cannot be used to flood a
/// mailbox.
const RESETS_PER_HOUR: i64 = 3;

/// Queues a reset mail when `email` belongs to an active customer user. The answer is the same
/// whether or not it does (no enumeration); only valid input is checked.
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
