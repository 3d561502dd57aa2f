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
    // The page's section, read once while the request's router is here: the navigation is
    // rendered later, when `me` has loaded, and by then a request the browser gave up on has
    // taken its router away (every server-rendered page is a full load; nothing changes it after).
    let section = section_of(
        &leptos_router::hooks::use_location()
            .pathname
            .get_untracked(),
    );
    view! {
        <header class="site-header">
            <div class="container site-header__inner">
                <a class="site-header__brand" href="/">"Portcullis"</a>
                <Transition fallback=|| ()>
                    {move || me.get().and_then(|r| r.ok()).map(|me| me.ok_or(())).map(|me| match me {
                        Err(()) => view! {
                            <nav class="site-nav" aria-label="Main">
                                <ul>
                                    <NavLink href="/kb" label="Knowledge base" section/>
                                    <NavLink href="/" label="Sign in" section/>
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
                                    <NavLink href="/" label="Home" section/>
                                    <Show when=move || customer><NavLink href="/cases" label="Cases" section/></Show>
                                    <Show when=move || admin><NavLink href="/manage" label="Manage Accounts" section/></Show>
                                    <Show when=move || staff><NavLink href="/staff/cases" label="Case queues" section/></Show>
                                    <NavLink href="/changes" label="Change requests" section/>
                                    <NavLink href="/kb" label="Knowledge base" section/>
                                    <Show when=move || staff><NavLink href="/staff/kb" label="KB articles" section/></Show>
                                    <Show when=move || staff><NavLink href="/staff/communications" label="Communications" section/></Show>
                                    <Show when=move || customer><NavLink href="/notices" label="Notices" section/></Show>
                                    <Show when=move || staff><NavLink href="/staff" label="Staff console" section/></Show>
                                    <NavLink href="/account/security" label="Your account" section/>
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

/// Every place the main navigation links to, so the one a page belongs to can be told.
const SECTIONS: [&str; 11] = [
    "/",
    "/cases",
    "/manage",
    "/staff/cases",
    "/changes",
    "/kb",
    "/staff/kb",
    "/staff/communications",
    "/notices",
    "/staff",
    "/account/security",
];

/// The navigation link a page at `path` belongs to: the longest one that is the path or a folder
/// above it (`/staff/kb/KB0010001` is under "KB articles", not "Staff console"); the home page
/// only for itself.
pub fn section_of(path: &str) -> Option<&'static str> {
    SECTIONS
        .iter()
        .copied()
        .filter(|s| {
            path == *s
                || (*s != "/" && path.starts_with(s) && path.as_bytes().get(s.len()) == Some(&b'/'))
        })
        .max_by_key(|s| s.len())
}

/// A link of the main navigation, marked `aria-current="page"` on the pages of its section.
#[component]
fn NavLink(
    href: &'static str,
    label: &'static str,
    section: Option<&'static str>,
) -> impl IntoView {
    let current = (section == Some(href)).then_some("page");
    view! { <li><a href=href aria-current=current>{label}</a></li> }
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

#[cfg(test)]
mod tests {
    use super::section_of;

    #[test]
    fn a_page_belongs_to_the_nearest_section_above_it() {
        assert_eq!(section_of("/"), Some("/"));
        assert_eq!(section_of("/cases"), Some("/cases"));
        assert_eq!(section_of("/cases/CS0001001"), Some("/cases"));
        assert_eq!(section_of("/cases-old"), None);
        assert_eq!(section_of("/staff/kb/KB0010001"), Some("/staff/kb"));
        assert_eq!(section_of("/staff/accounts/3"), Some("/staff"));
        assert_eq!(section_of("/staff"), Some("/staff"));
        assert_eq!(section_of("/manage/new"), Some("/manage"));
        assert_eq!(section_of("/reset"), None);
    }
}
