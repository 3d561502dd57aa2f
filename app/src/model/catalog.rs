//! The product catalog and SLA targets platform admins keep.

use super::Choice;
use serde::{Deserialize, Serialize};

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
