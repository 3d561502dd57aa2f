//! Times shown to people. Stored times are Unix seconds in UTC.

use time::{macros::format_description, OffsetDateTime};

/// `2026-11-22 21:58 UTC`; "never" for no time.
pub fn format_time(unix: Option<i64>) -> String {
    let Some(unix) = unix else {
        return "Never".into();
    };
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| "Unknown".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_unix_seconds_in_utc() {
        assert_eq!(super::format_time(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(
            super::format_time(Some(1_795_384_680)),
            "2026-11-22 21:58 UTC"
        );
        assert_eq!(super::format_time(None), "Never");
    }
}
