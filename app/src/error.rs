//! One error type for the client and the server.
//!
//! Internal failures are logged in full on the server and reach the browser only as `Internal`,
//! so no database message, path or stack ever leaks.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// A message attached to one form field (`field` is the input's `name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("You need to sign in to do that.")]
    Unauthorized,
    #[error("You do not have permission to do that.")]
    Forbidden,
    #[error("We could not find that.")]
    NotFound,
    #[error("There is a problem with what you entered.")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// Wrong email or password, or no such active user: one answer for all, so nothing is revealed.
    #[error("The email address or password is incorrect.")]
    SignInFailed,
    #[error("Too many attempts. Wait a few minutes and try again.")]
    TooManyRequests,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// A change refused because the session is an impersonation, which only shows (SPEC §3.5); the
    /// message names the staff tool to use instead.
    #[error("{0}")]
    ViewOnly(String),
    /// The server is too busy to take this now (the password-hashing queue is full).
    #[error("The portal is busy. Please try again in a moment.")]
    Busy,
    /// Search is not available until the search index has been built (after an upgrade or a
    /// `reindex`, on a large database).
    #[error("Search is being prepared. Please try again in a minute.")]
    Preparing,
    /// The request itself could not be read or sent (bad encoding, network down).
    #[error("The request could not be completed: {0}")]
    Request(String),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    /// The HTTP status a server function answers with when it fails this way.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Validation(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::SignInFailed => 401,
            AppError::TooManyRequests => 429,
            AppError::Internal => 500,
            AppError::ViewOnly(_) => 403,
            AppError::Busy | AppError::Preparing => 503,
            AppError::Request(_) => 400,
        }
    }

    /// Messages for one field, for display next to it.
    pub fn for_field(&self, field: &str) -> Vec<String> {
        match self {
            AppError::Validation(errors) => errors
                .iter()
                .filter(|e| e.field == field)
                .map(|e| e.message.clone())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A database failure is logged in full here and reaches the browser only as `Internal`, so `?`
/// works on every sqlx call.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if momentarily_busy(&err) {
            tracing::warn!(error = %err, "database busy");
            return AppError::Busy;
        }
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

/// Whether the database refused only for now, so that trying again shortly works: no connection
/// free in time, a lock held by another writer past the wait allowed, a statement stopped at the
/// statement timeout (the server too loaded to finish it), a deadlock or serialization failure.
/// Such a refusal answers 503 ("busy, try again"), not 500: nothing is wrong with the request or
/// the data.
#[cfg(feature = "ssr")]
fn momentarily_busy(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite's extended codes keep the primary code in their low byte: SQLITE_BUSY
                // (5) and SQLITE_LOCKED (6) with their variants, SQLITE_INTERRUPT (9, the
                // statement clock).
                code.parse::<i32>()
                    .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 9))
            } else {
                // PostgreSQL: lock_not_available, query_canceled (statement_timeout),
                // serialization_failure, deadlock_detected.
                matches!(code.as_ref(), "55P03" | "57014" | "40001" | "40P01")
            }
        }
        _ => false,
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::Request("the form data was not understood".into())
            }
            ServerFnErrorErr::Request(msg) => AppError::Request(msg),
            _ => AppError::Internal,
        }
    }
}

/// Collects field errors while parsing a form, so that every problem is reported at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// `value` trimmed, with `missing` recorded on `field` when that leaves nothing and `too_long`
    /// when it is over `max` characters.
    pub fn text(
        &mut self,
        field: &str,
        value: &str,
        max: usize,
        missing: &str,
        too_long: impl Into<String>,
    ) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.add(field, missing);
        } else if value.chars().count() > max {
            self.add(field, too_long);
        }
        value.to_string()
    }

    /// Records the error of a parse, keeping the value when it succeeded.
    pub fn take<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
