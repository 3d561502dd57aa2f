//! HTTP hardening and metrics as axum middleware.

use app::server::Settings;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

/// CSRF defence (ASVS V3.5): a state-changing request must come from the portal's own pages.
/// Browsers say where a request comes from in `Sec-Fetch-Site` and `Origin`; a cross-site value in
/// either is refused. Requests without both (non-browser clients) carry no ambient browser
/// credentials, so there is nothing to forge.
pub async fn refuse_cross_site(
    State(settings): State<Arc<Settings>>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return refused("cross-site request refused (Sec-Fetch-Site)");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !origin_allowed(origin, host, &settings.public_url) {
            return refused("cross-site request refused (Origin)");
        }
    }
    next.run(req).await
}

/// The origin is the configured public URL's, or the host the request was sent to.
fn origin_allowed(origin: &str, host: Option<&str>, public_url: &str) -> bool {
    if origin == "null" {
        return false;
    }
    if origin == public_url.trim_end_matches('/') {
        return true;
    }
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn refused(reason: &'static str) -> Response {
    tracing::warn!(reason, "refused a cross-site state-changing request");
    (
        StatusCode::FORBIDDEN,
        "Cross-site requests are not accepted.",
    )
        .into_response()
}

/// Security headers on every response. HTML pages get their nonce CSP from the app shell; anything
/// else gets a CSP that allows nothing to run. Over HTTPS, browsers are told to use nothing else.
pub async fn security_headers(
    State(settings): State<Arc<Settings>>,
    req: Request,
    next: Next,
) -> Response {
    let is_asset = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if settings.public_url.starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    // Pages and API answers carry personal data: no shared or disk caches keep them.
    if !is_asset && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The method as a metrics label: the methods of HTTP itself, and "other" for anything invented,
/// so no request can add label values (and memory) to `/metrics` for ever.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts requests and their durations for `/metrics`.
pub async fn record_metrics(req: Request<Body>, next: Next) -> Response {
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("portcullis_http_requests_total", "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("portcullis_http_request_duration_seconds", "method" => method)
        .record(start.elapsed().as_secs_f64());
    res
}

#[cfg(test)]
mod tests {
    use super::{method_label, origin_allowed};
    use axum::http::Method;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(
            method_label(&Method::from_bytes(b"XYZZY123").unwrap()),
            "other"
        );
    }

    #[test]
    fn origins() {
        let public = "https://support.example.com";
        assert!(origin_allowed("https://support.example.com", None, public));
        assert!(origin_allowed(
            "http://127.0.0.1:3000",
            Some("127.0.0.1:3000"),
            public
        ));
        assert!(!origin_allowed(
            "https://evil.example",
            Some("127.0.0.1:3000"),
            public
        ));
        assert!(!origin_allowed("null", Some("127.0.0.1:3000"), public));
        assert!(!origin_allowed(
            "http://127.0.0.1:3001",
            Some("127.0.0.1:3000"),
            public
        ));
    }
}

/// Resolves the session of a page or server-function request once, before the app runs: the
/// page and the server functions it calls while rendering read who is asking from the
/// `RequestSession` request extension instead of each asking the database, and the page shows
/// times in the person's zone (`DisplayZone`). Static files skip it. When the database cannot
/// answer, nothing is recorded and each server function resolves (and reports) on its own.
pub async fn resolve_session(
    State(state): State<app::server::AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let api = path.starts_with("/api/");
    let page = req.method() == Method::GET && !path.starts_with("/pkg/") && !api;
    if page || api {
        let token = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == app::server::session::COOKIE_NAME)
            .map(|(_, v)| v.to_string())
            .filter(|t| !t.is_empty());
        let now = app::server::now();
        let resolved = app::server::session::RequestSession::resolve(
            &state.db,
            &state.settings,
            token.as_deref(),
            now,
        )
        .await;
        if let Ok(session) = resolved {
            if let Some(zone) = &session.time_zone {
                req.extensions_mut()
                    .insert(app::components::time::DisplayZone(zone.clone()));
            }
            req.extensions_mut().insert(session);
        }
    }
    next.run(req).await
}

/// Largest body a page or server function may send (imports have their own, larger limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Gives a server function's refusal its own status. server_fn answers every error it raises
/// itself — a form field that is not a number, bytes that are not UTF-8, a body cut short — with
/// 500, before the function (which sets the status of its own errors) runs. Such an answer carries
/// the error, encoded: read it back and answer its status (400 for a request that could not be
/// read), so bad input is the client's error, not a server failure in the logs.
pub async fn server_fn_error_status(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res
            .headers()
            .contains_key(server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.status()) {
            if status.is_client_error() {
                tracing::debug!(error = %err, "server function request refused");
            }
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
