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
mod tests;
