//! Text shown to people or put in links: times in a person's zone, query values.

use crate::model::business_hours::zone;
use jiff::tz::TimeZone;
use jiff::Timestamp;

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

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through). Small enough not
/// to pull a URL crate into the browser bundle.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
