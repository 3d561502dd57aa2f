//! The permission matrix and the named rules, checked row by row and rule by rule.

use super::*;
use Action::*;

/// SPEC §1.1, row by row: (action, customer user, customer admin, agent, platform admin).
/// "On behalf" cells are `true` in the on-behalf action's row and `false` in the own-account one.
const MATRIX: &[(Action, bool, bool, bool, bool)] = &[
    (SignIn, true, true, true, true),
    (ManageOwnSession, true, true, true, true),
    (CreateCaseForOwnAccount, true, true, false, false),
    (CreateCaseOnBehalf, false, false, true, true),
    (ViewOwnAccountCases, true, true, false, false),
    (ViewAllAccountsCases, false, false, true, true),
    (SeeInternalNotes, false, false, true, true),
    (EditStaffCaseFields, false, false, true, true),
    (WorkChangeRequests, false, false, true, true),
    (CreateChangeForOwnAccount, true, true, false, false),
    (CreateChangeOnBehalf, false, false, false, true),
    (AuthorizeChangeOnBehalf, false, true, false, false),
    (ConvertChangeToCase, false, false, true, true),
    (ReadPublicKb, true, true, true, true),
    (ReadCustomerKb, true, true, true, true),
    (ReadInternalKb, false, false, true, true),
    (WriteKb, false, false, true, true),
    (ManageOwnAccountUsers, false, true, false, false),
    (GrantAdminOwnAccount, false, true, false, false),
    (ExportOwnAccountUsersAndAudit, false, true, false, false),
    (ViewAnyAccount, false, false, true, true),
    (ManageCustomerAccounts, false, false, false, true),
    (ManageAnyAccountAdministrators, false, false, false, true),
    (BulkCreateUsers, false, false, false, true),
    (Impersonate, false, false, false, true),
    (ManageCatalog, false, false, false, true),
    (SendCommunications, false, false, true, true),
    (ReadOwnNotices, true, true, true, true),
    (AnswerSurveyByLink, true, true, true, true),
    (ReviewHeldMail, false, false, true, true),
    (ManageStaffSignIn, false, false, false, true),
    (ReviewOwnAccountAccess, false, true, false, false),
    (RemindAccessReviews, false, false, true, true),
];

#[test]
fn matrix_covers_every_action_exactly_once() {
    for action in Action::ALL {
        let rows = MATRIX.iter().filter(|row| row.0 == action).count();
        assert_eq!(rows, 1, "{action:?} must appear once in the table");
    }
    assert_eq!(MATRIX.len(), Action::ALL.len());
}

#[test]
fn permits_matches_the_spec_matrix() {
    for &(action, user, admin, agent, platform) in MATRIX {
        for (role, expected) in [
            (Role::CustomerUser, user),
            (Role::CustomerAdmin, admin),
            (Role::Agent, agent),
            (Role::PlatformAdmin, platform),
        ] {
            assert_eq!(
                permits(role, action),
                expected,
                "{role:?} × {action:?} should be {expected}"
            );
        }
    }
}

#[test]
fn anonymous_may_only_sign_in_read_public_articles_and_answer_surveys() {
    for action in Action::ALL {
        assert_eq!(
            can_maybe(None, action).is_ok(),
            matches!(action, SignIn | ReadPublicKb | AnswerSurveyByLink),
            "anonymous × {action:?}"
        );
    }
    assert_eq!(
        can_maybe(None, ManageOwnAccountUsers),
        Err(AppError::Unauthorized)
    );
}

#[test]
fn refusal_is_forbidden_and_staff_have_no_tenant() {
    let agent = Actor {
        user_id: 1,
        role: Role::Agent,
        account_id: None,
        impersonator_id: None,
    };
    assert_eq!(can(&agent, ManageOwnAccountUsers), Err(AppError::Forbidden));
    assert_eq!(agent.account_id(), Err(AppError::Forbidden));
}

