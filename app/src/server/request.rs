//! Facts about the current HTTP request, read from the context leptos_axum provides.

use super::state::AppState;
use axum::extract::ConnectInfo;
use http::request::Parts;
use leptos::prelude::use_context;
use std::net::SocketAddr;

pub fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The client address: the socket peer, or the first `X-Forwarded-For` hop when the portal is
/// configured to trust its proxy.
pub fn client_addr(parts: &Parts, state: &AppState) -> String {
    if state.settings.trust_proxy_headers {
        if let Some(forwarded) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            return forwarded.trim().to_string();
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The client address of the request being handled.
pub fn current_client_addr(state: &AppState) -> Result<String, crate::error::AppError> {
    let parts = parts().ok_or(crate::error::AppError::Internal)?;
    Ok(client_addr(&parts, state))
}

/// The value of one cookie of the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether the request is a plain HTML form post (no WASM): such posts are answered with a redirect.
pub fn is_form_navigation(parts: &Parts) -> bool {
    parts.method == http::Method::POST
        && parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}
