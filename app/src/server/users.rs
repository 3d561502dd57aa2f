//! Queries about users and accounts.

use super::db::{execute, is_unique_violation, on_db, on_tx, Db, Tx};
use crate::error::AppError;
use crate::model::domain::Email;
use crate::model::Role;
use crate::model::{AccountSummary, AccountUserRow, Me, UserStatus};

#[derive(Debug, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub account_id: Option<i64>,
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    pub password_hash: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn credentials_by_email(db: &Db, email: &Email) -> Result<Option<Credentials>, AppError> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT id, account_id, kind, status, password_hash FROM users WHERE email = $1"
    )
    .bind(email.as_str())
    .fetch_optional(c)
    .await
    .map_err(AppError::from))
}

#[tracing::instrument(skip_all)]
pub async fn credentials_by_id(
    db: &Db,
    id: i64,
) -> Result<Option<(Credentials, String, String, String)>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        account_id: Option<i64>,
        kind: String,
        #[sqlx(try_from = "String")]
        status: UserStatus,
        password_hash: Option<String>,
        email: String,
        first_name: String,
        last_name: String,
    }
    let row: Option<Row> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, account_id, kind, status, password_hash, email, first_name, last_name FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(AppError::from)
    })?;
    Ok(row.map(|r| {
        (
            Credentials {
                id: r.id,
                account_id: r.account_id,
                kind: r.kind,
                status: r.status,
                password_hash: r.password_hash,
            },
            r.email,
            r.first_name,
            r.last_name,
        )
    }))
}

#[derive(sqlx::FromRow)]
struct MeRow {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    kind: String,
    is_admin: bool,
    account_id: Option<i64>,
    account_name: Option<String>,
    service_tier: Option<String>,
    last_sign_in_at: Option<i64>,
    time_zone: String,
}

/// The signed-in person's own profile, as the app shell shows it.
#[tracing::instrument(skip_all)]
pub async fn me(
    db: &Db,
    user_id: i64,
    impersonator_id: Option<i64>,
) -> Result<Option<Me>, AppError> {
    let row: Option<MeRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT u.id, u.email, u.first_name, u.last_name, u.kind, u.is_admin, u.account_id, \
         a.name AS account_name, a.service_tier, u.last_sign_in_at, u.time_zone \
         FROM users u LEFT JOIN accounts a ON a.id = u.account_id WHERE u.id = $1"
    )
    .bind(user_id)
    .fetch_optional(c)
    .await)?;
    let Some(row) = row else { return Ok(None) };
    let Some(role) = Role::from_stored(&row.kind, row.is_admin) else {
        return Ok(None);
    };
    let impersonator = match impersonator_id {
        Some(id) => on_db!(db, |c| {
            sqlx::query_scalar::<_, String>(
            "SELECT first_name || ' ' || last_name || ' <' || email || '>' FROM users WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(AppError::from)
        })?,
        None => None,
    };
    Ok(Some(Me {
        user_id: row.id,
        email: row.email,
        name: format!("{} {}", row.first_name, row.last_name),
        role,
        account_id: row.account_id,
        account_name: row.account_name,
        service_tier: row.service_tier,
        last_sign_in_at: row.last_sign_in_at,
        impersonated_by: impersonator,
        time_zone: row.time_zone,
    }))
}

/// A new user to store. `password_hash` is `None` for an invited user who has not set one yet.
pub struct NewUser<'a> {
    pub account_id: Option<i64>,
    pub email: &'a Email,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub kind: &'a str,
    pub is_admin: bool,
    pub status: UserStatus,
    pub password_hash: Option<&'a str>,
    pub created_by: Option<i64>,
}

