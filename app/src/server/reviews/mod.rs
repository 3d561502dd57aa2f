//! Access reviews (SOC 2 user access reviews): an account's administrators confirm, person by
//! person, who keeps access. A review lists everyone with access as they were when it started; each
//! decision is recorded with who made it and when, a removal disables the person at once, and the
//! last decision completes the review and writes its evidence (a CSV and a PDF report, kept as
//! written, their SHA-256 in the audit trail). Every operation is one transaction.

mod queries;
pub mod report;
pub mod schedule;
mod texts;

pub use queries::*;

use super::access::{self, Change, StaffReason};
use super::audit::{self, Event};
use super::db::{execute, on_tx, Tx};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::reviews::{Decision, ReviewSchedule, ReviewSettings, DAY, REVIEW_DAYS};
use crate::model::Actor;
use crate::policy::{self, Reviewed};
use serde_json::json;

/// The settings form, parsed: every problem reported on its field at once.
pub fn parse_settings(
    schedule: &str,
    dormant_days: &str,
    disable_dormant: bool,
) -> Result<ReviewSettings, AppError> {
    let mut problems = Problems::new();
    let schedule = problems.take(
        "schedule",
        ReviewSchedule::parse(schedule).ok_or_else(|| "Choose how often reviews start".to_string()),
    );
    let days = problems.take(
        "dormant_days",
        dormant_days
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (7..=730).contains(d))
            .ok_or_else(|| "Enter a number of days from 7 to 730".to_string()),
    );
    problems.finish()?;
    Ok(ReviewSettings {
        schedule: schedule.unwrap_or(ReviewSchedule::Off),
        dormant_days: days.unwrap_or(crate::model::reviews::DEFAULT_DORMANT_DAYS),
        disable_dormant,
    })
}

