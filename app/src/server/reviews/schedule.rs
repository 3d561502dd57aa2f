//! What happens by itself, on the server's clock (called now and then by the server, with the time
//! passed in so tests can move it): reviews start on each account's schedule, administrators are
//! reminded of open reviews, contacts told of overdue ones, and — where the account chose it —
//! dormant users disabled.

use super::queries::ReviewRow;
use super::texts;
use crate::error::AppError;
use crate::model::reviews::{ReviewSchedule, DAY, REMINDER_DAYS};
use crate::server::audit::{self, Event};
use crate::server::db::{execute, on_db, on_tx};
use crate::server::state::AppState;
use serde_json::json;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub started: usize,
    pub reminded: usize,
    pub overdue: usize,
    pub disabled: usize,
}

/// One round of everything scheduled, at `now`. A failure in one account is logged and the round
/// goes on with the next, so one account cannot hold up the rest.
#[tracing::instrument(skip_all)]
pub async fn run(state: &AppState, now: i64) -> Result<Round, AppError> {
    let mut round = Round::default();
    for account_id in due_accounts(state, now).await? {
        match super::start(state, None, account_id, "", now).await {
            Ok(_) => round.started += 1,
            Err(e) => {
                tracing::warn!(account_id, error = %e, "a scheduled access review did not start")
            }
        }
    }
    let open: Vec<(i64, i64, i64, i64, Option<i64>, Option<i64>)> = on_db!(&state.db, |c| {
        sqlx::query_as(
            "SELECT id, account_id, due_at, started_at, last_reminded_at, overdue_notified_at \
             FROM access_reviews WHERE completed_at IS NULL ORDER BY id",
        )
        .fetch_all(c)
        .await
    })?;
    for (id, account_id, due_at, started_at, reminded, told) in open {
        let review = ReviewRow {
            id,
            account_id,
            completed_at: None,
            due_at,
        };
        let mut tx = state.db.begin().await?;
        // Each step is claimed by a conditional update first, so two instances running the
        // schedule at once do not both mail.
        let remind_due = reminded.unwrap_or(started_at) + REMINDER_DAYS * DAY <= now;
        if remind_due && claim(&mut tx, "last_reminded_at", id, reminded, now).await? {
            texts::remind(&mut tx, &state.settings, &review, now).await?;
            round.reminded += 1;
        }
        let overdue = now > due_at && told.is_none();
        if overdue && claim(&mut tx, "overdue_notified_at", id, None, now).await? {
            let contacts = texts::tell_contacts(&mut tx, &state.settings, &review, now).await?;
            let event = Event {
                action: "access_review.overdue",
                account_id: Some(account_id),
                target: Some(format!("access_review:{id}")),
                after: Some(json!({ "contacts_mailed": contacts })),
                ..Event::default()
            };
            audit::append(&mut tx, &event, now).await?;
            round.overdue += 1;
        }
        tx.commit().await?;
    }
    round.disabled = disable_dormant(state, now).await?;
    Ok(round)
}

/// Sets `column` of review `id` to `now` if it still holds `seen`; whether it did.
async fn claim(
    tx: &mut crate::server::db::Tx,
    column: &'static str,
    id: i64,
    seen: Option<i64>,
    now: i64,
) -> Result<bool, AppError> {
    // `column` is one of two fixed names, never input.
    let sql = format!(
        "UPDATE access_reviews SET {column} = $1 WHERE id = $2 AND completed_at IS NULL \
         AND ({column} = $3 OR ({column} IS NULL AND $3 IS NULL))"
    );
    let changed = execute!(tx: tx, sqlx::query(&sql).bind(now).bind(id).bind(seen))?;
    Ok(changed == 1)
}

/// Accounts whose schedule calls for a review at `now`: none under way, and none started within
/// the schedule's interval (an account never reviewed is due at once).
async fn due_accounts(state: &AppState, now: i64) -> Result<Vec<i64>, AppError> {
    let rows: Vec<(i64, String, Option<i64>)> = on_db!(&state.db, |c| {
        sqlx::query_as(
        "SELECT s.account_id, s.schedule, \
         (SELECT MAX(r.started_at) FROM access_reviews r WHERE r.account_id = s.account_id) \
         FROM access_review_settings s WHERE s.schedule <> 'off' AND NOT EXISTS \
         (SELECT 1 FROM access_reviews o WHERE o.account_id = s.account_id AND o.completed_at IS NULL) \
         ORDER BY s.account_id"
    )
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter(|(_, schedule, last)| {
            let days = ReviewSchedule::parse(schedule).and_then(ReviewSchedule::interval_days);
            match (days, last) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(days), Some(last)) => now >= last + days * DAY,
            }
        })
        .map(|(id, _, _)| id)
        .collect())
}

/// Disables the dormant users of every account that chose so: each one audited, the account's
/// administrators mailed the list. An account's last active administrator is never disabled this
/// way. Answers how many were disabled.
async fn disable_dormant(state: &AppState, now: i64) -> Result<usize, AppError> {
    let accounts: Vec<(i64, i64)> = on_db!(&state.db, |c| sqlx::query_as(
        "SELECT account_id, dormant_days FROM access_review_settings WHERE disable_dormant \
         ORDER BY account_id"
    )
    .fetch_all(c)
    .await)?;
    let mut disabled = 0;
    for (account_id, days) in accounts {
        let mut tx = state.db.begin().await?;
        crate::server::access::lock_account(&mut tx, account_id).await?;
        let dormant: Vec<(i64, String, bool, String)> = on_tx!(&mut tx, |c| sqlx::query_as(
            "SELECT id, first_name || ' ' || last_name || ' <' || email || '>', \
             is_admin AND status = 'active', status FROM users \
             WHERE account_id = $1 AND kind = 'customer' AND status IN ('active', 'invited') \
             AND COALESCE(last_sign_in_at, created_at) < $2 ORDER BY last_name, first_name, id"
        )
        .bind(account_id)
        .bind(now - days * DAY)
        .fetch_all(c)
        .await)?;
        let mut names = Vec::new();
        for (user_id, name, active_admin, status) in dormant {
            if active_admin && crate::server::access::active_admins(&mut tx, account_id).await? <= 1
            {
                continue;
            }
            execute!(tx: &mut tx, sqlx::query(
                "UPDATE users SET status = 'disabled', updated_at = $1 WHERE id = $2"
            )
            .bind(now)
            .bind(user_id))?;
            execute!(tx: &mut tx, sqlx::query(
                "DELETE FROM sessions WHERE user_id = $1 OR impersonator_id = $1"
            )
            .bind(user_id))?;
            crate::server::tokens::void_open_links(&mut tx, user_id, None, "revoked", now).await?;
            let reason = format!("No sign-in for more than {days} days (dormant access)");
            let event = Event {
                action: "user.disabled",
                account_id: Some(account_id),
                target: Some(format!("user:{user_id}")),
                reason: Some(&reason),
                before: Some(json!({ "status": status })),
                after: Some(json!({ "status": "disabled", "dormant_days": days })),
                ..Event::default()
            };
            audit::append(&mut tx, &event, now).await?;
            names.push(name);
        }
        if !names.is_empty() {
            let (subject, body) = texts::dormant_disabled(days, &names);
            texts::mail_administrators(
                &mut tx,
                account_id,
                "dormant_disabled",
                &subject,
                &body,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        disabled += names.len();
    }
    Ok(disabled)
}
