//! Second factors (SPEC §3.4): a person's authenticator apps and recovery codes, which sign-ins
//! need one, and checking a code. Setting one up or removing one asks for the password again
//! (see `manage`); the sign-in steps are in `sign_in`.

pub mod codes;
pub mod manage;
pub mod passkeys;
pub mod sign_in;

use super::db::{execute, on_db, on_tx, Db, Tx};
use super::state::Settings;
use crate::error::AppError;
use crate::model::security::{AppSetup, AuthenticatorApp};

/// How long an app being set up keeps its secret before a new one is offered.
const SETUP_SECONDS: i64 = 3600;
/// How long new recovery codes wait for the page that shows them.
const REVEAL_SECONDS: i64 = 600;

/// How a sign-in was completed beyond the password: a second factor, or the customer's own
/// identity provider instead of a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    App,
    Passkey,
    RecoveryCode,
    Sso,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::App => "authenticator_app",
            Method::Passkey => "passkey",
            Method::RecoveryCode => "recovery_code",
            Method::Sso => "identity_provider",
        }
    }
}

/// Whether user `user_id` (of `kind`, in `account_id`) must have a second factor: customers when
/// their account requires one; vendor staff when the portal's staff policy does; platform admins
/// also whenever `second_factor_platform_admins` is on (the default).
pub async fn required(
    tx: &mut Tx,
    settings: &Settings,
    kind: &str,
    account_id: Option<i64>,
) -> Result<bool, AppError> {
    if kind == "platform_admin" && settings.second_factor_platform_admins {
        return Ok(true);
    }
    let required: Option<bool> = match account_id {
        Some(account_id) => on_tx!(tx, |c| sqlx::query_scalar(
            "SELECT require_second_factor FROM accounts WHERE id = $1"
        )
        .bind(account_id)
        .fetch_optional(c)
        .await)?,
        None => on_tx!(tx, |c| sqlx::query_scalar(
            "SELECT require_second_factor FROM staff_policy WHERE id = 1"
        )
        .fetch_optional(c)
        .await)?,
    };
    Ok(required.unwrap_or(false))
}

/// Whether user `user_id` has a confirmed second factor (an authenticator app or a passkey).
pub async fn has_app(tx: &mut Tx, user_id: i64) -> Result<bool, AppError> {
    let n: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL"
    )
    .bind(user_id)
    .fetch_one(c)
    .await)?;
    Ok(n > 0)
}

/// The confirmed second factors of user `user_id` (authenticator apps and passkeys), oldest first.
pub async fn apps(db: &Db, user_id: i64) -> Result<Vec<AuthenticatorApp>, AppError> {
    let rows: Vec<(i64, String, String, i64, Option<i64>)> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, kind, label, confirmed_at, last_used_at FROM second_factors \
         WHERE user_id = $1 AND confirmed_at IS NOT NULL ORDER BY id"
    )
    .bind(user_id)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, label, created_at, last_used_at)| AuthenticatorApp {
                id,
                passkey: kind == "passkey",
                label,
                created_at,
                last_used_at,
            },
        )
        .collect())
}

/// How many unused recovery codes user `user_id` has.
pub async fn recovery_codes_left(db: &Db, user_id: i64) -> Result<i64, AppError> {
    on_db!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// The app user `user_id` is setting up: the secret offered within the last hour, or a new one.
/// The same secret comes back on every visit meanwhile, so a QR code already scanned stays valid.
pub async fn setup(
    db: &Db,
    settings: &Settings,
    user_id: i64,
    email: &str,
    now: i64,
) -> Result<AppSetup, AppError> {
    let mut tx = db.begin().await?;
    let open: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT secret FROM second_factors WHERE user_id = $1 AND kind = 'totp' \
         AND confirmed_at IS NULL AND created_at > $2 ORDER BY id DESC LIMIT 1"
    )
    .bind(user_id)
    .bind(now - SETUP_SECONDS)
    .fetch_optional(c)
    .await)?;
    let secret = match open {
        Some(secret) => secret,
        None => {
            execute!(tx: &mut tx, sqlx::query(
                "DELETE FROM second_factors WHERE user_id = $1 AND confirmed_at IS NULL"
            )
            .bind(user_id))?;
            let secret = codes::new_secret();
            execute!(tx: &mut tx, sqlx::query(
                "INSERT INTO second_factors (user_id, kind, label, secret, created_at) \
                 VALUES ($1, 'totp', '', $2, $3)"
            )
            .bind(user_id)
            .bind(&secret)
            .bind(now))?;
            secret
        }
    };
    tx.commit().await?;
    let issuer = issuer(settings);
    let uri = codes::otpauth_uri(&secret, &issuer, email);
    let secret_grouped = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(AppSetup {
        qr_svg: codes::qr_svg(&uri),
        secret,
        secret_grouped,
    })
}

/// The name an authenticator app lists the portal's codes under: the portal's host.
fn issuer(settings: &Settings) -> String {
    format!("Support portal ({})", super::mail::portal_host(settings))
}

