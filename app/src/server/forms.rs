//! What keeps forms forgiving: a refused plain post's typed values held for the page the person is
//! sent back to (read once), and create forms' idempotency keys, so the same form posted twice
//! makes one record.

use super::db::{execute, on_db, on_tx, Db, Tx};
use super::session::{cookie_header, new_token, token_hash};
use super::state::Settings;
use crate::error::AppError;
use crate::model::forms::RefusedForm;

/// The cookie naming the refused form a browser is sent back with.
pub const REFUSED_COOKIE: &str = "portcullis_refused";
/// How long a refused form waits for its page: the redirect follows at once, so minutes are plenty.
pub const REFUSED_KEPT_SECONDS: i64 = 600;
/// Idempotency keys are remembered this long: a retry comes within seconds, a double click at once.
pub const SUBMISSIONS_KEPT_SECONDS: i64 = 86_400;
/// A refused form larger than this is not kept (its problems are still shown): one post cannot
/// park a megabyte in the database.
pub const REFUSED_MAX_BYTES: usize = 256 * 1024;

/// Keeps `form` and answers the token for the browser's cookie.
#[tracing::instrument(skip_all, fields(server_fn = %form.server_fn))]
pub async fn keep_refused(db: &Db, form: &RefusedForm, now: i64) -> Result<String, AppError> {
    let token = new_token();
    let error = serde_json::to_string(&form.error).map_err(unreadable)?;
    let mut fields = serde_json::to_string(&form.fields).map_err(unreadable)?;
    if fields.len() > REFUSED_MAX_BYTES {
        fields = "[]".into();
    }
    execute!(db: db, sqlx::query(
        "INSERT INTO refused_forms (token_hash, page, server_fn, error, fields, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(token_hash(&token))
    .bind(&form.page)
    .bind(&form.server_fn)
    .bind(error)
    .bind(fields)
    .bind(now))?;
    Ok(token)
}

/// The refused form behind `token` when `page` is the page it was refused on, removed as it is
/// read: a reload shows the form as it stands, and no other page ever sees it.
pub async fn take_refused(
    db: &Db,
    token: &str,
    page: &str,
    now: i64,
) -> Result<Option<RefusedForm>, AppError> {
    let row: Option<(String, String, String)> = on_db!(db, |c| sqlx::query_as(
        "DELETE FROM refused_forms WHERE token_hash = $1 AND page = $2 AND created_at > $3 \
         RETURNING server_fn, error, fields"
    )
    .bind(token_hash(token))
    .bind(page)
    .bind(now - REFUSED_KEPT_SECONDS)
    .fetch_optional(c)
    .await
    .map_err(AppError::from))?;
    let Some((server_fn, error, fields)) = row else {
        return Ok(None);
    };
    let error = serde_json::from_str(&error).map_err(unreadable)?;
    let fields = serde_json::from_str(&fields).map_err(unreadable)?;
    Ok(Some(RefusedForm {
        page: page.to_string(),
        server_fn,
        error,
        fields,
    }))
}

/// A refused form that cannot be written or read back (a corrupt row): logged, never shown.
fn unreadable(err: serde_json::Error) -> AppError {
    tracing::error!(error = %err, "a refused form could not be encoded");
    AppError::Internal
}

/// The cookie that sends the browser back with refused form `token`.
pub fn refused_cookie(token: &str, settings: &Settings) -> String {
    cookie_header(REFUSED_COOKIE, token, REFUSED_KEPT_SECONDS, settings)
}

/// The cookie that forgets a refused form once its page has shown it.
pub fn spent_refused_cookie(settings: &Settings) -> String {
    cookie_header(REFUSED_COOKIE, "", 0, settings)
}

/// Forgets refused forms nobody came back for and idempotency keys past their use.
pub async fn prune(db: &Db, now: i64) -> Result<(), AppError> {
    execute!(db: db, sqlx::query("DELETE FROM refused_forms WHERE created_at <= $1")
        .bind(now - REFUSED_KEPT_SECONDS))?;
    execute!(db: db, sqlx::query("DELETE FROM form_submissions WHERE created_at <= $1")
        .bind(now - SUBMISSIONS_KEPT_SECONDS))?;
    Ok(())
}

/// What a create form's idempotency key says inside the creating transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// The first time: create the record, then [`record`] it.
    New,
    /// Posted before: the record the first submission made.
    Repeated(i64),
}

