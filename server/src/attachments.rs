//! The file routes. Uploads are multipart posts streamed into the file store as they arrive, so
//! they are axum handlers rather than server functions; they decide who is asking and whether they
//! may through the same session and policy code as everything else.
//!
//! - `POST /attachments`: files uploaded ahead of a form (the case form, a comment, a work note),
//!   answered in JSON with their tokens; the form then carries the tokens. Only the uploader sees a
//!   staged file; unused ones are dropped after a day.
//! - `POST /cases/{number}/attachments` (and `/changes/{number}/attachments`): files added to a
//!   case (a change request) by a plain form (works without script), recorded in its activity;
//!   the browser is sent back to its page.
//! - `GET /attachments/{token}/{name}`: a download, for exactly who may see what it is attached to.

use crate::export::actor;
use crate::layers::message_page;
use app::error::AppError;
use app::model::attachments::human_size;
use app::policy;
use app::server::attachments::{self as files, Received, UploadError};
use app::server::{forms, now, AppState};
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use std::collections::HashMap;

/// Room for a multipart request's own boundaries and headers beyond its files.
const MULTIPART_SLACK: u64 = 64 * 1024;

/// A refused upload's remaining bytes are read and thrown away up to this many, so the browser —
/// still sending — receives the answer instead of a broken connection; beyond it the connection is
/// closed.
const DRAIN_MAX: u64 = 1024 * 1024 * 1024;

