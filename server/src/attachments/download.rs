//! `GET /attachments/{token}[/{name}]`: downloads, for exactly who may see what a file is attached
//! to; one byte range for a broken download to resume.

use super::status_of;
use crate::export::actor;
use crate::layers::message_page;
use app::error::AppError;
use app::policy;
use app::server::attachments as files;
use app::server::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

/// `GET /attachments/{token}[/{name}]`: the file, for who may see what it is attached to. Only
/// raster images on the allowlist are shown inline; everything else downloads, typed as bytes,
/// and nothing in it may run (`sandbox`, `default-src 'none'`, `nosniff`).
pub async fn download(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    parts: Parts,
) -> Response {
    let token = params.get("token").map(String::as_str).unwrap_or_default();
    // A public article's files are for anyone; everything else asks who is there.
    let who = match actor(&state, &parts).await {
        Ok(a) => Some(a),
        Err(AppError::Unauthorized) => None,
        Err(e) => {
            return message_page(
                status_of(&e),
                "The file cannot be fetched just now",
                &e.to_string(),
            )
        }
    };
    let stored = match files::find(&state.db, token).await {
        Ok(Some(stored)) => stored,
        Ok(None) if who.is_none() => return sign_in_first(),
        Ok(None) => return not_found(),
        Err(e) => {
            return message_page(
                status_of(&e),
                "The file cannot be fetched just now",
                &e.to_string(),
            )
        }
    };
    match policy::may_see_file(who.as_ref(), &stored.scope()) {
        Ok(()) => {}
        Err(AppError::Unauthorized) => return sign_in_first(),
        Err(_) => return not_found(),
    }
    let staff = who.as_ref().is_some_and(|w| w.role.is_staff());
    use app::model::attachments::ScanState;
    match stored.scan {
        ScanState::Infected => {
            return message_page(
                StatusCode::FORBIDDEN,
                "This file is quarantined",
                "The malware scan found something harmful in this file, so it is not served.",
            )
        }
        ScanState::Pending if !staff => {
            return message_page(
                StatusCode::CONFLICT,
                "This file is being checked",
                "The file is waiting for its malware scan. Try again in a minute.",
            )
        }
        _ => {}
    }
    let size = stored.size.max(0) as u64;
    // A broken download of a large log resumes where it stopped (`Range`, one range).
    let range = match requested_range(&parts.headers, size) {
        Ok(range) => range,
        Err(()) => {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return res;
        }
    };
    let body = match state.files.open(&stored.sha256, range.clone()).await {
        Ok(stream) => Body::from_stream(stream),
        Err(e) => {
            return message_page(
                status_of(&e),
                "The file cannot be fetched just now",
                &e.to_string(),
            )
        }
    };
    let inline = files::inline(&stored.content_type);
    let (kind, disposition) = if inline {
        (stored.content_type.as_str(), "inline")
    } else {
        ("application/octet-stream", "attachment")
    };
    let mut res = Response::new(body);
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(h, header::CONTENT_TYPE, kind);
    set(h, header::ACCEPT_RANGES, "bytes");
    match &range {
        Some(r) => {
            set(h, header::CONTENT_LENGTH, &(r.end - r.start).to_string());
            set(
                h,
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{size}", r.start, r.end - 1),
            );
        }
        None => set(h, header::CONTENT_LENGTH, &size.to_string()),
    }
    set(
        h,
        header::CONTENT_DISPOSITION,
        &content_disposition(disposition, &stored.file_name),
    );
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::CACHE_CONTROL, "private, no-cache");
    set(
        h,
        "cross-origin-resource-policy"
            .parse()
            .expect("a header name"),
        "same-origin",
    );
    if range.is_some() {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    res
}

/// The one byte range a `Range: bytes=…` header asks for within a file of `size` bytes, as
/// `start..end`: `None` for the whole file (no header, another unit, or several ranges, which a
/// server may answer whole); `Err` when it cannot be satisfied (416).
fn requested_range(
    headers: &axum::http::HeaderMap,
    size: u64,
) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        // The last `n` bytes.
        let n: u64 = last.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        size.saturating_sub(n)..size
    } else {
        let start: u64 = first.parse().map_err(|_| ())?;
        let end = if last.is_empty() {
            size
        } else {
            last.parse::<u64>()
                .map_err(|_| ())?
                .saturating_add(1)
                .min(size)
        };
        start..end
    };
    if range.start >= size || range.start >= range.end {
        return Err(());
    }
    Ok(Some(range))
}

fn sign_in_first() -> Response {
    message_page(
        StatusCode::UNAUTHORIZED,
        "Sign in to download this file",
        "Files are for the people who may see what they are attached to: sign in first.",
    )
}

fn not_found() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "File not found",
        "There is no such file, or it is not yours to see. It may have been removed.",
    )
}

/// `Content-Disposition` with the file's name: plain ASCII for old clients, and the exact name
/// in RFC 5987's `filename*`.
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_range_is_served_and_an_impossible_one_refused() {
        let ask = |value: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
            requested_range(&h, 100)
        };
        assert_eq!(
            requested_range(&axum::http::HeaderMap::new(), 100),
            Ok(None)
        );
        assert_eq!(ask("bytes=0-9"), Ok(Some(0..10)));
        assert_eq!(ask("bytes=90-"), Ok(Some(90..100)));
        assert_eq!(ask("bytes=95-200"), Ok(Some(95..100)));
        assert_eq!(ask("bytes=-5"), Ok(Some(95..100)));
        assert_eq!(ask("bytes=-500"), Ok(Some(0..100)));
        assert_eq!(ask("bytes=0-1,5-6"), Ok(None));
        assert_eq!(ask("items=0-1"), Ok(None));
        assert_eq!(ask("bytes=100-"), Err(()));
        assert_eq!(ask("bytes=9-3"), Err(()));
        assert_eq!(ask("bytes=-0"), Err(()));
        assert_eq!(ask("bytes=x-"), Err(()));
    }

    #[test]
    fn names_travel_safely_in_the_header() {
        assert_eq!(
            content_disposition("attachment", "report.log"),
            "attachment; filename=\"report.log\"; filename*=UTF-8''report.log"
        );
        assert_eq!(
            content_disposition("inline", "Überblick \"1\".png"),
            "inline; filename=\"_berblick _1_.png\"; filename*=UTF-8''%C3%9Cberblick%20%221%22.png"
        );
    }
}
