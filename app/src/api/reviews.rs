//! Access reviews: an account's administrators confirm who keeps access; vendor staff oversee every
//! account's reviews and remind.

use crate::error::AppError;
use crate::model::reviews::{AccountReviews, ReviewOverviewRow, ReviewView};
use crate::model::Page;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::users::{reason_for, safe_return},
    crate::api::{permitted, signed_in, PER_PAGE},
    crate::model::reviews::{Decision, DAY},
    crate::policy::{self, Action, Reviewed},
    crate::server::reviews::{self, ItemFilter},
    crate::server::{now, request},
};

/// An account's review settings, the review under way and its history: a customer administrator's
/// own account (any `account_id` sent is ignored), or the one vendor staff name.
#[server(endpoint = "reviews/account")]
pub async fn reviews_of_account(account_id: Option<i64>) -> Result<AccountReviews, AppError> {
    signed_in(|state, actor| async move {
        let account_id = policy::review_account(&actor, account_id)?;
        let account_name = reviews::account_name(&state.db, account_id).await?;
        let settings = reviews::settings(&state.db, account_id).await?;
        let history = reviews::history(&state.db, account_id).await?;
        let open = history.iter().any(|r| r.completed_at.is_none());
        let next_due = match (settings.schedule.interval_days(), open) {
            (Some(days), false) => Some(
                history
                    .first()
                    .map(|r| r.started_at + days * DAY)
                    .unwrap_or_else(now),
            ),
            _ => None,
        };
        Ok(AccountReviews {
            account_id,
            account_name,
            settings,
            reviews: history,
            next_due,
            may_manage: policy::may_run_reviews(&actor, Some(account_id)).is_ok(),
            now: now(),
        })
    })
    .await
}

/// Where an account's review pages are for `actor`.
#[cfg(feature = "ssr")]
fn reviews_path(actor: &crate::model::Actor, account_id: i64) -> String {
    if actor.role.is_staff() {
        format!("/staff/accounts/{account_id}/reviews")
    } else {
        "/manage/reviews".to_string()
    }
}

/// Sets how often an account's reviews start by themselves and when access counts as dormant.
#[server(endpoint = "reviews/save_settings")]
pub async fn save_review_settings(
    account_id: Option<i64>,
    schedule: String,
    dormant_days: String,
    disable_dormant: Option<String>,
) -> Result<(), AppError> {
    signed_in(|state, actor| async move {
        let account_id = policy::may_run_reviews(&actor, account_id)?;
        reviews::account_name(&state.db, account_id).await?;
        let disable = disable_dormant.is_some_and(|v| v == "on" || v == "true");
        let settings = reviews::parse_settings(&schedule, &dormant_days, disable)?;
        let client_addr = request::current_client_addr(&state)?;
        reviews::save_settings(&state, &actor, account_id, &settings, &client_addr, now()).await?;
        leptos_axum::redirect(&format!("{}?saved=1", reviews_path(&actor, account_id)));
        Ok(())
    })
    .await
}

/// Starts a review of the account now; answers its number.
#[server(endpoint = "reviews/start")]
pub async fn start_review(account_id: Option<i64>) -> Result<i64, AppError> {
    signed_in(|state, actor| async move {
        let account_id = policy::may_run_reviews(&actor, account_id)?;
        reviews::account_name(&state.db, account_id).await?;
        let client_addr = request::current_client_addr(&state)?;
        let id = reviews::start(&state, Some(&actor), account_id, &client_addr, now()).await?;
        leptos_axum::redirect(&review_path(&actor, id));
        Ok(id)
    })
    .await
}

#[cfg(feature = "ssr")]
fn review_path(actor: &crate::model::Actor, id: i64) -> String {
    if actor.role.is_staff() {
        format!("/staff/access-reviews/{id}")
    } else {
        format!("/manage/reviews/{id}")
    }
}

/// One review with a page of its people (all, or only those still to decide on), and for each
/// whether the viewer may decide on them.
#[server(endpoint = "reviews/get")]
pub async fn review(
    review_id: i64,
    undecided: Option<String>,
    page: Option<i64>,
) -> Result<ReviewView, AppError> {
    signed_in(|state, actor| async move {
        let scope = policy::review_scope(&actor)?;
        let review = reviews::summary(&state.db, scope.account(), review_id).await?;
        let filter = match undecided.as_deref() {
            Some("1" | "on" | "true") => ItemFilter::Undecided,
            _ => ItemFilter::All,
        };
        let page = crate::api::page_number(page);
        let items = reviews::items(&state.db, &review, filter, page, PER_PAGE).await?;
        let admins = reviews::active_admins(&state.db, review.account_id).await?;
        let refusals = items
            .0
            .iter()
            .map(|item| {
                let subject = Reviewed {
                    user_id: item.user_id,
                    is_admin: item.is_admin,
                    account_id: review.account_id,
                };
                policy::may_decide_access(&actor, subject, admins).err()
            })
            .collect();
        Ok(ReviewView {
            review,
            items: Page::new(items, page, PER_PAGE),
            refusals,
            now: now(),
        })
    })
    .await
}

