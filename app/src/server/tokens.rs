//! The one-time links mailed to people (invitations, password resets): what each is for, and
//! voiding the open ones. Below both access changes and invitations, which each need it.

use super::db::{execute, Tx};
use super::state::AppState;
use crate::error::AppError;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }

    pub(crate) fn lifetime(self, state: &AppState) -> i64 {
        match self {
            Purpose::Invitation => state.settings.invitation_hours * 3600,
            Purpose::Reset => state.settings.reset_minutes * 60,
        }
    }
}

/// Voids every open link of `user_id` (of one purpose, or all) with `reason`.
#[tracing::instrument(skip_all)]
pub async fn void_open_links(
    tx: &mut Tx,
    user_id: i64,
    purpose: Option<Purpose>,
    reason: &str,
    now: i64,
) -> Result<u64, AppError> {
    execute!(tx: tx, sqlx::query(
        "UPDATE user_tokens SET voided_at = $1, void_reason = $2 \
         WHERE user_id = $3 AND used_at IS NULL AND voided_at IS NULL AND ($4 IS NULL OR purpose = $4)"
    )
    .bind(now)
    .bind(reason)
    .bind(user_id)
    .bind(purpose.map(Purpose::as_str)))
}
