//! Security notices and satisfaction surveys as staff and recipients see them.

use serde::{Deserialize, Serialize};

text_enum! {
    /// Whether a notice or survey round is still a draft or has gone out.
    #[serde(rename_all = "snake_case")]
    pub enum SendState {
        Draft => ("draft", "Draft"),
        Sent => ("sent", "Sent"),
    }
}

text_enum! {
    /// Where a personal survey link stands.
    #[serde(rename_all = "snake_case")]
    pub enum SurveyLinkState {
        Open => ("open", "Open"),
        Answered => ("answered", "Answered"),
        Expired => ("expired", "Expired"),
    }
}

text_enum! {
    /// How serious a security notice is.
    #[serde(rename_all = "snake_case")]
    pub enum Severity {
        Low => ("low", "Low"),
        Medium => ("medium", "Medium"),
        High => ("high", "High"),
        Critical => ("critical", "Critical"),
    }
}

/// A person a notice or survey goes (or went) to, and what became of their mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Recipient {
    pub account_id: i64,
    pub account: String,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    /// "primary contact", "secondary contact", "administrator", joined with ", ".
    pub roles: String,
    /// `queued`, `sent` or `failed` once sent; empty in a preview.
    pub delivery: String,
}

/// An account of the audience with no contact to write to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Gap {
    pub account_id: i64,
    pub account: String,
}

/// A security notice: a draft with its audience resolved now, or a sent one with the audience
/// as it was resolved when sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeDetail {
    pub id: i64,
    pub subject: String,
    pub body_html: String,
    pub severity: String,
    pub audience: String,
    pub include_admins: bool,
    pub state: SendState,
    pub created_by: String,
    pub created_at: i64,
    pub sent_by: Option<String>,
    pub sent_at: Option<i64>,
    pub recipients: Vec<Recipient>,
    pub gaps: Vec<Gap>,
    /// Staff see the audience and delivery; a recipient sees the notice.
    pub staff_view: bool,
}

/// A notice or survey round in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CommunicationSummary {
    pub id: i64,
    pub title: String,
    pub detail: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub state: SendState,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub recipients: i64,
}

/// What staff see on the communications page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Communications {
    pub notices: Vec<CommunicationSummary>,
    pub surveys: Vec<CommunicationSummary>,
    /// Accounts to pick from: id, name, service tier.
    pub accounts: Vec<(i64, String, String)>,
}

/// Scores of one group of answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub label: String,
    pub invited: i64,
    pub answered: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// % promoters − % detractors, rounded; `None` without answers.
    pub nps: Option<i64>,
}

/// A survey round: a draft with its audience resolved now, or the report of a sent one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyDetail {
    pub id: i64,
    pub name: String,
    pub audience: String,
    pub state: SendState,
    pub expires_days: i64,
    pub created_by: String,
    pub sent_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub recipients: Vec<Recipient>,
    pub gaps: Vec<Gap>,
    pub total: Score,
    pub accounts: Vec<Score>,
    /// How many answered 0, 1, … 10.
    pub distribution: Vec<i64>,
}

/// What a personal survey link leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyLink {
    pub state: SurveyLinkState,
    pub first_name: String,
    pub account: String,
}
