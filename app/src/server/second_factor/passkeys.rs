//! Passkeys and security keys (WebAuthn, checked by `webauthn-rs`) as a second factor: adding one
//! from the security page, and giving one as the second step of signing in. Each ceremony takes
//! two requests — the options the browser hands to the authenticator, then the authenticator's
//! answer. What the first request started (the challenge, and what the answer must match) is kept
//! on the session that asked for it, for a few minutes, and taken once.

use super::manage::{check_label, owner, password_again, record, recovery_codes_count, Owner};
use super::new_recovery_codes;
use super::sign_in::{count_wrong_code, end_pending, expired, finish_pending};
use super::Method;
use crate::error::{AppError, Problems};
use crate::model::Actor;
use crate::server::audit;
use crate::server::auth::{count_attempt, forget_attempt};
use crate::server::db::{execute, on_db, on_tx, Db, Tx};
use crate::server::session::{self, Stage};
use crate::server::state::{AppState, Settings};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// How long the authenticator's answer may take after the options were handed out.
const CEREMONY_SECONDS: i64 = 300;

/// A ceremony under way on a session.
#[derive(Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "snake_case")]
enum Ceremony {
    /// Adding a passkey named `label` from the security page.
    Register {
        label: String,
        started_at: i64,
        state: PasskeyRegistration,
    },
    /// The second step of signing in.
    SignIn {
        started_at: i64,
        state: PasskeyAuthentication,
    },
}

impl Ceremony {
    fn started_at(&self) -> i64 {
        match self {
            Ceremony::Register { started_at, .. } | Ceremony::SignIn { started_at, .. } => {
                *started_at
            }
        }
    }
}

/// The portal as a WebAuthn relying party: its public URL is the only origin, its host name the
/// relying party's id. Browsers refuse passkeys for an IP address, so a portal reached by one
/// cannot offer them.
fn relying_party(settings: &Settings) -> Result<Webauthn, AppError> {
    let unavailable = || {
        AppError::Conflict(
            "Passkeys are not available on this portal: it must be reached by a host name. Use an authenticator app instead.".into(),
        )
    };
    let url = Url::parse(&settings.public_url).map_err(|_| unavailable())?;
    let host = url.domain().ok_or_else(unavailable)?.to_string();
    WebauthnBuilder::new(&host, &url)
        .and_then(|b| b.rp_name("Support portal").build())
        .map_err(|e| {
            tracing::error!(error = %e, public_url = %settings.public_url, "passkeys unavailable");
            unavailable()
        })
}

/// The handle an authenticator files a person's passkeys under: stable per person, and not their
/// email or database id.
fn user_handle(user_id: i64) -> Uuid {
    let digest = Sha256::digest(format!("portcullis passkey user {user_id}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// The passkeys of user `user_id`, with their row ids.
async fn passkeys_of(tx: &mut Tx, user_id: i64) -> Result<Vec<(i64, Passkey)>, AppError> {
    let rows: Vec<(i64, String)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, secret FROM second_factors \
         WHERE user_id = $1 AND kind = 'passkey' AND confirmed_at IS NOT NULL ORDER BY id"
    )
    .bind(user_id)
    .fetch_all(c)
    .await)?;
    rows.into_iter()
        .map(|(id, stored)| {
            serde_json::from_str(&stored).map(|p| (id, p)).map_err(|e| {
                tracing::error!(error = %e, factor = id, "stored passkey unreadable");
                AppError::Internal
            })
        })
        .collect()
}

/// Keeps `ceremony` on the session `token` names, replacing any earlier one.
async fn keep(db: &Db, token: &str, ceremony: &Ceremony) -> Result<(), AppError> {
    let text = serde_json::to_string(ceremony).map_err(|e| {
        tracing::error!(error = %e, "passkey ceremony not serialisable");
        AppError::Internal
    })?;
    execute!(db: db, sqlx::query(
        "UPDATE sessions SET passkey_ceremony = $1 WHERE token_hash = $2"
    )
    .bind(&text)
    .bind(session::token_hash(token)))?;
    Ok(())
}

/// Takes the ceremony kept on session `token` (once: of two concurrent answers only one gets it),
/// if it is still fresh.
async fn take(tx: &mut Tx, token: &str, now: i64) -> Result<Option<Ceremony>, AppError> {
    let hash = session::token_hash(token);
    let kept: Option<Option<String>> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT passkey_ceremony FROM sessions WHERE token_hash = $1"
    )
    .bind(&hash)
    .fetch_optional(c)
    .await)?;
    let Some(text) = kept.flatten() else {
        return Ok(None);
    };
    let taken = execute!(tx: tx, sqlx::query(
        "UPDATE sessions SET passkey_ceremony = NULL \
         WHERE token_hash = $1 AND passkey_ceremony = $2"
    )
    .bind(&hash)
    .bind(&text))?;
    if taken != 1 {
        return Ok(None);
    }
    Ok(serde_json::from_str::<Ceremony>(&text)
        .ok()
        .filter(|c| now - c.started_at() <= CEREMONY_SECONDS))
}

