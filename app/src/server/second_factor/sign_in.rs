//! The steps of signing in after the password (SPEC §3.4): a code from the person's second
//! factor, or — when their account requires one they do not have yet — setting one up. Until
//! then the browser holds a session half-way through signing in, which opens nothing else and
//! ends after a few minutes or a few wrong codes. Codes are throttled on the same counters as
//! passwords.

use super::{check_code, confirm_setup, has_app, new_recovery_codes, required, setup, Method};
use crate::error::AppError;
use crate::model::security::SignInSetup;
use crate::server::audit::{self, Event};
use crate::server::auth::{count_attempt, forget_attempt, Attempt};
use crate::server::db::{execute, Tx};
use crate::server::session::{self, Pending, Stage};
use crate::server::state::{AppState, Settings};
use serde_json::json;

/// Wrong codes a half-way session takes before it ends (the password must then be given again).
const CODES_PER_SESSION: i64 = 5;

/// The stage a sign-in of user `user_id` reaches once the password was right.
pub async fn stage_after_password(
    tx: &mut Tx,
    settings: &Settings,
    user_id: i64,
    kind: &str,
    account_id: Option<i64>,
) -> Result<Stage, AppError> {
    if has_app(tx, user_id).await? {
        Ok(Stage::SecondFactor)
    } else if required(tx, settings, kind, account_id).await? {
        Ok(Stage::Enrol)
    } else {
        Ok(Stage::Full)
    }
}