/// Reads and discards what is left of `multipart` (nothing is kept), when the request is not too
/// large for that.
async fn drain(parts: &Parts, multipart: &mut Multipart) {
    if declared_length(parts).is_some_and(|n| n > DRAIN_MAX) {
        return;
    }
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// The size a request says it has, if it says.
fn declared_length(parts: &Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn wants_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn upload_status(err: &UploadError) -> StatusCode {
    match err {
        UploadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        UploadError::Empty | UploadError::Interrupted => StatusCode::BAD_REQUEST,
        UploadError::Store => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Receives every `file` field of `multipart` (at most [`files::MAX_FILES_PER_FORM`], each within
/// `limit` bytes and all together within `room`), with the other fields' values. On a refusal the
/// files received so far are dropped.
async fn receive_all(
    state: &AppState,
    multipart: &mut Multipart,
    limit: u64,
    room: u64,
) -> Result<(Vec<Received>, HashMap<String, String>), (StatusCode, String)> {
    let mut received: Vec<Received> = Vec::new();
    let mut fields = HashMap::new();
    let mut used: u64 = 0;
    let failure = loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break None,
            Err(e) => {
                break Some((
                    e.status(),
                    "The upload was cut off or malformed. Try again.".to_string(),
                ))
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            // Small fields only (a check box, a key): anything long is not ours.
            match field.text().await {
                Ok(value) if value.len() <= 1024 => {
                    fields.insert(name, value);
                    continue;
                }
                _ => {
                    break Some((
                        StatusCode::BAD_REQUEST,
                        "The form was not understood.".to_string(),
                    ))
                }
            }
        }
        let sent_name = field.file_name().unwrap_or_default().to_string();
        // A file input left empty sends one part with no name and no bytes.
        if sent_name.is_empty() {
            let _ = field.bytes().await;
            continue;
        }
        if received.len() >= files::MAX_FILES_PER_FORM {
            break Some((
                StatusCode::BAD_REQUEST,
                format!("Send at most {} files at once", files::MAX_FILES_PER_FORM),
            ));
        }
        let left = room.saturating_sub(used);
        let this_limit = limit.min(left);
        match files::receive(&state.files, &sent_name, Box::pin(field), this_limit).await {
            Ok(file) => {
                used += file.size as u64;
                received.push(file);
            }
            Err(UploadError::TooLarge { .. }) if left < limit => {
                break Some((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "{} does not fit: there is {} of room left for files here",
                        app::model::attachments::display_name(&sent_name),
                        human_size(left as i64)
                    ),
                ))
            }
            Err(e) => {
                let shown = app::model::attachments::display_name(&sent_name);
                break Some((upload_status(&e), e.message(&shown)));
            }
        }
    };
    if let Some(failure) = failure {
        files::discard_all(&state.files, received).await;
        return Err(failure);
    }
    Ok((received, fields))
}

/// `POST /attachments`: files uploaded ahead of the form they go with. Answers
/// `{"files": [{"token", "name", "size", "type"}]}`, or `{"error": …}` with a 4xx.
pub async fn stage(
    State(state): State<AppState>,
    parts: Parts,
    mut multipart: Multipart,
) -> Response {
    let who = match actor(&state, &parts).await {
        Ok(a) => a,
        Err(e) => return json_error(status_of(&e), e.to_string()),
    };
    if let Err(e) = policy::may_upload_files(&who) {
        return json_error(status_of(&e), e.to_string());
    }
    let limit = state.settings.max_file_bytes();
    // Files waiting for their form count against a case's worth per person, so nobody can park
    // unbounded bytes ahead of forms they never send.
    let waiting =
        match files::staged_room(&state.db, who.user_id, state.settings.max_case_bytes()).await {
            Ok(room) => room,
            Err(e) => return json_error(status_of(&e), e.to_string()),
        };
    if waiting == 0 {
        drain(&parts, &mut multipart).await;
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Your uploaded files are still waiting for their form: send it first (files no form takes are dropped after a day)",
        );
    }
    let room = limit
        .saturating_mul(files::MAX_FILES_PER_FORM as u64)
        .min(waiting);
    if declared_length(&parts).is_some_and(|n| n > room + MULTIPART_SLACK) {
        drain(&parts, &mut multipart).await;
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "A file may be at most {}",
                human_size(limit.min(room) as i64)
            ),
        );
    }
    let (received, _) = match receive_all(&state, &mut multipart, limit, room).await {
        Ok(r) => r,
        Err((status, message)) => {
            drain(&parts, &mut multipart).await;
            return json_error(status, message);
        }
    };
    if received.is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "Choose a file to attach");
    }
    let mut answer = Vec::new();
    let mut tx = match state.db.begin().await {
        Ok(tx) => tx,
        Err(e) => return json_error(status_of(&e), e.to_string()),
    };
    for file in received {
        let (name, size, kind) = (file.file_name.clone(), file.size, file.content_type);
        let scanning = state.settings.scanning();
        match files::record(
            &mut tx,
            &state.files,
            scanning,
            &who,
            file,
            files::Parent::Staged,
            now(),
        )
        .await
        {
            Ok(token) => answer.push(serde_json::json!({
                "token": token, "name": name, "size": size, "type": kind,
                "href": format!("/attachments/{token}/{}", app::model::text::encode(&name)),
            })),
            Err(e) => return json_error(status_of(&e), e.to_string()),
        }
    }
    if let Err(e) = tx.commit().await {
        return json_error(status_of(&e), e.to_string());
    }
    (
        StatusCode::CREATED,
        Json(serde_json::json!({ "files": answer })),
    )
        .into_response()
}

/// What the "Add files" form adds to.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Case,
    Change,
}

/// `POST /cases/{number}/attachments`: files added to a case from its page (`internal`: staff
/// only). Back to the case's files, or — refused — to the case with the problem beside the field.
pub async fn attach(
    State(state): State<AppState>,
    Path(number): Path<String>,
    parts: Parts,
    multipart: Multipart,
) -> Response {
    attach_to(state, Kind::Case, number, parts, multipart).await
}

/// `POST /changes/{number}/attachments`: the same for a change request.
pub async fn attach_change(
    State(state): State<AppState>,
    Path(number): Path<String>,
    parts: Parts,
    multipart: Multipart,
) -> Response {
    attach_to(state, Kind::Change, number, parts, multipart).await
}

