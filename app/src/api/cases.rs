//! Support cases for customers: the case form, "my cases" and "my team's cases", the case page
//! and comments.

use crate::error::AppError;
use crate::model::{CaseDetail, CaseOptions, CaseSummary, Page};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{permitted, signed_in, PER_PAGE},
    crate::policy::{self, Action},
    crate::server::attachments,
    crate::server::cases::{self, CaseForm},
    crate::server::now,
};

/// The pick lists of the case form: a customer's own account, or `account_id` for staff filing
/// on a customer's behalf (no contact is preselected for them).
#[server(endpoint = "cases/options")]
pub async fn case_form_options(account_id: Option<i64>) -> Result<CaseOptions, AppError> {
    signed_in(|state, actor| async move {
        let account_id = policy::filing_account(&actor, policy::Filing::Case, account_id)?;
        let me = (!actor.role.is_staff()).then_some(actor.user_id);
        let mut options = cases::options(&state.db, account_id, me).await?;
        options.file_limit = state.settings.max_file_bytes() as i64;
        Ok(options)
    })
    .await
}

/// Files a case for the customer's own account and opens its page.
#[server(endpoint = "cases/create")]
#[allow(clippy::too_many_arguments)]
pub async fn create_case(
    account_id: Option<i64>,
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
    form_key: Option<String>,
    attachments: Option<String>,
) -> Result<String, AppError> {
    signed_in(|state, actor| async move {
        let account_id = policy::filing_account(&actor, policy::Filing::Case, account_id)?;
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
            form_key: form_key.unwrap_or_default(),
            files: attachments::parse_tokens(attachments.as_deref().unwrap_or_default())?,
        };
        let client_addr = crate::server::request::current_client_addr(&state)?;
        let number = cases::create(&state, &actor, account_id, &form, &client_addr, now()).await?;
        leptos_axum::redirect(&format!("/cases/{number}?created=1"));
        Ok(number)
    })
    .await
}

/// The customer's cases: `scope` = `mine` (opened by or for them) or `team` (the whole account).
#[server(endpoint = "cases/list")]
pub async fn list_cases(
    scope: String,
    search: Option<String>,
    state: Option<String>,
    page: Option<i64>,
) -> Result<Page<CaseSummary>, AppError> {
    permitted(Action::ViewOwnAccountCases, |st, actor| async move {
        let words = cases::search_words(search.as_deref().unwrap_or_default());
        let list = cases::CustomerList {
            account_id: actor.account_id()?,
            mine: (scope != "team").then_some(actor.user_id),
            openness: state.as_deref().and_then(cases::Openness::parse),
            words: words.as_deref(),
        };
        Page::fetch(page, PER_PAGE, |page| {
            cases::list(&st.db, &st.search, &list, page, PER_PAGE, now())
        })
        .await
    })
    .await
}

/// One case. Customers see their own account's cases only, and never work notes; vendor staff
/// see any case with its work notes.
#[server(endpoint = "cases/get")]
pub async fn get_case(number: String) -> Result<CaseDetail, AppError> {
    signed_in(|state, actor| async move {
        let number = number.trim().to_uppercase();
        if actor.role.is_staff() {
            policy::can(&actor, Action::ViewAllAccountsCases)?;
            let notes = policy::permits(actor.role, Action::SeeInternalNotes);
            let mut detail = cases::get(&state.db, &number, None, notes, now()).await?;
            detail.attachments = attachments::for_case(&state.db, detail.id, &actor, notes).await?;
            detail.viewer_staff = true;
            detail.file_limit = state.settings.max_file_bytes() as i64;
            detail.followers =
                cases::followers(&state.db, &actor, detail.id, detail.account_id).await?;
            Ok(detail)
        } else {
            policy::can(&actor, Action::ViewOwnAccountCases)?;
            let account = Some(actor.account_id()?);
            let mut detail = cases::get(&state.db, &number, account, false, now()).await?;
            detail.attachments = attachments::for_case(&state.db, detail.id, &actor, false).await?;
            detail.file_limit = state.settings.max_file_bytes() as i64;
            detail.followers =
                cases::followers(&state.db, &actor, detail.id, detail.account_id).await?;
            Ok(detail)
        }
    })
    .await
}

/// A customer's comment on a case of their account.
#[server(endpoint = "cases/comment")]
pub async fn comment_case(
    number: String,
    body: String,
    form_key: Option<String>,
    attachments: Option<String>,
) -> Result<(), AppError> {
    permitted(Action::ViewOwnAccountCases, |state, actor| async move {
        let account_id = actor.account_id()?;
        let number = number.trim().to_uppercase();
        let reply = cases::Reply::from_form(&state, body, form_key, attachments)?;
        cases::comment(&state, &actor, account_id, &number, reply, now()).await?;
        leptos_axum::redirect(&format!("/cases/{number}#activity"));
        Ok(())
    })
    .await
}

/// Who hears about a case by mail: `change` = `add` or `remove` a watcher (`user_id`, or `email`
/// for an account with too many users to list: a user of the case's account; its users and staff
/// may), or `follow` / `unfollow` for oneself (a user of the account).
#[server(endpoint = "cases/followers")]
pub async fn change_followers(
    number: String,
    change: String,
    user_id: Option<String>,
    email: Option<String>,
) -> Result<(), AppError> {
    signed_in(|state, actor| async move {
        let change = match change.as_str() {
            "add" => cases::FollowChange::AddWatcher,
            "remove" => cases::FollowChange::RemoveWatcher,
            "follow" => cases::FollowChange::Follow,
            "unfollow" => cases::FollowChange::Unfollow,
            _ => {
                return Err(AppError::field(
                    "change",
                    "Choose add, remove, follow or unfollow.",
                ))
            }
        };
        let who = match (
            user_id.as_deref().map(str::trim),
            email.as_deref().map(str::trim),
        ) {
            (Some(id), _) if !id.is_empty() => {
                Some(cases::Colleague::Id(id.parse().map_err(|_| {
                    AppError::field("user_id", "Choose whom to add.")
                })?))
            }
            (_, Some(address)) if !address.is_empty() => {
                Some(cases::Colleague::Address(address.to_string()))
            }
            _ => None,
        };
        let number = number.trim().to_uppercase();
        let client_addr = crate::server::request::current_client_addr(&state)?;
        cases::change_followers(&state, &actor, &number, change, who, &client_addr, now()).await?;
        leptos_axum::redirect(&format!("/cases/{number}#followers"));
        Ok(())
    })
    .await
}

