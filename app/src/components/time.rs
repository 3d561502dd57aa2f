//! Times shown to people: stored as Unix seconds (UTC), shown in the signed-in person's own time
//! zone (SPEC §4.4), which the page carries from the server (`DisplayZone`).

use crate::model::business_hours::zone_names;
pub use crate::model::text::format_time_in;
use leptos::prelude::*;

/// The IANA zone the current page shows times in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayZone(pub String);

/// `2026-11-22 22:58 CET` in the page's zone; "Never" for no time.
pub fn format_time(unix: Option<i64>) -> String {
    let name = use_context::<DisplayZone>()
        .map(|z| z.0)
        .unwrap_or_else(|| "UTC".into());
    format_time_in(unix, &name)
}

/// A choice of every time zone, `selected` preselected.
#[component]
pub fn TimeZoneSelect(name: &'static str, selected: String) -> impl IntoView {
    view! {
        <select class="input" id=name name=name>
            {zone_names().into_iter().map(|z| {
                let chosen = z == selected;
                view! { <option value=z.clone() selected=chosen>{z.clone()}</option> }
            }).collect_view()}
        </select>
    }
}
