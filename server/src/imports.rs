//! Bulk creation of users: the CSV upload (a multipart form post, so it works without WASM) and
//! the background worker that carries out confirmed imports (`app::server::imports`).

use crate::export::{actor, error_response};
use app::error::AppError;
use app::policy::{self, Action};
use app::server::{imports, now, AppState};
use axum::extract::{Multipart, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use std::time::Duration;

/// The largest file accepted (20,000 rows of long names fit well within it).
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// `POST /staff/accounts/{id}/import`: stores the file's rows for preview and shows the preview.
pub async fn upload(
    State(state): State<AppState>,
    Path(account_id): Path<i64>,
    parts: Parts,
    mut multipart: Multipart,
) -> Response {
    let back = |message: &str| {
        Redirect::to(&format!(
            "/staff/accounts/{account_id}/import?error={}",
            app::model::text::encode(message)
        ))
        .into_response()
    };
    let who = match actor(&state, &parts).await {
        Ok(a) => a,
        Err(e) => return error_response(e),
    };
    if let Err(e) = policy::can(&who, Action::BulkCreateUsers) {
        return error_response(e);
    }
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(_) => return back("The file could not be read. Is it larger than 8 MB?"),
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => return back("The upload could not be read. Is the file larger than 8 MB?"),
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return back("Choose a CSV file to upload");
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return back("The file is not UTF-8 text. Save it as \"CSV UTF-8\" and upload it again.");
    };
    match imports::preview(&state, &who, account_id, &name, &text, now()).await {
        Ok(id) => Redirect::to(&format!("/staff/imports/{id}")).into_response(),
        Err(AppError::Validation(fields)) => back(
            &fields
                .into_iter()
                .map(|f| f.message)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(e) => error_response(e),
    }
}

/// Carries out confirmed imports every couple of seconds, in every instance (leases keep two from
/// working on one import).
pub fn spawn_worker(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    let instance = format!(
        "{}-{}",
        std::process::id(),
        app::server::session::new_token()
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            loop {
                match imports::work(&state, &instance, None, now).await {
                    Ok(0) => break,
                    Ok(n) => tracing::info!(created = n, "bulk import progressed"),
                    Err(e) => {
                        tracing::warn!(error = %e, "bulk import worker failed; retrying later");
                        break;
                    }
                }
            }
        }
    })
}