#[test]
fn impersonation_allows_reading_and_names_the_staff_tool_for_changes() {
    assert!(allowed_while_impersonating("cases/get").is_ok());
    assert!(allowed_while_impersonating("staff/stop_impersonating").is_ok());
    let refused = |endpoint| match allowed_while_impersonating(endpoint) {
        Err(AppError::ViewOnly(message)) => message,
        other => panic!("{endpoint}: {other:?}"),
    };
    assert!(refused("cases/create").contains("Open a case"));
    assert!(refused("changes/create").contains("on the account's"));
    assert!(refused("users/access").contains("reason is recorded"));
    assert!(refused("auth/change_password").contains("Stop impersonating"));
    assert!(refused("something/new").contains("view-only"));
}

/// A person of `role` (user 7), of `account`.
pub(super) fn actor(role: Role, account: Option<i64>) -> Actor {
    Actor {
        user_id: 7,
        role,
        account_id: account,
        impersonator_id: None,
    }
}

#[test]
fn customers_read_their_own_account_and_staff_every_account() {
    let user = actor(Role::CustomerUser, Some(3));
    assert_eq!(reading_scope(&user), Ok(Scope::Account(3)));
    assert_eq!(reading_scope(&user).unwrap().account(), Some(3));
    let agent = actor(Role::Agent, None);
    assert_eq!(reading_scope(&agent), Ok(Scope::AllAccounts));
    assert_eq!(Scope::AllAccounts.account(), None);
}

#[test]
fn customers_file_for_their_own_account_whatever_they_send() {
    let user = actor(Role::CustomerUser, Some(3));
    assert_eq!(filing_account(&user, Filing::Case, Some(9)), Ok(3));
    assert_eq!(filing_account(&user, Filing::Change, None), Ok(3));
    let agent = actor(Role::Agent, None);
    assert_eq!(filing_account(&agent, Filing::Case, Some(9)), Ok(9));
    assert_eq!(
        filing_account(&agent, Filing::Case, None),
        Err(AppError::NotFound)
    );
    // Only platform admins raise change requests on a customer's behalf.
    assert_eq!(
        filing_account(&agent, Filing::Change, Some(9)),
        Err(AppError::Forbidden)
    );
    let platform = actor(Role::PlatformAdmin, None);
    assert_eq!(filing_account(&platform, Filing::Change, Some(9)), Ok(9));
}

#[test]
fn only_the_accounts_own_named_unimpersonated_administrator_authorizes() {
    let admin = actor(Role::CustomerAdmin, Some(3));
    assert!(may_authorize_change(&admin, 3, None));
    assert!(may_authorize_change(&admin, 3, Some(7)));
    assert!(
        !may_authorize_change(&admin, 3, Some(8)),
        "another administrator was named"
    );
    assert!(
        !may_authorize_change(&admin, 4, None),
        "another account's request"
    );
    assert!(!may_authorize_change(
        &actor(Role::CustomerUser, Some(3)),
        3,
        None
    ));
    let impersonated = Actor {
        impersonator_id: Some(1),
        ..admin.clone()
    };
    assert!(!may_authorize_change(&impersonated, 3, None));
    assert_eq!(
        change_mover(&admin, 3, None),
        Some(ChangeMover::CustomerAdmin)
    );
    assert_eq!(
        change_mover(&actor(Role::Agent, None), 3, None),
        Some(ChangeMover::Staff)
    );
    assert_eq!(
        change_mover(&actor(Role::CustomerUser, Some(3)), 3, None),
        None
    );
    assert!(may_move_changes(&actor(Role::Agent, None)).is_ok());
    assert!(may_move_changes(&admin).is_ok());
    assert_eq!(
        may_move_changes(&actor(Role::CustomerUser, Some(3))),
        Err(AppError::Forbidden)
    );
}

#[test]
fn stored_roles_map_to_effective_roles() {
    assert_eq!(
        Role::from_stored("customer", false),
        Some(Role::CustomerUser)
    );
    assert_eq!(
        Role::from_stored("customer", true),
        Some(Role::CustomerAdmin)
    );
    assert_eq!(Role::from_stored("agent", false), Some(Role::Agent));
    assert_eq!(
        Role::from_stored("platform_admin", false),
        Some(Role::PlatformAdmin)
    );
    assert_eq!(Role::from_stored("root", true), None);
}
