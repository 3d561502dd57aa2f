//! Server-side sessions (SPEC §3.4): a random token in an HttpOnly cookie, only its SHA-256 stored;
//! idle and absolute expiry; rotation at sign-in; a disabled user's sessions stop working at once.

use super::db::{execute, on_db, Db, Tx};
use super::request;
use super::state::{state, AppState, Settings};
use crate::error::AppError;
use crate::model::{Actor, Role};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const COOKIE_NAME: &str = "portcullis_session";
/// `last_seen_at` is written at most this often, so reads do not each become a write.
const TOUCH_EVERY_SECS: i64 = 60;

/// 256 random bits from the OS, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn set_cookie_header(token: &str, settings: &Settings) -> String {
    cookie_header(
        COOKIE_NAME,
        token,
        settings.session_absolute_hours * 3600,
        settings,
    )
}

pub fn clear_cookie_header(settings: &Settings) -> String {
    cookie_header(COOKIE_NAME, "", 0, settings)
}

/// A `Set-Cookie` value for the portal's own cookies: the whole site, never readable by script,
/// not sent on cross-site requests, `Secure` when the portal is served over HTTPS.
pub fn cookie_header(name: &str, value: &str, max_age: i64, settings: &Settings) -> String {
    let secure = if settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// Stores a new session inside the caller's transaction and returns its token.
pub async fn create(
    tx: &mut Tx,
    settings: &Settings,
    user_id: i64,
    impersonator_id: Option<i64>,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let expires_at = now + settings.session_absolute_hours * 3600;
    create_until(tx, user_id, impersonator_id, client_addr, now, expires_at).await
}

/// Stores a session that ends at `expires_at` at the latest: starting or stopping an impersonation
/// keeps the lifetime of the session it replaces, so switching never extends a sign-in.
pub async fn create_until(
    tx: &mut Tx,
    user_id: i64,
    impersonator_id: Option<i64>,
    client_addr: &str,
    now: i64,
    expires_at: i64,
) -> Result<String, AppError> {
    insert(
        tx,
        user_id,
        impersonator_id,
        Stage::Full,
        client_addr,
        now,
        expires_at,
    )
    .await
}

/// How far a session is through signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Signed in.
    Full,
    /// The password was right; a code from the person's second factor is still to be given.
    SecondFactor,
    /// The password was right; the person must set up a second factor before going further.
    Enrol,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Full => "full",
            Stage::SecondFactor => "second_factor",
            Stage::Enrol => "enrol",
        }
    }

    /// The page that takes the person on from this stage.
    pub fn next_page(self) -> &'static str {
        match self {
            Stage::Full => "/",
            Stage::SecondFactor => "/sign-in/code",
            Stage::Enrol => "/sign-in/set-up",
        }
    }
}

/// How long a session half-way through signing in lasts.
pub const PENDING_SECONDS: i64 = 600;

/// Stores a session of `stage` and returns its token: signed in for the configured lifetime, or
/// half-way for a few minutes.
pub async fn create_staged(
    tx: &mut Tx,
    settings: &Settings,
    user_id: i64,
    stage: Stage,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let expires_at = match stage {
        Stage::Full => now + settings.session_absolute_hours * 3600,
        _ => now + PENDING_SECONDS,
    };
    insert(tx, user_id, None, stage, client_addr, now, expires_at).await
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    tx: &mut Tx,
    user_id: i64,
    impersonator_id: Option<i64>,
    stage: Stage,
    client_addr: &str,
    now: i64,
    expires_at: i64,
) -> Result<String, AppError> {
    let token = new_token();
    // The browser, as it names itself, so the person can tell their sessions apart.
    let user_agent: String = request::parts()
        .and_then(|p| {
            p.headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(300).collect())
        })
        .unwrap_or_default();
    execute!(tx: tx, sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, impersonator_id, created_at, last_seen_at, \
         expires_at, client_addr, stage, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)"
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(impersonator_id)
    .bind(now)
    .bind(expires_at)
    .bind(client_addr)
    .bind(stage.as_str())
    .bind(user_agent))?;
    Ok(token)
}

/// A session half-way through signing in.
#[derive(Debug, sqlx::FromRow)]
pub struct Pending {
    pub user_id: i64,
    pub failed_codes: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub account_id: Option<i64>,
}

/// The session `token` names when it is half-way through signing in at `stage`, still within its
/// few minutes and its user still active.
pub async fn pending(
    db: &Db,
    token: &str,
    stage: Stage,
    now: i64,
) -> Result<Option<Pending>, AppError> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT s.user_id, s.failed_codes, u.email, u.first_name, u.last_name, u.account_id \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.stage = $2 AND s.expires_at > $3 AND u.status = 'active'"
    )
    .bind(token_hash(token))
    .bind(stage.as_str())
    .bind(now)
    .fetch_optional(c)
    .await
    .map_err(AppError::from))
}

/// The absolute end of session `token`, read inside `tx`; `None` when it no longer exists.
pub async fn expiry(tx: &mut Tx, token: &str) -> Result<Option<i64>, AppError> {
    crate::on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT expires_at FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash(token))
    .fetch_optional(c)
    .await
    .map_err(AppError::from))
}

