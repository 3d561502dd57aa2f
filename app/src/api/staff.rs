//! Impersonation: start from a user's row, stop from the banner.

use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::auth::set_cookie,
    crate::api::users::reason_for,
    crate::api::{permitted, signed_in},
    crate::policy::{self, Action},
    crate::server::{impersonation, now, request, session},
};

/// A platform admin starts seeing the portal as customer user `user_id` (with a reason).
#[server(endpoint = "staff/impersonate")]
pub async fn impersonate(
    user_id: i64,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<(), AppError> {
    permitted(Action::Impersonate, |state, actor| async move {
        let why = reason_for(&actor, reason, reference)?;
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        let client_addr = request::current_client_addr(&state)?;
        let new_token =
            impersonation::start(&state, &actor, &token, user_id, &why, &client_addr, now())
                .await?;
        set_cookie(session::set_cookie_header(&new_token, &state.settings));
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

/// Ends the impersonation; the platform admin is themselves again.
#[server(endpoint = "staff/stop_impersonating")]
pub async fn stop_impersonating() -> Result<(), AppError> {
    signed_in(|state, actor| async move {
        // The one thing an impersonated session can do that its customer role could not.
        if actor.impersonator_id.is_none() {
            policy::can(&actor, Action::Impersonate)?;
        }
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        let client_addr = request::current_client_addr(&state)?;
        let new_token = impersonation::stop(&state, &actor, &token, &client_addr, now(), true)
            .await?
            .ok_or(AppError::Internal)?;
        set_cookie(session::set_cookie_header(&new_token, &state.settings));
        leptos_axum::redirect("/staff");
        Ok(())
    })
    .await
}