/// The authenticator's answer as the browser sent it (the JSON of the credential).
fn answer<T: for<'de> Deserialize<'de>>(credential: &str) -> Result<T, AppError> {
    serde_json::from_str(credential).map_err(|_| {
        AppError::field(
            "credential",
            "The answer from your passkey could not be read. Try again.",
        )
    })
}

/// Starts adding a passkey named `label`: checks the password again, and answers the options for
/// the browser's `navigator.credentials.create` (as JSON).
#[allow(clippy::too_many_arguments)]
pub async fn start_registration(
    state: &AppState,
    actor: &Actor,
    token: &str,
    password: &str,
    label: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let who = owner(state, actor).await?;
    let label = label.trim();
    let mut problems = Problems::new();
    check_label(&mut problems, label);
    problems.finish()?;
    password_again(state, &who, password, client_addr, now).await?;
    let webauthn = relying_party(&state.settings)?;
    let mut tx = state.db.begin().await?;
    let existing = passkeys_of(&mut tx, who.user_id).await?;
    tx.commit().await?;
    let exclude = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
    let (options, registration) = webauthn
        .start_passkey_registration(
            user_handle(who.user_id),
            &who.email,
            &who.name,
            Some(exclude),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "passkey registration could not start");
            AppError::Internal
        })?;
    let label = if label.is_empty() { "Passkey" } else { label };
    let ceremony = Ceremony::Register {
        label: label.to_string(),
        started_at: now,
        state: registration,
    };
    keep(&state.db, token, &ceremony).await?;
    serde_json::to_string(&options).map_err(|_| AppError::Internal)
}

fn start_over() -> AppError {
    AppError::Conflict("Adding the passkey took too long or was not started. Try again.".into())
}

/// Adds the passkey the authenticator made (`credential`, its JSON) for the registration started
/// on session `token`. Answers whether new recovery codes were made (the person's first factor).
pub async fn finish_registration(
    state: &AppState,
    actor: &Actor,
    token: &str,
    credential: &str,
    client_addr: &str,
    now: i64,
) -> Result<bool, AppError> {
    let who: Owner = owner(state, actor).await?;
    let credential: RegisterPublicKeyCredential = answer(credential)?;
    let webauthn = relying_party(&state.settings)?;
    let mut tx = state.db.begin().await?;
    let Some(Ceremony::Register {
        label,
        state: registration,
        ..
    }) = take(&mut tx, token, now).await?
    else {
        return Err(start_over());
    };
    let passkey = match webauthn.finish_passkey_registration(&credential, &registration) {
        Ok(passkey) => passkey,
        Err(e) => {
            tracing::info!(user_id = who.user_id, error = %e, "passkey registration refused");
            tx.commit().await?;
            return Err(AppError::field(
                "credential",
                "Your passkey's answer was not accepted. Try again, or use another passkey or security key.",
            ));
        }
    };
    let key = credential_key(passkey.cred_id().as_ref());
    let taken: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM second_factors WHERE credential_id = $1"
    )
    .bind(&key)
    .fetch_one(c)
    .await)?;
    if taken > 0 {
        tx.commit().await?;
        return Err(AppError::Conflict(
            "That passkey is already registered.".into(),
        ));
    }
    let stored = serde_json::to_string(&passkey).map_err(|_| AppError::Internal)?;
    let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "INSERT INTO second_factors \
         (user_id, kind, label, secret, created_at, confirmed_at, credential_id) \
         VALUES ($1, 'passkey', $2, $3, $4, $4, $5) RETURNING id"
    )
    .bind(who.user_id)
    .bind(&label)
    .bind(&stored)
    .bind(now)
    .bind(&key)
    .fetch_one(c)
    .await)?;
    let first = recovery_codes_count(&mut tx, who.user_id).await? == 0;
    if first {
        new_recovery_codes(&mut tx, who.user_id, now).await?;
    }
    let after = json!({ "kind": "passkey", "id": id, "label": label });
    let event = record(actor, &who, "second_factor.added", after, client_addr);
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(first)
}

