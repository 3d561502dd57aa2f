//! Access reviews: `/manage/reviews` (an account's administrators: settings, the review under way,
//! the history), `/manage/reviews/:id` (deciding, person by person), and for vendor staff the same
//! under `/staff/accounts/:id/reviews` and `/staff/access-reviews/:id`, plus the overview of every
//! account at `/staff/access-reviews`.

use crate::api::reviews::{
    review, review_overview, reviews_of_account, DecideAccess, KeepAll, RemindReview,
    SaveReviewSettings, StartReview,
};
use crate::components::badges::UserStatusBadge;
use crate::components::forms::Done;
use crate::components::forms::{form_answer, ErrorSummary, Field, FormAnswer, SelectField};
use crate::components::list::{Column, ListTable, Loaded, PagedList};
use crate::components::time::format_time;
use crate::components::url::{path_id, query_flag, query_value};
use crate::model::reviews::{
    AccountReviews, ReviewItem, ReviewOverviewRow, ReviewSchedule, ReviewSummary, ReviewView,
};
use crate::model::Page;
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

/// The account's review pages for a customer administrator (`None`) or vendor staff.
fn review_href(staff: bool, id: i64) -> String {
    if staff {
        format!("/staff/access-reviews/{id}")
    } else {
        format!("/manage/reviews/{id}")
    }
}

/// The download buttons of a completed review's evidence, each with the SHA-256 that verifies it.
#[component]
fn Evidence(review: ReviewSummary) -> impl IntoView {
    let id = review.id;
    let files = [
        ("csv", "Download CSV", review.csv_sha256.clone()),
        ("pdf", "Download PDF report", review.pdf_sha256.clone()),
    ];
    view! {
        <ul class="evidence">
            {files.into_iter().filter_map(|(kind, label, hash)| hash.map(|hash| view! {
                <li>
                    <form class="inline-form" method="post" action=format!("/export/access-review.{kind}?review_id={id}")>
                        <button type="submit" class="button button--secondary">{label}</button>
                    </form>
                    " SHA-256 " <code class="hash">{hash}</code>
                </li>
            })).collect_view()}
        </ul>
    }
}

#[component]
fn ReviewsOf(account_id: Option<i64>) -> impl IntoView {
    let data = Resource::new(move || account_id, reviews_of_account);
    let settings_error = form_answer(SaveReviewSettings::PATH);
    let start_error = form_answer(StartReview::PATH);
    let saved = query_flag("saved");
    let staff = account_id.is_some();
    view! {
        <Title text="Access reviews"/>
        <ErrorSummary error=start_error/>
        <Loaded resource=data view=move |a: AccountReviews| {
            let back = if staff { format!("/staff/accounts/{}", a.account_id) } else { "/manage".into() };
            let open = a.reviews.iter().find(|r| r.completed_at.is_none()).cloned();
            let hidden = account_id.map(|id| view! { <input type="hidden" name="account_id" value=id.to_string()/> });
            view! {
                <p><a href=back>{if staff { "← Account" } else { "← Manage Accounts" }}</a></p>
                <h1>"Access reviews"</h1>
                <p class="lead">{format!("{}: ", a.account_name)}
                    "confirm, person by person, who should keep access to the portal. Each decision is recorded with who made it and when; "
                    "a completed review gives a CSV and a PDF report for your auditors."</p>
                {match open {
                    Some(r) => view! {
                        <div class="notice" role="status">
                            {format!("A review is under way: {} of {} people decided, due {}. ", r.decided, r.users, format_time(Some(r.due_at)))}
                            <a href=format!("{}?undecided=1", review_href(staff, r.id))>"Continue the review"</a>
                        </div>
                    }.into_any(),
                    None if !a.may_manage => view! { <p>"No review is under way."</p> }.into_any(),
                    None => view! {
                        <form method="post" action=StartReview::PATH class="inline-form">
                            {hidden.clone()}
                            <button type="submit" class="button">"Start a review now"</button>
                        </form>
                        {a.next_due.map(|due| view! { <p>{format!("The schedule starts the next review on {}.", format_time(Some(due)))}</p> })}
                    }.into_any(),
                }}
                <h2>"History"</h2>
                <History reviews=a.reviews.clone() now=a.now staff/>
                <section aria-labelledby="review-settings" class="section">
                    <h2 id="review-settings">"Schedule and dormant access"</h2>
                    <Done when=saved text="Saved. The change is in the account's access history."/>
                    <ErrorSummary error=settings_error/>
                    {if a.may_manage {
                        view! { <SettingsForm a=a.clone() hidden=account_id error=settings_error/> }.into_any()
                    } else {
                        view! { <SettingsFacts a=a.clone()/> }.into_any()
                    }}
                </section>
            }
        }/>
    }
}

