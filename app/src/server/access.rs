//! Changing who has access (SPEC §3.1, §3.2): disable and re-enable users, grant and revoke the
//! administrator flag. Each change is one transaction with its audit entry; an account never ends
//! up without an active administrator.

use super::audit::{self, Event};
use super::db::{execute, on_tx, Tx};
use super::state::AppState;
use crate::error::AppError;
use crate::model::{Actor, Role, UserStatus};
use serde_json::json;

/// Why vendor staff made a change: required of staff (SPEC §3.2), never asked of customers.
#[derive(Debug, Clone, Default)]
pub struct StaffReason {
    pub reason: Option<String>,
    pub reference: Option<String>,
}

/// The kinds of change this module makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Disable,
    Enable,
    GrantAdmin,
    RevokeAdmin,
    /// Removes every second factor of theirs (a lost phone); they set one up at next sign-in.
    ResetSecondFactor,
    /// Ends every session of theirs.
    SignOutEverywhere,
}

impl Change {
    fn action(self) -> &'static str {
        match self {
            Change::Disable => "user.disabled",
            Change::Enable => "user.enabled",
            Change::GrantAdmin => "administrator.granted",
            Change::RevokeAdmin => "administrator.revoked",
            Change::ResetSecondFactor => "second_factor.reset",
            Change::SignOutEverywhere => "session.ended_everywhere",
        }
    }
}

/// A customer user someone wants to change, as far as the rules need to know them.
#[derive(sqlx::FromRow)]
pub struct Target {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    pub is_admin: bool,
    pub has_password: bool,
}

/// Loads the customer user `target_id` if `actor` may manage them: platform admins any account's,
/// customer administrators their own account's. Everyone else — another account's users, vendor
/// staff, ids that do not exist — is the same `NotFound`, so ids cannot be probed.
#[tracing::instrument(skip_all)]
pub async fn load_target(tx: &mut Tx, actor: &Actor, target_id: i64) -> Result<Target, AppError> {
    let target: Option<Target> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, account_id, email, first_name, last_name, status, is_admin, \
         password_hash IS NOT NULL AS has_password \
         FROM users WHERE id = $1 AND kind = 'customer' AND account_id IS NOT NULL"
    )
    .bind(target_id)
    .fetch_optional(c)
    .await)?;
    target
        .filter(|t| actor.role == Role::PlatformAdmin || Some(t.account_id) == actor.account_id)
        .ok_or(AppError::NotFound)
}

/// Checks the staff reason: required, short, and the optional reference a case number.
pub fn parse_staff_reason(
    reason: Option<String>,
    reference: Option<String>,
) -> Result<StaffReason, AppError> {
    let mut problems = crate::error::Problems::new();
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    match &reason {
        None => problems.add(
            "reason",
            "Enter the reason for this change (it is recorded in the audit trail)",
        ),
        Some(r) if r.chars().count() > 500 => {
            problems.add("reason", "The reason must be 500 characters or fewer")
        }
        _ => {}
    }
    let reference = reference
        .map(|r| r.trim().to_uppercase())
        .filter(|r| !r.is_empty());
    if let Some(r) = &reference {
        let ok = r.len() == 9 && r.starts_with("CS") && r[2..].chars().all(|c| c.is_ascii_digit());
        if !ok {
            problems.add(
                "reference",
                "Enter a case number like CS0001234, or leave it empty",
            );
        }
    }
    problems.finish()?;
    Ok(StaffReason { reason, reference })
}

/// Applies `change` to user `target_id` on behalf of `actor`. The caller has already passed the
/// policy check for the action; this enforces the rules that depend on the data: the target is a
/// customer user of an account the actor may manage, no self-lockout, at least one active
/// administrator left.
#[tracing::instrument(skip_all)]
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    target_id: i64,
    change: Change,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    apply_in(&mut tx, actor, target_id, change, why, client_addr, now).await?;
    tx.commit().await
}