pub async fn delete(db: &Db, token: &str) -> Result<(), AppError> {
    execute!(db: db, sqlx::query(
        "DELETE FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash(token)))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: i64,
    impersonator_id: Option<i64>,
    last_seen_at: i64,
    expires_at: i64,
    kind: String,
    is_admin: bool,
    account_id: Option<i64>,
    time_zone: String,
}

/// The session of the request being handled, resolved once by the server's middleware and kept
/// in the request's extensions: a page and every server function it calls while rendering then
/// ask the database about the session once, not once each.
#[derive(Debug, Clone)]
pub struct RequestSession {
    /// Who is asking; `None` without a session cookie or with one that no longer counts.
    pub actor: Option<Actor>,
    /// The time zone they see times in.
    pub time_zone: Option<String>,
}

impl RequestSession {
    /// Resolves the session `token` names (if any) at `now`.
    pub async fn resolve(
        db: &Db,
        settings: &Settings,
        token: Option<&str>,
        now: i64,
    ) -> Result<RequestSession, AppError> {
        let found = match token {
            Some(token) => resolve_with_zone(db, settings, token, now).await?,
            None => None,
        };
        Ok(match found {
            Some((actor, zone)) => RequestSession {
                actor: Some(actor),
                time_zone: Some(zone),
            },
            None => RequestSession {
                actor: None,
                time_zone: None,
            },
        })
    }
}

/// Resolves a session token to its actor, or `None` when the session is unknown, idle too long,
/// past its absolute lifetime, or belongs to a user who is no longer active — or, for an
/// impersonation, when the platform admin behind it is no longer an active platform admin.
pub async fn resolve(
    db: &Db,
    settings: &Settings,
    token: &str,
    now: i64,
) -> Result<Option<Actor>, AppError> {
    Ok(resolve_with_zone(db, settings, token, now)
        .await?
        .map(|(actor, _)| actor))
}

/// `resolve`, with the time zone the person sees times in.
async fn resolve_with_zone(
    db: &Db,
    settings: &Settings,
    token: &str,
    now: i64,
) -> Result<Option<(Actor, String)>, AppError> {
    let hash = token_hash(token);
    let row: Option<SessionRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT s.user_id, s.impersonator_id, s.last_seen_at, s.expires_at, u.kind, u.is_admin, \
         u.account_id, u.time_zone FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN users i ON i.id = s.impersonator_id \
         WHERE s.token_hash = $1 AND s.stage = 'full' AND u.status = 'active' \
         AND (s.impersonator_id IS NULL \
         OR (i.status = 'active' AND i.kind = 'platform_admin'))"
    )
    .bind(&hash)
    .fetch_optional(c)
    .await
    .map_err(AppError::from)
    })?;
    let Some(row) = row else { return Ok(None) };
    let idle_limit = settings.session_idle_minutes * 60;
    if now >= row.expires_at || now - row.last_seen_at > idle_limit {
        delete(db, token).await?;
        return Ok(None);
    }
    let Some(role) = Role::from_stored(&row.kind, row.is_admin) else {
        return Ok(None);
    };
    if now - row.last_seen_at >= TOUCH_EVERY_SECS {
        execute!(db: db, sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2"
        )
        .bind(now)
        .bind(&hash))?;
    }
    Ok(Some((
        Actor {
            user_id: row.user_id,
            role,
            account_id: row.account_id,
            impersonator_id: row.impersonator_id,
        },
        row.time_zone,
    )))
}

/// The session token the current request carries, if any.
pub fn current_token() -> Option<String> {
    request::parts()
        .and_then(|p| request::cookie(&p.headers, COOKIE_NAME))
        .filter(|t| !t.is_empty())
}

/// Who is asking, if anyone, as the session cookie of the current request says: as the server's
/// middleware resolved it for this request, or resolved now where no middleware ran.
pub async fn maybe_actor() -> Result<Option<Actor>, AppError> {
    if let Some(resolved) =
        request::parts().and_then(|p| p.extensions.get::<RequestSession>().cloned())
    {
        return Ok(resolved.actor);
    }
    let state: AppState = state()?;
    let Some(token) = current_token() else {
        return Ok(None);
    };
    resolve(&state.db, &state.settings, &token, super::now()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes in unpadded base64");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn only_a_sha256_of_the_token_is_stored() {
        let token = new_token();
        let hash = token_hash(&token);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, token_hash(&token));
        assert_ne!(hash, token);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cookie_attributes_follow_the_public_url() {
        let mut settings = Settings::default();
        let plain = set_cookie_header("t", &settings);
        assert!(
            plain.contains("HttpOnly")
                && plain.contains("SameSite=Lax")
                && !plain.contains("Secure")
        );
        settings.public_url = "https://support.example.com".into();
        assert!(set_cookie_header("t", &settings).ends_with("; Secure"));
        assert!(clear_cookie_header(&settings).contains("Max-Age=0"));
    }
}
