//! Signing in with a second factor, and a person's own security page: authenticator apps,
//! recovery codes, sessions; which accounts (and the vendor's staff) require a second factor.

use crate::error::AppError;
use crate::model::security::{SecurityOverview, SignInSetup};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{anyone, auth::set_cookie, permitted},
    crate::policy::{self, Action},
    crate::server::second_factor::{self, manage, passkeys, sign_in},
    crate::server::{now, request, session, session_list},
};

/// `true` or `false`, as the forms send the switch.
#[cfg(feature = "ssr")]
fn yes_or_no(value: &str) -> Result<bool, AppError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::field(
            "required",
            "Choose whether to require a second factor",
        )),
    }
}

/// Opens a step of signing in: the portal's state and the token of the browser's session
/// half-way through it (401 without one).
#[cfg(feature = "ssr")]
async fn mid_sign_in<T, F, Fut>(work: F) -> Result<T, AppError>
where
    F: FnOnce(crate::server::AppState, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    anyone(|state, maybe| async move {
        policy::can_maybe(maybe.as_ref(), Action::SignIn)?;
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        work(state, token).await
    })
    .await
}

/// The second step of signing in: a code from the person's authenticator app or a recovery code.
#[server(endpoint = "auth/code")]
pub async fn give_code(code: String) -> Result<(), AppError> {
    mid_sign_in(|state, token| async move {
        let client_addr = request::current_client_addr(&state)?;
        let signed_in = sign_in::give_code(&state, &token, &code, &client_addr, now()).await?;
        set_cookie(session::set_cookie_header(&signed_in, &state.settings));
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

/// What the second step of signing in offers the person half-way through it: (a code from an
/// authenticator app, a passkey). Recovery codes are always offered.
#[server(endpoint = "auth/second_step")]
pub async fn second_step() -> Result<(bool, bool), AppError> {
    mid_sign_in(|state, token| async move { passkeys::second_step(&state, &token, now()).await })
        .await
}

/// The options the browser hands to the person's passkey at the second step of signing in
/// (JSON for `navigator.credentials.get`).
#[server(endpoint = "auth/passkey_options")]
pub async fn sign_in_passkey_options() -> Result<String, AppError> {
    mid_sign_in(|state, token| async move { passkeys::start_sign_in(&state, &token, now()).await })
        .await
}

/// The second step of signing in with a passkey: the authenticator's answer (its JSON). Answers
/// the page to go on to.
#[server(endpoint = "auth/passkey")]
pub async fn give_passkey(credential: String) -> Result<String, AppError> {
    mid_sign_in(|state, token| async move {
        let client_addr = request::current_client_addr(&state)?;
        let signed_in =
            passkeys::give_passkey(&state, &token, &credential, &client_addr, now()).await?;
        set_cookie(session::set_cookie_header(&signed_in, &state.settings));
        Ok("/".to_string())
    })
    .await
}

/// The app to set up, for a person whose account requires a second factor they do not have yet.
#[server(endpoint = "auth/set_up")]
pub async fn setup_at_sign_in() -> Result<SignInSetup, AppError> {
    mid_sign_in(|state, token| async move { sign_in::setup_step(&state, &token, now()).await })
        .await
}

/// Confirms the app set up at sign-in with a code from it; signs the person in and shows their
/// new recovery codes.
#[server(endpoint = "auth/set_up_done")]
pub async fn finish_sign_in_setup(code: String) -> Result<(), AppError> {
    mid_sign_in(|state, token| async move {
        let client_addr = request::current_client_addr(&state)?;
        let signed_in = sign_in::finish_setup(&state, &token, &code, &client_addr, now()).await?;
        set_cookie(session::set_cookie_header(&signed_in, &state.settings));
        leptos_axum::redirect("/account/recovery-codes");
        Ok(())
    })
    .await
}

/// The signed-in person's security page.
#[server(endpoint = "security/overview")]
pub async fn security_page() -> Result<SecurityOverview, AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        manage::overview(&state, &actor, &token, now()).await
    })
    .await
}

/// Adds the authenticator app being set up, confirmed by its code and the password.
#[server(endpoint = "security/add_app")]
pub async fn add_app(password: String, code: String, label: String) -> Result<(), AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let first = manage::add_app(
            &state,
            &actor,
            &password,
            &code,
            &label,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(if first {
            "/account/recovery-codes"
        } else {
            "/account/security?added=1"
        });
        Ok(())
    })
    .await
}

/// Starts adding a passkey or security key named `label` (asks for the password): the options
/// the browser hands to the authenticator (JSON for `navigator.credentials.create`).
#[server(endpoint = "security/passkey_options")]
pub async fn passkey_options(password: String, label: String) -> Result<String, AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        let client_addr = request::current_client_addr(&state)?;
        let (password, label) = (password.as_str(), label.as_str());
        passkeys::start_registration(&state, &actor, &token, password, label, &client_addr, now())
            .await
    })
    .await
}

