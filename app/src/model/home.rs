//! What a home page shows: the work waiting for the person who signed in.

use super::case_flow::CaseState;
use super::{Choice, QueueRow};
use serde::{Deserialize, Serialize};

/// A case as a line of a home page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseLine {
    pub number: String,
    pub subject: String,
    pub state: CaseState,
    pub priority: i32,
}

/// A change request waiting for an administrator's authorization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeLine {
    pub number: String,
    pub short_description: String,
    pub created_at: i64,
}

/// A staff queue and how many cases it holds (over 10,000 is shown as such).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueCount {
    /// The queue's name in its link (`/staff/cases?queue=…`).
    pub queue: String,
    pub label: String,
    pub total: i64,
}

/// An import of users not finished yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportLine {
    pub id: i64,
    pub account: String,
    pub file_name: String,
    /// Waiting for staff to confirm its preview, or being carried out.
    pub confirmed: bool,
}

/// A customer's work: their new and open cases, those waiting for their answer, and (administrators)
/// the change requests waiting for their authorization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerWork {
    pub awaiting_you: Vec<CaseLine>,
    pub recent: Vec<CaseLine>,
    /// `None` for people who do not authorize changes.
    pub to_authorize: Option<Vec<ChangeLine>>,
}

/// A platform admin's oversight: accounts missing the people every account needs, mail that
/// could not be delivered, imports under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformWork {
    pub without_contact: Vec<Choice>,
    pub without_administrator: Vec<Choice>,
    pub failed_mails: i64,
    pub imports: Vec<ImportLine>,
}

/// Vendor staff's work: their queues with counts, their own most pressing cases, and for
/// platform admins the accounts' gaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffWork {
    pub queues: Vec<QueueCount>,
    pub mine: Vec<QueueRow>,
    pub platform: Option<PlatformWork>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HomeWork {
    Customer(CustomerWork),
    Staff(StaffWork),
}
