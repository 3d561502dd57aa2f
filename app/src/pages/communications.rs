//! Communications pages: the staff overview (`/staff/communications`), composing a security
//! notice (`/staff/notices/new`) and a survey round (`/staff/surveys/new`), a notice (`/notices/:id`:
//! its audience and delivery for staff, the notice for a recipient), the notices one received
//! (`/notices`), a round's report (`/staff/surveys/:id`), and the survey page a personal link
//! opens (`/nps`).

use crate::api::communications::{
    communications_overview, get_notice, my_notices, CreateNotice, SendNotice,
};
use crate::components::forms::{
    form_answer, new_form_key, textarea_html, ErrorSummary, Field, FormAnswer, SelectField,
};
use crate::components::list::{Column, ListTable, Loaded};
use crate::components::time::format_time;
use crate::components::url::{path_id, query_flag};
use crate::model::Severity;
use crate::model::{CommunicationSummary, Gap, NoticeDetail, Recipient, SendState};
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

/// "1 person", "3 people" and the like.
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn severity_label(s: &str) -> &'static str {
    Severity::parse(s).map_or("Unknown", Severity::label)
}

/// `/staff/communications`.
#[component]
pub fn CommunicationsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| communications_overview());
    let list = |rows: Vec<CommunicationSummary>,
                base: &'static str,
                what: &'static str,
                caption: &'static str| {
        if rows.is_empty() {
            return view! { <p class="empty">{format!("No {what} yet.")}</p> }.into_any();
        }
        view! {
            <ListTable caption columns=Column::all(&["Title", "Details", "State", "Recipients", "Sent"])>
                {rows.into_iter().map(|r| view! {
                    <tr>
                        <td data-label="Title"><a href=format!("{base}/{}", r.id)>{r.title}</a></td>
                        <td data-label="Details">{r.detail}</td>
                        <td data-label="State">{r.state.label()}</td>
                        <td data-label="Recipients">{r.recipients}</td>
                        <td data-label="Sent">{r.sent_at.map(|t| format_time(Some(t))).unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </ListTable>
        }
        .into_any()
    };
    view! {
        <Title text="Communications"/>
        <h1>"Communications"</h1>
        <p class="lead">"Security notices and satisfaction surveys go to the primary and secondary contacts of the accounts you choose."</p>
        <p class="toolbar">
            <a class="button" href="/staff/notices/new">"Compose a security notice"</a>
            " "
            <a class="button button--secondary" href="/staff/surveys/new">"Start an NPS survey"</a>
        </p>
        <Loaded resource=data view=move |d| view! {
            <h2>"Security notices"</h2>
            {list(d.notices, "/notices", "notices", "Security notices")}
            <h2>"NPS survey rounds"</h2>
            {list(d.surveys, "/staff/surveys", "survey rounds", "Survey rounds")}
        }/>
    }
}

/// Who a notice or round is for: every account, a service tier, or picked accounts.
#[component]
pub(super) fn AudienceFields(
    accounts: Vec<(i64, String, String)>,
    error: FormAnswer,
) -> impl IntoView {
    let messages = move |field: &'static str| {
        move || {
            error
                .get()
                .map(|e| e.for_field(field).join(" "))
                .filter(|m| !m.is_empty())
                .map(|m| view! { <p class="field-error" id=format!("{field}-error")>{m}</p> })
        }
    };
    view! {
        <fieldset class="fieldset" id="audience" tabindex="-1">
            <legend>"Who is it for"</legend>
            {messages("audience")}
            <div class="radio">
                <input type="radio" id="audience-all" name="audience" value="all"
                    checked=error.chosen("audience", "all")/>
                " " <label for="audience-all">"Every account"</label>
            </div>
            <div class="radio">
                <input type="radio" id="audience-tier" name="audience" value="tier"
                    checked=error.chosen("audience", "tier")/>
                " " <label for="audience-tier">"Every account of one service tier"</label>
            </div>
            <div class="form-group" id="tier">
                {messages("tier")}
                <label class="label" for="tier-select">"Service tier"</label>
                <select class="input" id="tier-select" name="tier">
                    <option value="">"Choose…"</option>
                    <option value="managed" selected=error.chosen("tier", "managed")>"Managed"</option>
                    <option value="self-hosted" selected=error.chosen("tier", "self-hosted")>"Self-hosted"</option>
                </select>
            </div>
            <div class="radio">
                <input type="radio" id="audience-accounts" name="audience" value="accounts"
                    checked=error.chosen("audience", "accounts")/>
                " " <label for="audience-accounts">"Chosen accounts"</label>
            </div>
            <div class="checkbox-list" id="account_ids" tabindex="-1">
                {messages("account_ids")}
                {accounts.into_iter().enumerate().map(|(i, (id, name, tier))| {
                    let box_id = format!("account-{id}");
                    let field = format!("account_ids[{i}]");
                    let ticked = error.chosen(&field, &id.to_string());
                    view! {
                        <div class="checkbox">
                            // Indexed names: the form decoder reads `account_ids[n]` as a list.
                            <input type="checkbox" id=box_id.clone() name=field value=id.to_string() checked=ticked/>
                            " " <label for=box_id>{name} <span class="meta">{format!(" ({tier})")}</span></label>
                        </div>
                    }
                }).collect_view()}
            </div>
        </fieldset>
    }
}

/// `/staff/notices/new`.
#[component]
pub fn NewNoticePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| communications_overview());
    let error = form_answer(CreateNotice::PATH);
    let severities = Severity::choices();
    view! {
        <Title text="Compose a security notice"/>
        <div class="narrow">
            <p><a href="/staff/communications">"← Communications"</a></p>
            <h1>"Compose a security notice"</h1>
            <p class="lead">"Next you see every recipient and every account without a contact; nothing is sent until you confirm."</p>
            <ErrorSummary error/>
            <Loaded resource=data view=move |d| view! {
                <form method="post" action=CreateNotice::PATH class="form" novalidate>
                    <input type="hidden" name="form_key" value=new_form_key()/>
                    <Field name="subject" label="Subject" error/>
                    <SelectField name="severity" label="Severity" placeholder="Choose…" options=severities.clone() error/>
                    <div class="form-group">
                        {move || error.get().map(|e| e.for_field("body").join(" ")).filter(|m| !m.is_empty())
                            .map(|m| view! { <p class="field-error" id="body-error">{m}</p> })}
                        <label class="label" for="body">"Notice"</label>
                        <p class="hint">"Markdown. Say what is affected, what to do and by when."</p>
                        <textarea class="input" id="body" name="body" rows="10"
                            inner_html=textarea_html(&error.kept("body").unwrap_or_default())></textarea>
                    </div>
                    <AudienceFields accounts=d.accounts error/>
                    <div class="checkbox">
                        <input type="checkbox" id="include_admins" name="include_admins" value="on"
                            checked=error.chosen("include_admins", "on")/>
                        " " <label for="include_admins">"Also send it to every administrator of these accounts"</label>
                    </div>
                    <button type="submit" class="button">"Check recipients"</button>
                </form>
            }/>
        </div>
    }
}