#[component]
fn SettingsForm(a: AccountReviews, hidden: Option<i64>, error: FormAnswer) -> impl IntoView {
    let disable = error
        .kept("disable_dormant")
        .map(|v| v == "on")
        .unwrap_or(a.settings.disable_dormant);
    view! {
        <form method="post" action=SaveReviewSettings::PATH class="form" novalidate>
            {hidden.map(|id| view! { <input type="hidden" name="account_id" value=id.to_string()/> })}
            <SelectField name="schedule" label="Start a review by itself" options=ReviewSchedule::choices()
                selected=a.settings.schedule.as_str().to_string() error/>
            <Field name="dormant_days" label="Dormant after this many days without signing in" kind="number"
                hint="From 7 to 730. Dormant people are marked in reviews and in Manage Accounts."
                value=a.settings.dormant_days.to_string() error/>
            <div class="form-group">
                <input type="checkbox" id="disable_dormant" name="disable_dormant" checked=disable/>
                <label for="disable_dormant">" Disable dormant people automatically (administrators are mailed each time; the last administrator is never disabled)"</label>
            </div>
            <button type="submit" class="button button--secondary">"Save"</button>
        </form>
    }
}

/// The settings as text, for vendor staff who may not change them.
#[component]
fn SettingsFacts(a: AccountReviews) -> impl IntoView {
    let s = a.settings;
    view! {
        <dl class="facts">
            <dt>"Schedule"</dt><dd>{s.schedule.label()}</dd>
            <dt>"Dormant after"</dt><dd>{format!("{} days without signing in", s.dormant_days)}</dd>
            <dt>"Dormant people"</dt><dd>{if s.disable_dormant { "Disabled automatically" } else { "Marked, not disabled" }}</dd>
        </dl>
    }
}

#[component]
fn History(reviews: Vec<ReviewSummary>, now: i64, staff: bool) -> impl IntoView {
    if reviews.is_empty() {
        return view! { <p class="empty">"No review yet."</p> }.into_any();
    }
    let columns = Column::all(&[
        "Review",
        "Started",
        "Started by",
        "Status",
        "Completed",
        "People",
        "Removed",
        "Evidence",
    ]);
    view! {
        <ListTable caption="Access reviews of this account" columns>
            {reviews.into_iter().map(|r| view! {
                <tr>
                    <td data-label="Review"><a href=review_href(staff, r.id)>{format!("Review {}", r.id)}</a></td>
                    <td data-label="Started">{format_time(Some(r.started_at))}</td>
                    <td data-label="Started by">{r.started_by.clone().unwrap_or_else(|| "Schedule".into())}</td>
                    <td data-label="Status">{r.standing(now)}</td>
                    <td data-label="Completed">{r.completed_at.map(|t| format_time(Some(t))).unwrap_or_else(|| "—".into())}</td>
                    <td data-label="People" class="num">{r.users}</td>
                    <td data-label="Removed" class="num">{r.removed}</td>
                    <td data-label="Evidence">{r.completed_at.is_some().then(|| view! { <Evidence review=r.clone()/> })}</td>
                </tr>
            }).collect_view()}
        </ListTable>
    }
    .into_any()
}

/// `/manage/reviews`: a customer administrator's own account.
#[component]
pub fn ReviewsPage() -> impl IntoView {
    view! { <ReviewsOf account_id=None/> }
}

/// `/staff/accounts/:id/reviews`: vendor staff, for the account named.
#[component]
pub fn StaffReviewsPage() -> impl IntoView {
    let id = path_id("id");
    view! { <ReviewsOf account_id=Some(id())/> }
}

#[component]
fn ReviewOf(staff: bool) -> impl IntoView {
    let id = path_id("id");
    let undecided = query_value("undecided");
    let page = query_value("page");
    let data = Resource::new(
        move || (id(), undecided(), page()),
        |(id, undecided, page)| review(id, Some(undecided), page.parse().ok()),
    );
    let error = form_answer(DecideAccess::PATH);
    let keep_error = form_answer(KeepAll::PATH);
    let completed = query_flag("completed");
    let decided = query_flag("decided");
    view! {
        <Title text="Access review"/>
        <Done when=completed text="The review is complete. Its CSV and PDF report are ready below, with the SHA-256 that verifies each."/>
        <Done when=decided text="Decision recorded."/>
        <ErrorSummary error/>
        <ErrorSummary error=keep_error/>
        <Loaded resource=data view=move |v: ReviewView| view! {
            <ReviewBody v staff just_decided=decided() only_open=undecided() == "1"/>
        }/>
    }
}

