//! The case life cycle (SPEC §4.2) and its SLA clock (§4.4), as pure functions: the server applies
//! them inside transactions, and the tests run every transition and clock against them.
//!
//! New → Open → Awaiting Info ⇄ Open → Resolved → Closed, and Cancelled. A customer's reply in
//! Awaiting Info reopens the case; a resolved case is closed when the customer accepts, reopened
//! when they reject, and closed by the portal after a configurable number of days.

pub use super::flow::Flow;
use serde::{Deserialize, Serialize};

text_enum! {
    /// Travels (JSON) and is stored as its `as_str` text.
    #[serde(rename_all = "snake_case")]
    pub enum CaseState {
        New => ("new", "New"),
        Open => ("open", "Open"),
        AwaitingInfo => ("awaiting_info", "Awaiting info"),
        Resolved => ("resolved", "Resolved"),
        Closed => ("closed", "Closed"),
        Cancelled => ("cancelled", "Cancelled"),
    }
}

impl CaseState {
    /// Whether the SLA clocks stand still: the case waits for the customer, or for their verdict.
    pub fn pauses_clock(self) -> bool {
        matches!(self, CaseState::AwaitingInfo | CaseState::Resolved)
    }

    pub fn is_final(self) -> bool {
        matches!(self, CaseState::Closed | CaseState::Cancelled)
    }
}

/// Who moves a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    Customer,
    Staff,
    /// The portal itself (auto-close).
    System,
}

text_enum! {
    /// What someone does to a case's state.
    pub enum Step {
        /// Staff start work.
        Start => ("start", "Start work"),
        /// Staff ask the customer for information.
        AskInfo => ("ask_info", "Ask the customer for information"),
        /// Staff resume without waiting any longer.
        Resume => ("resume", "Resume work"),
        /// The customer replies while the case awaits information.
        CustomerReply => ("customer_reply", "Reply"),
        /// Staff propose a resolution.
        Resolve => ("resolve", "Propose a resolution"),
        /// The customer accepts the resolution.
        Accept => ("accept", "Accept the resolution and close"),
        /// The customer rejects the resolution.
        Reject => ("reject", "Reject the resolution and reopen"),
        /// The portal closes a case resolved for too long.
        AutoClose => ("auto_close", "Close automatically"),
        /// Staff cancel the case.
        Cancel => ("cancel", "Cancel the case"),
    }
}

/// The case life cycle.
pub struct CaseFlow;

impl Flow for CaseFlow {
    type State = CaseState;
    type Step = Step;
    type Mover = Mover;
    const STATES: &'static [CaseState] = &CaseState::ALL;
    const STEPS: &'static [Step] = &Step::ALL;
    const MOVERS: &'static [Mover] = &[Mover::Customer, Mover::Staff, Mover::System];

    fn mover(step: Step) -> Mover {
        match step {
            Step::CustomerReply | Step::Accept | Step::Reject => Mover::Customer,
            Step::AutoClose => Mover::System,
            _ => Mover::Staff,
        }
    }

    fn transition(from: CaseState, step: Step) -> Result<CaseState, &'static str> {
        use CaseState::*;
        match (from, step) {
            (New, Step::Start) => Ok(Open),
            (New | Open, Step::AskInfo) => Ok(AwaitingInfo),
            (AwaitingInfo, Step::Resume) => Ok(Open),
            (AwaitingInfo, Step::CustomerReply) => Ok(Open),
            (Open, Step::Resolve) => Ok(Resolved),
            (Resolved, Step::Accept | Step::AutoClose) => Ok(Closed),
            (Resolved, Step::Reject) => Ok(Open),
            (New | Open | AwaitingInfo, Step::Cancel) => Ok(Cancelled),
            (Closed | Cancelled, _) => Err("The case is closed"),
            _ => Err("This step does not apply to the case in its current state"),
        }
    }
}

/// An SLA clock: how much of a target is used, counting only the time the case was not paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub started_at: i64,
    /// Seconds spent paused before the current pause (if any).
    pub paused_seconds: i64,
    /// When the current pause began.
    pub paused_since: Option<i64>,
    /// When the clock's goal was met (first response given, case resolved).
    pub stopped_at: Option<i64>,
}

impl Clock {
    /// Running seconds at `now`, counting calendar time.
    pub fn elapsed(&self, now: i64) -> i64 {
        self.elapsed_by(now, |from, to| to - from)
    }

    /// Running seconds at `now` when `measure(from, to)` says how much of an interval counts
    /// (all of it, or only the working hours in it); `paused_seconds` is in the same measure.
    pub fn elapsed_by(&self, now: i64, measure: impl Fn(i64, i64) -> i64) -> i64 {
        let end = self.stopped_at.unwrap_or(now);
        let current_pause = match (self.paused_since, self.stopped_at) {
            (Some(since), None) => measure(since, now).max(0),
            _ => 0,
        };
        (measure(self.started_at, end) - self.paused_seconds - current_pause).max(0)
    }

