//! Change requests: the list (`/changes`), the form (`/changes/new`) and a request's page
//! (`/changes/:number`) with its authorization record, history, steps and conversion.

use crate::api::cases::case_form_options;
use crate::api::changes::{
    change_form_options, get_change, list_changes, ConvertChange, CreateChange, StepChange,
};
use crate::components::attachments::{AttachForm, AttachRefusal, FileList, StageFiles};
use crate::components::forms::Done;
use crate::components::forms::{
    form_answer, new_form_key, pairs, same_pairs, textarea_html, ErrorSummary, Field, SelectField,
    TextAreaField,
};
use crate::components::list::{Column, FilterInput, FilterSelect, Loaded, PagedList};
use crate::components::time::format_time;
use crate::components::url::{path_value, query_flag, query_id};
use crate::model::change_flow::{ChangeState, ChangeStep};
use crate::model::text::encode;
use crate::model::{ChangeDetail, ChangeOptions, Choice};
use crate::policy::{permits, Action};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

/// `/changes`: the account's change requests (customers) or every account's (staff).
#[component]
pub fn ChangesPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with(|q| q.get_str(k).unwrap_or_default().to_string());
    let args = move || {
        (
            Some(get("state")),
            Some(get("q")),
            get("page").parse::<i64>().ok(),
        )
    };
    let rows = Resource::new(args, |(state, q, page)| list_changes(state, q, page));
    let me = crate::me_resource();
    view! {
        <Title text="Change requests"/>
        <h1>"Change requests"</h1>
        // What the page offers depends on who reads it: customers request changes; staff work
        // every account's and request one for a customer from that account's page.
        <Transition fallback=|| ()>
            {move || me.get().and_then(|r| r.ok()).flatten().map(|me| {
                if permits(me.role, Action::CreateChangeForOwnAccount) {
                    view! {
                        <p class="lead">
                            "A change request asks the vendor to change the environment it runs for you — capacity, "
                            "performance, cost or security — and needs your authorization. Something broken or a "
                            "question? " <a href="/cases/new">"Open a case"</a> " instead."
                        </p>
                        <p class="toolbar"><a class="button" href="/changes/new">"Request a change"</a></p>
                    }.into_any()
                } else {
                    view! {
                        <p class="lead">
                            "Every account's change requests. To request a change for a customer, open "
                            "their account from the " <a href="/staff">"staff console"</a> "."
                        </p>
                    }.into_any()
                }
            })}
        </Transition>
        <form method="get" action="/changes" class="search-form" role="search">
            <FilterInput name="q" label="Number or words"/>
            <FilterSelect name="state" label="State" any="Any" choices=ChangeState::choices()/>
            <button type="submit" class="button button--secondary">"Filter"</button>
        </form>
        <Loaded resource=rows view=move |page| view! {
            <PagedList page base=format!("/changes?state={}&q={}", encode(&get("state")), encode(&get("q"))) caption="Change requests, newest first"
                columns=Column::all(&["Number", "Account", "Change", "State", "Requested by", "Window starts"])
                empty="No change requests here."
                row=|r: crate::model::ChangeSummary| view! {
                    <tr>
                        <td data-label="Number"><a href=format!("/changes/{}", r.number)>{r.number.clone()}</a></td>
                        <td data-label="Account">{r.account}</td>
                        <td data-label="Change">{r.short_description}</td>
                        <td data-label="State">{r.state.label()}</td>
                        <td data-label="Requested by">{r.requested_by}</td>
                        <td data-label="Window starts">{format_time(Some(r.window_start))}</td>
                    </tr>
                }/>
        }/>
    }
}

/// `/changes/new`: a customer's own request, or (`?account_id=`) a platform admin's on the
/// account's behalf.
#[component]
pub fn NewChangePage() -> impl IntoView {
    let account = query_id("account_id");
    let options = Resource::new(account, change_form_options);
    view! {
        <Title text="Request a change"/>
        <Loaded resource=options view=move |opts: ChangeOptions| if opts.managed {
            view! { <ChangeFormView opts account_id=account()/> }.into_any()
        } else {
            view! {
                <div class="narrow">
                    <h1>"Request a change"</h1>
                    <p class="notice">{format!(
                        "{} runs the product itself (self-hosted), so there is no vendor-managed environment to change. \
                         For help with your installation, open a case.", opts.account_name)}</p>
                    <p><a class="button" href="/cases/new">"Open a case"</a></p>
                </div>
            }.into_any()
        }/>
    }
}

