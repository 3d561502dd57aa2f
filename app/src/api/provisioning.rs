//! A customer administrator's SCIM tokens: the identity provider's key to their account's users.

use crate::error::AppError;
use crate::model::security::Provisioning;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::permitted,
    crate::policy::Action,
    crate::server::{now, request, scim},
};

/// The provisioning section: the SCIM address, the account's tokens and one just made (once).
#[server(endpoint = "accounts/provisioning")]
pub async fn provisioning_page() -> Result<Provisioning, AppError> {
    permitted(Action::ManageOwnAccountUsers, |state, actor| async move {
        let account_id = actor.account_id.ok_or(AppError::Forbidden)?;
        let (tokens, new_token) = scim::tokens(&state.db, account_id, actor.user_id, now()).await?;
        Ok(Provisioning {
            base_url: scim::base_url(&state.settings),
            tokens,
            new_token,
        })
    })
    .await
}

/// Makes a SCIM token for the actor's account, shown once on the page it leads to.
#[server(endpoint = "accounts/scim_token")]
pub async fn create_scim_token(label: String) -> Result<(), AppError> {
    permitted(Action::ManageOwnAccountUsers, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        scim::create_token(&state, &actor, &label, &client_addr, now()).await?;
        leptos_axum::redirect("/manage/provisioning");
        Ok(())
    })
    .await
}

/// Revokes a SCIM token of the actor's account.
#[server(endpoint = "accounts/revoke_scim_token")]
pub async fn revoke_scim_token(id: i64) -> Result<(), AppError> {
    permitted(Action::ManageOwnAccountUsers, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        scim::revoke_token(&state, &actor, id, &client_addr, now()).await?;
        leptos_axum::redirect("/manage/provisioning?revoked=1");
        Ok(())
    })
    .await
}
