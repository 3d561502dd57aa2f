//! Bulk creation for platform admins: upload a CSV (`/staff/accounts/:id/import`), check the
//! preview and confirm (`/staff/imports/:id`), then watch the progress on the same page.

use crate::api::imports::{get_import, DecideImport};
use crate::components::forms::{form_answer, ErrorSummary};
use crate::components::list::{Column, ListTable, Loaded, Pagination};
use crate::components::url::path_value;
use crate::components::users::StaffReasonFields;
use crate::model::ImportView;
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

#[component]
pub fn ImportUploadPage() -> impl IntoView {
    let query = use_query_map();
    let id = path_value("id");
    let error = move || query.with(|q| q.get_str("error").map(str::to_string));
    // The form is only for those who may bulk-create users; anyone else gets the page their
    // refusal gets everywhere else (sign in, or access denied).
    let me = crate::me_resource();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let allowed = match me.await {
                    Ok(Some(me)) if crate::policy::permits(me.role, crate::policy::Action::BulkCreateUsers) => Ok(()),
                    Ok(Some(_)) => Err(crate::error::AppError::Forbidden),
                    Ok(None) => Err(crate::error::AppError::Unauthorized),
                    Err(e) => Err(e),
                };
                match allowed {
                    Ok(()) => view! { <ImportUploadForm id=id() error=error()/> }.into_any(),
                    Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ImportUploadForm(id: String, error: Option<String>) -> impl IntoView {
    let back = format!("/staff/accounts/{id}");
    let action = format!("/staff/accounts/{id}/import");
    let has_error = error.is_some();
    view! {
        <Title text="Bulk add users"/>
        <div class="narrow">
            <p><a href=back>"← Account"</a></p>
            <h1>"Bulk add users"</h1>
            <p class="lead">"Upload the customer's list as a CSV file. Nothing is created until you have checked the preview and confirmed."</p>
            <ul>
                <li>"Columns: first name, last name, email, and optionally administrator (yes/no)."</li>
                <li>"With a header row the columns may come in any order (first_name, last_name, email, administrator); without one, in that order."</li>
                <li>"People who are already users are skipped, so uploading the same file twice is safe."</li>
            </ul>
            {error.map(|message| view! {
                <div class="error-summary" role="alert" tabindex="-1">
                    <h2 class="error-summary__title">"There is a problem"</h2>
                    <ul><li><a href="#file">{message}</a></li></ul>
                </div>
            })}
            <form method="post" enctype="multipart/form-data" class="form"
                action=action>
                <div class="form-group" class:form-group--error=has_error>
                    <label class="label" for="file">"CSV file"</label>
                    <input class="input" id="file" name="file" type="file" accept=".csv,text/csv"/>
                </div>
                <button type="submit" class="button">"Upload and check"</button>
            </form>
        </div>
    }
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let args = move || {
        (
            params.with(|p| {
                p.get_str("id")
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0)
            }),
            query.with(|q| q.get_str("outcome").unwrap_or_default().to_string()),
            query.with(|q| {
                q.get_str("page")
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(1)
            }),
        )
    };
    let data = Resource::new(args, |(id, outcome, page)| {
        get_import(id, Some(outcome), Some(page))
    });
    let error = form_answer(DecideImport::PATH);
    view! {
        <Title text="Bulk import"/>
        <ErrorSummary error/>
        <Loaded resource=data view=move |import| view! { <ImportBody import outcome=args().1/> }/>
    }
}

fn outcome_label(outcome: &str, done: bool) -> &'static str {
    match (outcome, done) {
        ("create", true) => "Created",
        ("create", false) => "Will be created",
        ("exists", _) => "Already exists: skipped",
        _ => "Invalid: skipped",
    }
}

#[component]
fn ImportBody(import: ImportView, outcome: String) -> impl IntoView {
    let error = form_answer(DecideImport::PATH);
    let id = import.id;
    let base = if outcome.is_empty() {
        format!("/staff/imports/{id}")
    } else {
        format!("/staff/imports/{id}?outcome={outcome}")
    };
    let pages = import.rows.pages();
    let current = import.rows.page;
    let running = import.status == "queued";
    let status = match import.status.as_str() {
        "previewed" => "Preview: nothing has been created yet.".to_string(),
        "queued" => format!(
            "Creating users: {} of {} done.",
            import.created, import.to_create
        ),
        "done" => format!("Finished: {} users created and invited.", import.created),
        _ => "Discarded: nothing was created.".to_string(),
    };
    let filters = [
        ("", "All rows"),
        ("create", "To create"),
        ("exists", "Already exist"),
        ("invalid", "Invalid"),
    ];
    view! {
        // While users are being created, the page refreshes itself to show the progress.
        {running.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
        <p><a href=format!("/staff/accounts/{}", import.account_id)>{format!("← {}", import.account_name)}</a></p>
        <h1>{format!("Bulk import: {}", import.file_name)}</h1>
        <p class="lead" role="status">{status}</p>
        {running.then(|| view! {
            <progress max=import.to_create.max(1).to_string() value=import.created.to_string()>
                {format!("{} of {}", import.created, import.to_create)}
            </progress>
        })}
        <dl class="facts">
            <dt>"To create"</dt><dd>{import.to_create}</dd>
            <dt>"Already exist (skipped)"</dt><dd>{import.existing}</dd>
            <dt>"Invalid (skipped)"</dt><dd>{import.invalid}</dd>
        </dl>
        {(import.status == "previewed").then(|| view! {
            <section class="panel" aria-labelledby="confirm-heading">
                <h2 id="confirm-heading">{format!("Create {} users and send their invitations?", import.to_create)}</h2>
                <form method="post" action=DecideImport::PATH class="form" novalidate>
                    <input type="hidden" name="import_id" value=id.to_string()/>
                    <input type="hidden" name="decision" value="confirm"/>
                    <StaffReasonFields with_ids=true error/>
                    <button type="submit" class="button">"Create users"</button>
                </form>
                <form method="post" action=DecideImport::PATH class="inline-form">
                    <input type="hidden" name="import_id" value=id.to_string()/>
                    <input type="hidden" name="decision" value="discard"/>
                    <button type="submit" class="button button--secondary">"Discard this upload"</button>
                </form>
            </section>
        })}
        <nav class="toolbar" aria-label="Rows">
            {filters.into_iter().map(|(value, label)| {
                let href = if value.is_empty() { format!("/staff/imports/{id}") } else { format!("/staff/imports/{id}?outcome={value}") };
                let current = outcome == value;
                view! { <a href=href aria-current=current.then_some("page")>{label}</a> " " }
            }).collect_view()}
        </nav>
        <ListTable caption="Rows of the file"
            columns=vec![Column::num("Line"), Column::new("Name"), Column::new("Email"), Column::new("Administrator"), Column::new("Outcome"), Column::new("Reason")]>
            {import.rows.rows.into_iter().map(|r| view! {
                <tr>
                    <td data-label="Line" class="num">{r.line_no}</td>
                    <td data-label="Name">{format!("{} {}", r.first_name, r.last_name)}</td>
                    <td data-label="Email">{r.email}</td>
                    <td data-label="Administrator">{if r.is_admin { "Yes" } else { "No" }}</td>
                    <td data-label="Outcome"><span class=format!("badge badge--{}", r.outcome)>{outcome_label(&r.outcome, r.done)}</span></td>
                    <td data-label="Reason">{r.message.unwrap_or_default()}</td>
                </tr>
            }).collect_view()}
        </ListTable>
        <Pagination base current pages/>
    }
}
