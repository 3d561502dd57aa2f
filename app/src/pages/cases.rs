//! Customer case pages: the lists (`/cases`), the case form (`/cases/new`) and a case
//! (`/cases/:number`) with its activity and the comment form.

use crate::api::cases::{
    case_form_options, case_staff_options, get_case, list_cases, CaseFields, ChangeFollowers,
    CommentCase, CreateCase, NoteCase, StepCase,
};
use crate::components::attachments::{AttachForm, AttachRefusal, FileList, StageFiles};
use crate::components::badges::{PriorityBadge, SlaBadge};
use crate::components::forms::Done;
use crate::components::forms::{
    form_answer, new_form_key, pairs, same_pairs, textarea_html, ErrorSummary, Field, FormAnswer,
    SelectField, TextAreaField,
};
use crate::components::list::{owned, Column, FilterInput, FilterSelect, Loaded, PagedList};
use crate::components::time::format_time;
use crate::components::url::{path_value, query_flag, query_id};
use crate::model::attachments::Attachment;
use crate::model::case_flow::{describe_left, CaseFlow, CaseState, Flow, Mover, Step};
use crate::model::{CaseDetail, CaseFollowers, CaseOptions};
use crate::pages::kb::KbSuggestions;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

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
                q.get_str("q").unwrap_or_default().to_string(),
                q.get_str("page")
                    .and_then(|p| p.parse::<i64>().ok())
                    .unwrap_or(1),
                q.get_str("state").unwrap_or_default().to_string(),
            )
        })
    };
    let cases = Resource::new(args, |(scope, q, page, state)| {
        list_cases(scope, Some(q), Some(state), Some(page))
    });
    view! {
        <Title text="Cases"/>
        <h1>"Support cases"</h1>
        <p class="toolbar">
            <a class="button" href="/cases/new">"Open a case"</a>
            <a class="button button--secondary" href="/catalog/matrix">"Compatibility matrix"</a>
        </p>
        <nav class="toolbar" aria-label="Which cases">
            <a href="/cases?scope=mine" aria-current=move || (args().0 == "mine").then_some("page")>"My cases"</a>
            <a href="/cases?scope=team" aria-current=move || (args().0 == "team").then_some("page")>"My team's cases"</a>
        </nav>
        <form method="get" action="/cases" class="search-form" role="search">
            <input type="hidden" name="scope" value=move || args().0/>
            <FilterInput name="q" label="Words of the number, subject or description"/>
            <FilterSelect name="state" label="Show" any="Open and closed cases"
                choices=owned(&[("open", "Open cases"), ("closed", "Closed cases")])/>
            <button type="submit" class="button button--secondary">"Search"</button>
        </form>
        <Loaded resource=cases view=move |page| view! {
            <PagedList page
                base={
                    // Paging keeps the search and the filter.
                    let (scope, words, _, state) = args();
                    let mut base = format!("/cases?scope={scope}");
                    if !words.trim().is_empty() {
                        base.push_str(&format!("&q={}", crate::model::text::encode(&words)));
                    }
                    if !state.is_empty() {
                        base.push_str(&format!("&state={}", crate::model::text::encode(&state)));
                    }
                    base
                }
                caption=if args().1.trim().is_empty() { "Cases, newest first" } else { "Cases matching the search, best match first" }
                columns=Column::all(&["Number", "Subject", "State", "Priority", "Contact", "Opened", "Updated", "Resolution SLA"])
                empty=if args().1.trim().is_empty() { "No cases here yet." } else { "No case matches these words." }
                row=|c: crate::model::CaseSummary| view! {
                    <tr>
                        <td data-label="Number"><a href=format!("/cases/{}", c.number)>{c.number.clone()}</a></td>
                        <td data-label="Subject">{c.subject}</td>
                        <td data-label="State">{c.state.label()}</td>
                        <td data-label="Priority"><PriorityBadge priority=c.priority/></td>
                        <td data-label="Contact">{c.contact}</td>
                        <td data-label="Opened">{format_time(Some(c.created_at))}</td>
                        <td data-label="Updated">{format_time(Some(c.updated_at))}</td>
                        <td data-label="Resolution SLA"><SlaBadge left=c.resolution_left/></td>
                    </tr>
                }/>
        }/>
    }
}