/// [`apply`] inside the caller's transaction (an access review's removal is one with its
/// decision).
#[tracing::instrument(skip_all)]
pub async fn apply_in(
    tx: &mut Tx,
    actor: &Actor,
    target_id: i64,
    change: Change,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let target = load_target(tx, actor, target_id).await?;
    let account_id = target.account_id;
    if target.id == actor.user_id && matches!(change, Change::Disable | Change::RevokeAdmin) {
        return Err(AppError::Conflict(
            "You cannot disable yourself or remove your own administrator rights. Ask another administrator.".into(),
        ));
    }
    if matches!(
        change,
        Change::ResetSecondFactor | Change::SignOutEverywhere
    ) {
        return sign_in_change(tx, actor, &target, change, why, client_addr, now).await;
    }
    lock_account(tx, account_id).await?;

    let (status, is_admin) = match change {
        Change::Disable if target.status == UserStatus::Disabled => return Ok(()),
        Change::Disable => (UserStatus::Disabled, target.is_admin),
        Change::Enable if target.status != UserStatus::Disabled => return Ok(()),
        Change::Enable => (
            if target.has_password {
                UserStatus::Active
            } else {
                UserStatus::Invited
            },
            target.is_admin,
        ),
        Change::GrantAdmin if target.is_admin => return Ok(()),
        Change::GrantAdmin => (target.status, true),
        Change::RevokeAdmin if !target.is_admin => return Ok(()),
        Change::RevokeAdmin => (target.status, false),
        Change::ResetSecondFactor | Change::SignOutEverywhere => unreachable!("handled above"),
    };
    let loses_admin = target.is_admin
        && target.status == UserStatus::Active
        && (status != UserStatus::Active || !is_admin);
    if loses_admin && active_admins(tx, account_id).await? <= 1 {
        return Err(AppError::Conflict(
            "This is the account's last active administrator. Make someone else an administrator first.".into(),
        ));
    }
    execute!(tx: tx, sqlx::query(
        "UPDATE users SET status = $1, is_admin = $2, updated_at = $3 WHERE id = $4"
    )
    .bind(status.as_str())
    .bind(is_admin)
    .bind(now)
    .bind(target.id))?;
    if change == Change::Disable {
        // Their sessions end now, not at the next expiry, and no link they hold works any more.
        execute!(tx: tx, sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 OR impersonator_id = $1"
        )
        .bind(target.id))?;
        super::tokens::void_open_links(tx, target.id, None, "revoked", now).await?;
    }
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("user:{}", target.id)),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        before: Some(json!({ "status": target.status, "is_admin": target.is_admin })),
        after: Some(json!({ "status": status, "is_admin": is_admin })),
        ..Event::by(actor, change.action(), client_addr)
    };
    audit::append(tx, &event, now).await
}

/// Resets a user's second factors or signs them out everywhere: their sessions end either way;
/// a reset also removes their apps and recovery codes and tells them by mail.
async fn sign_in_change(
    tx: &mut Tx,
    actor: &Actor,
    target: &Target,
    change: Change,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let apps = if change == Change::ResetSecondFactor {
        super::second_factor::remove_all(tx, target.id).await?
    } else {
        0
    };
    let ended = execute!(tx: tx, sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1"
    )
    .bind(target.id))?;
    if change == Change::ResetSecondFactor {
        let (address, name) = super::mail::recipient(tx, target.id).await?;
        let mail = super::mail::Mail {
            kind: "second_factor_reset",
            account_id: Some(target.account_id),
            to_address: &address,
            to_name: &name,
            subject: "Your support portal second factor was reset".into(),
            body: format!(
                "Hello {},\n\n\
                 An administrator removed the authenticator apps and recovery codes you used to \
                 sign in to the support portal, and signed you out everywhere. If your account \
                 requires a second factor, you will be asked to set up a new one the next time \
                 you sign in.\n\n\
                 If you did not ask for this, tell your company's administrators.\n",
                target.first_name
            ),
            secret_link: None,
        };
        super::mail::enqueue(tx, &mail, now).await?;
    }
    let event = Event {
        account_id: Some(target.account_id),
        target: Some(format!("user:{}", target.id)),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        after: Some(json!({ "apps_removed": apps, "sessions_ended": ended })),
        ..Event::by(actor, change.action(), client_addr)
    };
    audit::append(tx, &event, now).await
}

/// Records that user `user_id` became (or stopped being) an administrator by another route than
/// the grant and revoke buttons — a contact designation, an invitation, a bulk import — so every
/// change of administrator rights has an `administrator.granted` / `.revoked` entry of its own.
/// Who, for which account, why and from where come from `cause`, the entry of the change itself.
#[tracing::instrument(skip_all)]
pub async fn record_admin_change(
    tx: &mut Tx,
    cause: &Event<'_>,
    user_id: i64,
    granted: bool,
    via: &str,
    now: i64,
) -> Result<(), AppError> {
    let event = Event {
        action: if granted {
            Change::GrantAdmin.action()
        } else {
            Change::RevokeAdmin.action()
        },
        target: Some(format!("user:{user_id}")),
        before: Some(json!({ "is_admin": !granted })),
        after: Some(json!({ "is_admin": granted, "via": via })),
        ..cause.clone()
    };
    audit::append(tx, &event, now).await
}

/// Serializes changes to one account's administrators (PostgreSQL row lock; SQLite write
/// transactions are exclusive already), so two concurrent revocations cannot both pass the
/// last-administrator check.
#[tracing::instrument(skip_all)]
pub async fn lock_account(tx: &mut Tx, account_id: i64) -> Result<(), AppError> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id)
            .fetch_optional(&mut **t)
            .await?;
    }
    Ok(())
}

/// How many active administrators account `$1` has.
pub const ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) FROM users WHERE account_id = $1 AND is_admin AND status = 'active'";

#[tracing::instrument(skip_all)]
pub async fn active_admins(tx: &mut Tx, account_id: i64) -> Result<i64, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(ACTIVE_ADMINS)
        .bind(account_id)
        .fetch_one(c)
        .await
        .map_err(AppError::from))
}
