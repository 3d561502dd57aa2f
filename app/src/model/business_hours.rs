//! Business hours (SPEC §4.4): "business" SLA targets count only the account's working time —
//! Monday to Friday between its opening and closing time, in the account's time zone. Pure
//! arithmetic on Unix seconds, so the SLA clock can be tested on an injected clock.
//!
//! Time zones come from jiff with its bundled copy of the IANA database, so every installation
//! agrees on every zone and offset whatever its system's copy. Times are written on the server, in
//! the reader's zone: the browser's bundle carries no time-zone data.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A whole-week search bound: no interval asked about here is longer than ten years.
const MAX_DAYS: i64 = 3_660;

/// When an account works.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    zone: TimeZone,
    /// Opening and closing time, minutes after local midnight (`start < end`).
    start_minute: i32,
    end_minute: i32,
}

/// The zone named `name` (IANA, e.g. `Europe/Berlin`), or `None` for a name the database lacks.
pub fn zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// Every zone name a person can choose, sorted.
pub fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|n| n.contains('/') || n == "UTC")
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `09:00` → 540.
pub fn parse_clock(value: &str) -> Option<i32> {
    let (h, m) = value.trim().split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 1440).then_some(h * 60 + m)
}

/// 540 → `09:00`.
pub fn format_clock(minutes: i32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl BusinessHours {
    /// Hours in zone `zone_name`; an unknown zone counts as UTC and a window that is not a window
    /// as 09:00–17:00, so a bad stored value never stops a clock.
    pub fn new(zone_name: &str, start_minute: i32, end_minute: i32) -> BusinessHours {
        let (start_minute, end_minute) =
            if (0..end_minute).contains(&start_minute) && end_minute <= 1440 {
                (start_minute, end_minute)
            } else {
                (540, 1020)
            };
        BusinessHours {
            zone: zone(zone_name).unwrap_or(TimeZone::UTC),
            start_minute,
            end_minute,
        }
    }

    fn local_date(&self, unix: i64) -> Option<Date> {
        Some(
            Timestamp::from_second(unix)
                .ok()?
                .to_zoned(self.zone.clone())
                .date(),
        )
    }

    /// The working window of `date` as Unix seconds, or `None` on a weekend.
    fn window(&self, date: Date) -> Option<(i64, i64)> {
        if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return None;
        }
        let at = |minute: i32| -> Option<i64> {
            let local = if minute >= 1440 {
                date.tomorrow().ok()?.at(0, 0, 0, 0)
            } else {
                date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0)
            };
            Some(
                local
                    .to_zoned(self.zone.clone())
                    .ok()?
                    .timestamp()
                    .as_second(),
            )
        };
        Some((at(self.start_minute)?, at(self.end_minute)?))
    }

    /// Working seconds in `[from, to)`.
    pub fn seconds_between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let Some(mut date) = self.local_date(from) else {
            return 0;
        };
        let mut total = 0;
        for _ in 0..MAX_DAYS {
            if let Some((open, close)) = self.window(date) {
                if open >= to {
                    break;
                }
                total += (close.min(to) - open.max(from)).max(0);
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }

    /// The moment `seconds` of working time after `from` have passed.
    pub fn add(&self, from: i64, seconds: i64) -> i64 {
        let Some(mut date) = self.local_date(from) else {
            return from + seconds;
        };
        let mut left = seconds.max(0);
        for _ in 0..MAX_DAYS {
            if let Some((open, close)) = self.window(date) {
                let begin = open.max(from);
                if begin < close {
                    if left <= close - begin {
                        return begin + left;
                    }
                    left -= close - begin;
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        from + seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a UTC civil time.
    fn utc(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        jiff::civil::date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second()
    }

    #[test]
    fn working_time_skips_nights_and_weekends() {
        let hours = BusinessHours::new("UTC", 540, 1020);
        // Friday 2026-11-20 16:00 to Monday 2026-11-23 10:00: one hour Friday, one Monday.
        let fri = utc(2026, 11, 20, 16, 0);
        let mon = utc(2026, 11, 23, 10, 0);
        assert_eq!(hours.seconds_between(fri, mon), 2 * 3600);
        // One business day (8 h) from Friday 16:00 ends Monday 16:00.
        assert_eq!(hours.add(fri, 8 * 3600), utc(2026, 11, 23, 16, 0));
        // Saturday counts nothing; starting on Saturday begins Monday at opening.
        let sat = utc(2026, 11, 21, 12, 0);
        assert_eq!(hours.seconds_between(sat, utc(2026, 11, 22, 23, 0)), 0);
        assert_eq!(hours.add(sat, 60), utc(2026, 11, 23, 9, 1));
        // Exactly at closing time the next working second is tomorrow's opening.
        assert_eq!(
            hours.add(utc(2026, 11, 23, 17, 0), 1),
            utc(2026, 11, 24, 9, 0) + 1
        );
        assert_eq!(hours.seconds_between(mon, mon), 0);
    }

    #[test]
    fn hours_are_the_accounts_local_hours() {
        // Berlin in November is UTC+1: 09:00–17:00 local is 08:00–16:00 UTC.
        let berlin = BusinessHours::new("Europe/Berlin", 540, 1020);
        let mon = utc(2026, 11, 23, 7, 0);
        assert_eq!(berlin.add(mon, 3600), utc(2026, 11, 23, 9, 0));
        // Across the spring change (29 March 2026) a working day is still 8 working hours.
        let fri = utc(2026, 3, 27, 8, 0);
        assert_eq!(berlin.add(fri, 8 * 3600 + 60), utc(2026, 3, 30, 7, 1));
        // New York, Tuesday: closed until 14:00 UTC.
        let ny = BusinessHours::new("America/New_York", 540, 1020);
        assert_eq!(
            ny.seconds_between(utc(2026, 11, 24, 0, 0), utc(2026, 11, 24, 15, 0)),
            3600
        );
    }

    #[test]
    fn adding_and_measuring_agree() {
        let hours = BusinessHours::new("Asia/Kolkata", 570, 1110);
        let start = utc(2026, 11, 19, 3, 17);
        for seconds in [1, 3600, 8 * 3600, 40 * 3600, 200 * 3600] {
            let end = hours.add(start, seconds);
            assert_eq!(hours.seconds_between(start, end), seconds, "{seconds}");
        }
    }

    #[test]
    fn bad_stored_values_fall_back() {
        let hours = BusinessHours::new("Mars/Olympus", 1200, 600);
        let mon = utc(2026, 11, 23, 9, 0);
        assert_eq!(hours.add(mon, 3600), utc(2026, 11, 23, 10, 0));
    }

    #[test]
    fn clock_times_parse_and_print() {
        assert_eq!(parse_clock("09:00"), Some(540));
        assert_eq!(parse_clock(" 17:30 "), Some(1050));
        assert_eq!(parse_clock("24:00"), Some(1440));
        assert_eq!(parse_clock("24:30"), None);
        assert_eq!(parse_clock("9"), None);
        assert_eq!(parse_clock("09:60"), None);
        assert_eq!(format_clock(1050), "17:30");
        assert!(zone_names().contains(&"Europe/Berlin".to_string()));
        assert!(zone("Europe/Berlin").is_some() && zone("Nowhere/Else").is_none());
    }
}
