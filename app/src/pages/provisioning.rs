//! `/manage/provisioning`: a customer administrator connects their identity provider over SCIM:
//! the address, bearer tokens (shown once, revocable), what the provider may do.

use crate::api::provisioning::{provisioning_page, CreateScimToken, RevokeScimToken};
use crate::components::forms::Done;
use crate::components::forms::{form_answer, ErrorSummary, Field};
use crate::components::list::Loaded;
use crate::components::time::format_time;
use crate::components::url::query_flag;
use crate::model::security::Provisioning;
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn ProvisioningPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| provisioning_page());
    let error = form_answer(CreateScimToken::PATH);
    let revoke_error = form_answer(RevokeScimToken::PATH);
    let revoked = query_flag("revoked");
    view! {
        <Title text="Provisioning"/>
        <p><a href="/manage">"← Manage Accounts"</a></p>
        <h1>"Provisioning from your identity provider"</h1>
        <p class="lead">"Your identity provider (Entra ID, Okta, Google…) can add, update, disable and re-enable "
            "your company's users here over SCIM 2.0, and decide who is an administrator through the group "
            "\u{201c}Administrators\u{201d}. People it adds get an invitation mail. It cannot reach other companies or the vendor's staff, "
            "and every change it makes is in your access history, naming the token."</p>
        <Done when=revoked text="The token was revoked. The identity provider using it is refused from now on."/>
        <ErrorSummary error=revoke_error/>
        <Loaded resource=page view=move |p: Provisioning| view! {
            <dl class="facts">
                <dt>"SCIM base URL"</dt><dd><code>{p.base_url.clone()}</code></dd>
                <dt>"Authentication"</dt><dd>"Bearer token (HTTP header)"</dd>
            </dl>
            {p.new_token.clone().map(|token| { let shown = token.clone(); view! {
                <div class="notice notice--success" role="status">
                    <p>"Your new token. Copy it into your identity provider now: it is shown only this once."</p>
                    <p><code class="secret" data-token=token>{shown}</code></p>
                </div>
            }})}
            <h2>"Tokens"</h2>
            {if p.tokens.is_empty() {
                view! { <p class="empty">"No tokens yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <caption class="visually-hidden">"SCIM tokens"</caption>
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Made by"</th><th scope="col">"Made"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th></tr></thead>
                        <tbody>
                            {p.tokens.into_iter().map(|t| view! {
                                <tr>
                                    <td data-label="Name">{t.label.clone()}</td>
                                    <td data-label="Made by">{t.created_by.clone()}</td>
                                    <td data-label="Made">{format_time(Some(t.created_at))}</td>
                                    <td data-label="Last used">{format_time(t.last_used_at)}</td>
                                    <td data-label="Status">{match t.revoked_at {
                                        Some(at) => view! { <span>{format!("Revoked {}", format_time(Some(at)))}</span> }.into_any(),
                                        None => view! {
                                            <form method="post" action=RevokeScimToken::PATH class="inline-form">
                                                <input type="hidden" name="id" value=t.id.to_string()/>
                                                <button type="submit" class="button button--secondary button--small"
                                                    aria-label=format!("Revoke {}", t.label)>"Revoke"</button>
                                            </form>
                                        }.into_any(),
                                    }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        }/>
        <h2 id="new-token">"Make a token"</h2>
        <ErrorSummary error/>
        <form method="post" action=CreateScimToken::PATH class="form" novalidate aria-labelledby="new-token">
            <Field name="label" label="Name" hint="The identity provider that will use it, such as \"Entra ID\"." error/>
            <button type="submit" class="button">"Make token"</button>
        </form>
    }
}