/// Keeps or removes one person's access in a review. Vendor staff give a reason. Answers whether
/// this decision completed the review.
#[server(endpoint = "reviews/decide")]
pub async fn decide_access(
    review_id: i64,
    user_id: i64,
    decision: String,
    reason: Option<String>,
    reference: Option<String>,
    return_to: Option<String>,
) -> Result<bool, AppError> {
    signed_in(|state, actor| async move {
        policy::review_scope(&actor)?;
        let decision = Decision::parse(&decision)
            .ok_or_else(|| AppError::field("decision", "Choose keep or remove"))?;
        let why = reason_for(&actor, reason, reference)?;
        let decisions = Decisions {
            review_id,
            user_ids: &[user_id],
            decision,
            why,
            return_to,
        };
        record(&state, &actor, decisions).await
    })
    .await
}

/// Keeps everyone in `user_ids` (comma-separated, as a page lists them: at most one page) in one
/// step, all or none; each decision is recorded on its own.
#[server(endpoint = "reviews/keep_all")]
pub async fn keep_all(
    review_id: i64,
    user_ids: String,
    return_to: Option<String>,
) -> Result<bool, AppError> {
    signed_in(|state, actor| async move {
        policy::review_scope(&actor)?;
        let ids: Option<Vec<i64>> = user_ids
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().ok())
            .collect();
        let ids = ids
            .filter(|ids| !ids.is_empty() && ids.len() <= PER_PAGE as usize)
            .ok_or_else(|| AppError::field("user_ids", "Choose the people to keep"))?;
        let why = reason_for(&actor, None, None)?;
        let decisions = Decisions {
            review_id,
            user_ids: &ids,
            decision: Decision::Keep,
            why,
            return_to,
        };
        record(&state, &actor, decisions).await
    })
    .await
}

/// What a decision form asked for.
#[cfg(feature = "ssr")]
struct Decisions<'a> {
    review_id: i64,
    user_ids: &'a [i64],
    decision: Decision,
    why: crate::server::access::StaffReason,
    return_to: Option<String>,
}

/// Records the decisions, then sends the browser back to the page it came from — or, the review
/// now complete, to the review with its evidence. Answers whether it completed.
#[cfg(feature = "ssr")]
async fn record(
    state: &crate::server::AppState,
    actor: &crate::model::Actor,
    d: Decisions<'_>,
) -> Result<bool, AppError> {
    let client_addr = request::current_client_addr(state)?;
    let decided = reviews::decide(
        state,
        actor,
        d.review_id,
        d.user_ids,
        d.decision,
        &d.why,
        &client_addr,
        now(),
    )
    .await?;
    let here = review_path(actor, d.review_id);
    leptos_axum::redirect(&if decided.completed {
        format!("{here}?completed=1")
    } else {
        let back = safe_return(d.return_to.as_deref(), &here);
        let sep = if back.contains('?') { '&' } else { '?' };
        format!("{back}{sep}decided=1")
    });
    Ok(decided.completed)
}

/// Mails the administrators of an account with a review under way a reminder now (vendor staff).
#[server(endpoint = "reviews/remind")]
pub async fn remind_review(review_id: i64) -> Result<u64, AppError> {
    permitted(Action::RemindAccessReviews, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let sent = reviews::remind(&state, &actor, review_id, &client_addr, now()).await?;
        leptos_axum::redirect("/staff/access-reviews?reminded=1");
        Ok(sent)
    })
    .await
}

/// Every account's review standing, for vendor staff; with the time it was read.
#[server(endpoint = "reviews/overview")]
pub async fn review_overview(
    page: Option<i64>,
) -> Result<(Page<ReviewOverviewRow>, i64), AppError> {
    permitted(Action::ViewAnyAccount, |state, _| async move {
        let found = Page::fetch(page, PER_PAGE, |page| {
            reviews::overview(&state.db, page, PER_PAGE)
        })
        .await?;
        Ok((found, now()))
    })
    .await
}
