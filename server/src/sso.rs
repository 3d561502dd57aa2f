//! Where a customer's identity provider sends people back (`/sso/callback`): the sign-in is
//! finished by `app::server::sso` and the browser gets its session cookie, or a page saying why
//! not.

use crate::layers::{message_page, small_page};
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

#[derive(Deserialize)]
pub struct Go {
    login: Option<String>,
}

/// `/sso/go?login=…`: sends the browser on to the provider of a sign-in under way (a page, not a
/// redirect, so the sign-in form's post ends on the portal as its CSP requires).
pub async fn go(State(state): State<AppState>, Query(q): Query<Go>) -> Response {
    let gone = || {
        message_page(
            StatusCode::NOT_FOUND,
            "Sign-in expired",
            "This sign-in has expired or was already used. Start again from the sign-in page.",
        )
    };
    let Some(login) = q.login.filter(|l| !l.is_empty() && l.len() < 200) else {
        return gone();
    };
    match app::server::sso::authorize_url(&state.db, &login, now()).await {
        Ok(Some(url)) => {
            let url = html_escape::encode_double_quoted_attribute(&url);
            small_page(
                StatusCode::OK,
                "Continue to your identity provider",
                &format!(
                    "<meta http-equiv=\"refresh\" content=\"0; url={url}\">\
                     <p><a href=\"{url}\">Continue to your company's identity provider</a></p>"
                ),
            )
        }
        Ok(None) => gone(),
        Err(_) => message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again",
            "Something went wrong on our side. Please try again.",
        ),
    }
}