/// Inserts a user; a taken email is a `Conflict` (emails are unique across the portal).
#[tracing::instrument(skip_all)]
pub async fn insert(tx: &mut Tx, user: &NewUser<'_>, now: i64) -> Result<i64, AppError> {
    let result: Result<i64, sqlx::Error> = on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO users (account_id, email, first_name, last_name, kind, is_admin, status, \
         password_hash, created_at, created_by, updated_at, password_changed_at, time_zone) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11, \
         COALESCE((SELECT a.time_zone FROM accounts a WHERE a.id = $1), 'UTC')) RETURNING id"
    )
    .bind(user.account_id)
    .bind(user.email.as_str())
    .bind(user.first_name)
    .bind(user.last_name)
    .bind(user.kind)
    .bind(user.is_admin)
    .bind(user.status.as_str())
    .bind(user.password_hash)
    .bind(now)
    .bind(user.created_by)
    .bind(user.password_hash.map(|_| now))
    .fetch_one(c)
    .await);
    result.map_err(|e| {
        if is_unique_violation(&e) {
            AppError::field("email", "A user with this email address already exists")
        } else {
            AppError::from(e)
        }
    })
}

const USER_SORTS: &[(&str, &str)] = &[
    ("name", "u.last_name, u.first_name, u.id"),
    ("email", "u.email, u.id"),
    ("status", "u.status, u.last_name, u.id"),
    ("last_sign_in", "u.last_sign_in_at DESC, u.id"),
    ("created", "u.created_at DESC, u.id"),
];

/// One page of an account's users, for the Manage Accounts page. The account id comes from the
/// caller's session (or a staff caller's explicit choice), never from a customer's input.
#[tracing::instrument(skip_all)]
pub async fn list_account_users(
    db: &Db,
    viewer_id: i64,
    account_id: i64,
    filter: &UserFilter,
    sort: &str,
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<(Vec<AccountUserRow>, i64), AppError> {
    let order = USER_SORTS
        .iter()
        .find(|(key, _)| *key == sort)
        .map(|(_, sql)| *sql)
        .unwrap_or(USER_SORTS[0].1);
    // The ORDER BY text comes from the fixed list above, never from the request; the search and
    // status are bound parameters.
    let sql = format!(
        "SELECT u.id, u.email, u.first_name, u.last_name, u.status, u.is_admin, \
         CASE WHEN a.primary_contact_id = u.id THEN 'primary' \
              WHEN a.secondary_contact_id = u.id THEN 'secondary' END AS contact_role, \
         u.last_sign_in_at, u.created_at, \
         (SELECT c.first_name || ' ' || c.last_name FROM users c WHERE c.id = u.created_by) AS created_by, \
         (u.id = $4) AS is_self, \
         EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id \
                 AND f.confirmed_at IS NOT NULL) AS has_second_factor, \
         (u.status <> 'disabled' AND COALESCE(u.last_sign_in_at, u.created_at) < \
          $7 - COALESCE(rs.dormant_days, {dormant}) * 86400) AS dormant \
         FROM users u JOIN accounts a ON a.id = u.account_id \
         LEFT JOIN access_review_settings rs ON rs.account_id = u.account_id \
         WHERE u.account_id = $1 AND {filter} ORDER BY {order} LIMIT $2 OFFSET $3",
        filter = user_filter(5, 6),
        dormant = crate::model::reviews::DEFAULT_DORMANT_DAYS
    );
    let offset = super::db::offset(page, per_page);
    let pattern = filter.like_pattern();
    let rows: Vec<AccountUserRow> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .bind(per_page)
        .bind(offset)
        .bind(viewer_id)
        .bind(&pattern)
        .bind(filter.status.map(UserStatus::as_str))
        .bind(now)
        .fetch_all(c)
        .await)?;
    let total: i64 = if pattern.is_none() && filter.status.is_none() {
        // Every user of the account: the count the triggers keep (migration 0028).
        on_db!(db, |c| sqlx::query_scalar(
            "SELECT COALESCE((SELECT people FROM account_user_counts WHERE account_id = $1), 0)"
        )
        .bind(account_id)
        .fetch_one(c)
        .await)?
    } else {
        let count_sql = format!(
            "SELECT COUNT(*) FROM users u WHERE u.account_id = $1 AND {}",
            user_filter(2, 3)
        );
        on_db!(db, |c| sqlx::query_scalar(&count_sql)
            .bind(account_id)
            .bind(&pattern)
            .bind(filter.status.map(UserStatus::as_str))
            .fetch_one(c)
            .await)?
    };
    Ok((rows, total))
}

