//! The home page's work for the person signed in.

use crate::error::AppError;
use crate::model::home::HomeWork;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::signed_in,
    crate::policy::{permits, Action},
    crate::server::{home, now},
};

/// What waits for the person signed in: a customer's cases and authorizations, staff's queues
/// (and for platform admins the accounts' gaps). Their own account's and role's only.
#[server(endpoint = "home/work")]
pub async fn my_work() -> Result<HomeWork, AppError> {
    signed_in(|state, actor| async move {
        if permits(actor.role, Action::ViewAllAccountsCases) {
            let oversees = permits(actor.role, Action::ManageCustomerAccounts);
            let work =
                home::staff(&state.db, &state.search, actor.user_id, oversees, now()).await?;
            Ok(HomeWork::Staff(work))
        } else {
            crate::policy::can(&actor, Action::ViewOwnAccountCases)?;
            let authorizes = permits(actor.role, Action::AuthorizeChangeOnBehalf);
            let work =
                home::customer(&state.db, actor.account_id()?, actor.user_id, authorizes).await?;
            Ok(HomeWork::Customer(work))
        }
    })
    .await
}
