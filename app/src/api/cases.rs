//! Support cases for customers: the case form, "my cases" and "my team's cases", the case page
//! and comments.

use crate::api::types::{CaseDetail, CaseOptions, CaseSummary, Page};
use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{respond, PER_PAGE},
    crate::policy::{self, Action},
    crate::server::cases::{self, CaseForm},
    crate::server::{now, session, state::state},
};

/// The pick lists of the case form (customers, for their own account).
#[server(endpoint = "cases/options")]
pub async fn case_form_options() -> Result<CaseOptions, AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::CreateCaseForOwnAccount)?;
        cases::options(&state.db, actor.account_id()?, actor.user_id).await
    })
    .await
}

/// Files a case for the customer's own account and opens its page.
#[server(endpoint = "cases/create")]
#[allow(clippy::too_many_arguments)]
pub async fn create_case(
    contact_id: Option<String>,
    product_version_id: Option<String>,
    impact_id: Option<String>,
    workaround: Option<String>,
    feature_id: Option<String>,
    service_id: Option<String>,
    environment: Option<String>,
    availability_id: Option<String>,
    subject: Option<String>,
    description: Option<String>,
) -> Result<String, AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::CreateCaseForOwnAccount)?;
        let account_id = actor.account_id()?;
        let form = CaseForm {
            contact_id: contact_id.unwrap_or_default(),
            product_version_id: product_version_id.unwrap_or_default(),
            impact_id: impact_id.unwrap_or_default(),
            workaround: workaround.unwrap_or_default(),
            feature_id: feature_id.unwrap_or_default(),
            service_id: service_id.unwrap_or_default(),
            environment: environment.unwrap_or_default(),
            availability_id: availability_id.unwrap_or_default(),
            subject: subject.unwrap_or_default(),
            description: description.unwrap_or_default(),
        };
        let number = cases::create(&state, &actor, account_id, &form, now()).await?;
        leptos_axum::redirect(&format!("/cases/{number}?created=1"));
        Ok(number)
    })
    .await
}

/// The customer's cases: `scope` = `mine` (opened by or for them) or `team` (the whole account).
#[server(endpoint = "cases/list")]
pub async fn list_cases(scope: String, page: Option<i64>) -> Result<Page<CaseSummary>, AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::ViewOwnAccountCases)?;
        let account_id = actor.account_id()?;
        let mine = (scope != "team").then_some(actor.user_id);
        let page = page.unwrap_or(1).max(1);
        let (rows, total) = cases::list(&state.db, account_id, mine, page, PER_PAGE).await?;
        Ok(Page {
            rows,
            total,
            page,
            per_page: PER_PAGE,
        })
    })
    .await
}

/// One case. Customers see their own account's cases only, and never work notes; vendor staff
/// see any case with its work notes.
#[server(endpoint = "cases/get")]
pub async fn get_case(number: String) -> Result<CaseDetail, AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        let number = number.trim().to_uppercase();
        if actor.role.is_staff() {
            policy::can(&actor, Action::ViewAllAccountsCases)?;
            let notes = policy::permits(actor.role, Action::SeeInternalNotes);
            cases::get(&state.db, &number, None, notes).await
        } else {
            policy::can(&actor, Action::ViewOwnAccountCases)?;
            cases::get(&state.db, &number, Some(actor.account_id()?), false).await
        }
    })
    .await
}

/// A customer's comment on a case of their account.
#[server(endpoint = "cases/comment")]
pub async fn comment_case(number: String, body: String) -> Result<(), AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::ViewOwnAccountCases)?;
        let account_id = actor.account_id()?;
        let number = number.trim().to_uppercase();
        cases::comment(&state, &actor, account_id, &number, &body, now()).await?;
        leptos_axum::redirect(&format!("/cases/{number}#activity"));
        Ok(())
    })
    .await
}
