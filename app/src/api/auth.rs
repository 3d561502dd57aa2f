//! Signing in and out, the signed-in person, and changing one's own password.

use crate::error::AppError;
use crate::model::{LinkInfo, Me};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{anyone, permitted},
    crate::policy::{self, Action},
    crate::server::invitations::{self, Purpose},
    crate::server::{auth, now, request, session, users},
    http::header::{HeaderValue, SET_COOKIE},
    leptos_axum::ResponseOptions,
};

#[cfg(feature = "ssr")]
pub fn set_cookie(value: String) {
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
    anyone(|state, maybe| async move {
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
        leptos_axum::redirect(signed_in.stage.next_page());
        Ok(())
    })
    .await
}

/// Ends the current session on the server and clears the cookie.
#[server(endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    anyone(|state, actor| async move {
        if let Some(actor) = &actor {
            policy::can(actor, Action::ManageOwnSession)?;
        }
        if let Some(token) = session::current_token() {
            match actor.filter(|a| a.impersonator_id.is_some()) {
                // Signing out of an impersonation ends it, on the record.
                Some(actor) => {
                    let client_addr = request::current_client_addr(&state)?;
                    crate::server::impersonation::stop(
                        &state,
                        &actor,
                        &token,
                        &client_addr,
                        now(),
                        false,
                    )
                    .await?;
                }
                None => session::delete(&state.db, &token).await?,
            }
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
    anyone(|state, actor| async move {
        let Some(actor) = actor else {
            return Ok(None);
        };
        policy::can(&actor, Action::ManageOwnSession)?;
        users::me(&state.db, actor.user_id, actor.impersonator_id).await
    })
    .await
}

/// Sets the time zone the signed-in person sees times in.
#[server(endpoint = "auth/time_zone")]
pub async fn set_time_zone(time_zone: Option<String>) -> Result<(), AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        if actor.impersonator_id.is_some() {
            // A customer's own settings stay theirs.
            return Err(AppError::Forbidden);
        }
        let client_addr = request::current_client_addr(&state)?;
        users::set_time_zone(
            &state,
            &actor,
            time_zone.as_deref().unwrap_or(""),
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect("/account/password?zone=1");
        Ok(())
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
    permitted(Action::ManageOwnSession, |state, actor| async move {
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

#[cfg(feature = "ssr")]
fn purpose(kind: &str) -> Result<Purpose, AppError> {
    match kind {
        "invitation" => Ok(Purpose::Invitation),
        "reset" => Ok(Purpose::Reset),
        _ => Err(AppError::NotFound),
    }
}

/// Whose invitation (`kind` = `invitation`) or reset link (`reset`) `token` is, or why it does not
/// work. Looking does not use the link.
#[server(endpoint = "auth/link")]
pub async fn inspect_link(token: String, kind: String) -> Result<LinkInfo, AppError> {
    anyone(|state, maybe| async move {
        policy::can_maybe(maybe.as_ref(), Action::SignIn)?;
        invitations::inspect(&state.db, &token, purpose(&kind)?, now()).await
    })
    .await
}

/// Uses an invitation or reset link: sets the password and signs the person in.
#[server(endpoint = "auth/use_link")]
pub async fn use_link(
    token: String,
    kind: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    anyone(|state, maybe| async move {
        policy::can_maybe(maybe.as_ref(), Action::SignIn)?;
        let client_addr = request::current_client_addr(&state)?;
        let previous = session::current_token();
        let signed_in = invitations::complete(
            &state,
            &token,
            purpose(&kind)?,
            new_password,
            confirm_password,
            &client_addr,
            now(),
        )
        .await?;
        // Whoever was signed in in this browser before is signed out.
        if let Some(old) = previous {
            session::delete(&state.db, &old).await?;
        }
        match signed_in {
            Some((token, stage)) => {
                set_cookie(session::set_cookie_header(&token, &state.settings));
                leptos_axum::redirect(match stage {
                    session::Stage::Full => "/?welcome=1",
                    other => other.next_page(),
                });
            }
            None => {
                set_cookie(session::clear_cookie_header(&state.settings));
                leptos_axum::redirect("/?sso=1");
            }
        }
        Ok(())
    })
    .await
}

/// How long every answer to a reset request takes, whatever the address (well above the work a
/// known address costs).
#[cfg(feature = "ssr")]
const RESET_ANSWER_TIME: std::time::Duration = std::time::Duration::from_millis(400);

/// Mails a reset link when the address belongs to an active customer user; the answer is the same
/// either way.
#[server(endpoint = "auth/request_reset")]
pub async fn request_reset(email: String) -> Result<(), AppError> {
    anyone(|state, maybe| async move {
        policy::can_maybe(maybe.as_ref(), Action::SignIn)?;
        let client_addr = request::current_client_addr(&state)?;
        // A known address costs a token, a mail and an audit entry; an unknown one nothing. Every
        // answer waits out the same time, so its timing does not tell which this was.
        let answer_at = tokio::time::Instant::now() + RESET_ANSWER_TIME;
        let result = invitations::request_reset(&state, &email, &client_addr, now()).await;
        tokio::time::sleep_until(answer_at).await;
        result?;
        leptos_axum::redirect("/forgot-password?sent=1");
        Ok(())
    })
    .await
}
