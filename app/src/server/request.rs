//! Facts about the current HTTP request, read from the context leptos_axum provides.

use super::state::AppState;
use axum::extract::ConnectInfo;
use http::request::Parts;
use leptos::prelude::use_context;
use std::net::SocketAddr;

pub fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The client address: the socket peer, or — when the portal is configured to trust its proxies —
/// the `X-Forwarded-For` entry `trusted_proxy_hops` places from the right. Each proxy appends the
/// address it received from, so entries left of that one are whatever the client chose to send.
pub fn client_addr(parts: &Parts, state: &AppState) -> String {
    if state.settings.trust_proxy_headers {
        if let Some(forwarded) = forwarded_client(&parts.headers, state.settings.trusted_proxy_hops)
        {
            return forwarded;
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The address `hops` entries from the right of every `X-Forwarded-For` header taken together;
/// `None` when there are fewer entries than that (then the socket peer is used).
pub fn forwarded_client(headers: &http::HeaderMap, hops: usize) -> Option<String> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let hops = hops.max(1);
    (entries.len() >= hops).then(|| entries[entries.len() - hops].to_string())
}

/// The client address of the request being handled.
pub fn current_client_addr(state: &AppState) -> Result<String, crate::error::AppError> {
    let parts = parts().ok_or(crate::error::AppError::Internal)?;
    Ok(client_addr(&parts, state))
}

/// The server function a request calls (`cases/create` for `/api/cases/create`), if it calls one.
pub fn server_fn_endpoint(parts: &Parts) -> Option<String> {
    parts
        .uri
        .path()
        .strip_prefix("/api/")
        .map(|endpoint| endpoint.trim_end_matches('/').to_string())
}

/// The value of one cookie of a request with `headers`.
pub fn cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
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
    is_form_post(&parts.method, &parts.headers)
}

/// Whether a request with `method` and `headers` is a form the browser posts itself (it asks for
/// a page back), not a script's request.
pub fn is_form_post(method: &http::Method, headers: &http::HeaderMap) -> bool {
    method == http::Method::POST
        && headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_client_is_counted_from_the_right() {
        // The client sent "6.6.6.6" itself; our one proxy appended the address it saw.
        let h = headers(&["6.6.6.6, 203.0.113.9"]);
        assert_eq!(forwarded_client(&h, 1).as_deref(), Some("203.0.113.9"));
        assert_eq!(forwarded_client(&h, 2).as_deref(), Some("6.6.6.6"));
        // Two proxies of ours, the second writing a header line of its own.
        let h = headers(&["6.6.6.6, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(forwarded_client(&h, 2).as_deref(), Some("198.51.100.7"));
        assert_eq!(forwarded_client(&headers(&["203.0.113.9"]), 2), None);
        assert_eq!(forwarded_client(&headers(&[]), 1), None);
    }
}