/// Confirms the app user `user_id` is setting up with a `code` from it, naming it `label`; answers
/// its id, or `None` when the code does not match (or nothing is being set up).
pub async fn confirm_setup(
    tx: &mut Tx,
    user_id: i64,
    code: &str,
    label: &str,
    now: i64,
) -> Result<Option<i64>, AppError> {
    let open: Option<(i64, String)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, secret FROM second_factors WHERE user_id = $1 AND kind = 'totp' \
         AND confirmed_at IS NULL AND created_at > $2 ORDER BY id DESC LIMIT 1"
    )
    .bind(user_id)
    .bind(now - SETUP_SECONDS)
    .fetch_optional(c)
    .await)?;
    let Some((id, secret)) = open else {
        return Ok(None);
    };
    let Some(step) = codes::matching_step(&secret, code, now, 0) else {
        return Ok(None);
    };
    execute!(tx: tx, sqlx::query(
        "UPDATE second_factors SET confirmed_at = $1, last_used_at = $1, last_used_step = $2, \
         label = $3 WHERE id = $4"
    )
    .bind(now)
    .bind(step)
    .bind(label)
    .bind(id))?;
    Ok(Some(id))
}

/// Checks `code` — from one of user `user_id`'s apps, or one of their recovery codes — and uses it
/// up. Concurrent uses of one code: only one of them changes the row, so only one passes.
pub async fn check_code(
    tx: &mut Tx,
    user_id: i64,
    code: &str,
    now: i64,
) -> Result<Option<Method>, AppError> {
    if codes::is_app_code(code) {
        let apps: Vec<(i64, String, i64)> = on_tx!(tx, |c| sqlx::query_as(
            "SELECT id, secret, last_used_step FROM second_factors \
             WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NOT NULL"
        )
        .bind(user_id)
        .fetch_all(c)
        .await)?;
        for (id, secret, last) in apps {
            if let Some(step) = codes::matching_step(&secret, code, now, last) {
                let used = execute!(tx: tx, sqlx::query(
                    "UPDATE second_factors SET last_used_step = $1, last_used_at = $2 \
                     WHERE id = $3 AND last_used_step < $1"
                )
                .bind(step)
                .bind(now)
                .bind(id))?;
                if used == 1 {
                    return Ok(Some(Method::App));
                }
            }
        }
        return Ok(None);
    }
    let used = execute!(tx: tx, sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
         AND used_at IS NULL"
    )
    .bind(now)
    .bind(user_id)
    .bind(codes::recovery_hash(code)))?;
    Ok((used == 1).then_some(Method::RecoveryCode))
}

/// Replaces user `user_id`'s recovery codes with ten new ones, kept for the page that shows them
/// once; answers how many unused ones were replaced.
pub async fn new_recovery_codes(tx: &mut Tx, user_id: i64, now: i64) -> Result<i64, AppError> {
    let replaced = execute!(tx: tx, sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(user_id))?;
    execute!(tx: tx, sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id))?;
    let fresh = codes::new_recovery_codes();
    for code in &fresh {
        execute!(tx: tx, sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)"
        )
        .bind(user_id)
        .bind(codes::recovery_hash(code))
        .bind(now))?;
    }
    execute!(tx: tx, sqlx::query("DELETE FROM recovery_code_reveals WHERE user_id = $1").bind(user_id))?;
    execute!(tx: tx, sqlx::query(
        "INSERT INTO recovery_code_reveals (user_id, codes, expires_at) VALUES ($1, $2, $3)"
    )
    .bind(user_id)
    .bind(fresh.join("\n"))
    .bind(now + REVEAL_SECONDS))?;
    Ok(replaced as i64)
}

/// The recovery codes made for user `user_id` in the last minutes, once: they are removed as they
/// are read.
pub async fn take_new_recovery_codes(
    db: &Db,
    user_id: i64,
    now: i64,
) -> Result<Option<Vec<String>>, AppError> {
    let mut tx = db.begin().await?;
    let codes: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT codes FROM recovery_code_reveals WHERE user_id = $1 AND expires_at > $2"
    )
    .bind(user_id)
    .bind(now)
    .fetch_optional(c)
    .await)?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM recovery_code_reveals WHERE user_id = $1").bind(user_id))?;
    tx.commit().await?;
    Ok(codes.map(|c| c.lines().map(str::to_string).collect()))
}

/// Removes every second factor of user `user_id` (apps, passkeys, codes, an app being set up);
/// answers how many apps and passkeys there were.
pub async fn remove_all(tx: &mut Tx, user_id: i64) -> Result<i64, AppError> {
    let apps = execute!(tx: tx, sqlx::query(
        "DELETE FROM second_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL"
    )
    .bind(user_id))?;
    execute!(tx: tx, sqlx::query("DELETE FROM second_factors WHERE user_id = $1").bind(user_id))?;
    execute!(tx: tx, sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id))?;
    execute!(tx: tx, sqlx::query("DELETE FROM recovery_code_reveals WHERE user_id = $1").bind(user_id))?;
    Ok(apps as i64)
}

/// Whether the portal requires a second factor of all vendor staff.
pub async fn staff_required(db: &Db) -> Result<bool, AppError> {
    let required: Option<bool> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT require_second_factor FROM staff_policy WHERE id = 1"
    )
    .fetch_optional(c)
    .await)?;
    Ok(required.unwrap_or(false))
}

/// Whether account `account_id` requires a second factor of everyone in it.
pub async fn account_required(db: &Db, account_id: i64) -> Result<bool, AppError> {
    let required: Option<bool> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT require_second_factor FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    required.ok_or(AppError::NotFound)
}
