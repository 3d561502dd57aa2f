//! Sign-in, sign-out and password change (SPEC §3.4).

use super::audit::{self, Event};
use super::db::{execute, on_db, Db};
use super::second_factor::sign_in::{finish, stage_after_password};
use super::session::Stage;
use super::state::{AppState, Settings};
use super::{password, session, users};
use crate::error::{AppError, Problems};
use crate::model::domain::Email;
use crate::model::UserStatus;

/// What a successful sign-in hands back: the new session token for the cookie.
pub struct SignedIn {
    pub user_id: i64,
    pub token: String,
    /// Signed in, or half-way: a second factor is still to be given or set up.
    pub stage: Stage,
}

/// A password attempt counted before the password is checked, so concurrent guesses cannot all
/// pass a check made before any of them was counted. The row stays as a failure unless the
/// password turns out right (or the attempt was refused), when it is removed.
pub(crate) struct Attempt(i64);

/// Counts an attempt for `email` from `client_addr` and answers it, or `TooManyRequests` when the
/// window already holds the limit for either. Each attempt's row is committed before it counts,
/// so of any number of concurrent attempts at most the limit see a count within it.
pub(crate) async fn count_attempt(
    db: &Db,
    settings: &Settings,
    email: &str,
    client_addr: &str,
    now: i64,
) -> Result<Attempt, AppError> {
    let id: i64 = on_db!(db, |c| {
        sqlx::query_scalar(
        "INSERT INTO sign_in_failures (email, client_addr, at) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(email)
    .bind(client_addr)
    .bind(now)
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    let since = now - settings.throttle_window_minutes * 60;
    let (by_email, by_addr): (i64, i64) = on_db!(db, |c| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sign_in_failures WHERE email = $1 AND at > $3), \
                (SELECT COUNT(*) FROM sign_in_failures WHERE client_addr = $2 AND at > $3)"
    )
    .bind(email)
    .bind(client_addr)
    .bind(since)
    .fetch_one(c)
    .await)?;
    if by_email > settings.throttle_per_email || by_addr > settings.throttle_per_address {
        forget_attempt(db, Attempt(id)).await?;
        tracing::warn!(client_addr, "password attempt throttled");
        return Err(AppError::TooManyRequests);
    }
    Ok(Attempt(id))
}

/// Removes an attempt that did not fail.
pub(crate) async fn forget_attempt(db: &Db, attempt: Attempt) -> Result<(), AppError> {
    execute!(db: db, sqlx::query("DELETE FROM sign_in_failures WHERE id = $1").bind(attempt.0))?;
    Ok(())
}

/// Records a failed sign-in in the audit trail (its attempt is already counted): in the account's
/// chain when the email belongs to a user, so its administrators see attempts on their people.
async fn record_failure(
    db: &Db,
    settings: &Settings,
    email: &Email,
    user: Option<&users::Credentials>,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let event = Event {
        action: "sign_in.failed",
        account_id: user.and_then(|u| u.account_id),
        target: Some(match user {
            Some(u) => format!("user:{}", u.id),
            None => format!("email:{email}"),
        }),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    // Rows older than the window no longer count: keep the table small.
    execute!(tx: &mut tx, sqlx::query(
        "DELETE FROM sign_in_failures WHERE at <= $1"
    )
    .bind(now - settings.throttle_window_minutes * 60))?;
    tx.commit().await
}

/// Checks the credentials and opens a new session. Every failure — unknown email, wrong password,
/// invited or disabled user — gets the same answer after the same work, so no response tells
/// whether an email address has an account.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password_input: String,
    client_addr: &str,
    previous_token: Option<String>,
    now: i64,
) -> Result<SignedIn, AppError> {
    let mut problems = Problems::new();
    let email = problems.take("email", Email::parse(email));
    if password_input.is_empty() {
        problems.add("password", "Enter your password");
    }
    problems.finish()?;
    let email = email.expect("parsed when there were no problems");
    let db = &state.db;

    let attempt = count_attempt(db, &state.settings, email.as_str(), client_addr, now).await?;

    let found = users::credentials_by_email(db, &email).await?;
    let stored = found
        .as_ref()
        .filter(|c| c.status == UserStatus::Active)
        .and_then(|c| c.password_hash.clone());
    let ok = match password::verify(stored, password_input).await {
        Ok(ok) => ok,
        Err(busy) => {
            // Not checked, so not a failure: the person may simply try again.
            forget_attempt(db, attempt).await?;
            return Err(busy);
        }
    };
    let Some(user) = found
        .as_ref()
        .filter(|c| ok && c.status == UserStatus::Active)
    else {
        record_failure(
            db,
            &state.settings,
            &email,
            found.as_ref(),
            client_addr,
            now,
        )
        .await?;
        tracing::info!(client_addr, "sign-in failed");
        return Err(AppError::SignInFailed);
    };
    let user_id = user.id;
    if let Some(account_id) = user.account_id {
        if super::sso::required(db, account_id).await? {
            forget_attempt(db, attempt).await?;
            return Err(AppError::Conflict(
                "Your company signs in through its identity provider: use \"Sign in with your company's identity provider\" below.".into(),
            ));
        }
    }

    let mut tx = db.begin().await?;
    // Rotation: whatever session the browser brought is ended, and a fresh token is issued.
    if let Some(old) = previous_token {
        execute!(tx: &mut tx, sqlx::query(
            "DELETE FROM sessions WHERE token_hash = $1"
        )
        .bind(session::token_hash(&old)))?;
    }
    let stage = stage_after_password(
        &mut tx,
        &state.settings,
        user_id,
        &user.kind,
        user.account_id,
    )
    .await?;
    if stage != Stage::Full {
        // The password was right: this attempt is no failure, but the earlier ones still count
        // until the second factor is given too.
        let token =
            session::create_staged(&mut tx, &state.settings, user_id, stage, client_addr, now)
                .await?;
        tx.commit().await?;
        forget_attempt(db, attempt).await?;
        tracing::info!(
            user_id,
            client_addr,
            stage = stage.as_str(),
            "password accepted"
        );
        return Ok(SignedIn {
            user_id,
            token,
            stage,
        });
    }
    let token = finish(
        &mut tx,
        &state.settings,
        user_id,
        user.account_id,
        email.as_str(),
        client_addr,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id, client_addr, "signed in");
    Ok(SignedIn {
        user_id,
        token,
        stage,
    })
}

/// Asks for the signed-in person's password again before a change to how they sign in: a wrong
/// or missing one becomes a problem on `field`. Guesses are throttled like sign-ins, on the same
/// counters.
pub async fn recheck_password(
    state: &AppState,
    problems: &mut Problems,
    field: &'static str,
    (user_id, email, stored): (i64, &str, Option<String>),
    given: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let db = &state.db;
    if given.is_empty() {
        problems.add(field, "Enter your current password");
        return Ok(());
    }
    let attempt = count_attempt(db, &state.settings, email, client_addr, now).await?;
    match password::verify(stored, given.to_string()).await {
        Ok(true) => forget_attempt(db, attempt).await?,
        Ok(false) => {
            tracing::info!(user_id, client_addr, "current password incorrect");
            problems.add(field, "Your current password is incorrect");
        }
        Err(busy) => {
            forget_attempt(db, attempt).await?;
            return Err(busy);
        }
    }
    Ok(())
}

/// Changes the signed-in user's password and ends every other session of theirs.
pub async fn change_password(
    state: &AppState,
    user_id: i64,
    current_token: &str,
    client_addr: &str,
    current: String,
    new: String,
    confirm: String,
    now: i64,
) -> Result<(), AppError> {
    let db = &state.db;
    let Some((creds, email, first, last)) = users::credentials_by_id(db, user_id).await? else {
        return Err(AppError::Unauthorized);
    };
    let mut problems = Problems::new();
    recheck_password(
        state,
        &mut problems,
        "current_password",
        (user_id, &email, creds.password_hash.clone()),
        &current,
        client_addr,
        now,
    )
    .await?;
    if let Err(message) = password::check_new_password(&new, &[&email, &first, &last]) {
        problems.add("new_password", message);
    } else if new == current {
        problems.add(
            "new_password",
            "Choose a password different from your current one",
        );
    }
    if confirm != new {
        problems.add("confirm_password", "The passwords do not match");
    }
    problems.finish()?;

    let hash = password::hash(new).await?;
    let mut tx = db.begin().await?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3"
    )
    .bind(&hash)
    .bind(now)
    .bind(user_id))?;
    let ended = execute!(tx: &mut tx, sqlx::query(
        "DELETE FROM sessions WHERE (user_id = $1 OR impersonator_id = $1) AND token_hash <> $2"
    )
    .bind(user_id)
    .bind(session::token_hash(current_token)))?;
    let event = Event {
        action: "password.changed",
        actor_id: Some(user_id),
        account_id: creds.account_id,
        target: Some(format!("user:{user_id}")),
        after: Some(serde_json::json!({ "other_sessions_ended": ended })),
        client_addr: Some(client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(user_id, "password changed; other sessions ended");
    Ok(())
}
