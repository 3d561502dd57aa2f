//! The people who ask: their role and, as the session says, who they are.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    CustomerUser,
    CustomerAdmin,
    Agent,
    PlatformAdmin,
}

impl Role {
    /// Derives the effective role from the stored user kind and administrator flag.
    pub fn from_stored(kind: &str, is_admin: bool) -> Option<Role> {
        match (kind, is_admin) {
            ("customer", false) => Some(Role::CustomerUser),
            ("customer", true) => Some(Role::CustomerAdmin),
            ("agent", _) => Some(Role::Agent),
            ("platform_admin", _) => Some(Role::PlatformAdmin),
            _ => None,
        }
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::PlatformAdmin)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::CustomerUser => "Customer user",
            Role::CustomerAdmin => "Customer administrator",
            Role::Agent => "Support agent",
            Role::PlatformAdmin => "Platform administrator",
        }
    }
}

/// Who is asking: the signed-in user as the session says, never as the request says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    /// The customer account of a customer user; `None` for vendor staff.
    pub account_id: Option<i64>,
    /// The platform admin behind an impersonation, when there is one.
    pub impersonator_id: Option<i64>,
}

impl Actor {
    /// The tenant of a customer user. Staff have none, so customer-scoped code refuses them.
    pub fn account_id(&self) -> Result<i64, AppError> {
        self.account_id.ok_or(AppError::Forbidden)
    }
}
