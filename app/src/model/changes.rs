//! Change requests as pages show them.

use super::change_flow::ChangeState;
use super::Choice;
use serde::{Deserialize, Serialize};

text_enum! {
    /// The risk a change request carries, as its requester judges it.
    #[serde(rename_all = "snake_case")]
    pub enum Risk {
        Low => ("low", "Low"),
        Medium => ("medium", "Medium"),
        High => ("high", "High"),
    }
}

/// What the change-request form offers for an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeOptions {
    pub account_name: String,
    /// Only managed-tier accounts can file change requests.
    pub managed: bool,
    pub environments: Vec<String>,
    /// Active users of the account, who can be the requester.
    pub contacts: Vec<Choice>,
    /// Active administrators, who can authorize a CR raised on the account's behalf.
    pub administrators: Vec<Choice>,
    /// The statement the requester agrees to.
    pub statement: String,
    /// The person filling in the form (`None` for staff).
    pub me: Option<i64>,
    /// The largest file one may attach, in bytes.
    #[serde(default)]
    pub file_limit: i64,
}

/// Who authorized a change request, when, from where and with which words. Never edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authorization {
    pub by: String,
    pub at: i64,
    pub from: String,
    pub text: String,
}

/// A row of a change-request list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChangeSummary {
    pub number: String,
    pub account: String,
    pub short_description: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub state: ChangeState,
    pub requested_by: String,
    pub window_start: i64,
    pub created_at: i64,
}

/// One entry of a change request's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChangeEntry {
    pub kind: String,
    pub author: String,
    pub body: String,
    pub at: i64,
}

/// A change request as its page shows it. For a customer, `entries` holds no staff notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChangeDetail {
    pub number: String,
    pub account_id: i64,
    pub account: String,
    pub requested_by: String,
    pub created_by: String,
    pub on_behalf: bool,
    pub authorizer: Option<String>,
    pub environment: String,
    pub short_description: String,
    pub description: String,
    pub reason: String,
    pub affects_capacity: bool,
    pub affects_performance: bool,
    pub affects_cost: bool,
    pub affects_security: bool,
    pub risk: String,
    pub window_start: i64,
    pub window_end: i64,
    pub rollback_plan: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub state: ChangeState,
    pub scheduled_start: Option<i64>,
    pub scheduled_end: Option<i64>,
    pub implementer: Option<String>,
    /// The case a mistaken CR became.
    pub converted_case: Option<String>,
    pub created_at: i64,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub authorization: Option<Authorization>,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub entries: Vec<ChangeEntry>,
    /// What the person looking may do now (`change_flow::ChangeStep` names).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub steps: Vec<String>,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub viewer_staff: bool,
    /// The files that came with the request (for who may see it).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub attachments: Vec<crate::model::attachments::Attachment>,
    /// The largest file one may attach, in bytes.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub file_limit: i64,
}
