//! The product catalog (SPEC §8): the compatibility matrix every signed-in person may read, and
//! the lists, SLA targets, matrix and group members platform admins keep.

use crate::error::AppError;
use crate::model::{CatalogAdmin, Matrix};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::permitted,
    crate::policy::Action,
    crate::server::catalog::{self, EntryForm, SlaForm},
    crate::server::{db::on_db, request},
};

/// Which features each active version offers, for every signed-in person.
#[server(endpoint = "catalog/matrix")]
pub async fn compatibility_matrix() -> Result<Matrix, AppError> {
    permitted(Action::ReadCustomerKb, |state, _| async move {
        let db = &state.db;
        let versions: Vec<crate::model::Choice> = on_db!(db, |c| sqlx::query_as(
            "SELECT id, name FROM product_versions WHERE active ORDER BY sort DESC, name"
        )
        .fetch_all(c)
        .await)?;
        let features: Vec<crate::model::Choice> = on_db!(db, |c| sqlx::query_as(
            "SELECT id, name FROM features WHERE active ORDER BY name"
        )
        .fetch_all(c)
        .await)?;
        let pairs: Vec<(i64, i64)> = on_db!(db, |c| sqlx::query_as(
            "SELECT feature_id, version_id FROM feature_versions"
        )
        .fetch_all(c)
        .await)?;
        let features = features
            .into_iter()
            .map(|f| {
                let row = versions
                    .iter()
                    .map(|v| pairs.contains(&(f.id, v.id)))
                    .collect();
                (f, row)
            })
            .collect();
        Ok(Matrix { versions, features })
    })
    .await
}

/// Where the catalog page is, with the section a change was made in.
#[cfg(feature = "ssr")]
fn back_to(section: &str) {
    leptos_axum::redirect(&format!("/staff/catalog?saved={section}#{section}"));
}

/// Everything the catalog page shows (platform admins).
#[server(endpoint = "catalog/admin")]
pub async fn catalog_page_data() -> Result<CatalogAdmin, AppError> {
    permitted(Action::ManageCatalog, |state, _| async move {
        catalog::admin_view(&state.db).await
    })
    .await
}

/// Adds a catalog entry (`id` empty) or changes one: name, number column, active or retired.
#[server(endpoint = "catalog/entry")]
pub async fn save_catalog_entry(
    kind: String,
    id: Option<i64>,
    name: Option<String>,
    extra: Option<String>,
    active: Option<String>,
) -> Result<i64, AppError> {
    permitted(Action::ManageCatalog, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let form = EntryForm {
            kind: kind.clone(),
            id,
            name: name.unwrap_or_default(),
            extra: extra.unwrap_or_default(),
            active: active.is_some(),
        };
        let id = catalog::save_entry(&state, &actor, &form, &client_addr).await?;
        back_to(&kind);
        Ok(id)
    })
    .await
}

/// Sets the first-response and resolution targets of one priority.
#[server(endpoint = "catalog/sla")]
pub async fn save_sla_target(
    priority: i32,
    first_response_minutes: Option<String>,
    resolution_minutes: Option<String>,
    business_hours: Option<String>,
    resolution_business_hours: Option<String>,
) -> Result<(), AppError> {
    permitted(Action::ManageCatalog, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let form = SlaForm {
            priority,
            first_response_minutes: first_response_minutes.unwrap_or_default(),
            resolution_minutes: resolution_minutes.unwrap_or_default(),
            business_hours: business_hours.is_some(),
            resolution_business_hours: resolution_business_hours.is_some(),
        };
        catalog::save_sla(&state, &actor, &form, &client_addr).await?;
        back_to("sla");
        Ok(())
    })
    .await
}

/// Replaces the compatibility matrix: `pairs` holds `feature:version` for every ticked cell.
#[server(endpoint = "catalog/matrix_save")]
pub async fn save_matrix(pairs: Option<Vec<String>>) -> Result<usize, AppError> {
    permitted(Action::ManageCatalog, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let parsed = pairs
            .unwrap_or_default()
            .iter()
            .map(|p| {
                let (f, v) = p.split_once(':')?;
                Some((f.parse().ok()?, v.parse().ok()?))
            })
            .collect::<Option<Vec<(i64, i64)>>>()
            .ok_or_else(|| {
                AppError::field("matrix", "The matrix could not be read; reload the page")
            })?;
        let count = catalog::save_matrix(&state, &actor, &parsed, &client_addr).await?;
        back_to("matrix");
        Ok(count)
    })
    .await
}

/// Adds a member of the vendor staff to an assignment group (`member` = "add") or takes them off.
#[server(endpoint = "catalog/member")]
pub async fn set_group_member(
    group_id: i64,
    user_id: Option<String>,
    member: String,
) -> Result<(), AppError> {
    permitted(Action::ManageCatalog, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let user_id = user_id
            .and_then(|u| u.trim().parse::<i64>().ok())
            .ok_or_else(|| {
                AppError::field(
                    &format!("groups-{group_id}-member"),
                    "Choose a member of the vendor staff",
                )
            })?;
        catalog::set_member(
            &state,
            &actor,
            group_id,
            user_id,
            member == "add",
            &client_addr,
        )
        .await?;
        back_to("groups");
        Ok(())
    })
    .await
}
