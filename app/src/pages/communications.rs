//! Communications pages: the staff overview (`/staff/communications`), composing a security
//! notice (`/staff/notices/new`) and a survey round (`/staff/surveys/new`), a notice (`/notices/:id`:
//! its audience and delivery for staff, the notice for a recipient), the notices one received
//! (`/notices`), a round's report (`/staff/surveys/:id`), and the survey page a personal link
//! opens (`/nps`).

use crate::api::communications::{
    communications_overview, get_notice, get_survey, my_notices, open_survey_link, AnswerSurvey,
    CreateNotice, CreateSurvey, SendNotice, StartSurvey,
};
use crate::components::forms::{url_error, ErrorSummary, Field, SelectField};
use crate::components::list::Loaded;
use crate::components::time::format_time;
use crate::error::AppError;
use crate::model::{CommunicationSummary, Gap, NoticeDetail, Recipient, Score, SurveyDetail};
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

/// "1 person", "3 people" and the like.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn severity_label(s: &str) -> &'static str {
    match s {
        "low" => "Low",
        "medium" => "Medium",
        "high" => "High",
        "critical" => "Critical",
        _ => "Unknown",
    }
}

/// `/staff/communications`.
#[component]
pub fn CommunicationsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| communications_overview());
    let list = |rows: Vec<CommunicationSummary>, base: &'static str, what: &'static str| {
        if rows.is_empty() {
            return view! { <p class="empty">{format!("No {what} yet.")}</p> }.into_any();
        }
        view! {
            <div class="table-wrap"><table class="table">
                <thead><tr>
                    <th scope="col">"Title"</th><th scope="col">"Details"</th><th scope="col">"State"</th>
                    <th scope="col">"Recipients"</th><th scope="col">"Sent"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td><a href=format!("{base}/{}", r.id)>{r.title}</a></td>
                            <td>{r.detail}</td>
                            <td>{if r.state == "sent" { "Sent" } else { "Draft" }}</td>
                            <td>{r.recipients}</td>
                            <td>{r.sent_at.map(|t| format_time(Some(t))).unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
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
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! {
                        <h2>"Security notices"</h2>
                        {list(d.notices, "/notices", "notices")}
                        <h2>"NPS survey rounds"</h2>
                        {list(d.surveys, "/staff/surveys", "survey rounds")}
                    }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Who a notice or round is for: every account, a service tier, or picked accounts.
#[component]
fn AudienceFields(
    accounts: Vec<(i64, String, String)>,
    error: Memo<Option<AppError>>,
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
                <input type="radio" id="audience-all" name="audience" value="all"/>
                " " <label for="audience-all">"Every account"</label>
            </div>
            <div class="radio">
                <input type="radio" id="audience-tier" name="audience" value="tier"/>
                " " <label for="audience-tier">"Every account of one service tier"</label>
            </div>
            <div class="form-group" id="tier">
                {messages("tier")}
                <label class="label" for="tier-select">"Service tier"</label>
                <select class="input" id="tier-select" name="tier">
                    <option value="">"Choose…"</option>
                    <option value="managed">"Managed"</option>
                    <option value="self-hosted">"Self-hosted"</option>
                </select>
            </div>
            <div class="radio">
                <input type="radio" id="audience-accounts" name="audience" value="accounts"/>
                " " <label for="audience-accounts">"Chosen accounts"</label>
            </div>
            <div class="checkbox-list" id="account_ids" tabindex="-1">
                {messages("account_ids")}
                {accounts.into_iter().enumerate().map(|(i, (id, name, tier))| {
                    let box_id = format!("account-{id}");
                    view! {
                        <div class="checkbox">
                            // Indexed names: the form decoder reads `account_ids[n]` as a list.
                            <input type="checkbox" id=box_id.clone() name=format!("account_ids[{i}]") value=id.to_string()/>
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
    let error = url_error(CreateNotice::PATH);
    let severities = ["low", "medium", "high", "critical"]
        .into_iter()
        .map(|s| (s.to_string(), severity_label(s).to_string()))
        .collect::<Vec<_>>();
    view! {
        <Title text="Compose a security notice"/>
        <div class="narrow">
            <p><a href="/staff/communications">"← Communications"</a></p>
            <h1>"Compose a security notice"</h1>
            <p class="lead">"Next you see every recipient and every account without a contact; nothing is sent until you confirm."</p>
            <ErrorSummary error/>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let severities = severities.clone();
                    Suspend::new(async move {
                        match data.await {
                            Ok(d) => view! {
                                <form method="post" action=CreateNotice::PATH class="form" novalidate>
                                    <Field name="subject" label="Subject" error/>
                                    <SelectField name="severity" label="Severity" placeholder="Choose…" options=severities error/>
                                    <div class="form-group">
                                        {move || error.get().map(|e| e.for_field("body").join(" ")).filter(|m| !m.is_empty())
                                            .map(|m| view! { <p class="field-error" id="body-error">{m}</p> })}
                                        <label class="label" for="body">"Notice"</label>
                                        <p class="hint">"Markdown. Say what is affected, what to do and by when."</p>
                                        <textarea class="input" id="body" name="body" rows="10"></textarea>
                                    </div>
                                    <AudienceFields accounts=d.accounts error/>
                                    <div class="checkbox">
                                        <input type="checkbox" id="include_admins" name="include_admins" value="on"/>
                                        " " <label for="include_admins">"Also send it to every administrator of these accounts"</label>
                                    </div>
                                    <button type="submit" class="button">"Check recipients"</button>
                                </form>
                            }.into_any(),
                            Err(error) => view! { <ErrorPage error/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </div>
    }
}

#[component]
fn RecipientTable(recipients: Vec<Recipient>, sent: bool) -> impl IntoView {
    view! {
        <div class="table-wrap"><table class="table">
            <caption class="visually-hidden">"Recipients"</caption>
            <thead><tr>
                <th scope="col">"Account"</th><th scope="col">"Name"</th><th scope="col">"Email"</th>
                <th scope="col">"As"</th>
                {sent.then(|| view! { <th scope="col">"Delivery"</th> })}
            </tr></thead>
            <tbody>
                {recipients.into_iter().map(|r| view! {
                    <tr>
                        <td>{r.account}</td><td>{r.name}</td><td>{r.email}</td><td>{r.roles}</td>
                        {sent.then(|| {
                            let label = match r.delivery.as_str() {
                                "sent" => "Sent",
                                "failed" => "Failed after retries",
                                _ => "Queued",
                            };
                            view! { <td><span class=format!("badge badge--{}", r.delivery)>{label}</span></td> }
                        })}
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

#[component]
fn GapList(gaps: Vec<Gap>, sent: bool) -> impl IntoView {
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
    let params = use_params_map();
    let id = move || {
        params.with(|p| {
            p.get_str("id")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    let notice = Resource::new(id, get_notice);
    view! {
        <Loaded resource=notice view=move |notice| view! { <NoticeView notice/> }/>
    }
}

#[component]
fn NoticeView(notice: NoticeDetail) -> impl IntoView {
    let query = use_query_map();
    let sent_now = move || query.with(|q| q.get_str("sent") == Some("1"));
    let error = url_error(SendNotice::PATH);
    let sent = notice.state == "sent";
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

/// `/staff/surveys/new`.
#[component]
pub fn NewSurveyPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| communications_overview());
    let error = url_error(CreateSurvey::PATH);
    view! {
        <Title text="Start an NPS survey"/>
        <div class="narrow">
            <p><a href="/staff/communications">"← Communications"</a></p>
            <h1>"Start an NPS survey"</h1>
            <p class="lead">"Each primary and secondary contact gets a personal link asking how likely they are to recommend us (0–10) and for a comment. You check the recipients before anything is sent."</p>
            <ErrorSummary error/>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! {
                            <form method="post" action=CreateSurvey::PATH class="form" novalidate>
                                <Field name="name" label="Name of the round" hint="For example: NPS Q4 2026" error/>
                                <Field name="expires_days" label="Links work for (days)" kind="number" value="14" error/>
                                <AudienceFields accounts=d.accounts error/>
                                <button type="submit" class="button">"Check recipients"</button>
                            </form>
                        }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// Bars of how many answered 0 … 10, coloured by detractor (0–6), passive (7–8), promoter (9–10).
#[component]
fn Distribution(counts: Vec<i64>) -> impl IntoView {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, bar) = (440.0_f64, 160.0_f64, 40.0_f64);
    let label = counts
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{i}: {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <svg class="nps-chart" viewBox=format!("0 0 {w} {}", h + 46.0) width="440" height="206" role="img"
            aria-label=format!("Answers per score — {label}")>
            {counts.into_iter().enumerate().map(|(i, c)| {
                let height = (c as f64 / max as f64) * h;
                let x = i as f64 * bar + 2.0;
                let class = if i >= 9 { "promoter" } else if i >= 7 { "passive" } else { "detractor" };
                view! {
                    <g class=format!("nps-chart__{class}")>
                        <rect x=x y=h - height + 20.0 width=bar - 6.0 height=height/>
                        <text x=x + (bar - 6.0) / 2.0 y=h + 38.0 text-anchor="middle">{i}</text>
                        <text x=x + (bar - 6.0) / 2.0 y=h - height + 15.0 text-anchor="middle" class="nps-chart__count">{c}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}

fn rate(s: &Score) -> String {
    if s.invited == 0 {
        "—".into()
    } else {
        format!(
            "{}%",
            (s.answered as f64 * 100.0 / s.invited as f64).round() as i64
        )
    }
}

fn nps_text(s: &Score) -> String {
    s.nps
        .map(|n| format!("{n:+}"))
        .unwrap_or_else(|| "—".into())
}

/// `/staff/surveys/:id`.
#[component]
pub fn SurveyPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params.with(|p| {
            p.get_str("id")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    let survey = Resource::new(id, get_survey);
    view! {
        <Loaded resource=survey view=move |survey| view! { <SurveyView survey/> }/>
    }
}

#[component]
fn SurveyView(survey: SurveyDetail) -> impl IntoView {
    let query = use_query_map();
    let started = move || query.with(|q| q.get_str("started") == Some("1"));
    let error = url_error(StartSurvey::PATH);
    let sent = survey.state == "sent";
    let n = survey.recipients.len();
    let total = survey.total.clone();
    view! {
        <Title text=survey.name.clone()/>
        <p><a href="/staff/communications">"← Communications"</a></p>
        <h1>{survey.name.clone()}</h1>
        <p class="lead">{survey.audience.clone()} " · "
            {match (survey.sent_at, survey.expires_at) {
                (Some(s), Some(e)) => format!("started {} · links work until {}", format_time(Some(s)), format_time(Some(e))),
                _ => format!("draft, not started · links will work for {} days", survey.expires_days),
            }}</p>
        <Show when=started>
            <p class="notice notice--success" role="status">{format!("Started: {} mailed.", count(n, "personal link", "personal links"))}</p>
        </Show>
        <GapList gaps=survey.gaps.clone() sent/>
        {if sent {
            view! {
                <section aria-labelledby="score-heading" class="panel">
                    <h2 id="score-heading">"Net Promoter Score: " <span class="nps-score">{nps_text(&total)}</span></h2>
                    <p>{format!("{} of {} answered ({}) · {}, {}, {}",
                        total.answered, total.invited, rate(&total), count(total.promoters as usize, "promoter", "promoters"),
                        count(total.passives as usize, "passive", "passives"), count(total.detractors as usize, "detractor", "detractors"))}</p>
                    <Distribution counts=survey.distribution.clone()/>
                    <form method="post" action=format!("/staff/surveys/{}/answers.csv", survey.id)>
                        <button type="submit" class="button button--secondary">"Export answers (CSV)"</button>
                    </form>
                </section>
                <h2>"By account"</h2>
                <div class="table-wrap"><table class="table">
                    <thead><tr>
                        <th scope="col">"Account"</th><th scope="col">"Invited"</th><th scope="col">"Answered"</th>
                        <th scope="col">"Response rate"</th><th scope="col">"NPS"</th>
                    </tr></thead>
                    <tbody>
                        {survey.accounts.iter().map(|s| view! {
                            <tr><td>{s.label.clone()}</td><td>{s.invited}</td><td>{s.answered}</td><td>{rate(s)}</td><td>{nps_text(s)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table></div>
                <h2>"Recipients"</h2>
                <RecipientTable recipients=survey.recipients.clone() sent/>
            }.into_any()
        } else {
            view! {
                <h2>{format!("Will go to {}", count(n, "contact", "contacts"))}</h2>
                <ErrorSummary error/>
                <form method="post" action=StartSurvey::PATH class="form">
                    <input type="hidden" name="id" value=survey.id.to_string()/>
                    <input type="hidden" name="confirmed" value=n.to_string()/>
                    <button type="submit" class="button">{format!("Mail {}", count(n, "personal link", "personal links"))}</button>
                </form>
                <RecipientTable recipients=survey.recipients.clone() sent=false/>
            }.into_any()
        }}
    }
}

/// `/nps?t=…`: the survey a personal link opens; no sign-in.
#[component]
pub fn NpsPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get_str("t").unwrap_or_default().to_string());
    let link = Resource::new(token, open_survey_link);
    let error = url_error(AnswerSurvey::PATH);
    view! {
        <Title text="A quick question"/>
        <div class="narrow">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match link.await {
                        Ok(l) if l.state == "answered" => view! {
                            <h1>"Thank you"</h1>
                            <p class="lead">{format!("Your answer is recorded, {}. This link has been used, so it cannot be used again.", l.first_name)}</p>
                        }.into_any(),
                        Ok(l) if l.state == "expired" => view! {
                            <h1>"This survey has closed"</h1>
                            <p class="lead">"Its link has expired. Thank you all the same."</p>
                        }.into_any(),
                        Ok(l) => view! {
                            <h1>"How likely are you to recommend us to a friend or colleague?"</h1>
                            <p class="lead">{format!("Hello {}, thank you for answering for {}.", l.first_name, l.account)}</p>
                            <ErrorSummary error/>
                            <form method="post" action=AnswerSurvey::PATH class="form" novalidate>
                                <input type="hidden" name="t" value=token()/>
                                <fieldset class="fieldset nps-scale" id="score" tabindex="-1">
                                    <legend>"0 = not at all likely, 10 = extremely likely"</legend>
                                    {move || error.get().map(|e| e.for_field("score").join(" ")).filter(|m| !m.is_empty())
                                        .map(|m| view! { <p class="field-error" id="score-error">{m}</p> })}
                                    {(0..=10).map(|i| {
                                        let id = format!("score-{i}");
                                        view! {
                                            <span class="nps-scale__choice">
                                                <input type="radio" id=id.clone() name="score" value=i.to_string()/>
                                                <label for=id>{i}</label>
                                            </span>
                                        }
                                    }).collect_view()}
                                </fieldset>
                                <div class="form-group">
                                    <label class="label" for="comment">"What is the main reason for your score? (optional)"</label>
                                    <textarea class="input" id="comment" name="comment" rows="4"></textarea>
                                </div>
                                <button type="submit" class="button">"Send my answer"</button>
                            </form>
                        }.into_any(),
                        Err(AppError::NotFound) => view! {
                            <h1>"This survey link does not work"</h1>
                            <p class="lead">"Check that you used the whole link from the mail."</p>
                        }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
