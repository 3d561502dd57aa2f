//! Access reviews: a customer account's administrators confirm, user by user, who should keep
//! access (SOC 2 user access reviews), and the evidence of each completed review.

use super::UserStatus;
use serde::{Deserialize, Serialize};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// How long a review may take before it is overdue.
pub const REVIEW_DAYS: i64 = 30;

/// How often the account's administrators are reminded of a review under way.
pub const REMINDER_DAYS: i64 = 7;

/// Dormant after this many days without a sign-in, unless the account chose otherwise.
pub const DEFAULT_DORMANT_DAYS: i64 = 90;

text_enum! {
    /// How often a review starts by itself.
    #[serde(rename_all = "snake_case")]
    pub enum ReviewSchedule {
        Off => ("off", "Only when an administrator starts one"),
        Quarterly => ("quarterly", "Every quarter"),
        HalfYearly => ("half_yearly", "Every six months"),
        Yearly => ("yearly", "Every year"),
    }
}

impl ReviewSchedule {
    /// Days between the starts of two reviews, `None` when reviews start only by hand.
    pub fn interval_days(self) -> Option<i64> {
        match self {
            ReviewSchedule::Off => None,
            ReviewSchedule::Quarterly => Some(91),
            ReviewSchedule::HalfYearly => Some(182),
            ReviewSchedule::Yearly => Some(365),
        }
    }
}

text_enum! {
    /// What a reviewer decided about one person's access.
    #[serde(rename_all = "snake_case")]
    pub enum Decision {
        Keep => ("keep", "Keep"),
        Remove => ("remove", "Remove"),
    }
}

/// How an account reviews access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReviewSettings {
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub schedule: ReviewSchedule,
    pub dormant_days: i64,
    /// Whether dormant users are disabled automatically.
    pub disable_dormant: bool,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            schedule: ReviewSchedule::Off,
            dormant_days: DEFAULT_DORMANT_DAYS,
            disable_dormant: false,
        }
    }
}

/// One review of an account, as its lists and page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReviewSummary {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    /// Who started it; `None` when the account's schedule did.
    pub started_by: Option<String>,
    pub started_at: i64,
    pub due_at: i64,
    pub completed_at: Option<i64>,
    pub users: i64,
    pub decided: i64,
    pub removed: i64,
    pub csv_sha256: Option<String>,
    pub pdf_sha256: Option<String>,
}

impl ReviewSummary {
    /// Where it stands at `now`, in words.
    pub fn standing(&self, now: i64) -> &'static str {
        match self.completed_at {
            Some(_) => "Completed",
            None if now > self.due_at => "Overdue",
            None => "In progress",
        }
    }
}

/// One person in a review: who they were when it started, and what was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReviewItem {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: UserStatus,
    pub is_admin: bool,
    pub contact_role: Option<String>,
    pub last_sign_in_at: Option<i64>,
    /// "None", "Authenticator app", "Passkey" or both.
    pub second_factor: String,
    pub created_by: Option<String>,
    pub dormant: bool,
    pub decision: Option<String>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
}

impl ReviewItem {
    pub fn decision(&self) -> Option<Decision> {
        self.decision.as_deref().and_then(Decision::parse)
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// A review's page: the review, one page of its people, and whom the viewer may decide on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewView {
    pub review: ReviewSummary,
    pub items: super::Page<ReviewItem>,
    /// Per item of `items`, in order: why the viewer may not decide on it, `None` when they may.
    pub refusals: Vec<Option<String>>,
    pub now: i64,
}

/// An account's reviews: its settings, the review under way if any, and the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountReviews {
    pub account_id: i64,
    pub account_name: String,
    pub settings: ReviewSettings,
    pub reviews: Vec<ReviewSummary>,
    /// When the schedule starts the next review, if it does.
    pub next_due: Option<i64>,
    /// Whether the viewer may start a review and change the settings.
    pub may_manage: bool,
    pub now: i64,
}

/// A row of the staff overview: every account's review standing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReviewOverviewRow {
    pub account_id: i64,
    pub account_name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub schedule: ReviewSchedule,
    /// The review under way, if any.
    pub open_id: Option<i64>,
    pub open_due_at: Option<i64>,
    pub open_users: Option<i64>,
    pub open_decided: Option<i64>,
    pub last_completed_at: Option<i64>,
}

impl ReviewOverviewRow {
    /// Where the account stands at `now`, in words.
    pub fn standing(&self, now: i64) -> String {
        match (self.open_id, self.open_due_at) {
            (Some(_), Some(due)) if now > due => "Overdue".into(),
            (Some(_), _) => "In progress".into(),
            _ => match self.schedule.interval_days() {
                Some(days)
                    if self
                        .last_completed_at
                        .is_none_or(|at| now >= at + days * DAY) =>
                {
                    "Due".into()
                }
                _ if self.last_completed_at.is_some() => "Completed".into(),
                _ => "Never reviewed".into(),
            },
        }
    }
}

/// Whether someone whose last sign-in (or, never signed in, their creation) was at `since` is
/// dormant at `now` under a limit of `days`.
pub fn is_dormant(since: i64, now: i64, days: i64) -> bool {
    now - since > days * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dormant_means_strictly_more_days_than_the_limit() {
        assert!(!is_dormant(0, 90 * DAY, 90));
        assert!(is_dormant(0, 90 * DAY + 1, 90));
    }

    #[test]
    fn overview_standing_follows_the_schedule() {
        let row = ReviewOverviewRow {
            account_id: 1,
            account_name: "A".into(),
            schedule: ReviewSchedule::Quarterly,
            open_id: None,
            open_due_at: None,
            open_users: None,
            open_decided: None,
            last_completed_at: Some(0),
        };
        assert_eq!(row.standing(10 * DAY), "Completed");
        assert_eq!(row.standing(91 * DAY), "Due");
        let never = ReviewOverviewRow {
            schedule: ReviewSchedule::Off,
            last_completed_at: None,
            ..row.clone()
        };
        assert_eq!(never.standing(0), "Never reviewed");
        let open = ReviewOverviewRow {
            open_id: Some(3),
            open_due_at: Some(5),
            ..row
        };
        assert_eq!(open.standing(5), "In progress");
        assert_eq!(open.standing(6), "Overdue");
    }
}
