//! Times shown to people: stored as Unix seconds (UTC), shown in the signed-in person's own time
//! zone (SPEC §4.4), which the page carries from the server (`DisplayZone`).

use crate::business_hours::{zone, zone_names};
use jiff::tz::TimeZone;
use jiff::Timestamp;
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

/// `unix` in zone `name` (UTC for a zone the database lacks).
pub fn format_time_in(unix: Option<i64>, name: &str) -> String {
    let Some(unix) = unix else {
        return "Never".into();
    };
    let tz = zone(name).unwrap_or(TimeZone::UTC);
    Timestamp::from_second(unix)
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|_| "Unknown".into())
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

#[cfg(test)]
mod tests {
    use super::format_time_in;

    #[test]
    fn formats_unix_seconds_in_the_persons_zone() {
        assert_eq!(format_time_in(Some(0), "UTC"), "1970-01-01 00:00 UTC");
        assert_eq!(
            format_time_in(Some(1_795_384_680), "UTC"),
            "2026-11-22 21:58 UTC"
        );
        assert_eq!(
            format_time_in(Some(1_795_384_680), "Europe/Berlin"),
            "2026-11-22 22:58 CET"
        );
        assert_eq!(
            format_time_in(Some(1_795_384_680), "America/New_York"),
            "2026-11-22 16:58 EST"
        );
        assert_eq!(
            format_time_in(Some(1_795_384_680), "Nowhere/Else"),
            "2026-11-22 21:58 UTC"
        );
        assert_eq!(format_time_in(None, "UTC"), "Never");
    }
}