#[component]
pub(super) fn RecipientTable(recipients: Vec<Recipient>, sent: bool) -> impl IntoView {
    view! {
        <ListTable caption="Recipients"
            columns=Column::all(if sent { &["Account", "Name", "Email", "As", "Delivery"] } else { &["Account", "Name", "Email", "As"] })>
                {recipients.into_iter().map(|r| view! {
                    <tr>
                        <td data-label="Account">{r.account}</td><td data-label="Name">{r.name}</td><td data-label="Email">{r.email}</td><td data-label="As">{r.roles}</td>
                        {sent.then(|| {
                            let label = match r.delivery.as_str() {
                                "sent" => "Sent",
                                "failed" => "Failed after retries",
                                _ => "Queued",
                            };
                            view! { <td data-label="Delivery"><span class=format!("badge badge--{}", r.delivery)>{label}</span></td> }
                        })}
                    </tr>
                }).collect_view()}
        </ListTable>
    }
}

#[component]
pub(super) fn GapList(gaps: Vec<Gap>, sent: bool) -> impl IntoView {
    (!gaps.is_empty()).then(|| {
        view! {
            <div class="notice notice--warning" role="alert">
                <h2>{format!("{} account{} without a contact", gaps.len(), if gaps.len() == 1 { "" } else { "s" })}</h2>
                <p>{if sent { "Nobody at these accounts received it: they had no active primary or secondary contact." }
                    else { "Nobody at these accounts will receive it: they have no active primary or secondary contact. Set their contacts first, or send anyway." }}</p>
                <ul>{gaps.into_iter().map(|g| view! {
                    <li><a href=format!("/staff/accounts/{}", g.account_id)>{g.account}</a></li>
                }).collect_view()}</ul>
            </div>
        }
    })
}

