//! The one place that decides who may do what: the SPEC §1.1 permission matrix, deny by default.
//!
//! Every server function and every page that loads data asks `can(actor, action)` before it touches
//! data. The UI also uses `permits` to hide what a role cannot do, but hiding is never the check.

use crate::error::AppError;
use crate::model::change_flow::ChangeMover;
use crate::model::kb::Clearance;
pub use crate::model::people::{Actor, Role};

mod files;
mod reviews;
pub use files::*;
pub use reviews::*;

/// Every action of the §1.1 matrix. "On behalf" variants are separate actions because the rules
/// around them (recorded authorization, the contact told) differ from the customer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Present credentials. Anyone may try, signed in or not.
    SignIn,
    /// Change own password, sign out.
    ManageOwnSession,
    CreateCaseForOwnAccount,
    CreateCaseOnBehalf,
    ViewOwnAccountCases,
    ViewAllAccountsCases,
    SeeInternalNotes,
    EditStaffCaseFields,
    /// Carry change requests through assessment, scheduling, implementation and review.
    WorkChangeRequests,
    CreateChangeForOwnAccount,
    CreateChangeOnBehalf,
    AuthorizeChangeOnBehalf,
    ConvertChangeToCase,
    ReadPublicKb,
    ReadCustomerKb,
    ReadInternalKb,
    WriteKb,
    /// Manage Accounts page: list, create, disable, re-enable users of the actor's own account.
    ManageOwnAccountUsers,
    GrantAdminOwnAccount,
    ExportOwnAccountUsersAndAudit,
    /// See and export any account's users and trail (the staff console).
    ViewAnyAccount,
    ManageCustomerAccounts,
    ManageAnyAccountAdministrators,
    BulkCreateUsers,
    Impersonate,
    ManageCatalog,
    SendCommunications,
    /// Read the security notices sent to oneself.
    ReadOwnNotices,
    /// Answer a survey through its personal link (the link is the credential; no sign-in).
    AnswerSurveyByLink,
    /// Read the replies by mail held for review, and accept or discard them.
    ReviewHeldMail,
    /// Decide how vendor staff sign in (require a second factor of all staff).
    ManageStaffSignIn,
    /// Review who in one's own account keeps access: start a review, decide on each person, set
    /// the account's review schedule and dormancy rule.
    ReviewOwnAccountAccess,
    /// Remind an account's administrators of a review under way.
    RemindAccessReviews,
}

impl Action {
    pub const ALL: [Action; 33] = [
        Action::SignIn,
        Action::ManageOwnSession,
        Action::CreateCaseForOwnAccount,
        Action::CreateCaseOnBehalf,
        Action::ViewOwnAccountCases,
        Action::ViewAllAccountsCases,
        Action::SeeInternalNotes,
        Action::EditStaffCaseFields,
        Action::WorkChangeRequests,
        Action::CreateChangeForOwnAccount,
        Action::CreateChangeOnBehalf,
        Action::AuthorizeChangeOnBehalf,
        Action::ConvertChangeToCase,
        Action::ReadPublicKb,
        Action::ReadCustomerKb,
        Action::ReadInternalKb,
        Action::WriteKb,
        Action::ManageOwnAccountUsers,
        Action::GrantAdminOwnAccount,
        Action::ExportOwnAccountUsersAndAudit,
        Action::ViewAnyAccount,
        Action::ManageCustomerAccounts,
        Action::ManageAnyAccountAdministrators,
        Action::BulkCreateUsers,
        Action::Impersonate,
        Action::ManageCatalog,
        Action::SendCommunications,
        Action::ReadOwnNotices,
        Action::AnswerSurveyByLink,
        Action::ReviewHeldMail,
        Action::ManageStaffSignIn,
        Action::ReviewOwnAccountAccess,
        Action::RemindAccessReviews,
    ];
}

/// The matrix itself. A `match` with no wildcard arm: adding an action forces a decision here.
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    let customer = matches!(role, CustomerUser | CustomerAdmin);
    let admin = role == CustomerAdmin;
    let staff = role.is_staff();
    let platform = role == PlatformAdmin;
    match action {
        SignIn | ManageOwnSession | ReadPublicKb | ReadCustomerKb => true,
        ReadOwnNotices | AnswerSurveyByLink => true,
        CreateCaseForOwnAccount | ViewOwnAccountCases | CreateChangeForOwnAccount => customer,
        CreateCaseOnBehalf | ViewAllAccountsCases | SeeInternalNotes | EditStaffCaseFields => staff,
        WorkChangeRequests | ConvertChangeToCase | ReadInternalKb | WriteKb => staff,
        ViewAnyAccount | SendCommunications | ReviewHeldMail => staff,
        CreateChangeOnBehalf => platform,
        AuthorizeChangeOnBehalf | ManageOwnAccountUsers | GrantAdminOwnAccount => admin,
        ExportOwnAccountUsersAndAudit | ReviewOwnAccountAccess => admin,
        RemindAccessReviews => staff,
        ManageCustomerAccounts | ManageAnyAccountAdministrators | BulkCreateUsers => platform,
        Impersonate | ManageCatalog | ManageStaffSignIn => platform,
    }
}

