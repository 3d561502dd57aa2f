//! The data every layer shares: what crosses from server to browser, the life cycles of cases and
//! change requests, business hours, emails and the people asking. It depends on nothing above it,
//! so pages, server functions, the policy module and server operations may all use it.

/// Declares an enum whose values are stored and sent as text (a plain `Copy` value with serde's
/// derives; its own `#[serde]` attributes may follow): each variant with that text and its name
/// for people, and `ALL`, `parse`, `as_str`, `label` and `TryFrom<String>` (which sqlx's
/// `try_from` uses to read a stored value; anything else is a corrupt row) written once for all.
macro_rules! text_enum {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vattr:meta])* $variant:ident => ($text:literal, $label:literal)),+ $(,)?
        }
    ) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        $(#[$attr])*
        $vis enum $name {
            $($(#[$vattr])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The value whose text is `value`.
            pub fn parse(value: &str) -> Option<$name> {
                match value {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The text it is stored and sent as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Its name for people.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            /// Every value as (text, name) pairs, for a select field.
            pub fn choices() -> Vec<(String, String)> {
                $name::ALL
                    .iter()
                    .map(|v| (v.as_str().to_string(), v.label().to_string()))
                    .collect()
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value).ok_or_else(|| format!("unknown value {value:?}"))
            }
        }
    };
}

pub mod accounts;
pub mod attachments;
pub mod business_hours;
pub mod case_flow;
pub mod cases;
pub mod catalog;
pub mod change_flow;
pub mod changes;
pub mod communications;
pub mod domain;
pub mod flow;
pub mod forms;
pub mod home;
pub mod kb;
pub mod people;
pub mod reviews;
pub mod security;
pub mod text;

pub use accounts::*;
pub use cases::*;
pub use catalog::*;
pub use changes::*;
pub use communications::*;
pub use kb::*;
pub use people::{Actor, Role};

use serde::{Deserialize, Serialize};

/// Page size of every list.
pub const PER_PAGE: i64 = 50;

/// The last page any list shows (counts stop at 10,000 rows, 200 pages of 50): a page number beyond
/// it — or beyond what an integer holds — shows the last one instead of scanning ever deeper.
pub const MAX_PAGE: i64 = 200;

/// The page asked for, within 1..=[`MAX_PAGE`].
pub fn page_number(page: Option<i64>) -> i64 {
    page.unwrap_or(1).clamp(1, MAX_PAGE)
}

/// The signed-in person, as the app shell shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub account_id: Option<i64>,
    pub account_name: Option<String>,
    pub service_tier: Option<String>,
    pub last_sign_in_at: Option<i64>,
    /// The real identity behind an impersonation.
    pub impersonated_by: Option<String>,
    /// The IANA zone this person sees times in.
    pub time_zone: String,
}

/// One page of a list with the total count, for pagination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[cfg(feature = "ssr")]
impl<T> Page<T> {
    /// Page `page` of a list (1 when absent, at most [`MAX_PAGE`]), `per_page` rows as `rows`
    /// reads them for that page number, with the list's total.
    pub async fn fetch<F, Fut, E>(page: Option<i64>, per_page: i64, rows: F) -> Result<Page<T>, E>
    where
        F: FnOnce(i64) -> Fut,
        Fut: std::future::Future<Output = Result<(Vec<T>, i64), E>>,
    {
        let page = page_number(page);
        Ok(Page::new(rows(page).await?, page, per_page))
    }
}

impl<T> Page<T> {
    /// Page `page` of a list: the rows found on it and how many there are in all.
    pub fn new((rows, total): (Vec<T>, i64), page: i64, per_page: i64) -> Page<T> {
        Page {
            rows,
            total,
            page,
            per_page,
        }
    }

    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }
}

/// Whose invitation or reset link it is, for the page that uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub email: String,
    pub first_name: String,
    pub account_name: String,
}

/// An entry of a pick list: catalog entries, contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Choice {
    pub id: i64,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each value of each text enum reads back from its text, and an unknown text is refused (a
    /// corrupt row, not a guess).
    macro_rules! assert_round_trips {
        ($($enum:ty),+ $(,)?) => {$(
            for value in <$enum>::ALL {
                assert_eq!(<$enum>::parse(value.as_str()), Some(value));
                assert_eq!(<$enum>::try_from(value.as_str().to_string()), Ok(value));
                assert!(!value.label().is_empty());
            }
            assert!(<$enum>::try_from("frozen".to_string()).is_err());
        )+};
    }

    #[test]
    fn every_text_enum_reads_back_from_its_text() {
        use attachments::ScanState;
        use case_flow::{CaseState, Step};
        use change_flow::{ChangeState, ChangeStep};
        use reviews::{Decision, ReviewSchedule};
        assert_round_trips!(CaseState, Step, ChangeState, ChangeStep, Risk, Workaround);
        assert_round_trips!(KbVisibility, KbState, ScanState, UserStatus, ReviewSchedule);
        assert_round_trips!(Decision, SendState, SurveyLinkState, Severity);
    }

    /// States travel as JSON in the same text they are stored as.
    #[test]
    fn a_state_travels_as_its_stored_text() {
        let texts = case_flow::CaseState::ALL.map(|s| (serde_json::to_string(&s), s.as_str()));
        let more = change_flow::ChangeState::ALL.map(|s| (serde_json::to_string(&s), s.as_str()));
        for (json, text) in texts.into_iter().chain(more) {
            assert_eq!(json.unwrap(), format!("\"{text}\""));
        }
    }
}