/// Adds the passkey the authenticator made (its JSON) for the registration just started. Answers
/// the page to go on to: the new recovery codes after a first factor, else the security page.
#[server(endpoint = "security/add_passkey")]
pub async fn add_passkey(credential: String) -> Result<String, AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        let client_addr = request::current_client_addr(&state)?;
        let first =
            passkeys::finish_registration(&state, &actor, &token, &credential, &client_addr, now())
                .await?;
        Ok(if first {
            "/account/recovery-codes".to_string()
        } else {
            "/account/security?passkey=1".to_string()
        })
    })
    .await
}

/// Removes one of the person's second factors — an app or a passkey (asks for the password).
#[server(endpoint = "security/remove_app")]
pub async fn remove_app(id: i64, password: String) -> Result<(), AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        manage::remove_app(&state, &actor, id, &password, &client_addr, now()).await?;
        leptos_axum::redirect("/account/security?removed=1");
        Ok(())
    })
    .await
}

/// Replaces the person's recovery codes with ten new ones (asks for the password).
#[server(endpoint = "security/recovery_codes")]
pub async fn replace_recovery_codes(password: String) -> Result<(), AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        manage::replace_recovery_codes(&state, &actor, &password, &client_addr, now()).await?;
        leptos_axum::redirect("/account/recovery-codes");
        Ok(())
    })
    .await
}

/// The recovery codes just made for the person, once (`None` when there are none to show).
#[server(endpoint = "security/new_recovery_codes")]
pub async fn new_recovery_codes() -> Result<Option<Vec<String>>, AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        if actor.impersonator_id.is_some() {
            return Ok(None);
        }
        second_factor::take_new_recovery_codes(&state.db, actor.user_id, now()).await
    })
    .await
}

/// Ends one of the person's sessions (`id` as the page names it), or every other one (`id`
/// empty).
#[server(endpoint = "security/end_session")]
pub async fn end_session(id: Option<String>) -> Result<(), AppError> {
    permitted(Action::ManageOwnSession, |state, actor| async move {
        let token = session::current_token().ok_or(AppError::Unauthorized)?;
        let client_addr = request::current_client_addr(&state)?;
        let id = id.filter(|i| !i.is_empty());
        session_list::end(
            &state.db,
            &actor,
            id.as_deref(),
            &token,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect("/account/security?ended=1#sessions");
        Ok(())
    })
    .await
}

/// A customer administrator requires (or stops requiring) a second factor of everyone in their
/// account.
#[server(endpoint = "accounts/require_second_factor")]
pub async fn require_for_account(required: String) -> Result<(), AppError> {
    permitted(Action::ManageOwnAccountUsers, |state, actor| async move {
        let required = yes_or_no(&required)?;
        let account_id = actor.account_id.ok_or(AppError::Forbidden)?;
        let client_addr = request::current_client_addr(&state)?;
        manage::set_requirement(
            &state,
            &actor,
            Some(account_id),
            required,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect("/manage?security=1");
        Ok(())
    })
    .await
}

/// Whether the actor's account requires a second factor of everyone in it.
#[server(endpoint = "accounts/second_factor_rule")]
pub async fn account_second_factor_rule() -> Result<bool, AppError> {
    permitted(Action::ManageOwnAccountUsers, |state, actor| async move {
        let account_id = actor.account_id.ok_or(AppError::Forbidden)?;
        second_factor::account_required(&state.db, account_id).await
    })
    .await
}

/// A platform admin requires (or stops requiring) a second factor of all vendor staff.
#[server(endpoint = "staff/require_second_factor")]
pub async fn require_for_staff(required: String) -> Result<(), AppError> {
    permitted(Action::ManageStaffSignIn, |state, actor| async move {
        let required = yes_or_no(&required)?;
        let client_addr = request::current_client_addr(&state)?;
        manage::set_requirement(&state, &actor, None, required, &client_addr, now()).await?;
        leptos_axum::redirect("/staff/sign-in?saved=1");
        Ok(())
    })
    .await
}

/// Whether all vendor staff must have a second factor, and whether platform admins must by
/// configuration.
#[server(endpoint = "staff/sign_in_policy")]
pub async fn staff_sign_in_policy() -> Result<(bool, bool), AppError> {
    permitted(Action::ManageStaffSignIn, |state, _actor| async move {
        let staff = second_factor::staff_required(&state.db).await?;
        Ok((staff, state.settings.second_factor_platform_admins))
    })
    .await
}
