//! Bulk creation of users: the preview of an uploaded file, and confirming or discarding it. The
//! upload itself is a multipart form post handled by the server (`/staff/accounts/:id/import`).

use crate::error::AppError;
use crate::model::ImportView;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::users::reason_for,
    crate::api::{permitted, PER_PAGE},
    crate::policy::Action,
    crate::server::{imports, now, request},
};

/// An import with its counts and a page of rows (`outcome`: `create`, `exists`, `invalid` or all).
#[server(endpoint = "imports/get")]
pub async fn get_import(
    import_id: i64,
    outcome: Option<String>,
    page: Option<i64>,
) -> Result<ImportView, AppError> {
    permitted(Action::BulkCreateUsers, |state, _| async move {
        imports::view(
            &state.db,
            import_id,
            outcome.as_deref().unwrap_or(""),
            page.unwrap_or(1),
            PER_PAGE,
        )
        .await
    })
    .await
}

/// `decision` is `confirm` (create the users, with a reason) or `discard`.
#[server(endpoint = "imports/decide")]
pub async fn decide_import(
    import_id: i64,
    decision: String,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<(), AppError> {
    permitted(Action::BulkCreateUsers, |state, actor| async move {
        let confirm = match decision.as_str() {
            "confirm" => true,
            "discard" => false,
            _ => return Err(AppError::field("decision", "Choose confirm or discard")),
        };
        let why = if confirm {
            reason_for(&actor, reason, reference)?
        } else {
            Default::default()
        };
        let client_addr = request::current_client_addr(&state)?;
        imports::decide(
            &state,
            &actor,
            import_id,
            confirm,
            &why,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(&format!("/staff/imports/{import_id}"));
        Ok(())
    })
    .await
}