/// Finishes a sign-in inside `tx`: counts it, opens the signed-in session and records it with the
/// second factor given (if any). Answers the new session's token.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    tx: &mut Tx,
    settings: &Settings,
    user_id: i64,
    account_id: Option<i64>,
    email: &str,
    client_addr: &str,
    method: Option<Method>,
    now: i64,
) -> Result<String, AppError> {
    execute!(tx: tx, sqlx::query("DELETE FROM sign_in_failures WHERE email = $1").bind(email))?;
    execute!(tx: tx, sqlx::query(
        "UPDATE users SET last_sign_in_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(user_id))?;
    let token =
        session::create_staged(tx, settings, user_id, Stage::Full, client_addr, now).await?;
    let event = Event {
        action: "sign_in.succeeded",
        actor_id: Some(user_id),
        account_id,
        target: Some(format!("user:{user_id}")),
        after: method.map(|m| json!({ "method": m.as_str() })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(tx, &event, now).await?;
    Ok(token)
}

/// [`finish`] for the person half-way through signing in, who gave `method`.
pub(super) async fn finish_pending(
    tx: &mut Tx,
    settings: &Settings,
    who: &Pending,
    client_addr: &str,
    method: Method,
    now: i64,
) -> Result<String, AppError> {
    let (user_id, account_id, email) = (who.user_id, who.account_id, who.email.as_str());
    finish(
        tx,
        settings,
        user_id,
        account_id,
        email,
        client_addr,
        Some(method),
        now,
    )
    .await
}

pub(super) fn expired() -> AppError {
    AppError::Conflict("Signing in took too long. Sign in again with your password.".into())
}

fn wrong_code(enrolling: bool) -> AppError {
    AppError::field(
        "code",
        if enrolling {
            "That code does not match. Check that the app shows the code for this portal and try again"
        } else {
            "That code is not right. Enter the current code from your authenticator app, or an unused recovery code"
        },
    )
}

/// Counts a wrong code against the half-way session `token` (ending it at the limit) and records
/// it in the account's trail.
pub(super) async fn count_wrong_code(
    state: &AppState,
    token: &str,
    who: &Pending,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let hash = session::token_hash(token);
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE sessions SET failed_codes = failed_codes + 1 WHERE token_hash = $1"
    )
    .bind(&hash))?;
    if who.failed_codes + 1 >= CODES_PER_SESSION {
        execute!(tx: &mut tx, sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(&hash))?;
    }
    let event = Event {
        action: "sign_in.failed",
        account_id: who.account_id,
        target: Some(format!("user:{}", who.user_id)),
        after: Some(json!({ "step": "second_factor" })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(
        user_id = who.user_id,
        client_addr,
        "second factor code refused"
    );
    Ok(())
}

/// Opens a step of signing in that takes a `code`: the half-way session at `stage` (or why it
/// is gone), a code given at all, and the attempt counted against the person's limits.
async fn open_step(
    state: &AppState,
    token: &str,
    stage: Stage,
    code: &str,
    client_addr: &str,
    now: i64,
) -> Result<(Pending, Attempt), AppError> {
    let who = session::pending(&state.db, token, stage, now)
        .await?
        .ok_or_else(expired)?;
    if code.trim().is_empty() {
        return Err(AppError::field(
            "code",
            match stage {
                Stage::Enrol => "Enter the six-digit code your authenticator app shows",
                _ => "Enter the code from your authenticator app, or a recovery code",
            },
        ));
    }
    let attempt = count_attempt(&state.db, &state.settings, &who.email, client_addr, now).await?;
    Ok((who, attempt))
}

/// The second step: `code` from the person's app, or a recovery code. Answers the signed-in
/// session's token; the half-way session ends.
pub async fn give_code(
    state: &AppState,
    token: &str,
    code: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let (who, attempt) =
        open_step(state, token, Stage::SecondFactor, code, client_addr, now).await?;
    let mut tx = state.db.begin().await?;
    let Some(method) = check_code(&mut tx, who.user_id, code, now).await? else {
        drop(tx);
        count_wrong_code(state, token, &who, client_addr, now).await?;
        return Err(wrong_code(false));
    };
    let left = end_pending(&mut tx, token, method, &who, client_addr, now).await?;
    let signed_in =
        finish_pending(&mut tx, &state.settings, &who, client_addr, method, now).await?;
    tx.commit().await?;
    forget_attempt(&state.db, attempt).await?;
    tracing::info!(user_id = who.user_id, recovery_codes_left = ?left, "second factor accepted");
    Ok(signed_in)
}

/// Ends the half-way session; a recovery code's use is recorded with how many are left.
pub(super) async fn end_pending(
    tx: &mut Tx,
    token: &str,
    method: Method,
    who: &Pending,
    client_addr: &str,
    now: i64,
) -> Result<Option<i64>, AppError> {
    execute!(tx: tx, sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(session::token_hash(token)))?;
    if method != Method::RecoveryCode {
        return Ok(None);
    }
    let left: i64 = crate::on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(who.user_id)
    .fetch_one(c)
    .await)?;
    let event = Event {
        action: "second_factor.recovery_code_used",
        actor_id: Some(who.user_id),
        account_id: who.account_id,
        target: Some(format!("user:{}", who.user_id)),
        after: Some(json!({ "recovery_codes_left": left })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(tx, &event, now).await?;
    Ok(Some(left))
}

/// What the set-up step shows: the app to set up, for the person half-way through signing in.
pub async fn setup_step(state: &AppState, token: &str, now: i64) -> Result<SignInSetup, AppError> {
    let who = session::pending(&state.db, token, Stage::Enrol, now)
        .await?
        .ok_or_else(expired)?;
    Ok(SignInSetup {
        name: format!("{} {}", who.first_name, who.last_name),
        setup: setup(&state.db, &state.settings, who.user_id, &who.email, now).await?,
    })
}

/// The set-up step: a `code` from the app just set up confirms it, gives the person recovery codes
/// and signs them in. Answers the signed-in session's token.
pub async fn finish_setup(
    state: &AppState,
    token: &str,
    code: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let (who, attempt) = open_step(state, token, Stage::Enrol, code, client_addr, now).await?;
    let mut tx = state.db.begin().await?;
    let label = "Authenticator app";
    let Some(id) = confirm_setup(&mut tx, who.user_id, code, label, now).await? else {
        drop(tx);
        count_wrong_code(state, token, &who, client_addr, now).await?;
        return Err(wrong_code(true));
    };
    new_recovery_codes(&mut tx, who.user_id, now).await?;
    let event = Event {
        action: "second_factor.added",
        actor_id: Some(who.user_id),
        account_id: who.account_id,
        target: Some(format!("user:{}", who.user_id)),
        after: Some(
            json!({ "kind": "authenticator_app", "id": id, "label": label, "at_sign_in": true }),
        ),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(session::token_hash(token)))?;
    let signed_in = finish_pending(
        &mut tx,
        &state.settings,
        &who,
        client_addr,
        Method::App,
        now,
    )
    .await?;
    tx.commit().await?;
    forget_attempt(&state.db, attempt).await?;
    Ok(signed_in)
}