#[component]
fn ReviewBody(v: ReviewView, staff: bool, just_decided: bool, only_open: bool) -> impl IntoView {
    let r = v.review.clone();
    let base = format!(
        "{}{}",
        review_href(staff, r.id),
        if only_open { "?undecided=1" } else { "" }
    );
    let here = format!(
        "{base}{}page={}",
        if only_open { "&" } else { "?" },
        v.items.page
    );
    let back = if staff {
        format!("/staff/accounts/{}/reviews", r.account_id)
    } else {
        "/manage/reviews".into()
    };
    let open = r.completed_at.is_none();
    let review_id = r.id;
    let columns = Column::all(&[
        "Person",
        "Status",
        "Role",
        "Last sign-in",
        "Second factor",
        "Created by",
        "Decision",
    ]);
    let ReviewView {
        items, refusals, ..
    } = v;
    let mut first = just_decided;
    let rows: Vec<(ReviewItem, Option<String>, bool)> = items
        .rows
        .iter()
        .cloned()
        .zip(refusals)
        .map(|(item, refusal)| {
            let focus = first && open && item.decision.is_none() && refusal.is_none();
            first &= !focus;
            (item, refusal, focus)
        })
        .collect();
    // Everyone on this page the viewer may still keep, for the one-step "keep all".
    let keepable: Vec<String> = rows
        .iter()
        .filter(|(item, refusal, _)| item.decision.is_none() && refusal.is_none())
        .map(|(item, _, _)| item.user_id.to_string())
        .collect();
    let keep_all = (open && !staff && keepable.len() > 1).then(|| view! {
        <form method="post" action=KeepAll::PATH class="inline-form">
            <input type="hidden" name="review_id" value=review_id.to_string()/>
            <input type="hidden" name="user_ids" value=keepable.join(",")/>
            <input type="hidden" name="return_to" value=here.clone()/>
            <button type="submit" class="button button--secondary">
                {format!("Keep all {} people on this page who still need a decision", keepable.len())}
            </button>
        </form>
    });
    let page = Page {
        rows,
        total: items.total,
        page: items.page,
        per_page: items.per_page,
    };
    view! {
        <p><a href=back>"← Access reviews"</a></p>
        <h1>{format!("Access review {} — {}", r.id, r.account_name)}</h1>
        <dl class="facts">
            <dt>"Started"</dt><dd>{format!("{} by {}", format_time(Some(r.started_at)), r.started_by.clone().unwrap_or_else(|| "the account's schedule".into()))}</dd>
            <dt>"Due"</dt><dd>{format_time(Some(r.due_at))}</dd>
            <dt>"Status"</dt><dd>{r.standing(v.now)}</dd>
            <dt>"Progress"</dt><dd>{format!("{} of {} decided, {} removed", r.decided, r.users, r.removed)}</dd>
        </dl>
        {(!open).then(|| view! { <h2>"Evidence"</h2> <Evidence review=r.clone()/> })}
        {open.then(|| view! {
            <p class="lead">"For each person, keep their access or remove it. Removing someone disables them at once and ends their sessions. "
                "Nobody decides on their own access: another administrator does (vendor staff, when the account has only one)."</p>
        })}
        <nav class="toolbar" aria-label="Whom to show">
            <a href=review_href(staff, r.id) aria-current=(!only_open).then_some("page")>"Everyone"</a>
            <a href=format!("{}?undecided=1", review_href(staff, r.id)) aria-current=only_open.then_some("page")>"Still to decide"</a>
        </nav>
        {keep_all}
        <PagedList page base caption="People in this review" columns noun="people"
            empty=if only_open { "Everyone has a decision." } else { "Nobody had access when the review started." }
            row=move |(item, refusal, focus): (ReviewItem, Option<String>, bool)| {
                let decision = decision_cell(&item, refusal, focus, review_id, staff, open, &here);
                view! {
                    <tr>
                        <td data-label="Person">{item.name()}<br/><span class="person-email">{item.email.clone()}</span></td>
                        <td data-label="Status"><UserStatusBadge status=item.status dormant=item.dormant/></td>
                        <td data-label="Role">{role(&item)}</td>
                        <td data-label="Last sign-in">{format_time(item.last_sign_in_at)}</td>
                        <td data-label="Second factor">{item.second_factor.clone()}</td>
                        <td data-label="Created by">{item.created_by.clone().unwrap_or_else(|| "—".into())}</td>
                        <td data-label="Decision" class="actions">{decision}</td>
                    </tr>
                }
            }/>
    }
}

/// "Administrator, primary contact", "User" and the like.
fn role(item: &ReviewItem) -> String {
    let base = if item.is_admin {
        "Administrator"
    } else {
        "User"
    };
    match item.contact_role.as_deref() {
        Some("primary") => format!("{base}, primary contact"),
        Some("secondary") => format!("{base}, secondary contact"),
        _ => base.to_string(),
    }
}

