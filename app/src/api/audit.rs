//! Reading the audit trail.

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::model::AuditQuery;
use crate::model::{AuditRow, Page};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{signed_in, PER_PAGE},
    crate::policy::{self, Action, Actor},
    crate::server::audit_view,
};

/// Decides whose trail `actor` may read: a customer administrator always and only their own
/// account's; vendor staff any account's, or all.
#[cfg(feature = "ssr")]
pub fn scope(actor: &Actor, requested: Option<i64>) -> Result<Option<i64>, AppError> {
    if actor.role.is_staff() {
        policy::can(actor, Action::ViewAnyAccount)?;
        Ok(requested.filter(|id| *id > 0))
    } else {
        policy::can(actor, Action::ExportOwnAccountUsersAndAudit)?;
        Ok(Some(actor.account_id()?))
    }
}

/// One page of the audit trail, newest first.
#[server(endpoint = "audit/list")]
pub async fn audit_list(
    account_id: Option<i64>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
) -> Result<Page<AuditRow>, AppError> {
    signed_in(|state, who| async move {
        let query = AuditQuery {
            account_id: scope(&who, account_id)?,
            actor: actor.unwrap_or_default(),
            action: action.unwrap_or_default(),
            from: from.unwrap_or_default(),
            to: to.unwrap_or_default(),
        };
        let filter = audit_view::Filter::parse(&query)?;
        Page::fetch(page, PER_PAGE, |page| {
            audit_view::list(&state.db, &filter, page, PER_PAGE)
        })
        .await
    })
    .await
}
