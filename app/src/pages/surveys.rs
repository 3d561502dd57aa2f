//! Satisfaction surveys: composing a round (`/staff/surveys/new`), a round's report
//! (`/staff/surveys/:id`), and the survey page a personal link opens (`/nps`).

use super::communications::{count, AudienceFields, GapList, RecipientTable};
use crate::api::communications::*;
use crate::components::forms::{form_answer, textarea_html, ErrorSummary, Field};
use crate::components::list::{Column, ListTable, Loaded};
use crate::components::time::format_time;
use crate::components::url::{path_id, query_flag};
use crate::error::AppError;
use crate::model::{Score, SendState, SurveyDetail, SurveyLinkState};
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

/// `/staff/surveys/new`.
#[component]
pub fn NewSurveyPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| communications_overview());
    let error = form_answer(CreateSurvey::PATH);
    view! {
        <Title text="Start an NPS survey"/>
        <div class="narrow">
            <p><a href="/staff/communications">"← Communications"</a></p>
            <h1>"Start an NPS survey"</h1>
            <p class="lead">"Each primary and secondary contact gets a personal link asking how likely they are to recommend us (0–10) and for a comment. You check the recipients before anything is sent."</p>
            <ErrorSummary error/>
            <Loaded resource=data view=move |d| view! {
                <form method="post" action=CreateSurvey::PATH class="form" novalidate>
                    <Field name="name" label="Name of the round" hint="For example: NPS Q4 2026" error/>
                    <Field name="expires_days" label="Links work for (days)" kind="number" value="14" error/>
                    <AudienceFields accounts=d.accounts error/>
                    <button type="submit" class="button">"Check recipients"</button>
                </form>
            }/>
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
    let id = path_id("id");
    let survey = Resource::new(id, get_survey);
    view! {
        <Loaded resource=survey view=move |survey| view! { <SurveyView survey/> }/>
    }
}

#[component]
fn SurveyView(survey: SurveyDetail) -> impl IntoView {
    let started = query_flag("started");
    let error = form_answer(StartSurvey::PATH);
    let sent = survey.state == SendState::Sent;
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
                <ListTable caption="Answers by account" columns=Column::all(&["Account", "Invited", "Answered", "Response rate", "NPS"])>
                    {survey.accounts.iter().map(|s| view! {
                        <tr><td data-label="Account">{s.label.clone()}</td><td data-label="Invited">{s.invited}</td><td data-label="Answered">{s.answered}</td><td data-label="Response rate">{rate(s)}</td><td data-label="NPS">{nps_text(s)}</td></tr>
                    }).collect_view()}
                </ListTable>
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
    let error = form_answer(AnswerSurvey::PATH);
    view! {
        <Title text="A quick question"/>
        <div class="narrow">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match link.await {
                        Ok(l) if l.state == SurveyLinkState::Answered => view! {
                            <h1>"Thank you"</h1>
                            <p class="lead">{format!("Your answer is recorded, {}. This link has been used, so it cannot be used again.", l.first_name)}</p>
                        }.into_any(),
                        Ok(l) if l.state == SurveyLinkState::Expired => view! {
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
                                                <input type="radio" id=id.clone() name="score" value=i.to_string()
                                                    checked=error.chosen("score", &i.to_string())/>
                                                <label for=id>{i}</label>
                                            </span>
                                        }
                                    }).collect_view()}
                                </fieldset>
                                <div class="form-group">
                                    <label class="label" for="comment">"What is the main reason for your score? (optional)"</label>
                                    <textarea class="input" id="comment" name="comment" rows="4"
                                        inner_html=textarea_html(&error.kept("comment").unwrap_or_default())></textarea>
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
