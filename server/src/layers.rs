//! HTTP hardening and metrics as axum middleware.

use app::server::{forms, Settings};
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
    let path = req.uri().path();
    let is_asset = path.starts_with("/pkg/") || path == "/favicon.svg";
    let immutable = app::server::assets::is_fingerprinted(path);
    let mut res = next.run(req).await;
    let found = res.status().is_success();
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
    // Pages and API answers carry personal data: no shared or disk caches keep them. A
    // fingerprinted file never changes under its name; other files are checked each time.
    let cache = if !is_asset {
        "no-store"
    } else if immutable && found {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
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
        let token = cookie(&req, app::server::session::COOKIE_NAME);
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
    let mut refused = false;
    if page {
        if let Some(token) = cookie(&req, forms::REFUSED_COOKIE) {
            let path = req.uri().path().to_string();
            match forms::take_refused(&state.db, &token, &path, app::server::now()).await {
                Ok(Some(form)) => {
                    req.extensions_mut().insert(form);
                    refused = true;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "a refused form could not be read back"),
            }
        }
    }
    let mut res = next.run(req).await;
    if refused {
        if let Ok(spent) = HeaderValue::from_str(&forms::spent_refused_cookie(&state.settings)) {
            res.headers_mut().append(header::SET_COOKIE, spent);
        }
    }
    res
}

/// The value of cookie `name` the request carries, if not empty.
fn cookie(req: &Request, name: &str) -> Option<String> {
    app::server::request::cookie(req.headers(), name).filter(|t| !t.is_empty())
}

/// A form posted by the browser itself (no script: it asks for a page back) to a server function.
fn is_plain_form_post(req: &Request) -> bool {
    let url_encoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    req.uri().path().starts_with("/api/")
        && url_encoded
        && app::server::request::is_form_post(req.method(), req.headers())
}

/// Where a refused plain form post is sent back to, and why: server_fn answers such a post by
/// redirecting to the page it came from with the error encoded in the URL (`__path`, `__err`).
/// Answers the page's path, its query without those two, the server function and the error.
fn refused_redirect(res: &Response) -> Option<(String, String, String, app::error::AppError)> {
    if !res.status().is_redirection() {
        return None;
    }
    let location = res.headers().get(header::LOCATION)?.to_str().ok()?;
    let url = url::Url::parse(location).ok()?;
    let (mut server_fn, mut error, mut rest) = (None, None, Vec::new());
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "__path" => server_fn = Some(v.into_owned()),
            "__err" => error = Some(v.into_owned()),
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    let error = server_fn::error::ServerFnUrlError::<app::error::AppError>::decode_err(&error?);
    let query = if rest.is_empty() {
        String::new()
    } else {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(rest)
            .finish()
    };
    Some((url.path().to_string(), query, server_fn?, error))
}

/// Forms never lose what was typed (and errors never travel in the URL): when a server function
/// refuses a plain form post, the fields as sent (never a password) and the problems are kept for
/// the page the person goes back to — named by a short-lived cookie, read once — and the redirect
/// goes to that page's own address. With script, forms submit in place and keep their fields.
pub async fn keep_refused_forms(
    State(state): State<app::server::AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !is_plain_form_post(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large to send.",
        )
            .into_response();
    };
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    let Some((page, query, server_fn, error)) = refused_redirect(&res) else {
        return res;
    };
    let fields = url::form_urlencoded::parse(&bytes)
        .filter(|(name, _)| app::model::forms::keeps_field(name))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let form = app::model::forms::RefusedForm {
        page: page.clone(),
        server_fn,
        error,
        fields,
    };
    let token = match forms::keep_refused(&state.db, &form, app::server::now()).await {
        Ok(token) => token,
        Err(_) => return refused_without_page(&form.error),
    };
    let location = if query.is_empty() {
        page
    } else {
        format!("{page}?{query}")
    };
    let mut back = Response::new(Body::empty());
    *back.status_mut() = StatusCode::SEE_OTHER;
    let headers = back.headers_mut();
    if let (Ok(location), Ok(cookie)) = (
        HeaderValue::from_str(&location),
        HeaderValue::from_str(&forms::refused_cookie(&token, &state.settings)),
    ) {
        headers.insert(header::LOCATION, location);
        headers.insert(header::SET_COOKIE, cookie);
    }
    back
}

/// When the refused form cannot be kept (the database failed just then), the problem is still
/// told, on a page of its own with the error's status.
fn refused_without_page(error: &app::error::AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let message = html_escape::encode_text(&error.to_string()).into_owned();
    let items = match error {
        app::error::AppError::Validation(fields) => fields
            .iter()
            .map(|f| format!("<li>{}</li>", html_escape::encode_text(&f.message)))
            .collect::<String>(),
        _ => String::new(),
    };
    small_page(
        status,
        "There is a problem",
        &format!(
            "<p>{message}</p><ul>{items}</ul><p>Go back to correct the form and send it again.</p>"
        ),
    )
}

/// A page of its own for a route outside the app (an upload, a download): `title` and `message`,
/// with status `status`.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let message = html_escape::encode_text(message);
    small_page(
        status,
        title,
        &format!("<p>{message}</p><p><a href=\"/\">Portcullis home</a></p>"),
    )
}

pub fn small_page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let title = html_escape::encode_text(title);
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Portcullis</title></head><body><main>\
         <h1>{title}</h1>{body_html}</main></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Answers 503 to a request still unanswered after `limit`, dropping its work (its database
/// statements end with it, or at the statement timeout). Uploads and downloads of files are left
/// to take as long as the connection needs: they hold no transaction while bytes flow.
pub async fn deadline(
    State(limit): State<std::time::Duration>,
    req: Request,
    next: Next,
) -> Response {
    if is_file_transfer(req.uri().path()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            res
        }
    }
}

/// The file routes: `/attachments…`, `/cases/{number}/attachments`, `/changes/{number}/attachments`.
fn is_file_transfer(path: &str) -> bool {
    path.starts_with("/attachments")
        || ((path.starts_with("/cases/") || path.starts_with("/changes/"))
            && path.ends_with("/attachments"))
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
