//! Change requests (SPEC §5): the form, the lists, a request's page, its steps — authorization by
//! the customer's administrator included — and conversion of a mistaken request into a case.

use crate::error::AppError;
use crate::model::{ChangeDetail, ChangeOptions, ChangeSummary, Page};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{permitted, signed_in, PER_PAGE},
    crate::model::change_flow::ChangeStep,
    crate::policy::{self, Action},
    crate::server::changes::{self, ChangeForm, StepForm},
    crate::server::{now, request},
};

/// The pick lists of the change-request form.
#[server(endpoint = "changes/options")]
pub async fn change_form_options(account_id: Option<i64>) -> Result<ChangeOptions, AppError> {
    signed_in(|state, actor| async move {
        let account_id = policy::filing_account(&actor, policy::Filing::Change, account_id)?;
        let me = (!actor.role.is_staff()).then_some(actor.user_id);
        let mut options = changes::options(&state.db, account_id, me).await?;
        options.file_limit = state.settings.max_file_bytes() as i64;
        Ok(options)
    })
    .await
}

/// Files a change request and opens its page.
#[server(endpoint = "changes/create")]
#[allow(clippy::too_many_arguments)]
pub async fn create_change(
    account_id: Option<i64>,
    requested_by: Option<String>,
    environment: Option<String>,
    short_description: Option<String>,
    description: Option<String>,
    reason: Option<String>,
    affects_capacity: Option<String>,
    affects_performance: Option<String>,
    affects_cost: Option<String>,
    affects_security: Option<String>,
    risk: Option<String>,
    window_start: Option<String>,
    window_end: Option<String>,
    rollback_plan: Option<String>,
    authorized: Option<String>,
    authorizer_id: Option<String>,
    form_key: Option<String>,
    attachments: Option<String>,
) -> Result<String, AppError> {
    signed_in(|state, actor| async move {
        let account_id = policy::filing_account(&actor, policy::Filing::Change, account_id)?;
        let form = ChangeForm {
            requested_by: requested_by.unwrap_or_default(),
            environment: environment.unwrap_or_default(),
            short_description: short_description.unwrap_or_default(),
            description: description.unwrap_or_default(),
            reason: reason.unwrap_or_default(),
            affects_capacity: affects_capacity.is_some(),
            affects_performance: affects_performance.is_some(),
            affects_cost: affects_cost.is_some(),
            affects_security: affects_security.is_some(),
            risk: risk.unwrap_or_default(),
            window_start: window_start.unwrap_or_default(),
            window_end: window_end.unwrap_or_default(),
            rollback_plan: rollback_plan.unwrap_or_default(),
            authorized: authorized.is_some(),
            authorizer_id: authorizer_id.unwrap_or_default(),
            form_key: form_key.unwrap_or_default(),
            files: crate::server::attachments::parse_tokens(
                attachments.as_deref().unwrap_or_default(),
            )?,
        };
        let client_addr = request::current_client_addr(&state)?;
        let number =
            changes::create(&state, &actor, account_id, &form, &client_addr, now()).await?;
        leptos_axum::redirect(&format!("/changes/{number}?created=1"));
        Ok(number)
    })
    .await
}

/// A page of change requests: the customer's account's, or every account's for staff, filtered
/// by state and searched by number or words of the short description.
#[server(endpoint = "changes/list")]
pub async fn list_changes(
    state_filter: Option<String>,
    search: Option<String>,
    page: Option<i64>,
) -> Result<Page<ChangeSummary>, AppError> {
    signed_in(|state, actor| async move {
        let scope = policy::reading_scope(&actor)?.account();
        let (state_filter, search) = (state_filter.unwrap_or_default(), search.unwrap_or_default());
        Page::fetch(page, PER_PAGE, |page| {
            changes::list(&state.db, scope, &state_filter, &search, page, PER_PAGE)
        })
        .await
    })
    .await
}

/// One change request with its authorization record and history.
#[server(endpoint = "changes/get")]
pub async fn get_change(number: String) -> Result<ChangeDetail, AppError> {
    signed_in(|state, actor| async move {
        let scope = policy::reading_scope(&actor)?.account();
        let mut detail = changes::get(&state.db, &actor, number.trim(), scope).await?;
        detail.file_limit = state.settings.max_file_bytes() as i64;
        Ok(detail)
    })
    .await
}

/// Moves a change request: an administrator of its account authorizes or declines one raised on
/// the account's behalf; staff carry it through the workflow.
#[server(endpoint = "changes/step")]
pub async fn step_change(
    number: String,
    step: String,
    note: Option<String>,
    scheduled_start: Option<String>,
    scheduled_end: Option<String>,
    implementer_id: Option<String>,
) -> Result<String, AppError> {
    signed_in(|state, actor| async move {
        policy::may_move_changes(&actor)?;
        let step = ChangeStep::parse(&step).ok_or(AppError::NotFound)?;
        let form = StepForm {
            note: note.unwrap_or_default(),
            scheduled_start: scheduled_start.unwrap_or_default(),
            scheduled_end: scheduled_end.unwrap_or_default(),
            implementer_id: implementer_id.unwrap_or_default(),
        };
        let client_addr = request::current_client_addr(&state)?;
        let number = number.trim().to_uppercase();
        let to = changes::step(&state, &actor, &number, step, &form, &client_addr, now()).await?;
        leptos_axum::redirect(&format!("/changes/{number}"));
        Ok(to.as_str().to_string())
    })
    .await
}

/// Turns a change request that has not reached Implement into a case; answers the case number.
#[server(endpoint = "changes/convert")]
#[allow(clippy::too_many_arguments)]
pub async fn convert_change(
    number: String,
    product_version_id: Option<String>,
    impact_id: Option<String>,
    workaround: Option<String>,
    feature_id: Option<String>,
    service_id: Option<String>,
    availability_id: Option<String>,
) -> Result<String, AppError> {
    permitted(Action::ConvertChangeToCase, |state, actor| async move {
        let form = crate::server::cases::CaseForm {
            product_version_id: product_version_id.unwrap_or_default(),
            impact_id: impact_id.unwrap_or_default(),
            workaround: workaround.unwrap_or_default(),
            feature_id: feature_id.unwrap_or_default(),
            service_id: service_id.unwrap_or_default(),
            availability_id: availability_id.unwrap_or_default(),
            ..Default::default()
        };
        let client_addr = request::current_client_addr(&state)?;
        let number = number.trim().to_uppercase();
        let case = changes::convert(&state, &actor, &number, &form, &client_addr, now()).await?;
        leptos_axum::redirect(&format!("/cases/{case}"));
        Ok(case)
    })
    .await
}
