//! The mails of access reviews, and to whom they go: the account's active administrators, and —
//! once a review is overdue — its primary and secondary contacts.

use super::queries::ReviewRow;
use crate::error::AppError;
use crate::server::db::{execute, on_tx, Tx};
use crate::server::mail::{self, Mail};
use crate::server::state::Settings;

/// Subject and text of the mail saying review `id` of `users` people has started.
pub fn started(settings: &Settings, id: i64, users: u64) -> (String, String) {
    let link = mail::portal_url(settings, &format!("/manage/reviews/{id}"));
    (
        "Access review: confirm who should keep access to the support portal".into(),
        format!(
            "Hello,\n\n\
             An access review of your company's support portal users has started. For each of the \
             {users} people listed, decide whether they keep access or are removed; removing \
             someone disables them at once. The review is due in {} days.\n\n\
             Review: {link}\n\n\
             Your own access is decided by another administrator of your company.\n",
            crate::model::reviews::REVIEW_DAYS
        ),
    )
}

/// Subject and text of a reminder of review `id`, with `left` people still to decide on.
fn reminder(settings: &Settings, id: i64, left: i64, overdue: bool) -> (String, String) {
    let link = mail::portal_url(settings, &format!("/manage/reviews/{id}"));
    let when = if overdue {
        "is overdue"
    } else {
        "is waiting for you"
    };
    (
        format!("Reminder: the access review of your support portal users {when}"),
        format!(
            "Hello,\n\n\
             The access review of your company's support portal users {when}: {left} people still \
             need a decision (keep or remove).\n\n\
             Review: {link}\n"
        ),
    )
}

/// Subject and text of the mail telling an account's contacts that review `id` is overdue.
fn overdue(settings: &Settings, account: &str, id: i64) -> (String, String) {
    let link = mail::portal_url(settings, &format!("/manage/reviews/{id}"));
    (
        format!("The access review of {account} is overdue"),
        format!(
            "Hello,\n\n\
             You are a contact of {account} for the vendor's support portal. Your company's access \
             review, which confirms who should keep access to the portal, is past its due date. \
             Please ask your company's portal administrators to complete it.\n\n\
             Review (for administrators): {link}\n"
        ),
    )
}

/// Subject and text of the mail listing the people disabled for want of sign-ins.
pub fn dormant_disabled(days: i64, names: &[String]) -> (String, String) {
    (
        "Support portal users disabled after a long time without signing in".into(),
        format!(
            "Hello,\n\n\
             Your company disables support portal users who have not signed in for {days} days. \
             These people were disabled today:\n\n{}\n\n\
             To give one of them access again, re-enable them in Manage Accounts.\n",
            names
                .iter()
                .map(|n| format!("- {n}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    )
}

/// Queues a mail of `kind` to every active administrator of `account_id`; answers how many.
pub async fn mail_administrators(
    tx: &mut Tx,
    account_id: i64,
    kind: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<u64, AppError> {
    let to: Vec<(String, String)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT email, first_name || ' ' || last_name FROM users \
         WHERE account_id = $1 AND is_admin AND status = 'active' ORDER BY id"
    )
    .bind(account_id)
    .fetch_all(c)
    .await)?;
    for (address, name) in &to {
        let mail = Mail {
            kind,
            account_id: Some(account_id),
            to_address: address,
            to_name: name,
            subject: subject.to_string(),
            body: body.to_string(),
            secret_link: None,
        };
        mail::enqueue(tx, &mail, now).await?;
    }
    Ok(to.len() as u64)
}

/// Reminds the administrators of `review` (still open) of it; answers how many were mailed.
pub async fn remind(
    tx: &mut Tx,
    settings: &Settings,
    review: &ReviewRow,
    now: i64,
) -> Result<u64, AppError> {
    let left = super::queries::undecided(tx, review.id).await?;
    let (subject, body) = reminder(settings, review.id, left, now > review.due_at);
    let sent = mail_administrators(
        tx,
        review.account_id,
        "access_review_reminder",
        &subject,
        &body,
        now,
    )
    .await?;
    execute!(tx: tx, sqlx::query("UPDATE access_reviews SET last_reminded_at = $1 WHERE id = $2")
        .bind(now)
        .bind(review.id))?;
    Ok(sent)
}

/// Tells the primary and secondary contacts of `review`'s account that it is overdue; answers how
/// many were mailed.
pub async fn tell_contacts(
    tx: &mut Tx,
    settings: &Settings,
    review: &ReviewRow,
    now: i64,
) -> Result<u64, AppError> {
    let to: Vec<(String, String, String)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT u.email, u.first_name || ' ' || u.last_name, a.name FROM accounts a \
         JOIN users u ON u.id IN (a.primary_contact_id, a.secondary_contact_id) \
         WHERE a.id = $1 AND u.status = 'active' ORDER BY u.id"
    )
    .bind(review.account_id)
    .fetch_all(c)
    .await)?;
    for (address, name, account) in &to {
        let (subject, body) = overdue(settings, account, review.id);
        let mail = Mail {
            kind: "access_review_overdue",
            account_id: Some(review.account_id),
            to_address: address,
            to_name: name,
            subject,
            body,
            secret_link: None,
        };
        mail::enqueue(tx, &mail, now).await?;
    }
    execute!(tx: tx, sqlx::query(
        "UPDATE access_reviews SET overdue_notified_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(review.id))?;
    Ok(to.len() as u64)
}
