//! Server-only code: state, storage, sessions, passwords. Never compiled into the browser build.

pub mod access;
pub mod accounts;
pub mod assets;
pub mod attachments;
pub mod audit;
pub mod audit_view;
pub mod auth;
pub mod cases;
pub mod catalog;
pub mod changes;
pub mod communications;
pub mod counts;
pub mod db;
pub mod directory;
pub mod forms;
pub mod home;
pub mod impersonation;
pub mod imports;
pub mod inbound;
pub mod invitations;
pub mod kb;
pub mod mail;
pub mod markdown;
pub mod password;
pub mod request;
pub mod reviews;
pub mod scim;
pub mod search;
pub mod search_text;
pub mod second_factor;
pub mod session;
pub mod session_list;
pub mod sso;
pub mod state;
pub mod statement_clock;
pub mod tokens;
pub mod users;

pub use state::{AppState, Settings};

/// Seconds since the Unix epoch. Every stored time is this, in UTC, on both engines.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
