//! Changing a user's access: disable, re-enable, grant or revoke administrator.

use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::respond,
    crate::policy::{self, Action, Role},
    crate::server::access::{self, Change, StaffReason},
    crate::server::{now, request, session, state::state},
};

/// `change` is one of `disable`, `enable`, `grant_admin`, `revoke_admin`. Customer administrators
/// act on their own account's users; platform admins on any account's, with a reason (and
/// optionally a case number) that goes into the audit trail.
#[server(endpoint = "users/access")]
pub async fn change_access(
    user_id: i64,
    change: String,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<(), AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        let change = match change.as_str() {
            "disable" => Change::Disable,
            "enable" => Change::Enable,
            "grant_admin" => Change::GrantAdmin,
            "revoke_admin" => Change::RevokeAdmin,
            _ => return Err(AppError::field("change", "Choose a valid change")),
        };
        let action = match (actor.role, change) {
            (Role::PlatformAdmin, _) => Action::ManageAnyAccountAdministrators,
            (_, Change::Disable | Change::Enable) => Action::ManageOwnAccountUsers,
            (_, Change::GrantAdmin | Change::RevokeAdmin) => Action::GrantAdminOwnAccount,
        };
        policy::can(&actor, action)?;
        let why = if actor.role.is_staff() {
            access::parse_staff_reason(reason, reference)?
        } else {
            StaffReason::default()
        };
        let parts = request::parts().ok_or(AppError::Internal)?;
        let client_addr = request::client_addr(&parts, &state);
        access::apply(&state, &actor, user_id, change, &why, &client_addr, now()).await
    })
    .await
}