/// `/notices/:id`.
#[component]
pub fn NoticePage() -> impl IntoView {
    let id = path_id("id");
    let notice = Resource::new(id, get_notice);
    view! {
        <Loaded resource=notice view=move |notice| view! { <NoticeView notice/> }/>
    }
}

#[component]
fn NoticeView(notice: NoticeDetail) -> impl IntoView {
    let sent_now = query_flag("sent");
    let error = form_answer(SendNotice::PATH);
    let sent = notice.state == SendState::Sent;
    let n = notice.recipients.len();
    view! {
        <Title text=notice.subject.clone()/>
        <p>{if notice.staff_view { view! { <a href="/staff/communications">"← Communications"</a> }.into_any() }
            else { view! { <a href="/notices">"← Security notices"</a> }.into_any() }}</p>
        <h1>{notice.subject.clone()}</h1>
        <p class="lead">
            <span class=format!("badge badge--severity-{}", notice.severity)>{format!("Severity: {}", severity_label(&notice.severity))}</span>
            " " {notice.sent_at.map(|t| format!("Sent {}", format_time(Some(t)))).unwrap_or_else(|| "Draft, not sent".into())}
        </p>
        <Show when=sent_now>
            <p class="notice notice--success" role="status">{format!("Sent: {} queued.", count(n, "mail", "mails"))}</p>
        </Show>
        <div class="kb-body case-text" inner_html=notice.body_html.clone()></div>
        {notice.staff_view.then(|| view! {
            <section aria-labelledby="audience-heading">
                <h2 id="audience-heading">{if sent { format!("Sent to {}", count(n, "person", "people")) } else { format!("Will go to {}", count(n, "person", "people")) }}</h2>
                <p class="meta">{notice.audience.clone()}
                    {notice.include_admins.then_some(", and every administrator of these accounts")}
                    {notice.sent_by.clone().map(|by| format!(" · sent by {by}"))}</p>
                <GapList gaps=notice.gaps.clone() sent/>
                <ErrorSummary error/>
                {(!sent).then(|| view! {
                    <form method="post" action=SendNotice::PATH class="form">
                        <input type="hidden" name="id" value=notice.id.to_string()/>
                        <input type="hidden" name="confirmed" value=n.to_string()/>
                        <button type="submit" class="button">{format!("Send to {}", count(n, "recipient", "recipients"))}</button>
                    </form>
                })}
                <RecipientTable recipients=notice.recipients.clone() sent/>
            </section>
        })}
    }
}

/// `/notices`: the security notices sent to the signed-in person.
#[component]
pub fn MyNoticesPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| my_notices());
    view! {
        <Title text="Security notices"/>
        <h1>"Security notices"</h1>
        <p class="lead">"Notices we sent you as a contact or administrator of your account."</p>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(rows) if rows.is_empty() => view! { <p class="empty">"No notices."</p> }.into_any(),
                    Ok(rows) => view! {
                        <ul class="kb-list">
                            {rows.into_iter().map(|r| view! {
                                <li><a href=format!("/notices/{}", r.id)>{r.title}</a>
                                    <span class="meta">{format!(" · {} · {}", severity_label(&r.detail), format_time(r.sent_at))}</span></li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
