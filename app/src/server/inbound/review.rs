//! Mail held for staff: what the portal would not take on its own (a sender it could not
//! authenticate, one who is not the addressee, a flood, a mail with nothing of its own). Staff read
//! it and accept it — it becomes the addressee's comment, only when the mail comes from that very
//! person — or discard it. Either is audited with the staff member's name.

use super::super::audit::{self, Event};
use super::super::cases::{self, Reply};
use super::super::db::{execute, on_db, Db};
use super::super::state::AppState;
use super::{form_key, text};
use crate::error::AppError;
use crate::model::{Actor, HeldMail, Role};
use mail_parser::MessageParser;

/// How many held mails a page shows, newest first.
const PAGE: i64 = 50;
/// How much of a held mail's text the list shows.
const PREVIEW_CHARS: usize = 2000;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    received_at: i64,
    from_address: String,
    subject: String,
    reason: String,
    number: Option<String>,
    addressee: Option<String>,
    raw: Vec<u8>,
}

/// The mails waiting for a decision.
pub async fn held(db: &Db) -> Result<Vec<HeldMail>, AppError> {
    let rows: Vec<Row> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT m.id, m.received_at, m.from_address, m.subject, m.reason, c.number, u.email AS addressee, m.raw \
         FROM inbound_mails m LEFT JOIN cases c ON c.id = m.case_id LEFT JOIN users u ON u.id = m.user_id \
         WHERE m.verdict = 'held' ORDER BY m.received_at DESC, m.id DESC LIMIT $1"
    )
    .bind(PAGE)
    .fetch_all(c)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let text = MessageParser::default()
                .parse(&r.raw)
                .and_then(|m| m.body_text(0).map(|t| text::own_words(&t)))
                .unwrap_or_default();
            HeldMail {
                acceptable: r.number.is_some()
                    && r.addressee
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&r.from_address)),
                id: r.id,
                received_at: r.received_at,
                from: r.from_address,
                subject: r.subject,
                reason: r.reason,
                case: r.number,
                text: text.chars().take(PREVIEW_CHARS).collect(),
            }
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct Held {
    message_id: String,
    from_address: String,
    raw: Vec<u8>,
    case_id: Option<i64>,
    user_id: Option<i64>,
}

/// Staff decide a held mail: `accept` makes it the addressee's comment (only a mail from the
/// addressee themself), else it is discarded. Answers the case's number when there is one.
#[tracing::instrument(skip_all, fields(id, accept))]
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: i64,
    accept: bool,
    client_addr: &str,
    now: i64,
) -> Result<Option<String>, AppError> {
    let held: Held = on_db!(&state.db, |c| sqlx::query_as(
        "SELECT message_id, from_address, raw, case_id, user_id FROM inbound_mails WHERE id = $1 AND verdict = 'held'"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)?;
    let case: Option<(String, i64, String, bool)> = match (held.case_id, held.user_id) {
        (Some(case_id), Some(user_id)) => on_db!(&state.db, |c| sqlx::query_as(
            "SELECT c.number, c.account_id, u.email, u.is_admin FROM cases c, users u \
             WHERE c.id = $1 AND u.id = $2 AND u.account_id = c.account_id AND u.status = 'active'"
        )
        .bind(case_id)
        .bind(user_id)
        .fetch_optional(c)
        .await)?,
        _ => None,
    };
    if accept {
        let Some((number, account_id, email, is_admin)) = case.as_ref() else {
            return Err(AppError::Conflict(
                "This mail names no case and active user of its account: it can only be discarded."
                    .into(),
            ));
        };
        if !email.eq_ignore_ascii_case(&held.from_address) {
            return Err(AppError::Conflict(format!(
                "This mail comes from {}, not from {email}, whom the case's reply address belongs to: \
                 it cannot be added in their name. Discard it, or ask {email} to write again.",
                held.from_address
            )));
        }
        let words = MessageParser::default()
            .parse(&held.raw)
            .and_then(|m| m.body_text(0).map(|t| text::own_words(&t)))
            .unwrap_or_default();
        if words.is_empty() {
            return Err(AppError::Conflict(
                "This mail has no words of its own to add: it can only be discarded.".into(),
            ));
        }
        let author = Actor {
            user_id: held.user_id.unwrap_or_default(),
            role: if *is_admin {
                Role::CustomerAdmin
            } else {
                Role::CustomerUser
            },
            account_id: Some(*account_id),
            impersonator_id: None,
        };
        let reply = Reply {
            body: words,
            form_key: Some(form_key(&held.message_id)),
            files: Vec::new(),
            client_addr: client_addr.to_string(),
        };
        cases::comment(state, &author, *account_id, number, reply, now).await?;
    }
    let verdict = if accept { "accepted" } else { "discarded" };
    let mut tx = state.db.begin().await?;
    let changed = execute!(tx: &mut tx, sqlx::query(
        "UPDATE inbound_mails SET verdict = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND verdict = 'held'"
    )
    .bind(verdict)
    .bind(actor.user_id)
    .bind(now)
    .bind(id))?;
    if changed == 0 {
        // Another staff member decided it meanwhile; an accepted comment was made once.
        return Ok(case.map(|c| c.0));
    }
    let event = Event {
        account_id: case.as_ref().map(|c| c.1),
        target: Some(format!("mail:{id}")),
        reference: case.as_ref().map(|c| c.0.as_str()),
        after: Some(serde_json::json!({ "from": held.from_address, "verdict": verdict })),
        ..Event::by(
            actor,
            if accept {
                "mail.accepted"
            } else {
                "mail.discarded"
            },
            client_addr,
        )
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(case.map(|c| c.0))
}
