//! Where a customer's identity provider sends people back (`/sso/callback`): the sign-in is
//! finished by `app::server::sso` and the browser gets its session cookie, or a page saying why
//! not.

use crate::layers::message_page;
use app::server::{now, AppState};
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    Query(q): Query<Callback>,
    parts: Parts,
) -> Response {
    let refused = |why: &str| message_page(StatusCode::BAD_REQUEST, "Sign-in refused", why);
    if q.error.is_some() {
        return refused(
            "Your identity provider did not sign you in. Start again from the sign-in page.",
        );
    }
    let (Some(code), Some(csrf)) = (q.code, q.state) else {
        return refused("This address is for your identity provider's answer. Start again from the sign-in page.");
    };
    if code.len() > 2000 || csrf.len() > 200 {
        return refused("This sign-in answer is not valid.");
    }
    let client_addr = app::server::request::client_addr(&parts, &state);
    match app::server::sso::finish_sign_in(&state, &code, &csrf, &client_addr, now()).await {
        Ok(token) => {
            let cookie = app::server::session::set_cookie_header(&token, &state.settings);
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, value);
            }
            res
        }
        Err(why) => refused(why.0),
    }
}
