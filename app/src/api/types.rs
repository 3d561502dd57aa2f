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