/// The options for the browser's `navigator.credentials.get` at the second step of signing in,
/// for the person half-way through it on session `token` (as JSON).
pub async fn start_sign_in(state: &AppState, token: &str, now: i64) -> Result<String, AppError> {
    let who = session::pending(&state.db, token, Stage::SecondFactor, now)
        .await?
        .ok_or_else(expired)?;
    let webauthn = relying_party(&state.settings)?;
    let mut tx = state.db.begin().await?;
    let passkeys: Vec<Passkey> = passkeys_of(&mut tx, who.user_id)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    tx.commit().await?;
    if passkeys.is_empty() {
        return Err(AppError::Conflict(
            "You have no passkey. Enter a code from your authenticator app or a recovery code."
                .into(),
        ));
    }
    let (options, authentication) =
        webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| {
                tracing::error!(error = %e, "passkey sign-in could not start");
                AppError::Internal
            })?;
    let ceremony = Ceremony::SignIn {
        started_at: now,
        state: authentication,
    };
    keep(&state.db, token, &ceremony).await?;
    serde_json::to_string(&options).map_err(|_| AppError::Internal)
}

/// The second step of signing in with a passkey: the authenticator's answer (`credential`, its
/// JSON) to the options handed out on session `token`. Throttled and counted like a code; answers
/// the signed-in session's token.
pub async fn give_passkey(
    state: &AppState,
    token: &str,
    credential: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let who = session::pending(&state.db, token, Stage::SecondFactor, now)
        .await?
        .ok_or_else(expired)?;
    let attempt = count_attempt(&state.db, &state.settings, &who.email, client_addr, now).await?;
    let webauthn = relying_party(&state.settings)?;
    let refused = || {
        AppError::field(
            "credential",
            "Your passkey was not accepted. Try again, or enter a code from your authenticator app or a recovery code.",
        )
    };
    let Ok(credential) = answer::<PublicKeyCredential>(credential) else {
        count_wrong_code(state, token, &who, client_addr, now).await?;
        return Err(refused());
    };
    let mut tx = state.db.begin().await?;
    let Some(Ceremony::SignIn {
        state: authentication,
        ..
    }) = take(&mut tx, token, now).await?
    else {
        tx.commit().await?;
        return Err(AppError::Conflict(
            "The passkey step took too long or was not started. Choose \"Use a passkey\" again."
                .into(),
        ));
    };
    let result = match webauthn.finish_passkey_authentication(&credential, &authentication) {
        Ok(result) => result,
        Err(e) => {
            tx.commit().await?;
            tracing::info!(user_id = who.user_id, error = %e, "passkey refused at sign-in");
            count_wrong_code(state, token, &who, client_addr, now).await?;
            return Err(refused());
        }
    };
    // The authenticator's counter and backup state move on with each use: keep them.
    let used = credential_key(result.cred_id().as_ref());
    for (id, mut passkey) in passkeys_of(&mut tx, who.user_id).await? {
        if credential_key(passkey.cred_id().as_ref()) != used {
            continue;
        }
        let stored = match passkey.update_credential(&result) {
            Some(true) => Some(serde_json::to_string(&passkey).map_err(|_| AppError::Internal)?),
            _ => None,
        };
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE second_factors SET last_used_at = $1, secret = COALESCE($2, secret) \
             WHERE id = $3"
        )
        .bind(now)
        .bind(stored)
        .bind(id))?;
    }
    end_pending(&mut tx, token, Method::Passkey, &who, client_addr, now).await?;
    let signed_in = finish_pending(
        &mut tx,
        &state.settings,
        &who,
        client_addr,
        Method::Passkey,
        now,
    )
    .await?;
    tx.commit().await?;
    forget_attempt(&state.db, attempt).await?;
    tracing::info!(user_id = who.user_id, "passkey accepted");
    Ok(signed_in)
}

/// Which second factors user `user_id` can give at sign-in: (authenticator app, passkey).
pub async fn kinds(db: &Db, user_id: i64) -> Result<(bool, bool), AppError> {
    let kinds: Vec<String> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT DISTINCT kind FROM second_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL"
    )
    .bind(user_id)
    .fetch_all(c)
    .await
    })?;
    Ok((
        kinds.iter().any(|k| k == "totp"),
        kinds.iter().any(|k| k == "passkey"),
    ))
}

/// What the second step of signing in offers the person half-way through it on session `token`:
/// (an authenticator app, a passkey).
pub async fn second_step(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<(bool, bool), AppError> {
    let who = session::pending(&state.db, token, Stage::SecondFactor, now)
        .await?
        .ok_or_else(expired)?;
    kinds(&state.db, who.user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_portal_reached_by_address_offers_no_passkeys() {
        let mut settings = Settings::default();
        settings.public_url = "http://127.0.0.1:3000".into();
        assert!(matches!(
            relying_party(&settings),
            Err(AppError::Conflict(_))
        ));
        settings.public_url = "https://support.example.com".into();
        assert!(relying_party(&settings).is_ok());
        settings.public_url = "http://localhost:3107".into();
        assert!(relying_party(&settings).is_ok());
    }

    #[test]
    fn a_person_keeps_one_handle() {
        assert_eq!(user_handle(7), user_handle(7));
        assert_ne!(user_handle(7), user_handle(8));
    }
}
