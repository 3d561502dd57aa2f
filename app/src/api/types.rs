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
    /// The IANA zone this person sees times in.
    pub time_zone: String,
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

/// A person referred to from an account: a contact, the TAM or the CSM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PersonRef {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub status: String,
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

/// An entry of a pick list: catalog entries, contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Choice {
    pub id: i64,
    pub name: String,
}

/// What the customer case form offers: active catalog entries, the account's environments and
/// active users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseOptions {
    pub account_name: String,
    pub me: i64,
    pub contacts: Vec<Choice>,
    pub versions: Vec<Choice>,
    pub impacts: Vec<Choice>,
    pub features: Vec<Choice>,
    pub services: Vec<Choice>,
    pub environments: Vec<String>,
    pub windows: Vec<Choice>,
}

/// A row of a case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseSummary {
    pub number: String,
    pub subject: String,
    pub state: String,
    pub priority: i32,
    pub contact: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Seconds left to the resolution target; `None` when its clock no longer runs.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub resolution_left: Option<i64>,
}

/// One entry of a case's activity stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseEntry {
    pub kind: String,
    pub author: String,
    pub body: String,
    pub at: i64,
    /// `body` rendered from Markdown and sanitized on the server.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub body_html: String,
}

/// A case as its page shows it. For a customer, `entries` never holds work notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CaseDetail {
    pub number: String,
    pub account: String,
    pub contact: String,
    pub created_by: String,
    pub on_behalf: bool,
    pub version: String,
    pub impact: String,
    pub workaround: String,
    pub feature: String,
    pub service: String,
    pub environment: String,
    pub availability: String,
    pub subject: String,
    pub description: String,
    /// `description` rendered from Markdown and sanitized on the server.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub description_html: String,
    pub state: String,
    pub priority: i32,
    pub assignment_group: String,
    pub assigned_to: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub entries: Vec<CaseEntry>,
    /// Seconds left to the first-response target; `None` once it was met or no longer runs.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub first_response_left: Option<i64>,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub resolution_left: Option<i64>,
    /// The targets of the case's priority, in seconds.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub first_response_target: i64,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub resolution_target: i64,
    pub priority_reason: Option<String>,
    /// The change request this case was made from.
    pub from_change: Option<String>,
    /// Whether the person looking is vendor staff (the page then offers the staff controls).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub viewer_staff: bool,
}

/// A row of a staff queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub number: String,
    pub account: String,
    pub subject: String,
    pub state: String,
    pub priority: i32,
    pub assignee: Option<String>,
    pub created_at: i64,
    /// Seconds left to the resolution target; `None` when its clock no longer runs.
    pub resolution_left: Option<i64>,
}

/// The compatibility matrix: which features each active version offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub versions: Vec<Choice>,
    /// Each active feature with, per version above, whether it is available.
    pub features: Vec<(Choice, Vec<bool>)>,
}

/// One entry of a catalog list as platform admins keep it. `extra` is the list's number column:
/// the display order of versions and availability windows, the severity (1–4) of impact levels,
/// 0 for lists without one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CatalogEntry {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub extra: i32,
}

/// An assignment group with the staff who work it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogGroup {
    pub entry: CatalogEntry,
    pub members: Vec<Choice>,
    /// New cases go to this group.
    pub is_default: bool,
}

/// The SLA targets of one priority (SPEC §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SlaTarget {
    pub priority: i32,
    pub first_response_minutes: i32,
    pub resolution_minutes: i32,
    /// The first-response target counts the account's business hours.
    pub business_hours: bool,
    /// The resolution target counts the account's business hours.
    pub resolution_business_hours: bool,
}

/// Everything the catalog page shows a platform admin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogAdmin {
    pub versions: Vec<CatalogEntry>,
    pub features: Vec<CatalogEntry>,
    pub services: Vec<CatalogEntry>,
    pub impacts: Vec<CatalogEntry>,
    pub windows: Vec<CatalogEntry>,
    pub groups: Vec<CatalogGroup>,
    pub sla: Vec<SlaTarget>,
    /// (feature id, version id) pairs of the compatibility matrix.
    pub matrix: Vec<(i64, i64)>,
    /// Active vendor staff, who can join groups.
    pub staff: Vec<Choice>,
}