#[component]
pub fn NewCasePage() -> impl IntoView {
    let account = query_id("account_id");
    let options = Resource::new(account, case_form_options);
    view! {
        <Title text="Open a case"/>
        <Loaded resource=options view=move |opts| view! { <CaseFormView opts account_id=account()/> }/>
    }
}

/// The customer case form (SPEC §4.1): a plain post; a refused one comes back with what was typed
/// and the problems (the server keeps them for the page it returns to).
#[component]
fn CaseFormView(opts: CaseOptions, account_id: Option<i64>) -> impl IntoView {
    let on_behalf = account_id.is_some();
    let error = form_answer(CreateCase::PATH);
    let environments = same_pairs(&opts.environments);
    let workaround = crate::model::Workaround::choices();
    view! {
        <div class="narrow">
            <p><a href="/cases">"← Cases"</a></p>
            <h1>{if on_behalf { "Open a case on the customer's behalf" } else { "Open a case" }}</h1>
            {on_behalf.then(|| view! {
                <p class="notice">"The case records that you opened it for the customer, and its contact is told by mail."</p>
            })}
            <p class="lead">{format!("For {}. Every field is needed to route your case to the right people.", opts.account_name)}</p>
            <p><a href="/catalog/matrix" target="_blank">"Compatibility matrix (opens in a new tab)"</a></p>
            <ErrorSummary error/>
            <form method="post" action=CreateCase::PATH class="form" novalidate>
                {account_id.map(|id| view! { <input type="hidden" name="account_id" value=id.to_string()/> })}
                <input type="hidden" name="form_key" value=new_form_key()/>
                {if on_behalf {
                    view! {
                        <SelectField name="contact_id" label="Contact" hint="The customer's point of contact for this case"
                            placeholder="Choose the customer's contact…" options=pairs(&opts.contacts) error/>
                    }.into_any()
                } else {
                    view! {
                        <SelectField name="contact_id" label="Contact" hint="Who we talk to about this case"
                            options=pairs(&opts.contacts) selected=opts.me.map(|m| m.to_string()).unwrap_or_default() error/>
                    }.into_any()
                }}
                <SelectField name="product_version_id" label="Product version" placeholder="Choose…"
                    options=pairs(&opts.versions) error/>
                <SelectField name="impact_id" label="Impact" placeholder="Choose…"
                    options=pairs(&opts.impacts) error/>
                <SelectField name="workaround" label="Workaround or rollback available" placeholder="Choose…"
                    options=workaround error/>
                <SelectField name="feature_id" label="Feature" placeholder="Choose…"
                    hint="The compatibility matrix shows which features each version offers"
                    options=pairs(&opts.features) error/>
                <SelectField name="service_id" label="Service" placeholder="Choose…"
                    options=pairs(&opts.services) error/>
                <SelectField name="environment" label="Affected environment" placeholder="Choose…"
                    options=environments error/>
                <SelectField name="availability_id" label="Customer availability"
                    hint="When can we reach you? There is no default: please choose."
                    placeholder="Choose when we can reach you…"
                    options=pairs(&opts.windows) error/>
                <SubjectField error/>
                <TextAreaField name="description" label="Description" rows=8
                    hint="What happened, what you expected, and what you have tried. Include error messages and log excerpts. Plain text or Markdown (**bold**, `code`, lists, links)."
                    error/>
                <StageFiles limit=opts.file_limit kept=error fallback="Files (logs, screenshots) can be added on the case's page once it is open."/>
                <button type="submit" class="button">"Open case"</button>
            </form>
        </div>
    }
}

/// The subject, with the knowledge-base articles matching it listed while it is typed (SPEC §4.1).
#[component]
fn SubjectField(error: FormAnswer) -> impl IntoView {
    let typed = error.kept("subject").unwrap_or_default();
    view! {
        <SubjectSuggestions typed>
            <Field name="subject" label="Subject" hint="One line, up to 160 characters" error/>
        </SubjectSuggestions>
    }
}

/// The part of the case form that runs in the browser: what is typed in the field it wraps (the
/// subject, rendered by the server) looks up articles that may answer it. `typed` is the subject
/// a refused form came back with.
#[island]
fn SubjectSuggestions(typed: String, children: Children) -> impl IntoView {
    let subject = RwSignal::new(typed);
    view! {
        <div on:input=move |ev| subject.set(event_target_value(&ev))>{children()}</div>
        <KbSuggestions text=subject.into()/>
    }
}