/// The kinds of record a create form makes, each keyed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Case,
    Change,
    Comment,
    Note,
    Invitation,
    Notice,
}

impl FormKind {
    fn as_str(self) -> &'static str {
        match self {
            FormKind::Case => "case",
            FormKind::Change => "change",
            FormKind::Comment => "comment",
            FormKind::Note => "note",
            FormKind::Invitation => "invitation",
            FormKind::Notice => "notice",
        }
    }
}

/// A form's idempotency key as sent: up to 64 letters, digits and dashes; anything else is
/// treated as no key (the form still works, without the protection).
pub fn form_key(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|k| {
        !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Claims `key` for `user_id` in the creating transaction. A second transaction with the same key
/// waits on the first (the key is the primary key) and then finds its record.
pub async fn claim(
    tx: &mut Tx,
    user_id: i64,
    kind: FormKind,
    key: Option<&str>,
    now: i64,
) -> Result<Submission, AppError> {
    let Some(key) = form_key(key) else {
        return Ok(Submission::New);
    };
    let inserted = execute!(tx: tx, sqlx::query(
        "INSERT INTO form_submissions (user_id, form_key, kind, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, form_key) DO NOTHING"
    )
    .bind(user_id)
    .bind(key)
    .bind(kind.as_str())
    .bind(now))?;
    if inserted == 1 {
        return Ok(Submission::New);
    }
    let found: Option<(String, Option<i64>)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT kind, record_id FROM form_submissions WHERE user_id = $1 AND form_key = $2"
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(c)
    .await
    .map_err(AppError::from))?;
    match found {
        Some((k, Some(id))) if k == kind.as_str() => Ok(Submission::Repeated(id)),
        _ => Err(AppError::Conflict(
            "This form was already sent. Reload the page to start again.".into(),
        )),
    }
}

/// [`claim`] for a form whose record is answered by its number: the number of the record the
/// same form made before (`number_sql` reads it by id), or `None` when this is the first time.
pub async fn number_made_before(
    tx: &mut Tx,
    user_id: i64,
    kind: FormKind,
    key: Option<&str>,
    number_sql: &str,
    now: i64,
) -> Result<Option<String>, AppError> {
    match claim(tx, user_id, kind, key, now).await? {
        Submission::New => Ok(None),
        Submission::Repeated(id) => Ok(Some(on_tx!(tx, |c| sqlx::query_scalar(number_sql)
            .bind(id)
            .fetch_one(c)
            .await)?)),
    }
}

/// Records the record a claimed key made, in the same transaction.
pub async fn record(
    tx: &mut Tx,
    user_id: i64,
    key: Option<&str>,
    record_id: i64,
) -> Result<(), AppError> {
    let Some(key) = form_key(key) else {
        return Ok(());
    };
    execute!(tx: tx, sqlx::query(
        "UPDATE form_submissions SET record_id = $1 WHERE user_id = $2 AND form_key = $3"
    )
    .bind(record_id)
    .bind(user_id)
    .bind(key))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::form_key;

    #[test]
    fn keys_are_short_plain_tokens() {
        assert_eq!(form_key(Some(" 3f2a-9c ")), Some("3f2a-9c"));
        assert_eq!(form_key(Some("")), None);
        assert_eq!(form_key(None), None);
        assert_eq!(form_key(Some("a b")), None);
        assert_eq!(form_key(Some(&"x".repeat(65))), None);
    }
}
