//! `/`: the sign-in page for visitors, the home page for signed-in people.

use crate::api::auth::SignIn;
use crate::components::forms::{form_answer, ErrorSummary, Field};
use crate::components::time::format_time;
use crate::me_resource;
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
            <ErrorSummary error/>
            <form method="post" action=SignIn::PATH class="form" novalidate>
                <Field name="email" label="Email address" kind="email" autocomplete="username" error/>
                <Field name="password" label="Password" kind="password" autocomplete="current-password" error/>
                <button type="submit" class="button">"Sign in"</button>
            </form>
            <p><a href="/forgot-password">"Forgot your password?"</a></p>
            <p>"Looking for an answer? " <a href="/kb">"Search the knowledge base"</a> " — no sign-in needed."</p>
        </div>
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
    let can_manage = permits(role, Action::ManageOwnAccountUsers);
    let staff = role.is_staff();
    let where_line = match (&me.account_name, role) {
        (Some(account), _) => format!("{} at {}", role.label(), account),
        (None, Role::Agent | Role::PlatformAdmin) => format!("{} (vendor staff)", role.label()),
        (None, _) => role.label().to_string(),
    };
    view! {
        <Title text="Home"/>
        <h1>{format!("Welcome, {}", me.name)}</h1>
        <p class="lead">{where_line}</p>
        <p class="meta">{format!("Signed in as {} since {}.", me.email, format_time(me.last_sign_in_at))}</p>
        <ul class="cards">
            <Show when=move || permits(role, Action::CreateCaseForOwnAccount)>
                <li class="card">
                    <h2 class="card__title"><a href="/cases">"Support cases"</a></h2>
                    <p>"Open a case and follow your team's cases."</p>
                </li>
            </Show>
            <Show when=move || can_manage>
                <li class="card">
                    <h2 class="card__title"><a href="/manage">"Manage Accounts"</a></h2>
                    <p>"See who in your company has access, their status and their last sign-in."</p>
                </li>
            </Show>
            <Show when=move || staff>
                <li class="card">
                    <h2 class="card__title"><a href="/staff">"Staff console"</a></h2>
                    <p>"Customer accounts, their users and administrators."</p>
                </li>
            </Show>
            <li class="card">
                <h2 class="card__title"><a href="/kb">"Knowledge base"</a></h2>
                <p>{if staff { "Answers for customers and the team; write and publish articles." } else { "Answers, how-to guides and known issues." }}</p>
            </li>
            <li class="card">
                <h2 class="card__title"><a href="/account/password">"Change password"</a></h2>
                <p>"Changing it signs you out everywhere else."</p>
            </li>
        </ul>
        <section aria-labelledby="access-heading">
            <h2 id="access-heading">"What your role allows"</h2>
            <ul class="capabilities">
                {CAPABILITIES
                    .iter()
                    .filter(|(action, _)| permits(role, *action))
                    .map(|(_, text)| view! { <li>{*text}</li> })
                    .collect_view()}
            </ul>
        </section>
    }
}
