//! Reading accounts and their users: the Manage Accounts list and the staff console.

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::model::AccountForm;
use crate::model::{AccountSummary, AccountUserRow, AccountView, Page};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::users::{reason_for, safe_return},
    crate::api::{permitted, PER_PAGE},
    crate::model::Actor,
    crate::policy::{self, Action},
    crate::server::accounts::{self, ContactChange, ContactRole},
    crate::server::AppState,
    crate::server::{now, request, users},
};

/// The users of the caller's own account (customer administrators). The account is the session's.
#[server(endpoint = "accounts/my_users")]
pub async fn my_account_users(
    search: String,
    status: String,
    sort: String,
    page: i64,
) -> Result<Page<AccountUserRow>, AppError> {
    permitted(Action::ManageOwnAccountUsers, |state, actor| async move {
        let filter = users::UserFilter::new(&search, &status);
        account_users(&state, &actor, actor.account_id()?, &filter, &sort, page).await
    })
    .await
}

/// Page `page` of account `account_id`'s users as `actor` sees them, filtered and sorted.
#[cfg(feature = "ssr")]
async fn account_users(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    filter: &users::UserFilter,
    sort: &str,
    page: i64,
) -> Result<Page<AccountUserRow>, AppError> {
    Page::fetch(Some(page), PER_PAGE, |page| {
        let (db, viewer) = (&state.db, actor.user_id);
        users::list_account_users(db, viewer, account_id, filter, sort, page, PER_PAGE, now())
    })
    .await
}

/// Every customer account with its user and administrator counts (vendor staff).
#[server(endpoint = "accounts/list")]
pub async fn list_accounts(
    page: i64,
    search: Option<String>,
) -> Result<Page<AccountSummary>, AppError> {
    permitted(Action::ViewAnyAccount, |state, _| async move {
        let search = search.unwrap_or_default();
        Page::fetch(Some(page), PER_PAGE, |page| {
            users::list_accounts(&state.db, &search, page, PER_PAGE)
        })
        .await
    })
    .await
}

/// One account for vendor staff: details, contacts, the staff who can be TAM/CSM, and a page of
/// its users (searched, filtered and sorted like Manage Accounts).
#[server(endpoint = "accounts/get")]
pub async fn account_page(
    account_id: i64,
    search: String,
    status: String,
    sort: String,
    page: i64,
) -> Result<AccountView, AppError> {
    permitted(Action::ViewAnyAccount, |state, actor| async move {
        let account = accounts::detail(&state.db, account_id).await?;
        let filter = users::UserFilter::new(&search, &status);
        Ok(AccountView {
            account,
            staff: crate::server::directory::staff_members(&state.db).await?,
            users: account_users(&state, &actor, account_id, &filter, &sort, page).await?,
            can_manage: policy::permits(actor.role, Action::ManageCustomerAccounts),
        })
    })
    .await
}

/// Creates an account (no `account_id`) or edits one (platform admins).
#[server(endpoint = "accounts/save")]
#[allow(clippy::too_many_arguments)]
pub async fn save_account(
    account_id: Option<i64>,
    name: String,
    account_key: String,
    service_tier: String,
    environments: String,
    tam_user_id: Option<String>,
    csm_user_id: Option<String>,
    time_zone: Option<String>,
    business_start: Option<String>,
    business_end: Option<String>,
) -> Result<i64, AppError> {
    permitted(Action::ManageCustomerAccounts, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let form = AccountForm {
            name,
            account_key,
            service_tier,
            environments,
            tam_user_id,
            csm_user_id,
            time_zone,
            business_start,
            business_end,
        };
        let id = accounts::save(&state, &actor, account_id, &form, &client_addr, now()).await?;
        leptos_axum::redirect(&format!("/staff/accounts/{id}?saved=1"));
        Ok(id)
    })
    .await
}

/// Sets (`user_id`) or clears (empty) the primary or secondary contact (`role`) of an account.
/// The person replaced stays an administrator or not as `previous_stays_admin` (`yes`/`no`) says.
/// Answers what happened, in a sentence.
#[server(endpoint = "accounts/contact")]
pub async fn set_contact(
    account_id: i64,
    role: String,
    user_id: Option<String>,
    previous_stays_admin: Option<String>,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<String, AppError> {
    permitted(Action::ManageCustomerAccounts, |state, actor| async move {
        let role = ContactRole::parse(&role)?;
        let user_id = match user_id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .map_err(|_| AppError::field("user_id", "Choose a user of this account"))?,
            ),
        };
        let previous_stays_admin = match previous_stays_admin.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        };
        let why = reason_for(&actor, reason, reference)?;
        let client_addr = request::current_client_addr(&state)?;
        let change = ContactChange {
            role,
            user_id,
            previous_stays_admin,
        };
        let said = accounts::set_contact(
            &state,
            &actor,
            account_id,
            &change,
            &why,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(&safe_return(
            Some(&format!(
                "/staff/accounts/{account_id}?done={}",
                crate::model::text::encode(&said)
            )),
            "/staff",
        ));
        Ok(said)
    })
    .await
}

/// The vendor staff who can be an account's TAM or CSM, for the new-account form.
#[server(endpoint = "accounts/staff")]
pub async fn staff_list() -> Result<Vec<crate::model::StaffMember>, AppError> {
    permitted(Action::ManageCustomerAccounts, |state, _| async move {
        crate::server::directory::staff_members(&state.db).await
    })
    .await
}
