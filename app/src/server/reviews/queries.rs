//! Reading access reviews: an account's settings and history, one review's people, the staff
//! overview, and the kept evidence files.

use crate::error::AppError;
use crate::model::reviews::{ReviewItem, ReviewOverviewRow, ReviewSettings, ReviewSummary};
use crate::model::Actor;
use crate::policy::Scope;
use crate::server::db::{on_db, on_tx, Db, Tx};

/// A review's row as the rules need it.
#[derive(Debug, sqlx::FromRow)]
pub struct ReviewRow {
    pub id: i64,
    pub account_id: i64,
    pub completed_at: Option<i64>,
    pub due_at: i64,
}

/// The summary's columns, from `access_reviews r` joined with `accounts a`.
const SUMMARY: &str = "SELECT r.id, r.account_id, a.name AS account_name, \
     (SELECT s.first_name || ' ' || s.last_name FROM users s WHERE s.id = r.started_by) AS started_by, \
     r.started_at, r.due_at, r.completed_at, \
     r.people AS users, r.decided, r.removed, \
     r.csv_sha256, r.pdf_sha256 \
     FROM access_reviews r JOIN accounts a ON a.id = r.account_id";

/// The columns of a review's people.
const ITEM: &str = "SELECT user_id, first_name, last_name, email, status, is_admin, contact_role, \
     last_sign_in_at, second_factor, created_by, dormant, decision, decided_by_name, decided_at \
     FROM access_review_items";

/// An account's settings row.
const SETTINGS: &str =
    "SELECT schedule, dormant_days, disable_dormant FROM access_review_settings WHERE account_id = $1";

/// How account `account_id` reviews access (the defaults when it never said).
#[tracing::instrument(skip_all)]
pub async fn settings(db: &Db, account_id: i64) -> Result<ReviewSettings, AppError> {
    let found: Option<ReviewSettings> = on_db!(db, |c| {
        sqlx::query_as(SETTINGS)
            .bind(account_id)
            .fetch_optional(c)
            .await
    })?;
    Ok(found.unwrap_or_default())
}

/// The same, read inside transaction `tx`.
pub(super) async fn settings_in(tx: &mut Tx, account_id: i64) -> Result<ReviewSettings, AppError> {
    let found: Option<ReviewSettings> = on_tx!(tx, |c| {
        sqlx::query_as(SETTINGS)
            .bind(account_id)
            .fetch_optional(c)
            .await
    })?;
    Ok(found.unwrap_or_default())
}

/// How many people review `review_id` has still to decide on.
pub(super) async fn undecided(tx: &mut Tx, review_id: i64) -> Result<i64, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT people - decided FROM access_reviews WHERE id = $1"
    )
    .bind(review_id)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// The review of `account_id` under way, if any.
pub(super) async fn open_review(tx: &mut Tx, account_id: i64) -> Result<Option<i64>, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM access_reviews WHERE account_id = $1 AND completed_at IS NULL"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await
    .map_err(AppError::from))
}

/// Review `review_id`, locked for a change, if `actor` may see it: its own account's for a
/// customer administrator, any for a platform admin or (to remind) vendor staff. Anything else is
/// the same `NotFound`, so ids cannot be probed.
pub(super) async fn locked_review(
    tx: &mut Tx,
    actor: &Actor,
    review_id: i64,
) -> Result<ReviewRow, AppError> {
    let sql = format!(
        "SELECT id, account_id, completed_at, due_at FROM access_reviews WHERE id = $1 {}",
        tx.for_update()
    );
    let row: Option<ReviewRow> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(review_id)
        .fetch_optional(c)
        .await)?;
    row.filter(|r| actor.role.is_staff() || actor.account_id == Some(r.account_id))
        .ok_or(AppError::NotFound)
}

pub(super) async fn item_in(
    tx: &mut Tx,
    review_id: i64,
    user_id: i64,
) -> Result<ReviewItem, AppError> {
    let sql = format!("{ITEM} WHERE review_id = $1 AND user_id = $2");
    let item: Option<ReviewItem> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(review_id)
        .bind(user_id)
        .fetch_optional(c)
        .await)?;
    item.ok_or(AppError::NotFound)
}

pub(super) async fn summary_in(tx: &mut Tx, review_id: i64) -> Result<ReviewSummary, AppError> {
    let sql = format!("{SUMMARY} WHERE r.id = $1");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(review_id)
        .fetch_one(c)
        .await
        .map_err(AppError::from))
}

/// Everyone in review `review_id`, by name (for its report).
pub(super) async fn all_items(tx: &mut Tx, review_id: i64) -> Result<Vec<ReviewItem>, AppError> {
    let sql = format!("{ITEM} WHERE review_id = $1 ORDER BY last_name, first_name, user_id");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(review_id)
        .fetch_all(c)
        .await
        .map_err(AppError::from))
}

