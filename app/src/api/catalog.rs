//! The product catalog as customers see it: the compatibility matrix (SPEC §8).

use crate::api::types::Matrix;
use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::respond,
    crate::policy::{self, Action},
    crate::server::{db::internal, db::on_db, session, state::state},
};

/// Which features each active version offers, for every signed-in person.
#[server(endpoint = "catalog/matrix")]
pub async fn compatibility_matrix() -> Result<Matrix, AppError> {
    respond(async move {
        let state = state()?;
        let actor = session::actor().await?;
        policy::can(&actor, Action::ReadCustomerKb)?;
        let db = &state.db;
        let versions: Vec<crate::api::types::Choice> = on_db!(db, |c| sqlx::query_as(
            "SELECT id, name FROM product_versions WHERE active ORDER BY sort DESC, name"
        )
        .fetch_all(c)
        .await
        .map_err(internal))?;
        let features: Vec<crate::api::types::Choice> = on_db!(db, |c| sqlx::query_as(
            "SELECT id, name FROM features WHERE active ORDER BY name"
        )
        .fetch_all(c)
        .await
        .map_err(internal))?;
        let pairs: Vec<(i64, i64)> = on_db!(db, |c| sqlx::query_as(
            "SELECT feature_id, version_id FROM feature_versions"
        )
        .fetch_all(c)
        .await
        .map_err(internal))?;
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