#[component]
fn ChangeFormView(opts: ChangeOptions, account_id: Option<i64>) -> impl IntoView {
    let on_behalf = account_id.is_some();
    let error = form_answer(CreateChange::PATH);
    let environments = same_pairs(&opts.environments);
    let risks = crate::model::Risk::choices();
    let field_messages = move |name: &'static str| {
        move || {
            error
                .get()
                .map(|e| e.for_field(name).join(" "))
                .filter(|m| !m.is_empty())
                .map(|m| view! { <p class="field-error" id=format!("{name}-error")>{m}</p> })
        }
    };
    let area = move |name: &'static str, label: &'static str| {
        view! {
            <div class="checkbox">
                <input type="checkbox" id=name name=name value="on" checked=error.chosen(name, "on")/>
                " "
                <label for=name>{label}</label>
            </div>
        }
    };
    let statement = opts.statement.clone();
    view! {
        <div class="narrow">
            <p><a href="/changes">"← Change requests"</a></p>
            <h1>{if on_behalf { "Raise a change request on the account's behalf" } else { "Request a change" }}</h1>
            {if on_behalf {
                view! {
                    <p class="notice">"It waits for an administrator of the account to authorize it: they are mailed, "
                        "and nobody can work on it until they have."</p>
                }.into_any()
            } else {
                view! {
                    <p class="lead">"A change request asks us to change the environment we run for "
                        {opts.account_name.clone()} ". It needs your authorization. If something is broken or you "
                        "have a question, " <a href="/cases/new">"open a case"</a> " instead."</p>
                }.into_any()
            }}
            <ErrorSummary error/>
            <form method="post" action=CreateChange::PATH class="form" novalidate>
                {account_id.map(|id| view! { <input type="hidden" name="account_id" value=id.to_string()/> })}
                <input type="hidden" name="form_key" value=new_form_key()/>
                {if on_behalf {
                    view! {
                        <SelectField name="requested_by" label="Requested by" placeholder="Choose the customer's contact…"
                            options=pairs(&opts.contacts) error/>
                    }.into_any()
                } else {
                    view! {
                        <SelectField name="requested_by" label="Requested by"
                            options=pairs(&opts.contacts) selected=opts.me.map(|m| m.to_string()).unwrap_or_default() error/>
                    }.into_any()
                }}
                <SelectField name="environment" label="Environment" placeholder="Choose…" options=environments error/>
                <Field name="short_description" label="Short description" hint="One line, up to 160 characters" error/>
                <TextAreaField name="description" label="Description of the change" error/>
                <TextAreaField name="reason" label="Reason" error/>
                <fieldset class="fieldset" id="affects" tabindex="-1">
                    <legend>"What the change can affect"</legend>
                    {field_messages("affects")}
                    {area("affects_capacity", "Capacity")}
                    {area("affects_performance", "Performance")}
                    {area("affects_cost", "Cost")}
                    {area("affects_security", "Security")}
                </fieldset>
                <SelectField name="risk" label="Risk" placeholder="Choose…" options=risks error/>
                <Field name="window_start" label="Window starts" kind="datetime-local" hint="In your own time zone" error/>
                <Field name="window_end" label="Window ends" kind="datetime-local" error/>
                <TextAreaField name="rollback_plan" label="Rollback plan" error/>
                <StageFiles limit=opts.file_limit kept=error
                    fallback="Files (runbooks, configuration) can be added on the change request's page once it is filed."/>
                {if on_behalf {
                    view! {
                        <SelectField name="authorizer_id" label="Administrator asked to authorize"
                            hint="Leave empty to ask every administrator of the account"
                            placeholder="Any administrator" options=pairs(&opts.administrators) error/>
                    }.into_any()
                } else {
                    view! {
                        <div class="form-group" id="authorized">
                            {field_messages("authorized")}
                            <div class="checkbox">
                                <input type="checkbox" id="authorized-box" name="authorized" value="on"
                                    checked=error.chosen("authorized", "on")/>
                                " "
                                <label for="authorized-box">{statement}</label>
                            </div>
                        </div>
                    }.into_any()
                }}
                <button type="submit" class="button">{if on_behalf { "Raise change request" } else { "Submit change request" }}</button>
            </form>
        </div>
    }
}