/// The lists of the catalog a platform admin keeps entry by entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CatalogKind {
    Versions,
    Features,
    Services,
    Impacts,
    Windows,
    Groups,
}

impl CatalogKind {
    pub const ALL: [CatalogKind; 6] = [
        CatalogKind::Versions,
        CatalogKind::Features,
        CatalogKind::Services,
        CatalogKind::Impacts,
        CatalogKind::Windows,
        CatalogKind::Groups,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::Versions => "versions",
            CatalogKind::Features => "features",
            CatalogKind::Services => "services",
            CatalogKind::Impacts => "impacts",
            CatalogKind::Windows => "windows",
            CatalogKind::Groups => "groups",
        }
    }

    pub fn parse(value: &str) -> Option<CatalogKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The section heading.
    pub fn title(self) -> &'static str {
        match self {
            CatalogKind::Versions => "Product versions",
            CatalogKind::Features => "Features",
            CatalogKind::Services => "Services",
            CatalogKind::Impacts => "Impact levels",
            CatalogKind::Windows => "Customer-availability windows",
            CatalogKind::Groups => "Assignment groups",
        }
    }

    /// The number column of the list and what it means, if it has one.
    pub fn extra(self) -> Option<(&'static str, &'static str)> {
        match self {
            CatalogKind::Versions | CatalogKind::Windows => Some((
                "Order",
                "Higher comes first for versions, lower first for windows.",
            )),
            CatalogKind::Impacts => Some((
                "Severity",
                "1 (worst, e.g. production down) to 4; with the workaround answer it sets the priority.",
            )),
            _ => None,
        }
    }
}

/// What the change-request form offers for an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeOptions {
    pub account_name: String,
    /// Only managed-tier accounts can file change requests.
    pub managed: bool,
    pub environments: Vec<String>,
    /// Active users of the account, who can be the requester.
    pub contacts: Vec<Choice>,
    /// Active administrators, who can authorize a CR raised on the account's behalf.
    pub administrators: Vec<Choice>,
    /// The statement the requester agrees to.
    pub statement: String,
    /// The person filling in the form (0 for staff).
    pub me: i64,
}

/// Who authorized a change request, when, from where and with which words. Never edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authorization {
    pub by: String,
    pub at: i64,
    pub from: String,
    pub text: String,
}

/// A row of a change-request list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChangeSummary {
    pub number: String,
    pub account: String,
    pub short_description: String,
    pub state: String,
    pub requested_by: String,
    pub window_start: i64,
    pub created_at: i64,
}

/// One entry of a change request's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChangeEntry {
    pub kind: String,
    pub author: String,
    pub body: String,
    pub at: i64,
}

/// A change request as its page shows it. For a customer, `entries` holds no staff notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChangeDetail {
    pub number: String,
    pub account_id: i64,
    pub account: String,
    pub requested_by: String,
    pub created_by: String,
    pub on_behalf: bool,
    pub authorizer: Option<String>,
    pub environment: String,
    pub short_description: String,
    pub description: String,
    pub reason: String,
    pub affects_capacity: bool,
    pub affects_performance: bool,
    pub affects_cost: bool,
    pub affects_security: bool,
    pub risk: String,
    pub window_start: i64,
    pub window_end: i64,
    pub rollback_plan: String,
    pub state: String,
    pub scheduled_start: Option<i64>,
    pub scheduled_end: Option<i64>,
    pub implementer: Option<String>,
    /// The case a mistaken CR became.
    pub converted_case: Option<String>,
    pub created_at: i64,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub authorization: Option<Authorization>,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub entries: Vec<ChangeEntry>,
    /// What the person looking may do now (`change_flow::ChangeStep` names).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub steps: Vec<String>,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub viewer_staff: bool,
}

/// A knowledge-base category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbCategory {
    pub id: i64,
    pub name: String,
    pub description: String,
}

/// An article in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbSummary {
    pub number: String,
    pub title: String,
    pub category: String,
    pub visibility: String,
    pub state: String,
    pub published_at: Option<i64>,
    pub updated_at: i64,
    pub views: i64,
    /// Newer saved versions than the one readers see (staff lists).
    pub pending: bool,
}

/// A piece of a search snippet; `marked` pieces matched the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fragment {
    pub text: String,
    pub marked: bool,
}

/// A search result: the article and where its text matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbHit {
    pub number: String,
    pub title: Vec<Fragment>,
    pub category: String,
    pub visibility: String,
    pub snippet: Vec<Fragment>,
}