/// Stores how account `account_id` reviews access; audited with the settings before and after.
#[tracing::instrument(skip_all)]
pub async fn save_settings(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    settings: &ReviewSettings,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let before = settings_in(&mut tx, account_id).await?;
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO access_review_settings \
         (account_id, schedule, dormant_days, disable_dormant, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET \
         schedule = excluded.schedule, dormant_days = excluded.dormant_days, \
         disable_dormant = excluded.disable_dormant, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at"
    )
    .bind(account_id)
    .bind(settings.schedule.as_str())
    .bind(settings.dormant_days)
    .bind(settings.disable_dormant)
    .bind(actor.user_id)
    .bind(now))?;
    let event = Event {
        account_id: Some(account_id),
        before: Some(json!(before)),
        after: Some(json!(settings)),
        ..Event::by(actor, "access_review.settings_changed", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}

/// Starts a review of account `account_id`: by `actor`, or by the account's schedule when `None`.
/// Lists everyone who has or was invited to access, as they are now, and mails the account's
/// administrators. Answers the review's id.
#[tracing::instrument(skip_all)]
pub async fn start(
    state: &AppState,
    actor: Option<&Actor>,
    account_id: i64,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
    let mut tx = state.db.begin().await?;
    access::lock_account(&mut tx, account_id).await?;
    if open_review(&mut tx, account_id).await?.is_some() {
        return Err(AppError::Conflict(
            "A review of this account is already under way: complete it first.".into(),
        ));
    }
    let settings = settings_in(&mut tx, account_id).await?;
    let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "INSERT INTO access_reviews (account_id, started_by, started_at, due_at) \
         VALUES ($1, $2, $3, $4) RETURNING id"
    )
    .bind(account_id)
    .bind(actor.map(|a| a.user_id))
    .bind(now)
    .bind(now + REVIEW_DAYS * DAY)
    .fetch_one(c)
    .await)?;
    let users = snapshot(&mut tx, id, account_id, now - settings.dormant_days * DAY).await?;
    let event = Event {
        action: "access_review.started",
        actor_id: actor.map(|a| a.user_id),
        impersonator_id: actor.and_then(|a| a.impersonator_id),
        account_id: Some(account_id),
        target: Some(format!("access_review:{id}")),
        after: Some(json!({ "users": users, "by_schedule": actor.is_none() })),
        client_addr: actor.map(|_| client_addr),
        ..Event::default()
    };
    audit::append(&mut tx, &event, now).await?;
    if users == 0 {
        complete(&mut tx, id, now).await?;
    } else {
        let (subject, body) = texts::started(&state.settings, id, users);
        texts::mail_administrators(
            &mut tx,
            account_id,
            "access_review_started",
            &subject,
            &body,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Copies everyone with access (active or invited) into review `review_id` and keeps their number
/// on the review; answers it.
/// `dormant_before`: a last sign-in (or, never signed in, a creation) before it is dormant.
async fn snapshot(
    tx: &mut Tx,
    review_id: i64,
    account_id: i64,
    dormant_before: i64,
) -> Result<u64, AppError> {
    let users = execute!(tx: tx, sqlx::query(
        "INSERT INTO access_review_items (review_id, user_id, first_name, last_name, email, status, \
         is_admin, contact_role, last_sign_in_at, second_factor, created_by, dormant) \
         SELECT $1, u.id, u.first_name, u.last_name, u.email, u.status, u.is_admin, \
         CASE WHEN a.primary_contact_id = u.id THEN 'primary' \
              WHEN a.secondary_contact_id = u.id THEN 'secondary' END, \
         u.last_sign_in_at, \
         CASE WHEN EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id \
                   AND f.kind = 'totp' AND f.confirmed_at IS NOT NULL) \
              THEN CASE WHEN EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id \
                   AND f.kind = 'passkey') THEN 'Authenticator app and passkey' \
                   ELSE 'Authenticator app' END \
              WHEN EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id \
                   AND f.kind = 'passkey') THEN 'Passkey' ELSE 'None' END, \
         (SELECT c.first_name || ' ' || c.last_name FROM users c WHERE c.id = u.created_by), \
         COALESCE(u.last_sign_in_at, u.created_at) < $3 \
         FROM users u JOIN accounts a ON a.id = u.account_id \
         WHERE u.account_id = $2 AND u.kind = 'customer' AND u.status IN ('active', 'invited')"
    )
    .bind(review_id)
    .bind(account_id)
    .bind(dormant_before))?;
    execute!(tx: tx, sqlx::query("UPDATE access_reviews SET people = $1 WHERE id = $2")
        .bind(users as i64)
        .bind(review_id))?;
    Ok(users)
}

/// What one decision did: whether it completed the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    pub completed: bool,
}

/// Records `actor`'s `decision` on each of `user_ids` in review `review_id`, all or none. A
/// removal disables the person at once (their sessions end, their links die), with the review as
/// the reason. A "keep" may still become a removal while the review is open; a removal is final.
/// The last decision completes the review.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all)]
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    review_id: i64,
    user_ids: &[i64],
    decision: Decision,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<Decided, AppError> {
    let mut tx = state.db.begin().await?;
    let review = locked_review(&mut tx, actor, review_id).await?;
    if review.completed_at.is_some() {
        return Err(AppError::Conflict(
            "This review is complete: its decisions are part of its evidence and no longer change."
                .into(),
        ));
    }
    let decider = decider_name(&mut tx, actor).await?;
    let one = Decide {
        actor,
        review: &review,
        decision,
        why,
        decider: &decider,
        client_addr,
        now,
    };
    for &user_id in user_ids {
        one.apply(&mut tx, user_id).await?;
    }
    let completed = undecided(&mut tx, review_id).await? == 0;
    if completed {
        complete(&mut tx, review_id, now).await?;
    }
    tx.commit().await?;
    Ok(Decided { completed })
}

/// One decision of a [`decide`] call: the same for each person it names.
struct Decide<'a> {
    actor: &'a Actor,
    review: &'a ReviewRow,
    decision: Decision,
    why: &'a StaffReason,
    decider: &'a str,
    client_addr: &'a str,
    now: i64,
}

