//! The unsubscribe link of a case mail (`List-Unsubscribe`, RFC 8058): `GET` shows what it would
//! stop and a button (mail scanners follow links, so a visit alone changes nothing); `POST` — the
//! button, or the reader's mail client with `List-Unsubscribe=One-Click` — stops that person's
//! mails about that case. The token in the link is the credential: no sign-in.

use crate::attachments::status_of;
use crate::layers::{message_page, small_page};
use app::server::{now, AppState};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;

/// Tokens are 40 hex digits; anything else is not one (and is not looked up).
fn well_formed(token: &str) -> bool {
    token.len() == 40 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn unknown() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Unknown link",
        "This unsubscribe link is not known. Sign in to choose which cases mail you.",
    )
}

pub async fn confirm(Path(token): Path<String>) -> Response {
    if !well_formed(&token) {
        return unknown();
    }
    small_page(
        StatusCode::OK,
        "Stop mail about this case?",
        &format!(
            "<p>You will no longer get mails about this case. You can follow it again from the \
             case's page.</p><form method=\"post\" action=\"/mail/unsubscribe/{token}\">\
             <button type=\"submit\">Stop these mails</button></form>\
             <p><a href=\"/\">Portcullis home</a></p>"
        ),
    )
}

pub async fn stop(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
) -> Response {
    if !well_formed(&token) {
        return unknown();
    }
    let client_addr = app::server::request::client_addr(&parts, &state);
    match app::server::cases::unsubscribe(&state.db, &token, &client_addr, now()).await {
        Ok(number) => message_page(
            StatusCode::OK,
            "Unsubscribed",
            &format!(
                "You will no longer get mails about case {number}. To follow it again, open the \
                 case in the portal and choose \u{201c}Follow this case\u{201d}."
            ),
        ),
        Err(app::error::AppError::NotFound) => unknown(),
        Err(e) => message_page(status_of(&e), "Not now", &e.to_string()),
    }
}
