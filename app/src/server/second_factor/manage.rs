//! A person's own second factors, from their security page: add and remove authenticator apps,
//! make new recovery codes. Each asks for the password again and is recorded in the trail; and
//! which accounts (or the vendor's staff) must have one.

use super::{apps, confirm_setup, new_recovery_codes, recovery_codes_left, remove_all, required};
use crate::error::{AppError, Problems};
use crate::model::security::SecurityOverview;
use crate::model::Actor;
use crate::server::audit::{self, Event};
use crate::server::auth::recheck_password;
use crate::server::db::{execute, on_tx, Tx};
use crate::server::state::AppState;
use crate::server::{session_list, users};
use serde_json::json;

/// Who is changing their own factors, as the rules need them.
pub(super) struct Owner {
    pub(super) user_id: i64,
    account_id: Option<i64>,
    kind: String,
    pub(super) email: String,
    /// As an authenticator shows whose passkey it holds.
    pub(super) name: String,
    password_hash: Option<String>,
}

pub(super) async fn owner(state: &AppState, actor: &Actor) -> Result<Owner, AppError> {
    if actor.impersonator_id.is_some() {
        // How a customer signs in is theirs alone: nobody changes it by acting as them.
        return Err(AppError::ViewOnly(
            "Staff acting as a customer cannot change how the customer signs in.".into(),
        ));
    }
    let (creds, email, first_name, last_name) = users::credentials_by_id(&state.db, actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(Owner {
        user_id: creds.id,
        account_id: creds.account_id,
        kind: creds.kind,
        email,
        name: format!("{first_name} {last_name}").trim().to_string(),
        password_hash: creds.password_hash,
    })
}

/// The person's security page: apps, recovery codes, an app to set up, sessions.
pub async fn overview(
    state: &AppState,
    actor: &Actor,
    current_token: &str,
    now: i64,
) -> Result<SecurityOverview, AppError> {
    let who = owner(state, actor).await?;
    let mut tx = state.db.begin().await?;
    let required = required(&mut tx, &state.settings, &who.kind, who.account_id).await?;
    tx.commit().await?;
    Ok(SecurityOverview {
        apps: apps(&state.db, who.user_id).await?,
        recovery_codes_left: recovery_codes_left(&state.db, who.user_id).await?,
        required,
        setup: super::setup(&state.db, &state.settings, who.user_id, &who.email, now).await?,
        sessions: session_list::list(&state.db, who.user_id, current_token, now).await?,
    })
}

/// The name a person gives a second factor (trimmed) is kept short.
pub(super) fn check_label(problems: &mut Problems, label: &str) {
    if label.chars().count() > 60 {
        problems.add("label", "Keep the name to 60 characters or fewer");
    }
}

/// The password asked again before a change to how the person signs in.
pub(super) async fn password_again(
    state: &AppState,
    who: &Owner,
    password: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut problems = Problems::new();
    check_password(state, who, &mut problems, password, client_addr, now).await?;
    problems.finish()
}

/// Checks that `password` (the field `password`) is `who`'s own, recording a mismatch on
/// `problems`.
async fn check_password(
    state: &AppState,
    who: &Owner,
    problems: &mut Problems,
    password: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let credentials = (who.user_id, who.email.as_str(), who.password_hash.clone());
    recheck_password(
        state,
        problems,
        "password",
        credentials,
        password,
        client_addr,
        now,
    )
    .await
}

pub(super) fn record<'a>(
    actor: &'a Actor,
    who: &Owner,
    action: &'a str,
    after: serde_json::Value,
    client_addr: &'a str,
) -> Event<'a> {
    Event {
        account_id: who.account_id,
        target: Some(format!("user:{}", who.user_id)),
        after: Some(after),
        ..Event::by(actor, action, client_addr)
    }
}