impl Decide<'_> {
    async fn apply(&self, tx: &mut Tx, user_id: i64) -> Result<(), AppError> {
        let (review_id, account_id) = (self.review.id, self.review.account_id);
        let item = item_in(tx, review_id, user_id).await?;
        let admins = access::active_admins(tx, account_id).await?;
        let subject = Reviewed {
            user_id,
            is_admin: item.is_admin,
            account_id,
        };
        policy::may_decide_access(self.actor, subject, admins)
            .map_err(|why| AppError::Conflict(format!("{}: {why}", item.name())))?;
        match item.decision() {
            Some(Decision::Remove) => {
                return Err(AppError::Conflict(format!(
                    "{} was removed in this review already.",
                    item.name()
                )))
            }
            Some(Decision::Keep) if self.decision == Decision::Keep => return Ok(()),
            _ => {}
        }
        if self.decision == Decision::Remove {
            let reason = match &self.why.reason {
                Some(staff) => format!("Access review {review_id}: {staff}"),
                None => format!("Removed in access review {review_id}"),
            };
            let removal = StaffReason {
                reason: Some(reason),
                reference: self.why.reference.clone(),
            };
            let disable = Change::Disable;
            access::apply_in(
                tx,
                self.actor,
                user_id,
                disable,
                &removal,
                self.client_addr,
                self.now,
            )
            .await?;
        }
        execute!(tx: tx, sqlx::query(
            "UPDATE access_review_items SET decision = $1, decided_by = $2, decided_by_name = $3, \
             decided_at = $4 WHERE review_id = $5 AND user_id = $6"
        )
        .bind(self.decision.as_str())
        .bind(self.actor.user_id)
        .bind(self.decider)
        .bind(self.now)
        .bind(review_id)
        .bind(user_id))?;
        // The review's counts follow: a first decision is one more decided, a removal (from
        // undecided or from "keep") one more removed.
        let decided = i64::from(item.decision().is_none());
        let removed = i64::from(self.decision == Decision::Remove);
        execute!(tx: tx, sqlx::query(
            "UPDATE access_reviews SET decided = decided + $1, removed = removed + $2 WHERE id = $3"
        )
        .bind(decided)
        .bind(removed)
        .bind(review_id))?;
        let event = Event {
            account_id: Some(account_id),
            target: Some(format!("user:{user_id}")),
            reason: self.why.reason.as_deref(),
            reference: self.why.reference.as_deref(),
            before: item.decision.as_ref().map(|d| json!({ "decision": d })),
            after: Some(json!({ "access_review": review_id, "decision": self.decision.as_str() })),
            ..Event::by(self.actor, "access_review.decided", self.client_addr)
        };
        audit::append(tx, &event, self.now).await
    }
}

/// How a decider is named in the review and its report: vendor staff marked as such.
async fn decider_name(tx: &mut Tx, actor: &Actor) -> Result<String, AppError> {
    let name: String = on_tx!(tx, |c| {
        sqlx::query_scalar(
        "SELECT first_name || ' ' || last_name || ' <' || email || '>' FROM users WHERE id = $1"
    )
    .bind(actor.user_id)
    .fetch_one(c)
    .await
    })?;
    Ok(if actor.role.is_staff() {
        format!("{name} (vendor staff)")
    } else {
        name
    })
}

/// Completes review `review_id`: writes its CSV and PDF as they will be exported, records their
/// SHA-256 on the review and in the audit trail.
async fn complete(tx: &mut Tx, review_id: i64, now: i64) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query("UPDATE access_reviews SET completed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(review_id))?;
    let summary = summary_in(tx, review_id).await?;
    let items = all_items(tx, review_id).await?;
    let csv = report::csv(&summary, &items)?;
    let pdf = report::pdf(&summary, &items);
    let (csv_hash, pdf_hash) = (report::sha256(&csv), report::sha256(&pdf));
    for (kind, body) in [("csv", &csv), ("pdf", &pdf)] {
        execute!(tx: tx, sqlx::query(
            "INSERT INTO access_review_files (review_id, kind, body) VALUES ($1, $2, $3)"
        )
        .bind(review_id)
        .bind(kind)
        .bind(body.as_slice()))?;
    }
    execute!(tx: tx, sqlx::query(
        "UPDATE access_reviews SET csv_sha256 = $1, pdf_sha256 = $2 WHERE id = $3"
    )
    .bind(&csv_hash)
    .bind(&pdf_hash)
    .bind(review_id))?;
    let event = Event {
        action: "access_review.completed",
        account_id: Some(summary.account_id),
        target: Some(format!("access_review:{review_id}")),
        after: Some(json!({
            "users": summary.users,
            "removed": summary.removed,
            "csv_sha256": csv_hash,
            "pdf_sha256": pdf_hash,
        })),
        ..Event::default()
    };
    audit::append(tx, &event, now).await
}

/// Mails the administrators of review `review_id`'s account a reminder now, at vendor staff's
/// request; audited with the staff member's name.
#[tracing::instrument(skip_all)]
pub async fn remind(
    state: &AppState,
    actor: &Actor,
    review_id: i64,
    client_addr: &str,
    now: i64,
) -> Result<u64, AppError> {
    let mut tx = state.db.begin().await?;
    let review = locked_review(&mut tx, actor, review_id).await?;
    if review.completed_at.is_some() {
        return Err(AppError::Conflict(
            "This review is complete already.".into(),
        ));
    }
    let sent = texts::remind(&mut tx, &state.settings, &review, now).await?;
    let event = Event {
        account_id: Some(review.account_id),
        target: Some(format!("access_review:{review_id}")),
        after: Some(json!({ "administrators_mailed": sent })),
        ..Event::by(actor, "access_review.reminded", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(sent)
}
