//! The SLA clocks of a case (SPEC §4.4): the columns a query needs and the time left on each.

use super::*;

/// The SLA clock columns of case `c`: needs `t` (its priority's `sla_targets` row) and `a` (its
/// account) in the query.
pub(super) const CLOCK_COLUMNS: &str =
    "c.state, c.created_at, c.paused_seconds, c.paused_business_seconds, c.paused_since, \
     c.first_response_at, c.resolved_at, \
     CAST(t.first_response_minutes AS BIGINT) AS first_response_minutes, \
     CAST(t.resolution_minutes AS BIGINT) AS resolution_minutes, \
     t.business_hours AS first_business, t.resolution_business_hours AS resolution_business, \
     a.time_zone, CAST(a.business_start AS INTEGER) AS business_start, \
     CAST(a.business_end AS INTEGER) AS business_end";

/// A case's SLA clock columns with its priority's targets and its account's business hours.
#[derive(sqlx::FromRow)]
pub(super) struct ClockRow {
    #[sqlx(try_from = "String")]
    pub(super) state: CaseState,
    pub(super) created_at: i64,
    paused_seconds: i64,
    paused_business_seconds: i64,
    paused_since: Option<i64>,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    pub(super) first_response_minutes: i64,
    pub(super) resolution_minutes: i64,
    first_business: bool,
    resolution_business: bool,
    time_zone: String,
    business_start: i32,
    business_end: i32,
}

impl ClockRow {
    fn hours(&self) -> BusinessHours {
        BusinessHours::new(&self.time_zone, self.business_start, self.business_end)
    }

    /// Seconds of a target used at `now`: calendar time, or working time when `business`.
    fn used(&self, business: bool, hours: &BusinessHours, now: i64) -> i64 {
        let clock = case_flow::Clock {
            started_at: self.created_at,
            paused_seconds: if business {
                self.paused_business_seconds
            } else {
                self.paused_seconds
            },
            paused_since: self.paused_since,
            stopped_at: None,
        };
        if business {
            clock.elapsed_by(now, |a, b| hours.seconds_between(a, b))
        } else {
            clock.elapsed(now)
        }
    }

    /// Seconds left to first response and to resolution at `now`; `None` for a clock that no
    /// longer runs (met, or the case is closed or cancelled).
    pub(super) fn left(&self, now: i64) -> (Option<i64>, Option<i64>) {
        let done = self.state.is_final();
        let hours = self.hours();
        let first = (!done && self.first_response_at.is_none()).then(|| {
            self.first_response_minutes * 60 - self.used(self.first_business, &hours, now)
        });
        let resolution = (!done && self.resolved_at.is_none()).then(|| {
            self.resolution_minutes * 60 - self.used(self.resolution_business, &hours, now)
        });
        (first, resolution)
    }

    /// When the resolution target runs out, while its clock runs: kept in `cases.due_at` so the
    /// "breaching" queue is an index range.
    pub(super) fn resolution_due(&self) -> Option<i64> {
        let running = matches!(self.state, CaseState::New | CaseState::Open)
            && self.paused_since.is_none()
            && self.resolved_at.is_none();
        let target = self.resolution_minutes * 60;
        running.then(|| {
            if self.resolution_business {
                self.hours()
                    .add(self.created_at, target + self.paused_business_seconds)
            } else {
                self.created_at + self.paused_seconds + target
            }
        })
    }
}