/// What anonymous visitors may do: sign in, read public knowledge-base articles and answer a
/// survey with its personal link; nothing else.
pub fn permits_anonymous(action: Action) -> bool {
    matches!(
        action,
        Action::SignIn | Action::ReadPublicKb | Action::AnswerSurveyByLink
    )
}

/// The check every server function makes before it touches data.
pub fn can(actor: &Actor, action: Action) -> Result<(), AppError> {
    if permits(actor.role, action) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The same check for a request that may be anonymous: no session is `Unauthorized`, not `Forbidden`.
pub fn can_maybe(actor: Option<&Actor>, action: Action) -> Result<(), AppError> {
    match actor {
        Some(actor) => can(actor, action),
        None if permits_anonymous(action) => Ok(()),
        None => Err(AppError::Unauthorized),
    }
}

/// How far into the knowledge base `actor` (or an anonymous visitor) reads: everyone may read
/// public articles, signed-in customers customer-only ones too, staff every article.
pub fn kb_clearance(actor: Option<&Actor>) -> Result<Clearance, AppError> {
    can_maybe(actor, Action::ReadPublicKb)?;
    Ok(match actor {
        Some(a) if permits(a.role, Action::ReadInternalKb) => Clearance::Internal,
        Some(a) if permits(a.role, Action::ReadCustomerKb) => Clearance::Customers,
        _ => Clearance::Public,
    })
}

/// Whose cases and change requests a person reads: one customer account's, or — vendor staff —
/// every account's. Decided here from the session, never from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account(i64),
    AllAccounts,
}

impl Scope {
    /// The one account, or `None` for every account (bound as SQL NULL: `$n IS NULL OR …`).
    pub fn account(self) -> Option<i64> {
        match self {
            Scope::Account(id) => Some(id),
            Scope::AllAccounts => None,
        }
    }
}

/// Who may read cases and change requests, and of which account.
pub fn reading_scope(actor: &Actor) -> Result<Scope, AppError> {
    all_or_own(
        actor,
        Action::ViewAllAccountsCases,
        Action::ViewOwnAccountCases,
    )
}

/// What an act reaches: every account for vendor staff (who need `staff`), a customer's own
/// account for a customer (who needs `own`).
fn all_or_own(actor: &Actor, staff: Action, own: Action) -> Result<Scope, AppError> {
    if actor.role.is_staff() {
        can(actor, staff)?;
        Ok(Scope::AllAccounts)
    } else {
        can(actor, own)?;
        Ok(Scope::Account(actor.account_id()?))
    }
}

/// The account an act is for: the one vendor staff name (they need `staff`), or a customer's own
/// whatever they send (they need `own`).
fn named_or_own(
    actor: &Actor,
    requested: Option<i64>,
    staff: Action,
    own: Action,
) -> Result<i64, AppError> {
    if actor.role.is_staff() {
        can(actor, staff)?;
        requested.ok_or(AppError::NotFound)
    } else {
        can(actor, own)?;
        actor.account_id()
    }
}

/// Who may say who hears about a case of `account_id` by mail (add watchers, take them off): the
/// account's own users — colleagues add each other — and vendor staff. Another account's case
/// does not exist for a customer.
pub fn may_change_watchers(actor: &Actor, account_id: i64) -> Result<(), AppError> {
    match reading_scope(actor)? {
        Scope::AllAccounts => Ok(()),
        Scope::Account(own) if own == account_id => Ok(()),
        Scope::Account(_) => Err(AppError::NotFound),
    }
}

