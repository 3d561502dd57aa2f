//! Signing in through a customer's own identity provider, and connecting an account to one.

use crate::error::AppError;
use crate::model::security::SsoSettings;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{anyone, signed_in},
    crate::model::Actor,
    crate::policy::{self, Action, Role},
    crate::server::{now, request, sso},
};

/// The account whose connection `actor` may see and change: a customer administrator's own (any
/// `account_id` sent is ignored), or the one a platform admin names.
#[cfg(feature = "ssr")]
fn account_for(actor: &Actor, account_id: Option<i64>) -> Result<i64, AppError> {
    if actor.role == Role::PlatformAdmin {
        policy::can(actor, Action::ManageCustomerAccounts)?;
        account_id.ok_or(AppError::NotFound)
    } else {
        policy::can(actor, Action::ManageOwnAccountUsers)?;
        actor.account_id.ok_or(AppError::Forbidden)
    }
}

/// Starts signing in through the identity provider of the account `email`'s domain belongs to.
#[server(endpoint = "auth/sso")]
pub async fn sign_in_with_provider(email: String) -> Result<(), AppError> {
    anyone(|state, maybe| async move {
        policy::can_maybe(maybe.as_ref(), Action::SignIn)?;
        let client_addr = request::current_client_addr(&state)?;
        let url = sso::start(&state, &email, &client_addr, now()).await?;
        leptos_axum::redirect(&url);
        Ok(())
    })
    .await
}

/// An account's connection to its provider, and the address the provider must send people back
/// to.
#[server(endpoint = "accounts/sso")]
pub async fn sso_connection(account_id: Option<i64>) -> Result<(SsoSettings, String), AppError> {
    signed_in(|state, actor| async move {
        let account_id = account_for(&actor, account_id)?;
        let settings = sso::settings(&state.db, account_id).await?;
        Ok((settings, sso::callback_url(&state.settings)))
    })
    .await
}

/// Connects an account to its provider, or changes the connection (a blank secret keeps the
/// stored one).
#[server(endpoint = "accounts/save_sso")]
pub async fn save_sso(
    account_id: Option<i64>,
    issuer: String,
    client_id: String,
    client_secret: String,
    domains: String,
    required: Option<String>,
) -> Result<(), AppError> {
    signed_in(|state, actor| async move {
        let id = account_for(&actor, account_id)?;
        let client_addr = request::current_client_addr(&state)?;
        let required = required.as_deref() == Some("on");
        sso::save(
            &state,
            &actor,
            id,
            &issuer,
            &client_id,
            &client_secret,
            &domains,
            required,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(&match actor.role {
            Role::PlatformAdmin => format!("/staff/accounts/{id}/sso?saved=1"),
            _ => "/manage/sso?saved=1".to_string(),
        });
        Ok(())
    })
    .await
}
