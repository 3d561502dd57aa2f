//! Accounts, their people, the audit trail and bulk imports as pages show them.

use super::Page;
use serde::{Deserialize, Serialize};

text_enum! {
    /// Where a customer user's access stands: invited (no password yet), active, or disabled.
    #[serde(rename_all = "snake_case")]
    pub enum UserStatus {
        Active => ("active", "Active"),
        Invited => ("invited", "Invited"),
        Disabled => ("disabled", "Disabled"),
    }
}

/// A row of the Manage Accounts user list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AccountUserRow {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: UserStatus,
    pub is_admin: bool,
    pub contact_role: Option<String>,
    pub last_sign_in_at: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<String>,
    /// Whether this row is the person looking at the list.
    pub is_self: bool,
    /// Whether they sign in with a second factor (an authenticator app).
    pub has_second_factor: bool,
    /// No sign-in (or, never signed in, no use of their invitation) for longer than the account's
    /// dormancy limit.
    pub dormant: bool,
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

/// A person referred to from an account: a contact, the TAM or the CSM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PersonRef {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: UserStatus,
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
    /// IANA time zone of the account's business hours.
    pub time_zone: String,
    /// Opening and closing time, minutes after local midnight (Monday to Friday).
    pub business_start: i32,
    pub business_end: i32,
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
    /// Business hours; absent (`None`) keeps the account's current ones (09:00–17:00 UTC for a
    /// new account).
    pub time_zone: Option<String>,
    /// `HH:MM`.
    pub business_start: Option<String>,
    pub business_end: Option<String>,
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

/// What an audit action means, in words (the stored name, e.g. `sign_in.succeeded`, stays the
/// record's key and is shown beside it); an action without words here shows its stored name.
pub fn audit_action_label(action: &str) -> &str {
    match action {
        "account.created" => "Account created",
        "account.updated" => "Account changed",
        "administrator.granted" => "Administrator rights granted",
        "administrator.revoked" => "Administrator rights revoked",
        "case.created_on_behalf" => "Case opened on the customer's behalf",
        "catalog.added" => "Catalog entry added",
        "catalog.changed" => "Catalog entry changed",
        "catalog.group_member_added" => "Added to an assignment group",
        "catalog.group_member_removed" => "Removed from an assignment group",
        "catalog.matrix_changed" => "Compatibility matrix changed",
        "catalog.sla_changed" => "Service levels changed",
        "change.authorized" => "Change request authorized",
        "change.converted" => "Case turned into a change request",
        "change.created" => "Change requested",
        "change.created_on_behalf" => "Change requested on the customer's behalf",
        "change.declined" => "Change request declined",
        "change.moved" => "Change request moved on",
        "contact.cleared" => "Contact role cleared",
        "contact.set" => "Contact role set",
        "export.audit" => "Audit trail exported",
        "export.survey_answers" => "Survey answers exported",
        "export.users" => "User list exported",
        "impersonation.started" => "Impersonation started",
        "impersonation.stopped" => "Impersonation stopped",
        "invitation.resent" => "Invitation sent again",
        "invitation.revoked" => "Invitation revoked",
        "kb.article_published" => "Article published",
        "kb.article_retired" => "Article retired",
        "kb.category_added" => "KB category added",
        "kb.version_restored" => "Article version restored",
        "notice.sent" => "Security notice sent",
        "password.changed" => "Password changed",
        "password.reset" => "Password reset",
        "password.reset_requested" => "Password reset requested",
        "scim.token_created" => "SCIM token made",
        "scim.token_revoked" => "SCIM token revoked",
        "second_factor.added" => "Authenticator app added",
        "second_factor.recovery_code_used" => "Signed in with a recovery code",
        "second_factor.recovery_codes_replaced" => "New recovery codes made",
        "second_factor.removed" => "Authenticator app removed",
        "second_factor.requirement_changed" => "Second factor requirement changed",
        "second_factor.reset" => "Second factor reset",
        "session.ended" => "Session signed out",
        "session.ended_everywhere" => "Signed out everywhere",
        "sign_in.failed" => "Sign-in failed",
        "sign_in.succeeded" => "Signed in",
        "survey.started" => "Survey started",
        "user.activated" => "User activated",
        "user.created" => "User created",
        "user.disabled" => "User disabled",
        "user.enabled" => "User re-enabled",
        "user.invited" => "User invited",
        "user.time_zone_changed" => "Time zone changed",
        "user.updated" => "User details changed",
        other => other,
    }
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

#[cfg(test)]
mod audit_label_tests {
    use super::audit_action_label;

    #[test]
    fn audit_actions_read_as_words() {
        assert_eq!(audit_action_label("sign_in.succeeded"), "Signed in");
        assert_eq!(audit_action_label("user.disabled"), "User disabled");
        // Something recorded later than these words still shows what it is.
        assert_eq!(audit_action_label("future.thing"), "future.thing");
    }
}