#[component]
pub fn CasePage() -> impl IntoView {
    let number = path_value("number");
    let case = Resource::new(number, get_case);
    let created = query_flag("created");
    view! {
        <Title text="Case"/>
        <Done when=created
            text="Your case was opened. Its contact has been mailed a copy; we answer within your service level."/>
        <Loaded resource=case view=move |case| view! {
            // Back to where the reader works cases: the staff queues or the customer's list.
            {if case.viewer_staff {
                view! { <p><a href="/staff/cases">"← Case queues"</a></p> }.into_any()
            } else {
                view! { <p><a href="/cases">"← Cases"</a></p> }.into_any()
            }}
            <CaseView case/>
        }/>
    }
}

#[component]
fn CaseView(case: CaseDetail) -> impl IntoView {
    let error = form_answer(CommentCase::PATH);
    let open = !case.state.is_final();
    let number = case.number.clone();
    let staff = case.viewer_staff;
    view! {
        <Title text=format!("{} {}", case.number, case.subject)/>
        <h1>{case.number.clone()} " · " {case.subject.clone()}</h1>
        <p class="lead">
            <span class="badge">{case.state.label()}</span> " "
            <span class="badge">{format!("P{}", case.priority)}</span>
            {case.on_behalf.then(|| " Opened by vendor staff on the customer's behalf.")}
            {case.from_change.clone().map(|n| view! {
                " Made from change request " <a href=format!("/changes/{n}")>{n.clone()}</a> "."
            })}
        </p>
        <div class="case-layout">
            <div class="case-layout__main">
                <h2>"Description"</h2>
                <div class="case-text" inner_html=case.description_html.clone()></div>
                <FileList files=files_of(&case.attachments, None) staff/>
                {(!staff).then(|| view! { <StepForms number=number.clone() state=case.state staff=false/> })}
                <section aria-labelledby="activity-heading" id="activity">
                    <h2 id="activity-heading">"Activity"</h2>
                    <ol class="activity">
                        {case.entries.into_iter().map(|e| {
                            let note = e.kind == "work_note";
                            view! {
                                <li class=format!("activity__entry activity__entry--{}", e.kind)>
                                    <p class="meta">
                                        {note.then(|| view! { <span class="badge badge--note">"Internal note"</span> " " })}
                                        {e.author} " · " {format_time(Some(e.at))}
                                    </p>
                                    <div class="case-text" inner_html=e.body_html></div>
                                    <FileList files=files_of(&case.attachments, Some(e.id)) staff/>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                    {(open && staff).then(|| view! { <StaffNoteForm number=number.clone() limit=case.file_limit/> })}
                    {(open && !staff).then(|| view! {
                        <ErrorSummary error/>
                        <form method="post" action=CommentCase::PATH class="form" novalidate>
                            <input type="hidden" name="number" value=number.clone()/>
                            <input type="hidden" name="form_key" value=new_form_key()/>
                            <TextAreaField name="body" label="Add a comment" error/>
                            <StageFiles limit=case.file_limit kept=error/>
                            <button type="submit" class="button">"Send comment"</button>
                        </form>
                    })}
                </section>
                {if open {
                    view! { <AttachForm action=format!("/cases/{number}/attachments") internal_choice=staff limit=case.file_limit/> }.into_any()
                } else {
                    view! { <AttachRefusal/> }.into_any()
                }}
            </div>
            <aside class="case-layout__side" aria-label="Case details">
                <dl class="facts">
                    <dt>"Account"</dt><dd>{case.account.clone()}</dd>
                    <dt>"Contact"</dt><dd>{case.contact.clone()}</dd>
                    <dt>"Opened by"</dt><dd>{case.created_by.clone()} ", " {format_time(Some(case.created_at))}</dd>
                    <dt>"Product version"</dt><dd>{case.version.clone()}</dd>
                    <dt>"Impact"</dt><dd>{case.impact.clone()}</dd>
                    <dt>"Workaround or rollback"</dt><dd>{crate::model::Workaround::parse(&case.workaround).map_or("—", |w| w.label())}</dd>
                    <dt>"Feature"</dt><dd>{case.feature.clone()}</dd>
                    <dt>"Service"</dt><dd>{case.service.clone()}</dd>
                    <dt>"Environment"</dt><dd>{case.environment.clone()}</dd>
                    <dt>"Availability"</dt><dd>{case.availability.clone()}</dd>
                    <dt>"Assignment group"</dt><dd>{case.assignment_group.clone()}</dd>
                    <dt>"Assigned to"</dt><dd>{case.assigned_to.clone().unwrap_or_else(|| "Not yet assigned".into())}</dd>
                </dl>
                {(case.state != CaseState::Cancelled).then(|| view! {
                    <dl class="facts sla" aria-label="Service level">
                        <dt>"First response"</dt>
                        <dd>{describe_left(case.first_response_left)} {format!(" (target {})", hours(case.first_response_target))}</dd>
                        <dt>"Resolution"</dt>
                        <dd>{describe_left(case.resolution_left)} {format!(" (target {})", hours(case.resolution_target))}</dd>
                    </dl>
                })}
                {case.priority_reason.clone().map(|r| view! { <p class="meta">"Priority set by hand: " {r}</p> })}
                <FollowersPanel number=case.number.clone() followers=case.followers.clone()/>
                {staff.then(|| view! { <StepForms number=case.number.clone() state=case.state staff=true/> })}
                {staff.then(|| view! { <StaffFields number=case.number.clone()/> })}
            </aside>
        </div>
    }
}

/// Who gets the case's mails — its contact and the colleagues watching it — with the forms to
/// add a colleague, take one off, or stop (and resume) following oneself. Plain forms: they work
/// without script.
#[component]
fn FollowersPanel(number: String, followers: CaseFollowers) -> impl IntoView {
    let error = form_answer(ChangeFollowers::PATH);
    let case = number.clone();
    let form = move |change: &'static str,
                     user_id: Option<i64>,
                     label: String,
                     text: &'static str| {
        view! {
            <form method="post" action=ChangeFollowers::PATH class="inline-form">
                <input type="hidden" name="number" value=case.clone()/>
                <input type="hidden" name="change" value=change/>
                {user_id.map(|id| view! { <input type="hidden" name="user_id" value=id.to_string()/> })}
                <button type="submit" class="button button--small button--secondary" aria-label=label>{text}</button>
            </form>
        }
    };
    let CaseFollowers {
        people,
        me,
        choices,
        ask_address,
    } = followers;
    view! {
        <section class="panel followers" id="followers" aria-labelledby="followers-heading">
            <h2 id="followers-heading">"Mail about this case"</h2>
            <ErrorSummary error/>
            <ul class="followers__list">
                {people.into_iter().map(|p| view! {
                    <li>
                        {p.name.clone()}
                        {p.contact.then_some(" (contact)")}
                        {p.removable.then(|| form("remove", Some(p.user_id), format!("Stop mailing {}", p.name), "Remove"))}
                    </li>
                }).collect_view()}
            </ul>
            {me.map(|following| if following {
                form("unfollow", None, "Stop getting this case's mails".into(), "Stop following")
            } else {
                form("follow", None, "Get this case's mails".into(), "Follow this case")
            })}
            {(ask_address || !choices.is_empty()).then(|| view! {
                <form method="post" action=ChangeFollowers::PATH class="form" novalidate>
                    <input type="hidden" name="number" value=number.clone()/>
                    <input type="hidden" name="change" value="add"/>
                    {if ask_address {
                        view! { <Field name="email" label="Add a colleague (their email address)" kind="email" autocomplete="off" error/> }.into_any()
                    } else {
                        let options = choices.into_iter().map(|c| (c.id.to_string(), c.name)).collect();
                        view! { <SelectField name="user_id" label="Add a colleague" options error/> }.into_any()
                    }}
                    <button type="submit" class="button button--secondary">"Add"</button>
                </form>
            })}
        </section>
    }
}

/// The files that came with entry `entry` (`None`: with the case itself or on their own).
fn files_of(all: &[Attachment], entry: Option<i64>) -> Vec<Attachment> {
    all.iter()
        .filter(|a| a.entry_id == entry)
        .cloned()
        .collect()
}

fn hours(seconds: i64) -> String {
    if seconds >= 86_400 && seconds % 86_400 == 0 {
        format!("{} d", seconds / 86_400)
    } else {
        format!("{} h", seconds / 3600)
    }
}

/// The life-cycle steps the viewer may take now, each a small form; staff add a comment to the
/// customer (required when asking for information or proposing a resolution).
#[component]
fn StepForms(number: String, state: CaseState, staff: bool) -> impl IntoView {
    let error = form_answer(StepCase::PATH);
    let current = state;
    let mover = if staff { Mover::Staff } else { Mover::Customer };
    let available: Vec<Step> = CaseFlow::steps(current, mover)
        .into_iter()
        .filter(|s| *s != Step::CustomerReply)
        .collect();
    if available.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="panel" aria-labelledby="steps-heading">
            <h2 id="steps-heading">{if staff { "Move the case" } else { "Your answer to the proposed resolution" }}</h2>
            <ErrorSummary error/>
            {available.into_iter().map(|step| {
                let needs_comment = matches!(step, Step::AskInfo | Step::Resolve);
                let this = error.of_form(vec![("step", step.as_str().to_string())]);
                let comment = textarea_html(&this.kept("comment").unwrap_or_default());
                view! {
                    <details class="confirm" open=this.get().is_some()>
                        <summary>{step.label()}</summary>
                        <form method="post" action=StepCase::PATH class="form" novalidate>
                            <input type="hidden" name="number" value=number.clone()/>
                            <input type="hidden" name="step" value=step.as_str()/>
                            {staff.then(|| view! {
                                <div class="form-group">
                                    <label class="label">
                                        {if needs_comment { "Message to the customer" } else { "Message to the customer (optional)" }}
                                        <textarea class="input" name="comment" rows="3" inner_html=comment.clone()></textarea>
                                    </label>
                                </div>
                            })}
                            <button type="submit" class="button button--secondary">{step.label()}</button>
                        </form>
                    </details>
                }
            }).collect_view()}
        </section>
    }
    .into_any()
}

/// Assignee, group and priority override (staff).
#[component]
fn StaffFields(number: String) -> impl IntoView {
    let options = Resource::new(|| (), |_| case_staff_options());
    let error = form_answer(CaseFields::PATH);
    view! {
        <ErrorSummary error/>
        <Suspense fallback=|| ()>
            {move || {
                let number = number.clone();
                Suspend::new(async move {
                    let Ok((staff, groups)) = options.await else {
                        return ().into_any();
                    };
                    let priorities: Vec<(String, String)> = (1..=4).map(|p| (p.to_string(), format!("P{p}"))).collect();
                    let mut people = vec![("me".to_string(), "Assign to me".to_string())];
                    people.extend(staff.iter().map(|s| (s.id.to_string(), s.name.clone())));
                    view! {
                        <details class="panel">
                            <summary>"Assignment and priority"</summary>
                            <form method="post" action=CaseFields::PATH class="form" novalidate>
                                <input type="hidden" name="number" value=number/>
                                <SelectField name="assigned_to" label="Assigned to" placeholder="Nobody (unassigned)"
                                    options=people error/>
                                <SelectField name="assignment_group_id" label="Assignment group"
                                    options=pairs(&groups) error/>
                                <SelectField name="priority" label="Priority"
                                    placeholder="Computed from impact and urgency"
                                    options=priorities error/>
                                <Field name="priority_reason" label="Reason for setting the priority by hand" error/>
                                <button type="submit" class="button button--secondary">"Save"</button>
                            </form>
                        </details>
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
}

/// A staff comment (mailed to the contact) or an internal work note.
#[component]
fn StaffNoteForm(number: String, limit: i64) -> impl IntoView {
    let error = form_answer(NoteCase::PATH);
    view! {
        <ErrorSummary error/>
        <form method="post" action=NoteCase::PATH class="form" novalidate>
            <input type="hidden" name="number" value=number/>
            <input type="hidden" name="form_key" value=new_form_key()/>
            <TextAreaField name="body" label="Reply or internal note"
                hint="A reply is shown to the customer and mailed to the case's contact; an internal note is for vendor staff only and never reaches the customer."
                error/>
            <StageFiles limit kept=error/>
            // Two buttons, each saying where the text goes: no default decides it.
            <p class="toolbar">
                <button type="submit" name="internal" value="" class="button">"Send reply to customer"</button>
                <button type="submit" name="internal" value="on" class="button button--note">"Save internal note"</button>
            </p>
        </form>
    }
}