    /// Seconds left of `target_seconds` (negative once breached).
    pub fn left(&self, target_seconds: i64, now: i64) -> i64 {
        target_seconds - self.elapsed(now)
    }

    /// Seconds left of `target_seconds` under `measure` (see `elapsed_by`).
    pub fn left_by(&self, target_seconds: i64, now: i64, measure: impl Fn(i64, i64) -> i64) -> i64 {
        target_seconds - self.elapsed_by(now, measure)
    }
}

/// "2 h 5 min left", "breached 1 d 3 h ago", "met".
pub fn describe_left(left: Option<i64>) -> String {
    let Some(left) = left else {
        return "Met".into();
    };
    let words = |s: i64| {
        let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
        match (d, h) {
            (0, 0) => format!("{m} min"),
            (0, _) => format!("{h} h {m} min"),
            _ => format!("{d} d {h} h"),
        }
    };
    if left >= 0 {
        format!("{} left", words(left))
    } else {
        format!("Breached {} ago", words(-left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::flow::assert_exactly;

    use CaseState::*;

    /// Every state × step × mover: exactly these are allowed.
    #[test]
    fn every_allowed_and_refused_transition() {
        let allowed = [
            (New, Step::Start, Mover::Staff, Open),
            (New, Step::AskInfo, Mover::Staff, AwaitingInfo),
            (Open, Step::AskInfo, Mover::Staff, AwaitingInfo),
            (AwaitingInfo, Step::Resume, Mover::Staff, Open),
            (AwaitingInfo, Step::CustomerReply, Mover::Customer, Open),
            (Open, Step::Resolve, Mover::Staff, Resolved),
            (Resolved, Step::Accept, Mover::Customer, Closed),
            (Resolved, Step::Reject, Mover::Customer, Open),
            (Resolved, Step::AutoClose, Mover::System, Closed),
            (New, Step::Cancel, Mover::Staff, Cancelled),
            (Open, Step::Cancel, Mover::Staff, Cancelled),
            (AwaitingInfo, Step::Cancel, Mover::Staff, Cancelled),
        ];
        assert_exactly::<CaseFlow>(&allowed);
        assert_eq!(
            CaseFlow::steps(Resolved, Mover::Customer),
            vec![Step::Accept, Step::Reject]
        );
        assert!(CaseFlow::steps(Closed, Mover::Staff).is_empty());
    }

    #[test]
    fn the_clock_stands_still_while_paused() {
        let mut clock = Clock {
            started_at: 1_000,
            paused_seconds: 0,
            paused_since: None,
            stopped_at: None,
        };
        assert_eq!(clock.elapsed(1_600), 600);
        // Paused at 1,600 (awaiting info): time passes, the clock does not.
        clock.paused_since = Some(1_600);
        assert_eq!(clock.elapsed(5_000), 600);
        // Resumed at 5,000.
        clock.paused_seconds += 5_000 - 1_600;
        clock.paused_since = None;
        assert_eq!(clock.elapsed(5_300), 900);
        assert_eq!(clock.left(3_600, 5_300), 2_700);
        assert_eq!(clock.left(600, 5_300), -300);
        // Met at 5,400: frozen from then on.
        clock.stopped_at = Some(5_400);
        assert_eq!(clock.elapsed(99_999), 1_000);
    }

    #[test]
    fn a_business_clock_counts_working_time_and_its_pauses() {
        use crate::model::business_hours::BusinessHours;
        // Monday 2026-11-23 09:00 UTC, working 09:00–17:00 UTC.
        let monday = 1_795_424_400;
        let hours = BusinessHours::new("UTC", 540, 1020);
        let working = |from: i64, to: i64| hours.seconds_between(from, to);
        let mut clock = Clock {
            started_at: monday,
            paused_seconds: 0,
            paused_since: None,
            stopped_at: None,
        };
        // 10 calendar hours later (19:00) only 8 working hours have passed.
        assert_eq!(clock.elapsed_by(monday + 10 * 3600, working), 8 * 3600);
        // Paused Tuesday 10:00 to Tuesday 12:00: two working hours that do not count.
        let tue = monday + 86_400;
        clock.paused_since = Some(tue + 3600);
        assert_eq!(clock.elapsed_by(tue + 3 * 3600, working), 9 * 3600);
        clock.paused_seconds += working(tue + 3600, tue + 3 * 3600);
        clock.paused_since = None;
        // Tuesday 17:00: 8 (Monday) + 1 + 5 working hours.
        assert_eq!(clock.elapsed_by(tue + 8 * 3600, working), 14 * 3600);
        // "1 business day" (8 h) had run out on Monday at 17:00.
        assert_eq!(clock.left_by(8 * 3600, tue + 8 * 3600, working), -6 * 3600);
    }

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(describe_left(Some(7_500)), "2 h 5 min left");
        assert_eq!(describe_left(Some(-97_200)), "Breached 1 d 3 h ago");
        assert_eq!(describe_left(Some(59)), "0 min left");
        assert_eq!(describe_left(None), "Met");
    }
}