/// The decision cell: what was decided, or the Keep / Remove buttons, or why the viewer may not.
fn decision_cell(
    item: &ReviewItem,
    refusal: Option<String>,
    focus: bool,
    review_id: i64,
    staff: bool,
    open: bool,
    here: &str,
) -> AnyView {
    let decided = item.decision().map(|d| {
        format!(
            "{} — {}, {}",
            d.label(),
            item.decided_by_name.clone().unwrap_or_default(),
            format_time(item.decided_at)
        )
    });
    let may_change = open && refusal.is_none() && item.decision.as_deref() != Some("remove");
    if !may_change {
        return view! { <span>{decided.or(refusal).unwrap_or_default()}</span> }.into_any();
    }
    let name = item.name();
    let field = format!("reason-{}", item.user_id);
    // One form, two buttons: the one pressed sends its `decision`.
    view! {
        {decided.map(|d| view! { <p>{d}</p> })}
        <form method="post" action=DecideAccess::PATH class="inline-form">
            <input type="hidden" name="review_id" value=review_id.to_string()/>
            <input type="hidden" name="user_id" value=item.user_id.to_string()/>
            <input type="hidden" name="return_to" value=here.to_string()/>
            {staff.then(|| view! {
                <label class="label" for=field.clone()>"Reason (recorded)"</label>
                <input class="input" id=field.clone() name="reason" required/>
            })}
            {item.decision.is_none().then(|| view! {
                <button type="submit" name="decision" value="keep" class="button" autofocus=focus
                    aria-label=format!("Keep {name}")>"Keep"</button>
            })}
            " "
            <button type="submit" name="decision" value="remove" class="button button--warning"
                aria-label=format!("Remove {name}")>"Remove"</button>
        </form>
    }
    .into_any()
}

/// `/manage/reviews/:id`.
#[component]
pub fn ReviewPage() -> impl IntoView {
    view! { <ReviewOf staff=false/> }
}

/// `/staff/access-reviews/:id`.
#[component]
pub fn StaffReviewPage() -> impl IntoView {
    view! { <ReviewOf staff=true/> }
}

/// `/staff/access-reviews`: every account's review standing; vendor staff remind.
#[component]
pub fn ReviewOverviewPage() -> impl IntoView {
    let page = query_value("page");
    let data = Resource::new(move || page().parse().ok(), review_overview);
    let error = form_answer(RemindReview::PATH);
    let reminded = query_flag("reminded");
    view! {
        <Title text="Access reviews"/>
        <p><a href="/staff">"← Staff console"</a></p>
        <h1>"Access reviews"</h1>
        <p class="lead">"Where each customer account stands with confirming who has access. Administrators are reminded weekly by themselves; remind them now from here."</p>
        <Done when=reminded text="The account's administrators were mailed a reminder."/>
        <ErrorSummary error/>
        <Loaded resource=data view=move |(page, now): (Page<ReviewOverviewRow>, i64)| {
            let columns = Column::all(&["Account", "Schedule", "Status", "Progress", "Due", "Last completed", "Actions"]);
            view! {
                <PagedList page base="/staff/access-reviews".to_string() caption="Access reviews of every account" columns noun="accounts"
                    empty="No accounts." row=move |row: ReviewOverviewRow| view! {
                        <tr>
                            <td data-label="Account"><a href=format!("/staff/accounts/{}/reviews", row.account_id)>{row.account_name.clone()}</a></td>
                            <td data-label="Schedule">{row.schedule.label()}</td>
                            <td data-label="Status">{row.standing(now)}</td>
                            <td data-label="Progress">{row.open_id.map(|id| view! {
                                <a href=format!("/staff/access-reviews/{id}")>{format!("{} of {}", row.open_decided.unwrap_or(0), row.open_users.unwrap_or(0))}</a>
                            })}</td>
                            <td data-label="Due">{row.open_due_at.map(|t| format_time(Some(t))).unwrap_or_else(|| "—".into())}</td>
                            <td data-label="Last completed">{format_time(row.last_completed_at)}</td>
                            <td data-label="Actions" class="actions">{row.open_id.map(|id| view! {
                                <form method="post" action=RemindReview::PATH class="inline-form">
                                    <input type="hidden" name="review_id" value=id.to_string()/>
                                    <button type="submit" class="button button--secondary"
                                        aria-label=format!("Remind the administrators of {}", row.account_name)>"Remind"</button>
                                </form>
                            })}</td>
                        </tr>
                    }/>
            }
        }/>
    }
}
