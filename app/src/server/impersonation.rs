//! Impersonation (SPEC §3.5): a platform admin sees the portal as one customer user. The session
//! carries both identities, so everything done meanwhile is recorded with both; starting and
//! stopping are audited; vendor staff cannot be impersonated.

use super::access::{self, StaffReason};
use super::audit::{self, Event};
use super::db::execute;
use super::session;
use super::state::AppState;
use crate::error::AppError;
use crate::model::{Actor, Role, UserStatus};

/// Replaces the platform admin's session with one as `user_id`; returns the new session token.
#[tracing::instrument(skip_all)]
pub async fn start(
    state: &AppState,
    actor: &Actor,
    current_token: &str,
    user_id: i64,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    if actor.role != Role::PlatformAdmin || actor.impersonator_id.is_some() {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    // Only customer users are found here: staff ids are "not found", like ids that do not exist.
    let target = access::load_target(&mut tx, actor, user_id).await?;
    if target.status != UserStatus::Active {
        return Err(AppError::Conflict(
            "Only active users can be impersonated: this one has not signed in yet or is disabled."
                .into(),
        ));
    }
    let expires_at = session::expiry(&mut tx, current_token)
        .await?
        .ok_or(AppError::Unauthorized)?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(session::token_hash(current_token)))?;
    let token = session::create_until(
        &mut tx,
        target.id,
        Some(actor.user_id),
        client_addr,
        now,
        expires_at,
    )
    .await?;
    let event = Event {
        action: "impersonation.started",
        actor_id: Some(target.id),
        impersonator_id: Some(actor.user_id),
        account_id: Some(target.account_id),
        target: Some(format!("user:{}", target.id)),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(
        impersonator = actor.user_id,
        user_id = target.id,
        "impersonation started"
    );
    Ok(token)
}

/// Ends an impersonation. With `resume`, the platform admin gets their own session back (the
/// stop button) and its token is returned; without, they are signed out (the sign-out button).
#[tracing::instrument(skip_all)]
pub async fn stop(
    state: &AppState,
    actor: &Actor,
    current_token: &str,
    client_addr: &str,
    now: i64,
    resume: bool,
) -> Result<Option<String>, AppError> {
    let Some(admin_id) = actor.impersonator_id else {
        return Err(AppError::Conflict(
            "You are not impersonating anyone.".into(),
        ));
    };
    let mut tx = state.db.begin().await?;
    let expires_at = session::expiry(&mut tx, current_token)
        .await?
        .ok_or(AppError::Unauthorized)?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(session::token_hash(current_token)))?;
    let token = if resume {
        Some(session::create_until(&mut tx, admin_id, None, client_addr, now, expires_at).await?)
    } else {
        None
    };
    let event = Event {
        action: "impersonation.stopped",
        actor_id: Some(actor.user_id),
        impersonator_id: Some(admin_id),
        account_id: actor.account_id,
        target: Some(format!("user:{}", actor.user_id)),
        after: Some(serde_json::json!({ "signed_out": !resume })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(
        impersonator = admin_id,
        user_id = actor.user_id,
        "impersonation stopped"
    );
    Ok(token)
}
