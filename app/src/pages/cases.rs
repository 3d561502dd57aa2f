//! Customer case pages: the lists (`/cases`), the case form (`/cases/new`) and a case
//! (`/cases/:number`) with its activity and the comment form.

use crate::api::cases::{case_form_options, get_case, list_cases, CommentCase, CreateCase};
use crate::api::types::{CaseDetail, CaseOptions};
use crate::components::forms::{url_error, ErrorSummary, Field, SelectField};
use crate::components::time::format_time;
use crate::error::AppError;
use crate::pages::errors::ErrorPage;
use crate::pages::manage::Pagination;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

pub fn state_label(state: &str) -> &'static str {
    match state {
        "new" => "New",
        "open" => "Open",
        "awaiting_info" => "Awaiting info",
        "resolved" => "Resolved",
        "closed" => "Closed",
        "cancelled" => "Cancelled",
        _ => "Unknown",
    }
}

#[component]
pub fn CasesPage() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        query.with(|q| {
            (
                if q.get_str("scope") == Some("team") {
                    "team"
                } else {
                    "mine"
                }
                .to_string(),
                q.get_str("page")
                    .and_then(|p| p.parse::<i64>().ok())
                    .unwrap_or(1),
            )
        })
    };
    let cases = Resource::new(args, |(scope, page)| list_cases(scope, Some(page)));
    view! {
        <Title text="Cases"/>
        <h1>"Support cases"</h1>
        <p class="toolbar">
            <a class="button" href="/cases/new">"Open a case"</a>
        </p>
        <nav class="toolbar" aria-label="Which cases">
            <a href="/cases?scope=mine" aria-current=move || (args().0 == "mine").then_some("page")>"My cases"</a>
            <a href="/cases?scope=team" aria-current=move || (args().0 == "team").then_some("page")>"My team's cases"</a>
        </nav>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match cases.await {
                    Ok(page) => {
                        let pages = page.pages();
                        let current = page.page;
                        let base = format!("/cases?scope={}", args().0);
                        if page.rows.is_empty() {
                            return view! { <p class="empty">"No cases here yet."</p> }.into_any();
                        }
                        view! {
                            <div class="table-wrap">
                                <table class="table">
                                    <caption class="visually-hidden">"Cases, newest first"</caption>
                                    <thead><tr>
                                        <th scope="col">"Number"</th>
                                        <th scope="col">"Subject"</th>
                                        <th scope="col">"State"</th>
                                        <th scope="col">"Priority"</th>
                                        <th scope="col">"Contact"</th>
                                        <th scope="col">"Opened"</th>
                                        <th scope="col">"Updated"</th>
                                    </tr></thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|c| view! {
                                            <tr>
                                                <td><a href=format!("/cases/{}", c.number)>{c.number.clone()}</a></td>
                                                <td>{c.subject}</td>
                                                <td>{state_label(&c.state)}</td>
                                                <td>{format!("P{}", c.priority)}</td>
                                                <td>{c.contact}</td>
                                                <td>{format_time(Some(c.created_at))}</td>
                                                <td>{format_time(Some(c.updated_at))}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination base current pages/>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn NewCasePage() -> impl IntoView {
    let options = Resource::new(|| (), |_| case_form_options());
    view! {
        <Title text="Open a case"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match options.await {
                    Ok(opts) => view! { <CaseFormView opts/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn pairs(list: &[crate::api::types::Choice]) -> Vec<(String, String)> {
    list.iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect()
}

/// The customer case form (SPEC §4.1). With WASM it submits in place, so what was typed stays when
/// the server finds a problem; without, it posts and comes back with the errors.
#[component]
fn CaseFormView(opts: CaseOptions) -> impl IntoView {
    let create = ServerAction::<CreateCase>::new();
    let from_url = url_error(CreateCase::PATH);
    let error = Memo::new(move |_| match create.value().get() {
        Some(Err(e)) => Some(e),
        _ => from_url.get(),
    });
    let environments: Vec<(String, String)> = opts
        .environments
        .iter()
        .map(|e| (e.clone(), e.clone()))
        .collect();
    let workaround = vec![
        ("yes".to_string(), "Yes".to_string()),
        ("no".to_string(), "No".to_string()),
        ("unknown".to_string(), "Unknown".to_string()),
    ];
    view! {
        <div class="narrow">
            <p><a href="/cases">"← Cases"</a></p>
            <h1>"Open a case"</h1>
            <p class="lead">{format!("For {}. Every field is needed to route your case to the right people.", opts.account_name)}</p>
            <ErrorSummary error/>
            <ActionForm action=create attr:class="form" attr:novalidate=true>
                <SelectField name="contact_id" label="Contact" hint="Who we talk to about this case"
                    options=pairs(&opts.contacts) selected=opts.me.to_string() error/>
                <SelectField name="product_version_id" label="Product version" placeholder="Choose…"
                    options=pairs(&opts.versions) error/>
                <SelectField name="impact_id" label="Impact" placeholder="Choose…"
                    options=pairs(&opts.impacts) error/>
                <SelectField name="workaround" label="Workaround or rollback available" placeholder="Choose…"
                    options=workaround error/>
                <SelectField name="feature_id" label="Feature" placeholder="Choose…"
                    hint="See the compatibility matrix for what each version offers"
                    options=pairs(&opts.features) error/>
                <SelectField name="service_id" label="Service" placeholder="Choose…"
                    options=pairs(&opts.services) error/>
                <SelectField name="environment" label="Affected environment" placeholder="Choose…"
                    options=environments error/>
                <SelectField name="availability_id" label="Customer availability"
                    hint="When can we reach you? There is no default: please choose."
                    placeholder="Choose when we can reach you…"
                    options=pairs(&opts.windows) error/>
                <Field name="subject" label="Subject" hint="One line, up to 160 characters" error/>
                <DescriptionField error/>
                <button type="submit" class="button">"Open case"</button>
            </ActionForm>
        </div>
    }
}

#[component]
fn DescriptionField(error: Memo<Option<AppError>>) -> impl IntoView {
    let messages = move || {
        error
            .get()
            .map(|e| e.for_field("description"))
            .unwrap_or_default()
    };
    let invalid = move || !messages().is_empty();
    view! {
        <div class="form-group" class:form-group--error=invalid>
            <label class="label" for="description">"Description"</label>
            <p class="hint" id="description-hint">"What happened, what you expected, and what you have tried. Include error messages and log excerpts."</p>
            <Show when=invalid>
                <p class="field-error" id="description-error">{move || messages().join(" ")}</p>
            </Show>
            <textarea class="input" id="description" name="description" rows="8"
                aria-describedby="description-hint" aria-invalid=move || invalid().to_string()></textarea>
        </div>
    }
}

#[component]
pub fn CasePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let number = move || params.with(|p| p.get_str("number").unwrap_or_default().to_string());
    let case = Resource::new(number, get_case);
    let created = move || query.with(|q| q.get_str("created") == Some("1"));
    view! {
        <Title text="Case"/>
        <p><a href="/cases">"← Cases"</a></p>
        <Show when=created>
            <div class="notice notice--success" role="status">
                "Your case was opened. Its contact has been mailed a copy; we answer within your service level."
            </div>
        </Show>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match case.await {
                    Ok(case) => view! { <CaseView case/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CaseView(case: CaseDetail) -> impl IntoView {
    let error = url_error(CommentCase::PATH);
    let open = !matches!(case.state.as_str(), "closed" | "cancelled");
    let number = case.number.clone();
    view! {
        <Title text=format!("{} {}", case.number, case.subject)/>
        <h1>{case.number.clone()} " · " {case.subject.clone()}</h1>
        <p class="lead">
            <span class="badge">{state_label(&case.state)}</span> " "
            <span class="badge">{format!("P{}", case.priority)}</span>
            {case.on_behalf.then(|| " Opened by vendor staff on the customer's behalf.")}
        </p>
        <dl class="facts">
            <dt>"Account"</dt><dd>{case.account.clone()}</dd>
            <dt>"Contact"</dt><dd>{case.contact.clone()}</dd>
            <dt>"Opened by"</dt><dd>{case.created_by.clone()} ", " {format_time(Some(case.created_at))}</dd>
            <dt>"Product version"</dt><dd>{case.version.clone()}</dd>
            <dt>"Impact"</dt><dd>{case.impact.clone()}</dd>
            <dt>"Workaround or rollback"</dt><dd>{case.workaround.clone()}</dd>
            <dt>"Feature"</dt><dd>{case.feature.clone()}</dd>
            <dt>"Service"</dt><dd>{case.service.clone()}</dd>
            <dt>"Environment"</dt><dd>{case.environment.clone()}</dd>
            <dt>"Availability"</dt><dd>{case.availability.clone()}</dd>
            <dt>"Assignment group"</dt><dd>{case.assignment_group.clone()}</dd>
            <dt>"Assigned to"</dt><dd>{case.assigned_to.clone().unwrap_or_else(|| "Not yet assigned".into())}</dd>
        </dl>
        <h2>"Description"</h2>
        <div class="case-text">{case.description.clone()}</div>
        <section aria-labelledby="activity-heading" id="activity">
            <h2 id="activity-heading">"Activity"</h2>
            <ol class="activity">
                {case.entries.into_iter().map(|e| view! {
                    <li class=format!("activity__entry activity__entry--{}", e.kind)>
                        <p class="meta">{e.author} " · " {format_time(Some(e.at))}
                            {(e.kind == "work_note").then(|| " · internal work note")}</p>
                        <div class="case-text">{e.body}</div>
                    </li>
                }).collect_view()}
            </ol>
            {open.then(|| view! {
                <ErrorSummary error/>
                <form method="post" action=CommentCase::PATH class="form" novalidate>
                    <input type="hidden" name="number" value=number.clone()/>
                    <div class="form-group">
                        <label class="label" for="body">"Add a comment"</label>
                        <textarea class="input" id="body" name="body" rows="4"></textarea>
                    </div>
                    <button type="submit" class="button">"Send comment"</button>
                </form>
            })}
        </section>
    }
}
