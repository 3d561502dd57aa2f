//! The audit trail: `/manage/history` (a customer administrator's own account) and `/staff/audit`
//! (vendor staff, every account), filtered by account, actor, action and dates.

use crate::api::audit::audit_list;
use crate::components::list::{owned, Column, FilterInput, FilterSelect, Loaded, PagedList};
use crate::components::time::format_time;
use crate::model::text::encode;
use crate::model::AuditRow;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The actions people filter by, with their words.
const ACTIONS: &[(&str, &str)] = &[
    ("", "All actions"),
    ("sign_in.", "Sign-ins"),
    ("user.", "Users invited, activated, disabled, re-enabled"),
    ("invitation.", "Invitations re-sent or revoked"),
    ("administrator.", "Administrator granted or revoked"),
    ("contact.", "Contacts set or cleared"),
    ("password.", "Passwords changed or reset"),
    ("impersonation.", "Impersonation"),
    ("account.", "Account created or changed"),
    ("export.", "Exports"),
];

#[component]
pub fn AccountHistoryPage() -> impl IntoView {
    view! { <AuditPage staff=false/> }
}

#[component]
pub fn StaffAuditPage() -> impl IntoView {
    view! { <AuditPage staff=true/> }
}

#[component]
fn AuditPage(staff: bool) -> impl IntoView {
    let query = use_query_map();
    let get = move |name: &str| query.with(|q| q.get_str(name).unwrap_or_default().to_string());
    let args = move || {
        (
            get("account_id").parse::<i64>().ok(),
            get("actor"),
            get("action"),
            get("from"),
            get("to"),
            get("page").parse::<i64>().unwrap_or(1),
        )
    };
    let entries = Resource::new(args, |(account, actor, action, from, to, page)| {
        audit_list(
            account,
            Some(actor),
            Some(action),
            Some(from),
            Some(to),
            Some(page),
        )
    });
    let (path, title) = if staff {
        ("/staff/audit", "Audit trail")
    } else {
        ("/manage/history", "Access history")
    };
    // The filter as a query string, for the export link and the page links.
    let filter_query = move || {
        let mut parts = Vec::new();
        for name in ["account_id", "actor", "action", "from", "to"] {
            let value = get(name);
            if !value.is_empty() {
                parts.push(format!("{name}={}", encode(&value)));
            }
        }
        parts.join("&")
    };
    view! {
        <Title text=title/>
        <h1>{title}</h1>
        <p class="lead">{if staff {
            "Every security-relevant event in the portal. Entries cannot be changed or deleted."
        } else {
            "Who was given access, changed or removed in your company's account, and every sign-in. Entries cannot be changed or deleted."
        }}</p>
        <form method="get" action=path class="search-form" role="search">
            {staff.then(|| view! {
                <div class="form-group">
                    <label class="label" for="account_id">"Account number"</label>
                    <input class="input" id="account_id" name="account_id" type="number" min="1" value=get("account_id")/>
                </div>
            })}
            <FilterInput name="actor" label="Done by (email)" kind="email"/>
            <FilterSelect name="action" label="Action" choices=owned(ACTIONS)/>
            <FilterInput name="from" label="From" kind="date"/>
            <FilterInput name="to" label="To" kind="date"/>
            <button type="submit" class="button button--secondary">"Filter"</button>
        </form>
        // A form, not a link: the export is recorded in the trail, so only a deliberate, same-site
        // POST starts it — an image or link elsewhere cannot.
        <form class="toolbar" method="post" action=move || format!("/export/audit.csv?{}", filter_query())>
            <button type="submit" class="button button--secondary">"Export these entries (CSV)"</button>
        </form>
        <Loaded resource=entries view=move |page| {
            let columns: Vec<Column> = ["When", "Account", "Who", "Action", "Subject", "Reason", "Change", "From address"]
                .into_iter()
                .filter(|c| staff || *c != "Account")
                .map(Column::new)
                .collect();
            view! {
                <PagedList page base=format!("{path}?{}", filter_query()) caption="Audit entries, newest first"
                    noun="entries" columns empty="No entries match." row=move |r: AuditRow| audit_row(r, staff)/>
            }
        }/>
    }
}

/// One entry of the trail; `staff` see which account it belongs to.
fn audit_row(r: AuditRow, staff: bool) -> impl IntoView {
    view! {
        <tr>
            <td data-label="When">{format_time(Some(r.at))}</td>
            {staff.then(|| view! { <td data-label="Account">{r.account.clone().unwrap_or_else(|| "—".into())}</td> })}
            <td data-label="Who">
                {r.actor.clone().unwrap_or_else(|| "—".into())}
                {r.impersonator.clone().map(|i| view! { <br/><span class="meta">"impersonated by " {i}</span> })}
            </td>
            <td data-label="Action">
                {crate::model::accounts::audit_action_label(&r.action).to_string()}
                <br/><code class="meta">{r.action.clone()}</code>
            </td>
            <td data-label="Subject">{r.target_email.clone().or(r.target.clone()).unwrap_or_else(|| "—".into())}</td>
            <td data-label="Reason">{r.reason.clone().unwrap_or_default()} {r.reference.clone().map(|c| format!(" ({c})"))}</td>
            <td data-label="Change" class="meta">{change_words(&r)}</td>
            <td data-label="From address">{r.client_addr.clone().unwrap_or_default()}</td>
        </tr>
    }
}

/// `before → after`, compact.
fn change_words(r: &AuditRow) -> String {
    match (&r.before_state, &r.after_state) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (None, Some(a)) => a.clone(),
        (Some(b), None) => b.clone(),
        (None, None) => String::new(),
    }
}
