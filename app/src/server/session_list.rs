//! A person's sessions, as their security page shows them: every browser signed in as them
//! (device, address, when it signed in, when it was last used), each of which they can end.

use super::audit::{self, Event};
use super::db::{execute, on_db, Db};
use super::session::token_hash;
use crate::error::AppError;
use crate::model::security::{device_name, SessionLine};
use crate::model::Actor;
use serde_json::json;

/// How many hex digits of the stored token hash name a session on the page.
const ID_LEN: usize = 16;
/// The most sessions listed (the most recently used).
const LISTED: i64 = 50;

#[derive(sqlx::FromRow)]
struct Row {
    token_hash: String,
    user_agent: String,
    client_addr: String,
    created_at: i64,
    last_seen_at: i64,
    staff_name: Option<String>,
}

/// The signed-in sessions of user `user_id` that have not expired, most recently used first.
pub async fn list(
    db: &Db,
    user_id: i64,
    current_token: &str,
    now: i64,
) -> Result<Vec<SessionLine>, AppError> {
    let rows: Vec<Row> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT s.token_hash, s.user_agent, s.client_addr, s.created_at, s.last_seen_at, \
         CASE WHEN i.id IS NULL THEN NULL ELSE i.first_name || ' ' || i.last_name END AS staff_name \
         FROM sessions s LEFT JOIN users i ON i.id = s.impersonator_id \
         WHERE s.user_id = $1 AND s.stage = 'full' AND s.expires_at > $2 \
         ORDER BY s.last_seen_at DESC LIMIT $3"
    )
    .bind(user_id)
    .bind(now)
    .bind(LISTED)
    .fetch_all(c)
    .await
    })?;
    let current = token_hash(current_token);
    Ok(rows
        .into_iter()
        .map(|r| SessionLine {
            id: r.token_hash[..ID_LEN].to_string(),
            device: device_name(&r.user_agent),
            client_addr: r.client_addr,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            current: r.token_hash == current,
            staff_name: r.staff_name,
        })
        .collect())
}

/// Ends the actor's own session `id` (as the page names it), or — `id` `None` — every session of
/// theirs but the one they are using. Answers how many ended.
pub async fn end(
    db: &Db,
    actor: &Actor,
    id: Option<&str>,
    current_token: &str,
    client_addr: &str,
    now: i64,
) -> Result<u64, AppError> {
    if actor.impersonator_id.is_some() {
        return Err(AppError::ViewOnly(
            "Staff acting as a customer cannot end the customer's sessions.".into(),
        ));
    }
    let current = token_hash(current_token);
    let mut tx = db.begin().await?;
    let ended = match id {
        Some(id) => {
            if id.len() != ID_LEN || !id.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(AppError::NotFound);
            }
            // The prefix is compared as a range of the primary key, not with LIKE.
            let upper = format!("{id}g");
            let ended = execute!(tx: &mut tx, sqlx::query(
                "DELETE FROM sessions WHERE user_id = $1 AND stage = 'full' \
                 AND token_hash >= $2 AND token_hash < $3"
            )
            .bind(actor.user_id)
            .bind(id.to_ascii_lowercase())
            .bind(upper.to_ascii_lowercase()))?;
            if ended == 0 {
                return Err(AppError::NotFound);
            }
            ended
        }
        None => execute!(tx: &mut tx, sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2"
        )
        .bind(actor.user_id)
        .bind(&current))?,
    };
    let event = Event {
        account_id: actor.account_id,
        target: Some(format!("user:{}", actor.user_id)),
        after: Some(json!({
            "sessions_ended": ended,
            "which": if id.is_some() { "one" } else { "all_others" },
            "own_session": id.is_some_and(|id| current.starts_with(&id.to_ascii_lowercase())),
        })),
        ..Event::by(actor, "session.ended", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(ended)
}