/// Adds the app being set up, confirmed by a `code` from it. Answers whether new recovery codes
/// were made (the person's first factor), to be shown next.
pub async fn add_app(
    state: &AppState,
    actor: &Actor,
    password: &str,
    code: &str,
    label: &str,
    client_addr: &str,
    now: i64,
) -> Result<bool, AppError> {
    let who = owner(state, actor).await?;
    let label = label.trim();
    let mut problems = Problems::new();
    check_label(&mut problems, label);
    if !super::codes::is_app_code(code) {
        problems.add("code", "Enter the six-digit code the app shows");
    }
    check_password(state, &who, &mut problems, password, client_addr, now).await?;
    problems.finish()?;
    let label = if label.is_empty() {
        "Authenticator app"
    } else {
        label
    };
    let mut tx = state.db.begin().await?;
    let Some(id) = confirm_setup(&mut tx, who.user_id, code, label, now).await? else {
        return Err(AppError::field(
            "code",
            "That code does not match. Check that the app shows the code for this portal and try again",
        ));
    };
    let first = recovery_codes_count(&mut tx, who.user_id).await? == 0;
    if first {
        new_recovery_codes(&mut tx, who.user_id, now).await?;
    }
    let after = json!({ "kind": "authenticator_app", "id": id, "label": label });
    audit::append(
        &mut tx,
        &record(actor, &who, "second_factor.added", after, client_addr),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(first)
}

pub(super) async fn recovery_codes_count(tx: &mut Tx, user_id: i64) -> Result<i64, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// Removes second factor `id` (an authenticator app or a passkey) of the person. Their last one
/// goes only where no second factor is required, and takes the recovery codes with it (they are a
/// fallback for it).
pub async fn remove_app(
    state: &AppState,
    actor: &Actor,
    id: i64,
    password: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let who = owner(state, actor).await?;
    password_again(state, &who, password, client_addr, now).await?;
    let mut tx = state.db.begin().await?;
    let found: Option<(String, String)> = on_tx!(&mut tx, |c| {
        sqlx::query_as(
        "SELECT label, kind FROM second_factors WHERE id = $1 AND user_id = $2 AND confirmed_at IS NOT NULL"
    )
    .bind(id)
    .bind(who.user_id)
    .fetch_optional(c)
    .await
    })?;
    let (label, kind) = found.ok_or(AppError::NotFound)?;
    let others: i64 = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL AND id <> $2"
    )
    .bind(who.user_id)
    .bind(id)
    .fetch_one(c)
    .await
    })?;
    if others == 0 && required(&mut tx, &state.settings, &who.kind, who.account_id).await? {
        return Err(AppError::Conflict(
            "A second factor is required for your account. Add another authenticator app or passkey before removing this one.".into(),
        ));
    }
    if others == 0 {
        remove_all(&mut tx, who.user_id).await?;
    } else {
        execute!(tx: &mut tx, sqlx::query("DELETE FROM second_factors WHERE id = $1").bind(id))?;
    }
    let kind = if kind == "passkey" {
        "passkey"
    } else {
        "authenticator_app"
    };
    let after = json!({ "kind": kind, "id": id, "label": label, "factors_left": others });
    audit::append(
        &mut tx,
        &record(actor, &who, "second_factor.removed", after, client_addr),
        now,
    )
    .await?;
    tx.commit().await
}

/// Replaces the person's recovery codes with ten new ones (shown next, once).
pub async fn replace_recovery_codes(
    state: &AppState,
    actor: &Actor,
    password: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let who = owner(state, actor).await?;
    password_again(state, &who, password, client_addr, now).await?;
    let mut tx = state.db.begin().await?;
    if !super::has_app(&mut tx, who.user_id).await? {
        return Err(AppError::Conflict(
            "Recovery codes stand in for an authenticator app or a passkey: add one first.".into(),
        ));
    }
    let replaced = new_recovery_codes(&mut tx, who.user_id, now).await?;
    let after = json!({ "unused_codes_replaced": replaced });
    let event = record(
        actor,
        &who,
        "second_factor.recovery_codes_replaced",
        after,
        client_addr,
    );
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}

/// Requires (or stops requiring) a second factor of everyone in the actor's own account
/// (customer administrators), or — `account_id` `None` — of all vendor staff (platform admins;
/// the policy checked the role).
pub async fn set_requirement(
    state: &AppState,
    actor: &Actor,
    account_id: Option<i64>,
    require: bool,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let before: Option<bool> = match account_id {
        Some(id) => on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT require_second_factor FROM accounts WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await)?,
        None => on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT require_second_factor FROM staff_policy WHERE id = 1"
        )
        .fetch_optional(c)
        .await)?,
    };
    let before = before.ok_or(AppError::NotFound)?;
    if before == require {
        return Ok(());
    }
    match account_id {
        Some(id) => execute!(tx: &mut tx, sqlx::query(
            "UPDATE accounts SET require_second_factor = $1, updated_at = $2 WHERE id = $3"
        )
        .bind(require)
        .bind(now)
        .bind(id))?,
        None => execute!(tx: &mut tx, sqlx::query(
            "UPDATE staff_policy SET require_second_factor = $1, changed_by = $2, changed_at = $3 \
             WHERE id = 1"
        )
        .bind(require)
        .bind(actor.user_id)
        .bind(now))?,
    };
    let event = Event {
        account_id,
        target: Some(match account_id {
            Some(id) => format!("account:{id}"),
            None => "staff".into(),
        }),
        before: Some(json!({ "require_second_factor": before })),
        after: Some(json!({ "require_second_factor": require })),
        ..Event::by(actor, "second_factor.requirement_changed", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}
