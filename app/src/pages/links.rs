//! The pages behind mailed links: accept an invitation (`/accept`), reset a password (`/reset`),
//! and ask for a reset link (`/forgot-password`). They work without WASM.

use crate::api::auth::{inspect_link, RequestReset, UseLink};
use crate::components::forms::{form_answer, ErrorSummary, Field, NewPasswordFields};
use crate::components::url::query_flag;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    view! { <LinkPage kind="invitation"/> }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    view! { <LinkPage kind="reset"/> }
}

/// Checks the link first: a used, revoked, replaced or expired one gets a page that says so and
/// offers no form.
#[component]
fn LinkPage(kind: &'static str) -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get_str("token").unwrap_or_default().to_string());
    let info = Resource::new(token, move |token| inspect_link(token, kind.to_string()));
    let error = form_answer(UseLink::PATH);
    let (title, heading, button) = match kind {
        "invitation" => (
            "Accept your invitation",
            "Welcome",
            "Set password and sign in",
        ),
        _ => (
            "Reset your password",
            "Choose a new password",
            "Save password and sign in",
        ),
    };
    view! {
        <Title text=title/>
        <div class="narrow">
            <Suspense fallback=|| view! { <p class="loading">"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(info) => view! {
                            <h1>{heading}</h1>
                            <p class="lead">
                                {match kind {
                                    "invitation" => format!(
                                        "{}, choose a password for {} to start using the {} support portal.",
                                        info.first_name, info.email, info.account_name
                                    ),
                                    _ => format!("Choose a new password for {}.", info.email),
                                }}
                            </p>
                            <ErrorSummary error/>
                            <form method="post" action=UseLink::PATH class="form" novalidate>
                                <input type="hidden" name="token" value=token()/>
                                <input type="hidden" name="kind" value=kind/>
                                <input type="hidden" name="username" autocomplete="username" value=info.email.clone()/>
                                <NewPasswordFields error/>
                                <button type="submit" class="button">{button}</button>
                            </form>
                        }.into_any(),
                        Err(AppError::Conflict(message)) => view! {
                            <h1>"This link does not work"</h1>
                            <div class="notice notice--warning" role="alert">{message}</div>
                            <p><a href="/">"Go to the sign-in page"</a></p>
                        }.into_any(),
                        Err(other) => view! {
                            <h1>"Something went wrong"</h1>
                            <p>{other.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let error = form_answer(RequestReset::PATH);
    let sent = query_flag("sent");
    view! {
        <Title text="Forgot your password"/>
        <div class="narrow">
            <h1>"Forgot your password?"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p class="lead">"Enter the email address you sign in with. If it belongs to an active account, we mail you a link to choose a new password."</p>
                    <ErrorSummary error/>
                    <form method="post" action=RequestReset::PATH class="form" novalidate>
                        <Field name="email" label="Email address" kind="email" autocomplete="username" error/>
                        <button type="submit" class="button">"Send the link"</button>
                    </form>
                }
            >
                <div class="notice notice--success" role="status">
                    "If that address belongs to an active account, a link to reset the password is on its way. "
                    "It works once and for a short time. Check your spam folder if it does not arrive."
                </div>
                <p><a href="/">"Back to sign in"</a></p>
            </Show>
        </div>
    }
}
