//! `/`: the sign-in page for visitors, the home page for signed-in people.

use crate::api::auth::SignIn;
use crate::api::home::my_work;
use crate::api::sso::SignInWithProvider;
use crate::components::badges::{PriorityBadge, SlaBadge};
use crate::components::forms::Done;
use crate::components::forms::{form_answer, ErrorSummary, Field};
use crate::components::list::Loaded;
use crate::components::time::format_time;
use crate::me_resource;
use crate::model::home::{CaseLine, CustomerWork, HomeWork, PlatformWork, StaffWork};
use crate::model::Choice;
use crate::model::Me;
use crate::pages::errors::ErrorPage;
use crate::policy::{permits, Action, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn HomePage() -> impl IntoView {
    let me = me_resource();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! { <Dashboard me/> }.into_any(),
                    Ok(None) => view! { <Landing/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Landing() -> impl IntoView {
    let error = form_answer(SignIn::PATH);
    view! {
        <Title text="Sign in"/>
        <div class="narrow">
            <h1>"Sign in to Portcullis"</h1>
            <p class="lead">
                "The support portal for our customers. Your company's administrators decide who has access: "
                "if you need an account, ask one of them."
            </p>
            <Done when=crate::components::url::query_flag("sso")
                text="Your access is ready. Your company signs in through its identity provider: continue with single sign-on below."/>
            <ErrorSummary error/>
            <form method="post" action=SignIn::PATH class="form" novalidate>
                <Field name="email" label="Email address" kind="email" autocomplete="username" error/>
                <Field name="password" label="Password" kind="password" autocomplete="current-password" error/>
                <button type="submit" class="button">"Sign in"</button>
            </form>
            <p class="link-line"><a href="/forgot-password">"Forgot your password?"</a></p>
            <SsoSignIn/>
            <p class="link-line">"Looking for an answer? " <a href="/kb">"Search the knowledge base"</a> " — no sign-in needed."</p>
        </div>
    }
}

/// Signing in through the company's own identity provider: the email is all it needs.
#[component]
fn SsoSignIn() -> impl IntoView {
    let error = form_answer(SignInWithProvider::PATH);
    let kept = move || error.kept("email");
    view! {
        <section class="section" aria-labelledby="sso-heading">
            <h2 id="sso-heading">"Sign in with your company's identity provider"</h2>
            <ErrorSummary error/>
            <form method="post" action=SignInWithProvider::PATH class="form" novalidate>
                <div class="form-group">
                    <label class="label" for="sso-email">"Your work email"</label>
                    <input class="input" id="sso-email" name="email" type="email" autocomplete="username" value=kept/>
                </div>
                <button type="submit" class="button button--secondary">"Continue with single sign-on"</button>
            </form>
        </section>
    }
}

/// What each role can do, in words, drawn from the policy matrix.
const CAPABILITIES: &[(Action, &str)] = &[
    (
        Action::CreateCaseForOwnAccount,
        "Open support cases for your company",
    ),
    (
        Action::ViewOwnAccountCases,
        "See and comment on your team's cases",
    ),
    (
        Action::CreateChangeForOwnAccount,
        "Request changes to your managed environment",
    ),
    (
        Action::AuthorizeChangeOnBehalf,
        "Authorize change requests raised on your company's behalf",
    ),
    (
        Action::ManageOwnAccountUsers,
        "Add, disable and re-enable your company's users",
    ),
    (
        Action::GrantAdminOwnAccount,
        "Grant and revoke administrator rights in your company",
    ),
    (
        Action::ViewAllAccountsCases,
        "Work cases of every customer account",
    ),
    (
        Action::SeeInternalNotes,
        "Read and write internal work notes",
    ),
    (Action::WriteKb, "Write and publish knowledge-base articles"),
    (
        Action::SendCommunications,
        "Send security notices and surveys to account contacts",
    ),
    (
        Action::ManageCustomerAccounts,
        "Create customer accounts and set their contacts",
    ),
    (
        Action::ManageAnyAccountAdministrators,
        "Add and remove administrators of any account",
    ),
    (
        Action::Impersonate,
        "See the portal as a customer user sees it",
    ),
    (
        Action::ManageCatalog,
        "Keep the product catalog, SLA targets and assignment groups",
    ),
];

#[component]
fn Dashboard(me: Me) -> impl IntoView {
    let role = me.role;
    let where_line = match (&me.account_name, role) {
        (Some(account), _) => format!("{} at {}", role.label(), account),
        (None, Role::Agent | Role::PlatformAdmin) => format!("{} (vendor staff)", role.label()),
        (None, _) => role.label().to_string(),
    };
    let work = Resource::new(|| (), |_| my_work());
    view! {
        <Title text="Home"/>
        <h1>{format!("Welcome, {}", me.name)}</h1>
        <p class="lead">{where_line}</p>
        <p class="meta">{format!("Signed in as {} since {}.", me.email, format_time(me.last_sign_in_at))}</p>
        <Loaded resource=work view=move |work| match work {
            HomeWork::Customer(work) => view! { <CustomerHome work/> }.into_any(),
            HomeWork::Staff(work) => view! { <StaffHome work/> }.into_any(),
        }/>
        <details class="panel">
            <summary>"What your role allows"</summary>
            <ul class="capabilities">
                {CAPABILITIES
                    .iter()
                    .filter(|(action, _)| permits(role, *action))
                    .map(|(_, text)| view! { <li>{*text}</li> })
                    .collect_view()}
            </ul>
        </details>
    }
}

/// Cases as links with their state and priority, or `empty` when there are none.
fn case_lines(lines: Vec<CaseLine>, empty: &'static str) -> AnyView {
    if lines.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="work-list">
            {lines.into_iter().map(|c| view! {
                <li>
                    <a href=format!("/cases/{}", c.number)>{c.number.clone()} " · " {c.subject}</a>
                    " " <span class="badge">{c.state.label()}</span>
                    " " <PriorityBadge priority=c.priority/>
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn CustomerHome(work: CustomerWork) -> impl IntoView {
    view! {
        <form method="get" action="/kb" class="search-form" role="search">
            <div class="form-group">
                <label class="label" for="home-kb-q">"Search the knowledge base"</label>
                <input class="input" id="home-kb-q" name="q" type="search"/>
            </div>
            <button type="submit" class="button button--secondary">"Search"</button>
        </form>
        <div class="work">
            <section class="work__section" aria-labelledby="awaiting-heading">
                <h2 id="awaiting-heading">"Waiting for your answer"</h2>
                {case_lines(work.awaiting_you, "Nothing is waiting for you.")}
            </section>
            {work.to_authorize.map(|changes| view! {
                <section class="work__section" aria-labelledby="authorize-heading">
                    <h2 id="authorize-heading">"Change requests to authorize"</h2>
                    {if changes.is_empty() {
                        view! { <p class="empty">"No change request is waiting for an authorization."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="work-list">
                                {changes.into_iter().map(|c| view! {
                                    <li>
                                        <a href=format!("/changes/{}", c.number)>{c.number.clone()} " · " {c.short_description}</a>
                                        <span class="meta">{format!(" raised {}", format_time(Some(c.created_at)))}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
            })}
            <section class="work__section" aria-labelledby="open-heading">
                <h2 id="open-heading">"Your open cases"</h2>
                {case_lines(work.recent, "You have no new or open case.")}
                <p><a href="/cases">"All your cases"</a></p>
                <p><a class="button" href="/cases/new">"Open a case"</a></p>
            </section>
        </div>
    }
}

#[component]
fn StaffHome(work: StaffWork) -> impl IntoView {
    view! {
        <div class="work">
            <section class="work__section" aria-labelledby="queues-heading">
                <h2 id="queues-heading">"Your queues"</h2>
                <ul class="work-list">
                    {work.queues.into_iter().map(|q| {
                        let count = if q.total > 10_000 { "10,000+".to_string() } else { q.total.to_string() };
                        let alert = q.queue == "breaching" && q.total > 0;
                        view! {
                            <li>
                                <a href=format!("/staff/cases?queue={}", q.queue)>{q.label}</a>
                                " " <span class="badge" class:badge--alert=alert>{count}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            <section class="work__section" aria-labelledby="mine-heading">
                <h2 id="mine-heading">"Assigned to you, newest first"</h2>
                {if work.mine.is_empty() {
                    view! { <p class="empty">"No open case is assigned to you."</p> }.into_any()
                } else {
                    view! {
                        <ul class="work-list">
                            {work.mine.into_iter().map(|c| view! {
                                <li>
                                    <a href=format!("/cases/{}", c.number)>{c.number.clone()} " · " {c.subject}</a>
                                    <span class="meta">{format!(" {} · ", c.account)}</span>
                                    <PriorityBadge priority=c.priority/>
                                    " " <SlaBadge left=c.resolution_left/>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            {work.platform.map(|p| view! { <PlatformHome p/> })}
        </div>
    }
}

/// Accounts as links to their staff page, or `empty`.
fn account_lines(accounts: Vec<Choice>, empty: &'static str) -> AnyView {
    if accounts.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="work-list">
            {accounts.into_iter().map(|a| view! {
                <li><a href=format!("/staff/accounts/{}", a.id)>{a.name}</a></li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn PlatformHome(p: PlatformWork) -> impl IntoView {
    view! {
        <section class="work__section" aria-labelledby="contact-gaps-heading">
            <h2 id="contact-gaps-heading">"Accounts without an active primary contact"</h2>
            {account_lines(p.without_contact, "Every account has an active primary contact.")}
        </section>
        <section class="work__section" aria-labelledby="admin-gaps-heading">
            <h2 id="admin-gaps-heading">"Accounts without an active administrator"</h2>
            {account_lines(p.without_administrator, "Every account has an active administrator.")}
        </section>
        <section class="work__section" aria-labelledby="delivery-heading">
            <h2 id="delivery-heading">"Mail and imports"</h2>
            <p class:breached={p.failed_mails > 0}>
                {match p.failed_mails {
                    0 => "No mail failed to send in the last 7 days.".to_string(),
                    1 => "1 mail could not be delivered in the last 7 days.".to_string(),
                    n => format!("{n} mails could not be delivered in the last 7 days."),
                }}
            </p>
            {if p.imports.is_empty() {
                view! { <p>"No user import is under way."</p> }.into_any()
            } else {
                view! {
                    <ul class="work-list">
                        {p.imports.into_iter().map(|i| view! {
                            <li>
                                <a href=format!("/staff/imports/{}", i.id)>{format!("{} · {}", i.account, i.file_name)}</a>
                                " " <span class="badge">{if i.confirmed { "Being carried out" } else { "Waiting for confirmation" }}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