/// The search and status condition of the user list, with the LIKE pattern and the status in
/// placeholders `$p` and `$s` (NULL when not in use). Emails are stored lower-case; names are
/// compared lower-cased.
fn user_filter(p: usize, s: usize) -> String {
    format!(
        "(${p} IS NULL OR u.email LIKE ${p} ESCAPE '\\' \
         OR LOWER(u.first_name || ' ' || u.last_name) LIKE ${p} ESCAPE '\\') AND (${s} IS NULL OR u.status = ${s})"
    )
}

/// What the Manage Accounts list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub search: String,
    /// `None` for all.
    pub status: Option<UserStatus>,
}

impl UserFilter {
    pub fn new(search: &str, status: &str) -> UserFilter {
        let status = UserStatus::parse(status);
        UserFilter {
            search: search.trim().chars().take(100).collect(),
            status,
        }
    }

    /// `%text%` with LIKE's own wildcards escaped, so a search for `a_b` finds exactly that;
    /// `None` for no search.
    fn like_pattern(&self) -> Option<String> {
        if self.search.is_empty() {
            return None;
        }
        let mut escaped = String::from("%");
        for ch in self.search.to_lowercase().chars() {
            if matches!(ch, '%' | '_' | '\\') {
                escaped.push('\\');
            }
            escaped.push(ch);
        }
        escaped.push('%');
        Some(escaped)
    }
}

/// One page of customer accounts with their user counts, for the staff console, narrowed to
/// names or keys containing `search`.
#[tracing::instrument(skip_all)]
pub async fn list_accounts(
    db: &Db,
    search: &str,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AccountSummary>, i64), AppError> {
    let offset = super::db::offset(page, per_page);
    let pattern = UserFilter::new(search, "").like_pattern();
    const FILTER: &str = "($1 IS NULL OR LOWER(a.name) LIKE $1 ESCAPE '\\' OR LOWER(a.account_key) LIKE $1 ESCAPE '\\')";
    let sql = format!(
        "SELECT a.id, a.name, a.account_key, a.service_tier, \
         COALESCE((SELECT n.people FROM account_user_counts n WHERE n.account_id = a.id), 0) AS users, \
         (SELECT COUNT(*) FROM users u WHERE u.account_id = a.id AND u.is_admin AND u.status = 'active') AS administrators \
         FROM accounts a WHERE {FILTER} ORDER BY a.name, a.id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<AccountSummary> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(&pattern)
        .bind(per_page)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    let count_sql = format!("SELECT COUNT(*) FROM accounts a WHERE {FILTER}");
    let total: i64 = on_db!(db, |c| sqlx::query_scalar(&count_sql)
        .bind(&pattern)
        .fetch_one(c)
        .await)?;
    Ok((rows, total))
}

/// Sets the time zone person `actor` sees times in.
#[tracing::instrument(skip_all)]
pub async fn set_time_zone(
    state: &super::state::AppState,
    actor: &crate::model::Actor,
    time_zone: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let zone = time_zone.trim();
    if crate::model::business_hours::zone(zone).is_none() {
        return Err(AppError::field(
            "time_zone",
            "Choose a time zone from the list",
        ));
    }
    let mut tx = state.db.begin().await?;
    let before: String = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT time_zone FROM users WHERE id = $1"
    )
    .bind(actor.user_id)
    .fetch_one(c)
    .await)?;
    execute!(tx: &mut tx, sqlx::query("UPDATE users SET time_zone = $1, updated_at = $2 WHERE id = $3")
        .bind(zone)
        .bind(now)
        .bind(actor.user_id))?;
    let event = super::audit::Event {
        account_id: actor.account_id,
        target: Some(format!("user:{}", actor.user_id)),
        before: Some(serde_json::json!({ "time_zone": before })),
        after: Some(serde_json::json!({ "time_zone": zone })),
        ..super::audit::Event::by(actor, "user.time_zone_changed", client_addr)
    };
    super::audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}
