//! Invitations and password resets (SPEC §3.1, §3.4): single-use links that expire, stored only as
//! a SHA-256 hash, each issued in the transaction that queues its mail.

use super::access::{self, StaffReason, Target};
use super::audit::{self, Event};
use super::db::{execute, on_db, on_tx, Db, Tx};
use super::forms::{self, FormKind, Submission};
use super::mail::{self, Mail};
use super::state::AppState;
use super::{password, session, users};
use crate::error::{AppError, Problems};
use crate::model::domain::Email;
use crate::model::LinkInfo;
use crate::model::{Actor, Role, UserStatus};
use serde_json::json;

mod links;
pub use super::tokens::{void_open_links, Purpose};
pub use links::*;

/// Issues a new link for `user_id`, voiding the open ones of the same purpose, and queues its mail.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all)]
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
    /// The form's idempotency key (see `server::forms`).
    pub form_key: Option<String>,
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

/// Mails `target` a new invitation to `account` from `actor`.
async fn send_invitation(
    tx: &mut Tx,
    state: &AppState,
    actor: &Actor,
    target: &Target,
    account: &str,
    now: i64,
) -> Result<(), AppError> {
    let inviter = inviter_name(tx, actor).await?;
    issue_link(
        tx,
        state,
        Purpose::Invitation,
        target,
        account,
        Some(actor.user_id),
        &inviter,
        now,
    )
    .await
}

/// Creates an invited user in `account_id` and queues their invitation, in one transaction.
/// The caller has passed the policy check; a customer administrator's `account_id` is their own.
#[tracing::instrument(skip_all)]
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
    let key = invite.form_key.as_deref();
    if let Submission::Repeated(id) =
        forms::claim(&mut tx, actor.user_id, FormKind::Invitation, key, now).await?
    {
        return Ok(id);
    }
    let user_id = match users::insert(
        &mut tx,
        &users::NewUser {
            account_id: Some(account_id),
            email: &email,
            first_name: &first,
            last_name: &last,
            kind: "customer",
            is_admin: invite.is_admin,
            status: UserStatus::Invited,
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
        status: UserStatus::Invited,
        is_admin: invite.is_admin,
        has_password: false,
    };
    send_invitation(&mut tx, state, actor, &target, &account, now).await?;
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("user:{user_id}")),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        after: Some(
            json!({ "email": email.as_str(), "is_admin": invite.is_admin, "status": "invited" }),
        ),
        ..Event::by(actor, "user.invited", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    if invite.is_admin {
        super::access::record_admin_change(&mut tx, &event, user_id, true, "invitation", now)
            .await?;
    }
    forms::record(&mut tx, actor.user_id, key, user_id).await?;
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
#[tracing::instrument(skip_all)]
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
    if target.status != UserStatus::Invited {
        return Err(AppError::Conflict(
            "This person has already accepted their invitation, or was disabled.".into(),
        ));
    }
    let action = match change {
        InvitationChange::Resend => {
            let account = account_name(&mut tx, target.account_id)
                .await?
                .ok_or(AppError::NotFound)?;
            send_invitation(&mut tx, state, actor, &target, &account, now).await?;
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
        account_id: Some(target.account_id),
        target: Some(format!("user:{}", target.id)),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        before: Some(json!({ "status": target.status })),
        after: Some(json!({
            "status": if change == InvitationChange::Revoke { "disabled" } else { "invited" }
        })),
        ..Event::by(actor, action, client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}
