//! Support cases as pages show them: the form's choices, lists, the case page and staff queues.

use super::case_flow::CaseState;
use super::Choice;
use serde::{Deserialize, Serialize};

text_enum! {
    /// Whether a workaround or rollback is available; "yes" lowers a case's priority one step.
    #[serde(rename_all = "snake_case")]
    pub enum Workaround {
        Yes => ("yes", "Yes"),
        No => ("no", "No"),
        Unknown => ("unknown", "Unknown"),
    }
}

/// What the customer case form offers: active catalog entries, the account's environments and
/// active users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseOptions {
    pub account_name: String,
    /// The person filling in the form, preselected as contact (`None` for staff).
    pub me: Option<i64>,
    pub contacts: Vec<Choice>,
    pub versions: Vec<Choice>,
    pub impacts: Vec<Choice>,
    pub features: Vec<Choice>,
    pub services: Vec<Choice>,
    pub environments: Vec<String>,
    pub windows: Vec<Choice>,
    /// The largest file one may attach, in bytes.
    #[serde(default)]
    pub file_limit: i64,
}

/// A row of a case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseSummary {
    pub number: String,
    pub subject: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub state: CaseState,
    pub priority: i32,
    pub contact: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Seconds left to the resolution target; `None` when its clock no longer runs.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub resolution_left: Option<i64>,
}

/// One entry of a case's activity stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseEntry {
    pub id: i64,
    pub kind: String,
    pub author: String,
    pub body: String,
    pub at: i64,
    /// `body` rendered from Markdown and sanitized on the server.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub body_html: String,
}

/// A case as its page shows it. For a customer, `entries` never holds work notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseDetail {
    /// The row id (the server's own, never sent).
    #[serde(skip)]
    pub id: i64,
    /// The account's id (the server's own, never sent).
    #[serde(skip)]
    pub account_id: i64,
    pub number: String,
    pub account: String,
    pub contact: String,
    pub created_by: String,
    pub on_behalf: bool,
    pub version: String,
    pub impact: String,
    pub workaround: String,
    pub feature: String,
    pub service: String,
    pub environment: String,
    pub availability: String,
    pub subject: String,
    pub description: String,
    /// `description` rendered from Markdown and sanitized on the server.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub description_html: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub state: CaseState,
    pub priority: i32,
    pub assignment_group: String,
    pub assigned_to: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub entries: Vec<CaseEntry>,
    /// The files the person looking may see (a customer never receives staff-only ones).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub attachments: Vec<crate::model::attachments::Attachment>,
    /// Seconds left to the first-response target; `None` once it was met or no longer runs.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub first_response_left: Option<i64>,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub resolution_left: Option<i64>,
    /// The targets of the case's priority, in seconds.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub first_response_target: i64,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub resolution_target: i64,
    pub priority_reason: Option<String>,
    /// The change request this case was made from.
    pub from_change: Option<String>,
    /// Whether the person looking is vendor staff (the page then offers the staff controls).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub viewer_staff: bool,
    /// The largest file one may attach, in bytes.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub file_limit: i64,
    /// Who hears about the case by mail.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub followers: CaseFollowers,
}

/// Who hears about a case by mail, as the person looking sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseFollowers {
    /// The contact (first) and the watchers who get the case's mails.
    pub people: Vec<Follower>,
    /// Whether the person looking gets them; `None` for someone who cannot follow (staff).
    pub me: Option<bool>,
    /// Colleagues the person looking may add as watchers (active users of the case's account
    /// who do not follow it yet); empty when they may add nobody, or there are too many to list.
    pub choices: Vec<Choice>,
    /// There are too many colleagues to list: the form asks for an address instead.
    pub ask_address: bool,
}

/// One person who gets a case's mails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Follower {
    pub user_id: i64,
    pub name: String,
    pub contact: bool,
    /// Whether the person looking may take them off (a watcher; not the contact).
    pub removable: bool,
}

/// A reply by mail held for staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldMail {
    pub id: i64,
    pub received_at: i64,
    pub from: String,
    pub subject: String,
    pub reason: String,
    /// The case its reply address names.
    pub case: Option<String>,
    /// Its own words (quotes left out), shortened.
    pub text: String,
    /// Whether it may become a comment: it comes from the person its reply address was given to.
    pub acceptable: bool,
}

/// A row of a staff queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub number: String,
    pub account: String,
    pub subject: String,
    pub state: CaseState,
    pub priority: i32,
    pub assignee: Option<String>,
    pub created_at: i64,
    /// Seconds left to the resolution target; `None` when its clock no longer runs.
    pub resolution_left: Option<i64>,
}

/// The compatibility matrix: which features each active version offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub versions: Vec<Choice>,
    /// Each active feature with, per version above, whether it is available.
    pub features: Vec<(Choice, Vec<bool>)>,
}
