//! Badges a case carries in lists: its priority, and how its resolution SLA stands — breached, due
//! within the hour, or the time left (SPEC §4.2). Colour is never the only sign: the text says it.

use crate::model::case_flow::describe_left;
use crate::model::UserStatus;
use leptos::prelude::*;

/// "P1" … "P4"; P1 and P2 stand out.
#[component]
pub fn PriorityBadge(priority: i32) -> impl IntoView {
    view! { <span class=format!("badge badge--p{priority}")>{format!("P{priority}")}</span> }
}

/// How long is left of the resolution SLA (`left` seconds, negative once breached; `None` when
/// met or standing still).
#[component]
pub fn SlaBadge(left: Option<i64>) -> impl IntoView {
    let class = match left {
        Some(l) if l < 0 => "badge badge--alert",
        Some(l) if l < 3600 => "badge badge--warning",
        _ => "sla",
    };
    view! { <span class=class>{describe_left(left)}</span> }
}

/// A person's access: active, invited or disabled, and "Dormant" beside it when they have not
/// signed in for longer than their account's limit.
#[component]
pub fn UserStatusBadge(status: UserStatus, dormant: bool) -> impl IntoView {
    view! {
        <span class=format!("badge badge--{}", status.as_str())>{status.label()}</span>
        {dormant.then(|| view! {
            " " <span class="badge badge--dormant" title="No sign-in for longer than the account's dormancy limit">"Dormant"</span>
        })}
    }
}