async fn attach_to(
    state: AppState,
    kind: Kind,
    number: String,
    parts: Parts,
    mut multipart: Multipart,
) -> Response {
    let number = number.trim().to_uppercase();
    let page = match kind {
        Kind::Case => format!("/cases/{number}"),
        Kind::Change => format!("/changes/{number}"),
    };
    let json = wants_json(&parts);
    let refuse = |status: StatusCode, message: String| {
        let state = state.clone();
        let page = page.clone();
        async move {
            if json {
                return json_error(status, message);
            }
            send_back(&state, &page, AppError::field("file", message)).await
        }
    };
    let who = match actor(&state, &parts).await {
        Ok(a) => a,
        Err(e) => return message_page(status_of(&e), "Sign in to add files", &e.to_string()),
    };
    let found = match kind {
        Kind::Case => app::server::cases::case_for_files(&state.db, &who, &number)
            .await
            .map(|id| (Some(id), None)),
        Kind::Change => app::server::changes::change_for_files(&state.db, &who, &number)
            .await
            .map(|id| (None, Some(id))),
    };
    let owner = match found {
        Ok(owner) => owner,
        Err(AppError::Conflict(why)) => {
            drain(&parts, &mut multipart).await;
            return refuse(StatusCode::CONFLICT, why).await;
        }
        Err(e) => {
            drain(&parts, &mut multipart).await;
            return message_page(status_of(&e), "Files cannot be added here", &e.to_string());
        }
    };
    let limit = state.settings.max_file_bytes();
    let room = match files::room(&state.db, owner, state.settings.max_case_bytes()).await {
        Ok(room) => room,
        Err(e) => {
            return message_page(
                status_of(&e),
                "Files cannot be added just now",
                &e.to_string(),
            )
        }
    };
    let most = room.min(limit.saturating_mul(files::MAX_FILES_PER_FORM as u64));
    if declared_length(&parts).is_some_and(|n| n > most + MULTIPART_SLACK) {
        let message = if room < limit {
            format!(
                "There is {} of room left for files here",
                human_size(room as i64)
            )
        } else {
            format!("A file may be at most {}", human_size(limit as i64))
        };
        drain(&parts, &mut multipart).await;
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, message).await;
    }
    let (received, fields) = match receive_all(&state, &mut multipart, limit, room).await {
        Ok(r) => r,
        Err((status, message)) => {
            drain(&parts, &mut multipart).await;
            return refuse(status, message).await;
        }
    };
    if received.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "Choose a file to attach".into()).await;
    }
    let internal = fields
        .get("internal")
        .is_some_and(|v| !v.is_empty() && v != "false");
    let client_addr = app::server::request::client_addr(&parts, &state);
    let now = now();
    let done = match kind {
        Kind::Case => {
            app::server::cases::attach_files(
                &state,
                &who,
                &number,
                received,
                internal,
                &client_addr,
                now,
            )
            .await
        }
        Kind::Change => {
            app::server::changes::attach_files(&state, &who, &number, received, &client_addr, now)
                .await
        }
    };
    match done {
        Ok(tokens) if json => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "files": tokens })),
        )
            .into_response(),
        Ok(_) => Redirect::to(&format!("{page}#files")).into_response(),
        Err(AppError::Validation(problems)) => {
            let message = problems
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
                .join(" ");
            refuse(StatusCode::PAYLOAD_TOO_LARGE, message).await
        }
        Err(AppError::Conflict(why)) => refuse(StatusCode::CONFLICT, why).await,
        Err(e) => message_page(
            status_of(&e),
            "Files cannot be added just now",
            &e.to_string(),
        ),
    }
}

/// Back to `page` with `error` shown beside the file field (kept as a refused form, read once).
async fn send_back(state: &AppState, page: &str, error: AppError) -> Response {
    let form = app::model::forms::RefusedForm {
        page: page.to_string(),
        server_fn: app::model::attachments::ATTACH_FORM.to_string(),
        error,
        fields: Vec::new(),
    };
    let Ok(token) = forms::keep_refused(&state.db, &form, now()).await else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "The files were not added",
            &form.error.to_string(),
        );
    };
    let mut back = Redirect::to(page).into_response();
    *back.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(cookie) = HeaderValue::from_str(&forms::refused_cookie(&token, &state.settings)) {
        back.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    back
}

fn status_of(err: &AppError) -> StatusCode {
    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

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
