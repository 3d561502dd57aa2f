//! Changing a user's access: invite, re-send or revoke an invitation, disable, re-enable, grant or
//! revoke administrator.

use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::signed_in,
    crate::policy::{self, Action, Actor, Role},
    crate::server::access::{self, Change, StaffReason},
    crate::server::invitations::{self, InvitationChange, Invite},
    crate::server::{now, request},
};

/// Staff must give a reason (and may give a case number) for every change to a customer's users;
/// customers are never asked.
#[cfg(feature = "ssr")]
pub fn reason_for(
    actor: &Actor,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<StaffReason, AppError> {
    if actor.role.is_staff() {
        access::parse_staff_reason(reason, reference)
    } else {
        Ok(StaffReason::default())
    }
}

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
    signed_in(|state, actor| async move {
        let change = match change.as_str() {
            "disable" => Change::Disable,
            "enable" => Change::Enable,
            "grant_admin" => Change::GrantAdmin,
            "revoke_admin" => Change::RevokeAdmin,
            "reset_second_factor" => Change::ResetSecondFactor,
            "sign_out_everywhere" => Change::SignOutEverywhere,
            _ => return Err(AppError::field("change", "Choose a valid change")),
        };
        let action = match (actor.role, change) {
            (Role::PlatformAdmin, _) => Action::ManageAnyAccountAdministrators,
            (
                _,
                Change::Disable
                | Change::Enable
                | Change::ResetSecondFactor
                | Change::SignOutEverywhere,
            ) => Action::ManageOwnAccountUsers,
            (_, Change::GrantAdmin | Change::RevokeAdmin) => Action::GrantAdminOwnAccount,
        };
        policy::can(&actor, action)?;
        let why = reason_for(&actor, reason, reference)?;
        let client_addr = request::current_client_addr(&state)?;
        access::apply(&state, &actor, user_id, change, &why, &client_addr, now()).await
    })
    .await
}

/// Adds a user and mails them an invitation. A customer administrator adds to their own account
/// (an `account_id` they send is ignored); a platform admin names the account and gives a reason.
#[server(endpoint = "users/invite")]
#[allow(clippy::too_many_arguments)]
pub async fn invite_user(
    first_name: String,
    last_name: String,
    email: String,
    administrator: Option<String>,
    account_id: Option<i64>,
    reason: Option<String>,
    reference: Option<String>,
    return_to: Option<String>,
    form_key: Option<String>,
) -> Result<i64, AppError> {
    signed_in(|state, actor| async move {
        policy::may_manage_users(&actor)?;
        let is_admin = administrator.is_some_and(|v| !v.is_empty() && v != "false");
        if is_admin && actor.role != Role::PlatformAdmin {
            policy::can(&actor, Action::GrantAdminOwnAccount)?;
        }
        let account_id = match actor.role {
            Role::PlatformAdmin => account_id.ok_or(AppError::NotFound)?,
            _ => actor.account_id()?,
        };
        let why = reason_for(&actor, reason, reference)?;
        let client_addr = request::current_client_addr(&state)?;
        let invite = Invite {
            first_name,
            last_name,
            email,
            is_admin,
            form_key,
        };
        let id = invitations::invite(
            &state,
            &actor,
            account_id,
            &invite,
            &why,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(&safe_return(return_to.as_deref(), "/manage?invited=1"));
        Ok(id)
    })
    .await
}

/// `change` is `resend` (a new link is mailed, the old one dies) or `revoke` (the link dies and the
/// user is disabled).
#[server(endpoint = "users/invitation")]
pub async fn change_invitation(
    user_id: i64,
    change: String,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<(), AppError> {
    signed_in(|state, actor| async move {
        policy::may_manage_users(&actor)?;
        let change = match change.as_str() {
            "resend" => InvitationChange::Resend,
            "revoke" => InvitationChange::Revoke,
            _ => return Err(AppError::field("change", "Choose a valid change")),
        };
        let why = reason_for(&actor, reason, reference)?;
        let client_addr = request::current_client_addr(&state)?;
        invitations::change_invitation(&state, &actor, user_id, change, &why, &client_addr, now())
            .await
    })
    .await
}

/// Where a form goes after success: a path of this portal, never another site.
pub fn safe_return(requested: Option<&str>, default: &str) -> String {
    match requested {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            safe_return(Some("/staff/accounts/3"), "/"),
            "/staff/accounts/3"
        );
        assert_eq!(safe_return(Some("//evil.example/"), "/x"), "/x");
        assert_eq!(safe_return(Some("https://evil.example/"), "/x"), "/x");
        assert_eq!(safe_return(Some("/\\evil.example"), "/x"), "/x");
        assert_eq!(safe_return(None, "/x"), "/x");
    }
}
