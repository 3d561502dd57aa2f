//! The page frame: header with the signed-in identity, impersonation banner, footer.

use crate::api::auth::SignOut;
use crate::api::staff::StopImpersonating;
use crate::me_resource;
use crate::policy::{permits, Action};
use leptos::prelude::*;
use server_fn::ServerFn;

#[component]
pub fn Header() -> impl IntoView {
    let me = me_resource();
    view! {
        <header class="site-header">
            <div class="container site-header__inner">
                <a class="site-header__brand" href="/">"Portcullis"</a>
                <Transition fallback=|| ()>
                    {move || me.get().and_then(|r| r.ok()).map(|me| me.ok_or(())).map(|me| match me {
                        Err(()) => view! {
                            <nav class="site-nav" aria-label="Main">
                                <ul>
                                    <li><a href="/kb">"Knowledge base"</a></li>
                                    <li><a href="/">"Sign in"</a></li>
                                </ul>
                            </nav>
                        }.into_any(),
                        Ok(me) => {
                        let staff = me.role.is_staff();
                        let admin = permits(me.role, Action::ManageOwnAccountUsers);
                        let customer = permits(me.role, Action::ViewOwnAccountCases);
                        view! {
                            <nav class="site-nav" aria-label="Main">
                                <ul>
                                    <li><a href="/">"Home"</a></li>
                                    <Show when=move || customer><li><a href="/cases">"Cases"</a></li></Show>
                                    <Show when=move || admin><li><a href="/manage">"Manage Accounts"</a></li></Show>
                                    <Show when=move || staff><li><a href="/staff/cases">"Case queues"</a></li></Show>
                                    <li><a href="/changes">"Change requests"</a></li>
                                    <li><a href="/kb">"Knowledge base"</a></li>
                                    <Show when=move || staff><li><a href="/staff/kb">"KB articles"</a></li></Show>
                                    <Show when=move || staff><li><a href="/staff/communications">"Communications"</a></li></Show>
                                    <Show when=move || customer><li><a href="/notices">"Notices"</a></li></Show>
                                    <Show when=move || staff><li><a href="/staff">"Staff console"</a></li></Show>
                                    <li><a href="/account/password">"Change password"</a></li>
                                </ul>
                            </nav>
                            <div class="site-header__user">
                                <span class="site-header__name">{me.name.clone()}</span>
                                <span class="badge">{me.role.label()}</span>
                                <form method="post" action=SignOut::PATH class="inline-form">
                                    <button type="submit" class="button button--secondary">"Sign out"</button>
                                </form>
                            </div>
                            {me.impersonated_by.clone().map(|real| view! {
                                <div class="impersonation-banner" role="status">
                                    "You are viewing the portal as " {me.name.clone()} " (" {me.email.clone()} "). Signed in as " {real} ". "
                                    "View only: nothing can be changed in their name. To act for them, stop impersonating and use the staff console, where your reason is recorded."
                                    <form method="post" action=StopImpersonating::PATH class="inline-form">
                                        <button type="submit" class="button button--small">"Stop impersonating"</button>
                                    </form>
                                </div>
                            })}
                        }.into_any()
                        }
                    })}
                </Transition>
            </div>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>"Portcullis customer support portal. Only people your company authorized can sign in."</p>
            </div>
        </footer>
    }
}
