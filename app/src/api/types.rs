//! Data that crosses from server to browser.

use crate::policy::Role;
use serde::{Deserialize, Serialize};

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
}

/// A row of the Manage Accounts user list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AccountUserRow {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub status: String,
    pub is_admin: bool,
    pub contact_role: Option<String>,
    pub last_sign_in_at: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<String>,
    /// Whether this row is the person looking at the list.
    pub is_self: bool,
}

/// A row of the staff console's account list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AccountSummary {
    pub id: i64,
    pub name: String,
    pub account_key: String,
    pub service_tier: String,
    pub users: i64,
    pub administrators: i64,
}

/// One page of a list with the total count, for pagination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> Page<T> {
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

/// A person referred to from an account: a contact, the TAM or the CSM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PersonRef {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub status: String,
}

/// A member of the vendor's staff, offered as TAM or CSM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StaffMember {
    pub id: i64,
    pub name: String,
}

/// One customer account as the staff account page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountDetail {
    pub id: i64,
    pub name: String,
    pub account_key: String,
    pub service_tier: String,
    pub environments: Vec<String>,
    pub tam: Option<PersonRef>,
    pub csm: Option<PersonRef>,
    pub primary_contact: Option<PersonRef>,
    pub secondary_contact: Option<PersonRef>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The account form as submitted (validated on the server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountForm {
    pub name: String,
    pub account_key: String,
    pub service_tier: String,
    /// One environment per line.
    pub environments: String,
    pub tam_user_id: Option<String>,
    pub csm_user_id: Option<String>,
}

/// What the staff account page loads at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub account: AccountDetail,
    pub staff: Vec<StaffMember>,
    pub users: Page<AccountUserRow>,
    /// Whether the viewer may change the account (platform admins) or only look (agents).
    pub can_manage: bool,
}

/// One audit-trail entry as people read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub impersonator: Option<String>,
    pub account: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub target_email: Option<String>,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub client_addr: Option<String>,
}

/// What the audit list is narrowed to. Customer administrators' account is always their own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub account_id: Option<i64>,
    /// The actor's email, exactly.
    pub actor: String,
    /// An action such as `user.disabled`, or a prefix such as `user.`.
    pub action: String,
    /// `YYYY-MM-DD`, inclusive, UTC.
    pub from: String,
    pub to: String,
}

/// One row of an uploaded user list, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ImportRow {
    pub line_no: i32,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    /// `create`, `exists` or `invalid`.
    pub outcome: String,
    pub message: Option<String>,
    pub done: bool,
}

/// A bulk import: its account, state and counts, and a page of its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportView {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub file_name: String,
    /// `previewed`, `queued`, `done` or `discarded`.
    pub status: String,
    pub to_create: i64,
    pub created: i64,
    pub existing: i64,
    pub invalid: i64,
    pub rows: Page<ImportRow>,
}

/// An entry of a pick list: catalog entries, contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Choice {
    pub id: i64,
    pub name: String,
}

/// What the customer case form offers: active catalog entries, the account's environments and
/// active users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseOptions {
    pub account_name: String,
    pub me: i64,
    pub contacts: Vec<Choice>,
    pub versions: Vec<Choice>,
    pub impacts: Vec<Choice>,
    pub features: Vec<Choice>,
    pub services: Vec<Choice>,
    pub environments: Vec<String>,
    pub windows: Vec<Choice>,
}

/// A row of a case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseSummary {
    pub number: String,
    pub subject: String,
    pub state: String,
    pub priority: i32,
    pub contact: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One entry of a case's activity stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseEntry {
    pub kind: String,
    pub author: String,
    pub body: String,
    pub at: i64,
}

/// A case as its page shows it. For a customer, `entries` never holds work notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseDetail {
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
    pub state: String,
    pub priority: i32,
    pub assignment_group: String,
    pub assigned_to: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub entries: Vec<CaseEntry>,
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
    /// Whether the person looking is vendor staff (the page then offers the staff controls).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub viewer_staff: bool,
}

/// A row of a staff queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub number: String,
    pub account: String,
    pub subject: String,
    pub state: String,
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