/// Who may follow a case of `account_id`, or stop: a user of that account, for themself.
pub fn may_follow(actor: &Actor, account_id: i64) -> Result<(), AppError> {
    can(actor, Action::ViewOwnAccountCases)?;
    if actor.account_id()? == account_id {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// What is being filed: a support case or a change request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filing {
    Case,
    Change,
}

/// The account a new case or change request is filed for: a customer's own (whatever they send),
/// or the one vendor staff name when filing on a customer's behalf.
pub fn filing_account(
    actor: &Actor,
    filing: Filing,
    requested: Option<i64>,
) -> Result<i64, AppError> {
    let (own, on_behalf) = match filing {
        Filing::Case => (Action::CreateCaseForOwnAccount, Action::CreateCaseOnBehalf),
        Filing::Change => (
            Action::CreateChangeForOwnAccount,
            Action::CreateChangeOnBehalf,
        ),
    };
    named_or_own(actor, requested, on_behalf, own)
}

/// Managing a customer's users: a platform admin any account's, a customer administrator their own.
pub fn may_manage_users(actor: &Actor) -> Result<(), AppError> {
    match actor.role {
        Role::PlatformAdmin => can(actor, Action::ManageAnyAccountAdministrators),
        _ => can(actor, Action::ManageOwnAccountUsers),
    }
}

/// Moving change requests at all: staff through the workflow, customer administrators to authorize
/// or decline. Which request and which step is [`change_mover`]'s and the workflow's to decide.
pub fn may_move_changes(actor: &Actor) -> Result<(), AppError> {
    if actor.role.is_staff() {
        can(actor, Action::WorkChangeRequests)
    } else {
        can(actor, Action::AuthorizeChangeOnBehalf)
    }
}

/// Whether `actor` may authorize or decline a change request of `account_id`: an administrator of
/// that account — the one named, if one was — speaking for themselves (not impersonated).
pub fn may_authorize_change(actor: &Actor, account_id: i64, authorizer_id: Option<i64>) -> bool {
    permits(actor.role, Action::AuthorizeChangeOnBehalf)
        && actor.account_id == Some(account_id)
        && actor.impersonator_id.is_none()
        && authorizer_id.is_none_or(|id| id == actor.user_id)
}

/// In which capacity `actor` moves a change request of `account_id`, if at all.
pub fn change_mover(
    actor: &Actor,
    account_id: i64,
    authorizer_id: Option<i64>,
) -> Option<ChangeMover> {
    if permits(actor.role, Action::WorkChangeRequests) {
        Some(ChangeMover::Staff)
    } else if may_authorize_change(actor, account_id, authorizer_id) {
        Some(ChangeMover::CustomerAdmin)
    } else {
        None
    }
}

/// Server functions an impersonating platform admin may call. Impersonation (SPEC §3.5) exists to
/// see what a person sees: reading, and ending the impersonation. Everything else changes something
/// in the person's name and is refused — a server function not listed here is refused too, so a new
/// one is view-only-safe until it is deliberately listed.
pub const READ_WHILE_IMPERSONATING: &[&str] = &[
    "auth/me",
    "auth/link",
    "auth/sign_out",
    "staff/stop_impersonating",
    "cases/options",
    "cases/list",
    "cases/get",
    "cases/queue",
    "cases/staff_options",
    "changes/options",
    "changes/list",
    "changes/get",
    "kb/home",
    "kb/search",
    "kb/suggest",
    "kb/article",
    "kb/preview",
    "kb/editor",
    "kb/list",
    "audit/list",
    "catalog/matrix",
    "catalog/admin",
    "accounts/my_users",
    "accounts/second_factor_rule",
    "accounts/list",
    "accounts/get",
    "accounts/staff",
    "communications/overview",
    "notices/get",
    "notices/mine",
    "surveys/get",
    "nps/link",
    "imports/get",
    "reviews/account",
    "reviews/get",
    "reviews/overview",
];

/// Whether an impersonation session may call server function `endpoint` (its path after `/api/`);
/// a refusal names the staff tool that does the same thing on the record.
pub fn allowed_while_impersonating(endpoint: &str) -> Result<(), AppError> {
    if READ_WHILE_IMPERSONATING.contains(&endpoint) {
        return Ok(());
    }
    let area = endpoint.split('/').next().unwrap_or_default();
    let instead = match area {
        "cases" => {
            "To open or update a case for this customer, stop impersonating and use \"Open a case\" \
             on the account's page in the staff console, or work the case from the staff queues."
        }
        "changes" => {
            "To request a change for this account, stop impersonating and raise it on the account's \
             behalf from its page in the staff console; its administrators then authorize it."
        }
        "users" | "accounts" | "imports" => {
            "To change who has access, stop impersonating and use the account's page in the staff \
             console, where your reason is recorded."
        }
        _ => "Stop impersonating to act as yourself.",
    };
    Err(AppError::ViewOnly(format!(
        "Impersonation is view-only: nothing can be changed in this person's name. {instead}"
    )))
}

#[cfg(test)]
mod tests {
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
}
