//! Carrying out a confirmed import in the background: chunks of users, each chunk one transaction,
//! under a lease a stopped worker's successor takes over.

use super::*;

#[derive(sqlx::FromRow)]
struct Claimed {
    id: i64,
    account_id: i64,
    confirmed_by: Option<i64>,
    reason: Option<String>,
    reference: Option<String>,
    client_addr: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    line_no: i32,
    first_name: String,
    last_name: String,
    email: String,
    is_admin: bool,
}

/// Carries out confirmed imports: claims one, creates its users chunk by chunk, and marks it done.
/// `max_chunks` stops early (as a killed process would, between two chunks); `None` runs to the
/// end. Answers how many users were created.
#[tracing::instrument(skip_all)]
pub async fn work(
    state: &AppState,
    instance: &str,
    max_chunks: Option<usize>,
    now: impl Fn() -> i64,
) -> Result<usize, AppError> {
    let db = &state.db;
    let lock = match db {
        Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE imports SET claimed_by = $1, claimed_until = $2 WHERE id = (\
         SELECT id FROM imports WHERE status = 'queued' AND (claimed_until IS NULL OR claimed_until < $3) \
         ORDER BY id LIMIT 1 {lock}) \
         RETURNING id, account_id, confirmed_by, reason, reference, client_addr"
    );
    let t = now();
    let claimed: Option<Claimed> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(instance)
        .bind(t + LEASE_SECS)
        .bind(t)
        .fetch_optional(c)
        .await)?;
    let Some(import) = claimed else {
        return Ok(0);
    };
    let mut created = 0;
    let mut chunks = 0;
    loop {
        if max_chunks.is_some_and(|m| chunks >= m) {
            return Ok(created);
        }
        let t = now();
        let mut tx = db.begin().await?;
        // Still ours? (Another instance takes over only after the lease ended.)
        let ours = execute!(tx: &mut tx, sqlx::query(
            "UPDATE imports SET claimed_until = $1 WHERE id = $2 AND claimed_by = $3 AND status = 'queued'"
        )
        .bind(t + LEASE_SECS)
        .bind(import.id)
        .bind(instance))?;
        if ours == 0 {
            return Ok(created);
        }
        let rows: Vec<PendingRow> = on_tx!(&mut tx, |c| {
            sqlx::query_as(
            "SELECT line_no, first_name, last_name, email, is_admin FROM import_rows \
             WHERE import_id = $1 AND outcome = 'create' AND done_at IS NULL ORDER BY line_no LIMIT $2"
        )
        .bind(import.id)
        .bind(CHUNK)
        .fetch_all(c)
        .await
        .map_err(AppError::from)
        })?;
        if rows.is_empty() {
            finish(&mut tx, &import, t).await?;
            tx.commit().await?;
            return Ok(created);
        }
        for row in &rows {
            created += create_one(state, &mut tx, &import, row, t).await?;
        }
        tx.commit().await?;
        chunks += 1;
    }
}

/// Creates one row's user with invitation and audit entry, inside the chunk's transaction. An
/// address taken since the preview is skipped and marked so.
async fn create_one(
    state: &AppState,
    tx: &mut Tx,
    import: &Claimed,
    row: &PendingRow,
    now: i64,
) -> Result<usize, AppError> {
    let email = Email::parse(&row.email).map_err(|_| AppError::Internal)?;
    let taken: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE email = $1"
    )
    .bind(email.as_str())
    .fetch_one(c)
    .await)?;
    if taken > 0 {
        execute!(tx: tx, sqlx::query(
            "UPDATE import_rows SET outcome = 'exists', message = 'Became a user after the preview: skipped', \
             done_at = $1 WHERE import_id = $2 AND line_no = $3"
        )
        .bind(now)
        .bind(import.id)
        .bind(row.line_no))?;
        return Ok(0);
    }
    let user_id = users::insert(
        tx,
        &NewUser {
            account_id: Some(import.account_id),
            email: &email,
            first_name: &row.first_name,
            last_name: &row.last_name,
            kind: "customer",
            is_admin: row.is_admin,
            status: UserStatus::Invited,
            password_hash: None,
            created_by: import.confirmed_by,
        },
        now,
    )
    .await?;
    let account: String = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT name FROM accounts WHERE id = $1"
    )
    .bind(import.account_id)
    .fetch_one(c)
    .await)?;
    let target = Target {
        id: user_id,
        account_id: import.account_id,
        email: email.as_str().to_string(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        status: UserStatus::Invited,
        is_admin: row.is_admin,
        has_password: false,
    };
    invitations::issue_link(
        tx,
        state,
        Purpose::Invitation,
        &target,
        &account,
        import.confirmed_by,
        "The vendor's support team",
        now,
    )
    .await?;
    let event = Event {
        action: "user.invited",
        actor_id: import.confirmed_by,
        account_id: Some(import.account_id),
        target: Some(format!("user:{user_id}")),
        reason: import.reason.as_deref(),
        reference: import.reference.as_deref(),
        after: Some(json!({
            "email": email.as_str(), "is_admin": row.is_admin, "status": "invited",
            "import": import.id, "line": row.line_no,
        })),
        client_addr: import.client_addr.as_deref(),
        ..Event::default()
    };
    audit::append(tx, &event, now).await?;
    if row.is_admin {
        crate::server::access::record_admin_change(tx, &event, user_id, true, "bulk import", now)
            .await?;
    }
    execute!(tx: tx, sqlx::query(
        "UPDATE import_rows SET user_id = $1, done_at = $2 WHERE import_id = $3 AND line_no = $4"
    )
    .bind(user_id)
    .bind(now)
    .bind(import.id)
    .bind(row.line_no))?;
    Ok(1)
}

async fn finish(tx: &mut Tx, import: &Claimed, now: i64) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "UPDATE imports SET status = 'done', finished_at = $1, claimed_by = NULL, claimed_until = NULL WHERE id = $2"
    )
    .bind(now)
    .bind(import.id))?;
    let (created, skipped): (i64, i64) = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN user_id IS NOT NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN user_id IS NULL THEN 1 ELSE 0 END), 0) FROM import_rows WHERE import_id = $1"
    )
    .bind(import.id)
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    let event = Event {
        action: "bulk_import.completed",
        actor_id: import.confirmed_by,
        account_id: Some(import.account_id),
        target: Some(format!("import:{}", import.id)),
        reason: import.reason.as_deref(),
        reference: import.reference.as_deref(),
        after: Some(json!({ "created": created, "skipped": skipped })),
        client_addr: import.client_addr.as_deref(),
        ..Event::default()
    };
    audit::append(tx, &event, now).await
}
