//! Reading accounts and their users: the Manage Accounts list and the staff console.

use crate::api::types::{AccountSummary, AccountUserRow, Page};
use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{respond, PER_PAGE},
    crate::policy::{self, Action},
    crate::server::{session, state::state, users},
};

/// The users of the caller's own account (customer administrators). The account is the session's.
#[server(endpoint = "accounts/my_users")]
pub async fn my_account_users(
    search: String,
    status: String,
    sort: String,
    page: i64,
) -> Result<Page<AccountUserRow>, AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::ManageOwnAccountUsers)?;
        let account_id = actor.account_id()?;
        let page = page.max(1);
        let (rows, total) = users::list_account_users(
            &state.db,
            actor.user_id,
            account_id,
            &users::UserFilter::new(&search, &status),
            &sort,
            page,
            PER_PAGE,
        )
        .await?;
        Ok(Page {
            rows,
            total,
            page,
            per_page: PER_PAGE,
        })
    })
    .await
}

/// Every customer account with its user and administrator counts (vendor staff).
#[server(endpoint = "accounts/list")]
pub async fn list_accounts(page: i64) -> Result<Page<AccountSummary>, AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::ViewAnyAccount)?;
        let page = page.max(1);
        let (rows, total) = users::list_accounts(&state.db, page, PER_PAGE).await?;
        Ok(Page {
            rows,
            total,
            page,
            per_page: PER_PAGE,
        })
    })
    .await
}
