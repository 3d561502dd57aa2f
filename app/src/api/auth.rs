//! Signing in and out, the signed-in person, and changing one's own password.

use crate::api::types::Me;
use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::respond,
    crate::policy::{self, Action},
    crate::server::{auth, now, request, session, state::state, users},
    http::header::{HeaderValue, SET_COOKIE},
    leptos_axum::ResponseOptions,
};

#[cfg(feature = "ssr")]
fn set_cookie(value: String) {
    if let (Some(options), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&value),
    ) {
        options.append_header(SET_COOKIE, value);
    }
}

/// Signs in with email and password; on success sets the session cookie and goes home.
#[server(endpoint = "auth/sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    respond(async move {
        let state = state()?;
        let maybe = session::maybe_actor().await?;
        policy::can_maybe(maybe.as_ref(), Action::SignIn)?;
        let parts = request::parts().ok_or(AppError::Internal)?;
        let client_addr = request::client_addr(&parts, &state);
        let signed_in = auth::sign_in(
            &state,
            &email,
            password,
            &client_addr,
            session::current_token(),
            now(),
        )
        .await?;
        set_cookie(session::set_cookie_header(
            &signed_in.token,
            &state.settings,
        ));
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

/// Ends the current session on the server and clears the cookie.
#[server(endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    respond(async move {
        let state = state()?;
        if let Some(actor) = session::maybe_actor().await? {
            policy::can(&actor, Action::ManageOwnSession)?;
        }
        if let Some(token) = session::current_token() {
            session::delete(&state.db, &token).await?;
        }
        set_cookie(session::clear_cookie_header(&state.settings));
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

/// The signed-in person, or `None` when nobody is signed in.
#[server(endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    respond(async move {
        let state = state()?;
        let Some(actor) = session::maybe_actor().await? else {
            return Ok(None);
        };
        policy::can(&actor, Action::ManageOwnSession)?;
        users::me(&state.db, actor.user_id, actor.impersonator_id).await
    })
    .await
}

/// Changes the signed-in person's password; every other session of theirs ends.
#[server(endpoint = "auth/change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::ManageOwnSession)?;
        if actor.impersonator_id.is_some() {
            // Nobody changes a customer's password by impersonating them.
            return Err(AppError::Forbidden);
        }
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        let parts = request::parts().ok_or(AppError::Internal)?;
        let client_addr = request::client_addr(&parts, &state);
        auth::change_password(
            &state,
            actor.user_id,
            &token,
            &client_addr,
            current_password,
            new_password,
            confirm_password,
            now(),
        )
        .await?;
        leptos_axum::redirect("/account/password?changed=1");
        Ok(())
    })
    .await
}
