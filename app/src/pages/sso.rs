//! Connecting a customer account to its OpenID Connect provider: `/manage/sso` for the account's
//! administrators, `/staff/accounts/:id/sso` for platform admins.

use crate::api::sso::{sso_connection, SaveSso};
use crate::components::forms::Done;
use crate::components::forms::{form_answer, ErrorSummary, Field};
use crate::components::list::Loaded;
use crate::components::url::query_flag;
use crate::model::security::SsoSettings;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use server_fn::ServerFn;

#[component]
fn SsoForm(account_id: Option<i64>, back: String) -> impl IntoView {
    let connection = Resource::new(move || account_id, sso_connection);
    let error = form_answer(SaveSso::PATH);
    let saved = query_flag("saved");
    view! {
        <Title text="Single sign-on"/>
        <p><a href=back>"← Back"</a></p>
        <h1>"Single sign-on"</h1>
        <p class="lead">"People of your email domains sign in through your company's OpenID Connect provider "
            "(Entra ID, Okta, Google Workspace, Keycloak…). It signs in only people who already have access here: "
            "add them in Manage Accounts or by provisioning (SCIM)."</p>
        <Done when=saved text="Saved. The connection works: the provider answered."/>
        <ErrorSummary error/>
        <Loaded resource=connection view=move |(s, callback): (SsoSettings, String)| view! {
            <dl class="facts">
                <dt>"Redirect URI to register at the provider"</dt><dd><code>{callback}</code></dd>
                <dt>"Scopes"</dt><dd><code>"openid email"</code></dd>
            </dl>
            <form method="post" action=SaveSso::PATH class="form" novalidate>
                {account_id.map(|id| view! { <input type="hidden" name="account_id" value=id.to_string()/> })}
                <Field name="issuer" label="Issuer URL" hint="Its discovery document must be at /.well-known/openid-configuration under it."
                    value=s.issuer.clone() error/>
                <Field name="client_id" label="Client ID" value=s.client_id.clone() error/>
                <Field name="client_secret" label="Client secret" kind="password" autocomplete="off"
                    hint=if s.connected { "Leave empty to keep the stored secret." } else { "As the provider shows it." } error/>
                <div class="form-group">
                    <label class="label" for="domains">"Email domains"</label>
                    <p class="hint" id="domains-hint">"One per line, such as example.com."</p>
                    <textarea class="input" id="domains" name="domains" rows="3" aria-describedby="domains-hint"
                        inner_html=crate::components::forms::textarea_html(&error.kept("domains").unwrap_or(s.domains.clone()))></textarea>
                </div>
                <div class="form-group">
                    <input type="checkbox" id="required" name="required" checked=s.required/>
                    <label for="required">" Require single sign-on (passwords are refused for your company's users)"</label>
                </div>
                <button type="submit" class="button">{if s.connected { "Save" } else { "Connect" }}</button>
            </form>
        }/>
    }
}

/// `/manage/sso`: a customer administrator connects their own account.
#[component]
pub fn ManageSsoPage() -> impl IntoView {
    view! { <SsoForm account_id=None back="/manage".to_string()/> }
}

/// `/staff/accounts/:id/sso`: a platform admin connects a customer's account.
#[component]
pub fn StaffSsoPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()));
    let back = id
        .map(|i| format!("/staff/accounts/{i}"))
        .unwrap_or_else(|| "/staff".into());
    view! { <SsoForm account_id=Some(id.unwrap_or(0)) back/> }
}