/// The KB home: categories, and the newest and most read articles the reader may see; with a
/// category chosen, a page of that category's articles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbHome {
    pub categories: Vec<KbCategory>,
    pub recent: Vec<KbSummary>,
    pub popular: Vec<KbSummary>,
    pub category: Option<KbCategory>,
    pub listing: Option<Page<KbSummary>>,
    pub can_write: bool,
}

/// An article linked from another, as far as the reader may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbLink {
    pub number: String,
    pub title: String,
}

/// An article as a reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbArticle {
    pub number: String,
    pub title: String,
    /// Rendered and sanitized on the server.
    pub body_html: String,
    pub category_id: i64,
    pub category: String,
    pub visibility: String,
    pub state: String,
    pub version: i64,
    pub author: String,
    pub published_at: Option<i64>,
    pub updated_at: i64,
    pub views: i64,
    pub helpful: i64,
    pub unhelpful: i64,
    /// For search engines and link previews: the opening of the text.
    pub description: String,
    pub canonical_url: String,
    pub related: Vec<KbLink>,
    pub can_write: bool,
    /// The reader's own vote, if they gave one.
    pub my_vote: Option<bool>,
}

/// One saved version of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbVersion {
    pub version: i64,
    pub title: String,
    pub action: String,
    pub restored_from: Option<i64>,
    pub edited_by: String,
    pub edited_at: i64,
}

/// What the editor opens with: the newest version of an article (or nothing, for a new one), its
/// history, and one old version to look at when asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbEditor {
    pub number: Option<String>,
    pub title: String,
    pub body: String,
    pub category_id: Option<i64>,
    pub visibility: String,
    pub state: String,
    /// The version readers see, and the newest saved one.
    pub version: i64,
    pub latest_version: i64,
    pub categories: Vec<KbCategory>,
    pub versions: Vec<KbVersion>,
    /// Version asked for with `?version=`, rendered.
    pub shown: Option<(KbVersion, String)>,
}

/// A person a notice or survey goes (or went) to, and what became of their mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Recipient {
    pub account_id: i64,
    pub account: String,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    /// "primary contact", "secondary contact", "administrator", joined with ", ".
    pub roles: String,
    /// `queued`, `sent` or `failed` once sent; empty in a preview.
    pub delivery: String,
}

/// An account of the audience with no contact to write to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Gap {
    pub account_id: i64,
    pub account: String,
}

/// A security notice: a draft with its audience resolved now, or a sent one with the audience
/// as it was resolved when sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeDetail {
    pub id: i64,
    pub subject: String,
    pub body_html: String,
    pub severity: String,
    pub audience: String,
    pub include_admins: bool,
    pub state: String,
    pub created_by: String,
    pub created_at: i64,
    pub sent_by: Option<String>,
    pub sent_at: Option<i64>,
    pub recipients: Vec<Recipient>,
    pub gaps: Vec<Gap>,
    /// Staff see the audience and delivery; a recipient sees the notice.
    pub staff_view: bool,
}

/// A notice or survey round in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CommunicationSummary {
    pub id: i64,
    pub title: String,
    pub detail: String,
    pub state: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub recipients: i64,
}

/// What staff see on the communications page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Communications {
    pub notices: Vec<CommunicationSummary>,
    pub surveys: Vec<CommunicationSummary>,
    /// Accounts to pick from: id, name, service tier.
    pub accounts: Vec<(i64, String, String)>,
}

/// Scores of one group of answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub label: String,
    pub invited: i64,
    pub answered: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// % promoters − % detractors, rounded; `None` without answers.
    pub nps: Option<i64>,
}

/// A survey round: a draft with its audience resolved now, or the report of a sent one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyDetail {
    pub id: i64,
    pub name: String,
    pub audience: String,
    pub state: String,
    pub expires_days: i64,
    pub created_by: String,
    pub sent_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub recipients: Vec<Recipient>,
    pub gaps: Vec<Gap>,
    pub total: Score,
    pub accounts: Vec<Score>,
    /// How many answered 0, 1, … 10.
    pub distribution: Vec<i64>,
}

/// What a personal survey link leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyLink {
    /// `open`, `answered` or `expired`.
    pub state: String,
    pub first_name: String,
    pub account: String,
}