/// Review `review_id` of account `account_id` (`None`: any account, for vendor staff).
#[tracing::instrument(skip_all)]
pub async fn summary(
    db: &Db,
    account_id: Option<i64>,
    review_id: i64,
) -> Result<ReviewSummary, AppError> {
    let sql = format!("{SUMMARY} WHERE r.id = $1 AND ($2 IS NULL OR r.account_id = $2)");
    let found: Option<ReviewSummary> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(review_id)
        .bind(account_id)
        .fetch_optional(c)
        .await)?;
    found.ok_or(AppError::NotFound)
}

/// Whose access a review page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemFilter {
    All,
    Undecided,
}

/// One page of `review`'s people, by name; answers the page and how many the filter lists (from
/// the counts the review keeps).
#[tracing::instrument(skip_all)]
pub async fn items(
    db: &Db,
    review: &ReviewSummary,
    filter: ItemFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<ReviewItem>, i64), AppError> {
    // Two texts rather than a flag in the SQL, so each walks its own index in name order
    // (migration 0025) instead of sorting the review's rows on every page.
    let (only, total) = match filter {
        ItemFilter::Undecided => (" AND decision IS NULL", review.users - review.decided),
        ItemFilter::All => ("", review.users),
    };
    let sql = format!(
        "{ITEM} WHERE review_id = $1{only} ORDER BY last_name, first_name, user_id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<ReviewItem> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(review.id)
        .bind(per_page)
        .bind(crate::server::db::offset(page, per_page))
        .fetch_all(c)
        .await)?;
    Ok((rows, total))
}

/// Account `account_id`'s reviews, newest first (at most the last hundred).
#[tracing::instrument(skip_all)]
pub async fn history(db: &Db, account_id: i64) -> Result<Vec<ReviewSummary>, AppError> {
    let sql = format!(
        "{SUMMARY} WHERE r.account_id = $1 ORDER BY r.started_at DESC, r.id DESC LIMIT 100"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .fetch_all(c)
        .await
        .map_err(AppError::from))
}

/// The name of account `account_id`, `NotFound` when there is none.
pub async fn account_name(db: &Db, account_id: i64) -> Result<String, AppError> {
    let name: Option<String> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT name FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    name.ok_or(AppError::NotFound)
}

/// How many active administrators account `account_id` has (read without a transaction, which
/// on SQLite would take the write lock).
pub async fn active_admins(db: &Db, account_id: i64) -> Result<i64, AppError> {
    on_db!(db, |c| sqlx::query_scalar(
        crate::server::access::ACTIVE_ADMINS
    )
    .bind(account_id)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// Every account's review standing, by name, one page at a time (vendor staff's overview).
#[tracing::instrument(skip_all)]
pub async fn overview(
    db: &Db,
    page: i64,
    per_page: i64,
) -> Result<(Vec<ReviewOverviewRow>, i64), AppError> {
    let rows: Vec<ReviewOverviewRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT a.id AS account_id, a.name AS account_name, COALESCE(s.schedule, 'off') AS schedule, \
         o.id AS open_id, o.due_at AS open_due_at, \
         o.people AS open_users, o.decided AS open_decided, \
         (SELECT MAX(r.completed_at) FROM access_reviews r WHERE r.account_id = a.id) AS last_completed_at \
         FROM accounts a LEFT JOIN access_review_settings s ON s.account_id = a.id \
         LEFT JOIN access_reviews o ON o.account_id = a.id AND o.completed_at IS NULL \
         ORDER BY a.name, a.id LIMIT $1 OFFSET $2"
    )
    .bind(per_page)
    .bind(crate::server::db::offset(page, per_page))
    .fetch_all(c)
    .await
    })?;
    let total: i64 = on_db!(db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(c)
        .await)?;
    Ok((rows, total))
}

/// A completed review's kept `kind` file ("csv" or "pdf") and its account, within `scope`.
#[tracing::instrument(skip_all)]
pub async fn evidence(
    db: &Db,
    scope: Scope,
    review_id: i64,
    kind: &str,
) -> Result<(i64, Vec<u8>), AppError> {
    let found: Option<(i64, Vec<u8>)> = on_db!(db, |c| sqlx::query_as(
        "SELECT r.account_id, f.body FROM access_review_files f \
         JOIN access_reviews r ON r.id = f.review_id \
         WHERE f.review_id = $1 AND f.kind = $2 AND ($3 IS NULL OR r.account_id = $3)"
    )
    .bind(review_id)
    .bind(kind)
    .bind(scope.account())
    .fetch_optional(c)
    .await)?;
    found.ok_or(AppError::NotFound)
}
