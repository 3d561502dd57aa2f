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
use axum::extract::{Multipart, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use std::collections::HashMap;

mod download;
pub use download::{content_disposition, download};

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

pub(crate) fn status_of(err: &AppError) -> StatusCode {
    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