/// Removes an attached file: vendor staff any, with a reason; a customer their own upload until
/// staff have replied since.
#[server(endpoint = "attachments/remove")]
pub async fn remove_attachment(token: String, reason: Option<String>) -> Result<(), AppError> {
    signed_in(|state, actor| async move {
        let client_addr = crate::server::request::current_client_addr(&state)?;
        let reason = reason.unwrap_or_default();
        let page = attachments::remove(
            &state.db,
            &state.files,
            &actor,
            token.trim(),
            &reason,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(&format!("{page}#files"));
        Ok(())
    })
    .await
}

/// A staff queue: `queue` = `unassigned`, `mine`, `breaching` or `all`, narrowed by state,
/// priority (1–4), account key and a search by number or subject words.
#[server(endpoint = "cases/queue")]
#[allow(clippy::too_many_arguments)]
pub async fn case_queue(
    queue: Option<String>,
    state_filter: Option<String>,
    priority: Option<i32>,
    account: Option<String>,
    group: Option<i64>,
    assignee: Option<i64>,
    search: Option<String>,
    sort: Option<String>,
    page: Option<i64>,
) -> Result<Page<crate::model::QueueRow>, AppError> {
    permitted(Action::ViewAllAccountsCases, |state, actor| async move {
        let filter = cases::QueueFilter::parse(
            queue.as_deref(),
            state_filter.as_deref(),
            priority,
            account.as_deref(),
            group,
            assignee,
            sort.as_deref(),
            search.as_deref(),
        );
        Page::fetch(page, PER_PAGE, |page| {
            let (db, index) = (&state.db, &state.search);
            cases::queue(db, index, actor.user_id, &filter, page, PER_PAGE, now())
        })
        .await
    })
    .await
}

/// Moves a case through its life cycle (`step`: see `case_flow::Step`). Staff take the staff
/// steps, with a comment to the customer; customers accept or reject a resolution.
#[server(endpoint = "cases/step")]
pub async fn step_case(
    number: String,
    step: String,
    comment: Option<String>,
) -> Result<(), AppError> {
    signed_in(|state, actor| async move {
        let number = number.trim().to_uppercase();
        let step = crate::model::case_flow::Step::parse(&step)
            .ok_or_else(|| AppError::field("step", "Choose a valid step"))?;
        if actor.role.is_staff() {
            policy::can(&actor, Action::EditStaffCaseFields)?;
            cases::staff_step(&state, &actor, &number, step, comment.as_deref(), now()).await?;
        } else {
            policy::can(&actor, Action::ViewOwnAccountCases)?;
            cases::customer_step(&state, &actor, actor.account_id()?, &number, step, now()).await?;
        }
        leptos_axum::redirect(&format!("/cases/{number}#activity"));
        Ok(())
    })
    .await
}

/// Staff add a comment for the customer (`internal` empty) or an internal work note.
#[server(endpoint = "cases/note")]
pub async fn note_case(
    number: String,
    body: String,
    internal: Option<String>,
    form_key: Option<String>,
    attachments: Option<String>,
) -> Result<(), AppError> {
    permitted(Action::SeeInternalNotes, |state, actor| async move {
        let number = number.trim().to_uppercase();
        let internal = internal.is_some_and(|v| !v.is_empty() && v != "false");
        let reply = cases::Reply::from_form(&state, body, form_key, attachments)?;
        cases::staff_note(&state, &actor, &number, reply, internal, now()).await?;
        leptos_axum::redirect(&format!("/cases/{number}#activity"));
        Ok(())
    })
    .await
}

/// Staff set the assignee, the assignment group and (with a reason) the priority.
#[server(endpoint = "cases/fields")]
pub async fn case_fields(
    number: String,
    assigned_to: Option<String>,
    assignment_group_id: Option<String>,
    priority: Option<String>,
    priority_reason: Option<String>,
) -> Result<(), AppError> {
    permitted(Action::EditStaffCaseFields, |state, actor| async move {
        let number = number.trim().to_uppercase();
        cases::staff_fields(
            &state,
            &actor,
            &number,
            assigned_to.as_deref().unwrap_or(""),
            assignment_group_id.as_deref().unwrap_or(""),
            priority.as_deref().unwrap_or(""),
            priority_reason.as_deref().unwrap_or(""),
            now(),
        )
        .await?;
        leptos_axum::redirect(&format!("/cases/{number}"));
        Ok(())
    })
    .await
}

/// The staff members and groups a case can be given to, for the staff case form.
#[server(endpoint = "cases/staff_options")]
pub async fn case_staff_options(
) -> Result<(Vec<crate::model::Choice>, Vec<crate::model::Choice>), AppError> {
    permitted(Action::EditStaffCaseFields, |state, _| async move {
        let staff = crate::server::directory::staff_members(&state.db)
            .await?
            .into_iter()
            .map(|s| crate::model::Choice {
                id: s.id,
                name: s.name,
            })
            .collect();
        Ok((staff, cases::groups(&state.db).await?))
    })
    .await
}
