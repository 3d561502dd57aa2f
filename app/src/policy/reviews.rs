//! Who reviews whose access (access reviews): an account's administrators their own account,
//! vendor staff read every account's and a platform admin steps in for an account's only
//! administrator.

use super::{all_or_own, named_or_own, permits, Action, Actor, Scope};
use crate::error::AppError;

/// Whose access reviews `actor` reads (and whose evidence they export): a customer
/// administrator their own account's (any account sent is ignored), vendor staff the one they name.
pub fn review_account(actor: &Actor, requested: Option<i64>) -> Result<i64, AppError> {
    named_or_own(
        actor,
        requested,
        Action::ViewAnyAccount,
        Action::ReviewOwnAccountAccess,
    )
}

/// Whose reviews `actor` reads when opening one by its number: their own account's, or — vendor
/// staff — every account's.
pub fn review_scope(actor: &Actor) -> Result<Scope, AppError> {
    all_or_own(
        actor,
        Action::ViewAnyAccount,
        Action::ReviewOwnAccountAccess,
    )
}

/// Who may start an account's review or set its schedule and dormancy rule: its administrators,
/// or a platform admin for the account they name.
pub fn may_run_reviews(actor: &Actor, requested: Option<i64>) -> Result<i64, AppError> {
    named_or_own(
        actor,
        requested,
        Action::ManageCustomerAccounts,
        Action::ReviewOwnAccountAccess,
    )
}

/// The person a review decision is about, as the rules need to know them.
#[derive(Debug, Clone, Copy)]
pub struct Reviewed {
    pub user_id: i64,
    pub is_admin: bool,
    pub account_id: i64,
}

/// Whether `actor` may decide keep or remove for `subject` in an access review, given how many
/// active administrators the account has; the refusal says why, in words for the page. Nobody
/// decides on their own access; an administrator's access is decided by another administrator of
/// the account, or by a platform admin when the account has only one administrator, who then
/// decides on nobody else.
pub fn may_decide_access(
    actor: &Actor,
    subject: Reviewed,
    active_admins: i64,
) -> Result<(), String> {
    if subject.user_id == actor.user_id {
        return Err("Nobody decides on their own access: another administrator does.".into());
    }
    if actor.impersonator_id.is_some() {
        return Err("Impersonation is view-only.".into());
    }
    if permits(actor.role, Action::ReviewOwnAccountAccess) {
        return if actor.account_id == Some(subject.account_id) {
            Ok(())
        } else {
            Err("This person is not in your account.".into())
        };
    }
    if permits(actor.role, Action::ManageAnyAccountAdministrators) {
        return if subject.is_admin && active_admins <= 1 {
            Ok(())
        } else {
            Err("The account's administrators decide this; vendor staff decide only for an account's only administrator.".into())
        };
    }
    Err("Only the account's administrators decide on access.".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::policy::tests::actor;

    #[test]
    fn nobody_decides_on_their_own_access_and_staff_only_for_a_sole_administrator() {
        let admin = actor(Role::CustomerAdmin, Some(3));
        let subject = |user_id, is_admin| Reviewed {
            user_id,
            is_admin,
            account_id: 3,
        };
        assert!(may_decide_access(&admin, subject(8, false), 2).is_ok());
        assert!(
            may_decide_access(&admin, subject(8, true), 2).is_ok(),
            "another admin"
        );
        assert!(may_decide_access(&admin, subject(7, true), 2)
            .unwrap_err()
            .contains("their own access"));
        let elsewhere = Reviewed {
            account_id: 4,
            ..subject(8, false)
        };
        assert!(may_decide_access(&admin, elsewhere, 2).is_err());
        let platform = actor(Role::PlatformAdmin, None);
        assert!(may_decide_access(&platform, subject(8, true), 1).is_ok());
        assert!(may_decide_access(&platform, subject(8, true), 2).is_err());
        assert!(may_decide_access(&platform, subject(8, false), 1).is_err());
        for role in [Role::CustomerUser, Role::Agent] {
            assert!(may_decide_access(&actor(role, Some(3)), subject(8, false), 1).is_err());
        }
        let impersonated = Actor {
            impersonator_id: Some(1),
            ..admin
        };
        assert!(may_decide_access(&impersonated, subject(8, false), 2).is_err());
        assert_eq!(review_account(&admin, Some(9)), Ok(3));
        assert_eq!(review_account(&actor(Role::Agent, None), Some(9)), Ok(9));
        assert_eq!(
            may_run_reviews(&actor(Role::Agent, None), Some(9)),
            Err(AppError::Forbidden)
        );
    }
}