/// `/changes/:number`.
#[component]
pub fn ChangePage() -> impl IntoView {
    let number = path_value("number");
    let change = Resource::new(number, get_change);
    let created = query_flag("created");
    view! {
        <Title text="Change request"/>
        <p><a href="/changes">"← Change requests"</a></p>
        <Done when=created text="Your change request was filed."/>
        <Loaded resource=change view=move |change| view! { <ChangeView change/> }/>
    }
}

#[component]
fn ChangeView(change: ChangeDetail) -> impl IntoView {
    let step_error = form_answer(StepChange::PATH);
    let areas: Vec<&str> = [
        (change.affects_capacity, "Capacity"),
        (change.affects_performance, "Performance"),
        (change.affects_cost, "Cost"),
        (change.affects_security, "Security"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let steps: Vec<ChangeStep> = change
        .steps
        .iter()
        .filter_map(|s| ChangeStep::parse(s))
        .filter(|s| *s != ChangeStep::Convert)
        .collect();
    let can_convert = change.steps.iter().any(|s| s == "convert");
    let number = change.number.clone();
    view! {
        <Title text=format!("{} {}", change.number, change.short_description)/>
        <h1>{change.number.clone()} " · " {change.short_description.clone()}</h1>
        <p class="lead">
            <span class="badge">{change.state.label()}</span>
            {change.on_behalf.then(|| " Raised by vendor staff on the account's behalf.")}
            {change.converted_case.clone().map(|c| view! {
                " Converted into case " <a href=format!("/cases/{c}")>{c.clone()}</a> "."
            })}
        </p>
        <section class="panel" aria-labelledby="authorization-heading">
            <h2 id="authorization-heading">"Authorization"</h2>
            {match change.authorization.clone() {
                Some(a) => view! {
                    <dl class="facts">
                        <dt>"Authorized by"</dt><dd>{a.by}</dd>
                        <dt>"When"</dt><dd>{format_time(Some(a.at))}</dd>
                        <dt>"From"</dt><dd>{a.from}</dd>
                        <dt>"Statement"</dt><dd>{a.text}</dd>
                    </dl>
                    <p class="meta">"This record cannot be changed."</p>
                }.into_any(),
                None if change.state == ChangeState::Declined => view! { <p>"The account declined this change."</p> }.into_any(),
                None => view! {
                    <p>{match change.authorizer.clone() {
                        Some(name) => format!("Awaiting authorization by {name}, an administrator of the account. Nothing is done until then."),
                        None => "Awaiting authorization by an administrator of the account. Nothing is done until then.".to_string(),
                    }}</p>
                }.into_any(),
            }}
        </section>
        <dl class="facts">
            <dt>"Account"</dt><dd>{change.account.clone()}</dd>
            <dt>"Requested by"</dt><dd>{change.requested_by.clone()}</dd>
            <dt>"Filed by"</dt><dd>{change.created_by.clone()} ", " {format_time(Some(change.created_at))}</dd>
            <dt>"Environment"</dt><dd>{change.environment.clone()}</dd>
            <dt>"Can affect"</dt><dd>{areas.join(", ")}</dd>
            <dt>"Risk"</dt><dd>{crate::model::Risk::parse(&change.risk).map_or("—", |r| r.label())}</dd>
            <dt>"Requested window"</dt><dd>{format_time(Some(change.window_start))} " – " {format_time(Some(change.window_end))}</dd>
            {change.scheduled_start.map(|s| view! {
                <dt>"Scheduled"</dt><dd>{format_time(Some(s))} " – " {format_time(change.scheduled_end)}</dd>
            })}
            <dt>"Implementer"</dt><dd>{change.implementer.clone().unwrap_or_else(|| "Not yet named".into())}</dd>
        </dl>
        <h2>"Description"</h2>
        <div class="case-text">{change.description.clone()}</div>
        <h2>"Reason"</h2>
        <div class="case-text">{change.reason.clone()}</div>
        <h2>"Rollback plan"</h2>
        <div class="case-text">{change.rollback_plan.clone()}</div>
        {(!change.attachments.is_empty()).then(|| view! {
            <h2>"Files"</h2>
            <FileList files=change.attachments.clone() staff=change.viewer_staff/>
        })}
        {if change.state.is_final() {
            view! { <AttachRefusal/> }.into_any()
        } else {
            view! {
                <AttachForm action=format!("/changes/{}/attachments", change.number)
                    internal_choice=false limit=change.file_limit/>
            }.into_any()
        }}
        {(!steps.is_empty()).then(|| view! {
            <section class="panel" aria-labelledby="steps-heading">
                <h2 id="steps-heading">{if change.viewer_staff { "Move the change request" } else { "Your decision" }}</h2>
                <ErrorSummary error=step_error/>
                {steps.into_iter().map(|step| {
                    let schedule = step == ChangeStep::Schedule;
                    let this = step_error.of_form(vec![("step", step.as_str().to_string())]);
                    let note = textarea_html(&this.kept("note").unwrap_or_default());
                    let implementer = this.kept("implementer_id");
                    view! {
                        <details class="confirm" open=this.get().is_some()>
                            <summary>{step.label()}</summary>
                            <form method="post" action=StepChange::PATH class="form" novalidate>
                                <input type="hidden" name="number" value=number.clone()/>
                                <input type="hidden" name="step" value=step.as_str()/>
                                {schedule.then(|| view! {
                                    <Field name="scheduled_start" label="Work starts" kind="datetime-local" hint="In your own time zone" error=this/>
                                    <Field name="scheduled_end" label="Work ends" kind="datetime-local" error=this/>
                                    <div class="form-group">
                                        <label class="label" for="implementer_id">"Implementer"</label>
                                        <select class="input" id="implementer_id" name="implementer_id">
                                            <option value="me">"Me"</option>
                                            <option value="" selected=implementer.as_deref() == Some("")>"Nobody yet"</option>
                                        </select>
                                    </div>
                                })}
                                <div class="form-group">
                                    <label class="label">
                                        {if change.viewer_staff { "Implementation note (staff only, optional)" } else { "Note (optional)" }}
                                        <textarea class="input" name="note" rows="2" inner_html=note.clone()></textarea>
                                    </label>
                                </div>
                                <button type="submit" class="button button--secondary">{step.label()}</button>
                            </form>
                        </details>
                    }
                }).collect_view()}
            </section>
        })}
        {can_convert.then(|| view! { <ConvertForm number=change.number.clone() account_id=change.account_id/> })}
        <section aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <ol class="activity">
                {change.entries.into_iter().map(|e| view! {
                    <li class=format!("activity__entry activity__entry--{}", e.kind)>
                        <p class="meta">{e.author} " · " {format_time(Some(e.at))}
                            {(e.kind == "note").then(|| " · staff note")}</p>
                        <div class="case-text">{e.body}</div>
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}

/// Staff turn a mistaken change request into a case, giving what a case needs and a CR lacks.
#[component]
fn ConvertForm(number: String, account_id: i64) -> impl IntoView {
    let error = form_answer(ConvertChange::PATH);
    let options = Resource::new(move || account_id, |id| case_form_options(Some(id)));
    let workaround = crate::model::Workaround::choices();
    view! {
        <details class="panel" open=move || error.get().is_some()>
            <summary>"Convert into a case"</summary>
            <p class="hint">"For a request that should have been a case. The case gets the request's content and history, "
                "both link to each other, the request ends Cancelled, and the requester is told."</p>
            <ErrorSummary error/>
            <form method="post" action=ConvertChange::PATH class="form" novalidate>
                <input type="hidden" name="number" value=number/>
                <Suspense fallback=|| ()>
                    {move || {
                        let workaround = workaround.clone();
                        Suspend::new(async move {
                            let opts = options.await.ok();
                            let list = |f: fn(&crate::model::CaseOptions) -> &Vec<Choice>| {
                                opts.as_ref().map(|o| pairs(f(o))).unwrap_or_default()
                            };
                            view! {
                                <SelectField name="product_version_id" label="Product version" placeholder="Choose…"
                                    options=list(|o| &o.versions) error/>
                                <SelectField name="impact_id" label="Impact" placeholder="Choose…"
                                    options=list(|o| &o.impacts) error/>
                                <SelectField name="workaround" label="Workaround or rollback available" placeholder="Choose…"
                                    options=workaround error/>
                                <SelectField name="feature_id" label="Feature" placeholder="Choose…"
                                    options=list(|o| &o.features) error/>
                                <SelectField name="service_id" label="Service" placeholder="Choose…"
                                    options=list(|o| &o.services) error/>
                                <SelectField name="availability_id" label="Customer availability" placeholder="Choose…"
                                    options=list(|o| &o.windows) error/>
                            }
                        })
                    }}
                </Suspense>
                <button type="submit" class="button button--secondary">"Convert into a case"</button>
            </form>
        </details>
    }
}
