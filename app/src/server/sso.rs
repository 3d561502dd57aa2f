//! Sign-in through a customer account's own OpenID Connect provider (SPEC §3.4): the account's
//! administrators (or a platform admin) connect it — issuer with discovery, client id and secret,
//! the email domains it answers for, whether passwords are refused. People of those domains are
//! sent to the provider (authorization code with PKCE; state and nonce checked; the ID token
//! verified with the provider's keys by `openidconnect`; `email_verified` required). Signing in
//! this way never creates anyone: the person must already be an active user of that account.

use super::audit::{self, Event};
use super::db::{execute, on_db, on_tx, Db};
use super::second_factor::{sign_in::finish, Method};
use super::session::token_hash;
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::domain::Email;
use crate::model::security::SsoSettings;
use crate::model::Actor;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::json;

/// How long a sign-in sent to a provider may take to come back.
const LOGIN_SECONDS: i64 = 600;

#[derive(sqlx::FromRow)]
struct Config {
    account_id: i64,
    issuer: String,
    client_id: String,
    client_secret: String,
}

/// The address providers send people back to.
pub fn callback_url(settings: &super::state::Settings) -> String {
    format!("{}/sso/callback", settings.public_url.trim_end_matches('/'))
}

fn http() -> Result<openidconnect::reqwest::Client, AppError> {
    openidconnect::reqwest::Client::builder()
        // Following redirects would let a provider's answer send the portal elsewhere (SSRF).
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "could not build the OpenID client");
            AppError::Internal
        })
}

/// The provider's metadata, read from its discovery document.
async fn discover(issuer: &str) -> Result<CoreProviderMetadata, String> {
    let issuer = IssuerUrl::new(issuer.to_string()).map_err(|e| e.to_string())?;
    let client = http().map_err(|_| "internal".to_string())?;
    CoreProviderMetadata::discover_async(issuer, &client)
        .await
        .map_err(|e| e.to_string())
}

/// Refuses an account id that names no account (a platform admin's typo or probe).
async fn known_account(db: &Db, account_id: i64) -> Result<(), AppError> {
    let n: i64 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_one(c)
    .await)?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// What an account's SSO page shows (never the secret).
pub async fn settings(db: &Db, account_id: i64) -> Result<SsoSettings, AppError> {
    known_account(db, account_id).await?;
    let found: Option<(String, String, bool)> = on_db!(db, |c| sqlx::query_as(
        "SELECT issuer, client_id, required FROM account_sso WHERE account_id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    let domains: Vec<String> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT domain FROM sso_domains WHERE account_id = $1 ORDER BY domain"
    )
    .bind(account_id)
    .fetch_all(c)
    .await)?;
    Ok(match found {
        Some((issuer, client_id, required)) => SsoSettings {
            connected: true,
            issuer,
            client_id,
            domains: domains.join("\n"),
            required,
        },
        None => SsoSettings::default(),
    })
}

/// Connects account `account_id` to a provider (or changes the connection). The issuer must
/// answer discovery; a blank secret keeps the stored one.
#[allow(clippy::too_many_arguments)]
pub async fn save(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    issuer: &str,
    client_id: &str,
    client_secret: &str,
    domains: &str,
    required: bool,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    known_account(&state.db, account_id).await?;
    let (issuer, client_id) = (issuer.trim(), client_id.trim());
    let mut problems = Problems::new();
    let loopback = issuer.starts_with("http://127.0.0.1") || issuer.starts_with("http://localhost");
    if !(issuer.starts_with("https://") || loopback)
        || openidconnect::url::Url::parse(issuer).is_err()
    {
        problems.add(
            "issuer",
            "Enter the provider's issuer URL, starting with https://",
        );
    }
    if client_id.is_empty() || client_id.len() > 200 {
        problems.add(
            "client_id",
            "Enter the client ID the provider gave the portal",
        );
    }
    let mut list: Vec<String> = domains
        .split([',', '\n', ' '])
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    list.sort();
    list.dedup();
    let bad = |d: &String| {
        !d.contains('.')
            || d.starts_with('.')
            || !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    if list.is_empty() || list.iter().any(bad) {
        problems.add(
            "domains",
            "Enter the email domains whose people sign in here, such as example.com",
        );
    }
    let stored: Option<String> = on_db!(&state.db, |c| sqlx::query_scalar(
        "SELECT client_secret FROM account_sso WHERE account_id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    let secret = match (client_secret.trim(), stored) {
        ("", Some(kept)) => kept,
        ("", None) => {
            problems.add("client_secret", "Enter the client secret");
            String::new()
        }
        (given, _) => given.to_string(),
    };
    problems.finish()?;
    if let Err(reason) = discover(issuer).await {
        tracing::info!(%reason, "provider discovery failed");
        return Err(AppError::field(
            "issuer",
            "The provider's discovery document (/.well-known/openid-configuration) could not be read at this issuer",
        ));
    }
    let mut tx = state.db.begin().await?;
    let taken: i64 = on_tx!(&mut tx, |c| {
        let mut q =
            sqlx::QueryBuilder::new("SELECT COUNT(*) FROM sso_domains WHERE account_id <> ");
        q.push_bind(account_id).push(" AND domain IN (");
        let mut sep = q.separated(", ");
        for d in &list {
            sep.push_bind(d.clone());
        }
        q.push(")");
        q.build_query_scalar().fetch_one(c).await
    })?;
    if taken > 0 {
        return Err(AppError::field(
            "domains",
            "One of these domains already signs in through another account's provider",
        ));
    }
    execute!(tx: &mut tx, sqlx::query("DELETE FROM account_sso WHERE account_id = $1").bind(account_id))?;
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO account_sso (account_id, issuer, client_id, client_secret, required, \
         updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(account_id)
    .bind(issuer)
    .bind(client_id)
    .bind(&secret)
    .bind(required)
    .bind(actor.user_id)
    .bind(now))?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM sso_domains WHERE account_id = $1").bind(account_id))?;
    for d in &list {
        execute!(tx: &mut tx, sqlx::query("INSERT INTO sso_domains (domain, account_id) VALUES ($1, $2)")
            .bind(d)
            .bind(account_id))?;
    }
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("account:{account_id}")),
        after: Some(
            json!({ "issuer": issuer, "client_id": client_id, "domains": list, "required": required }),
        ),
        ..Event::by(actor, "sso.configured", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}

/// Whether `account_id` refuses passwords (its users sign in through its provider).
pub async fn required(db: &Db, account_id: i64) -> Result<bool, AppError> {
    let required: Option<bool> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT required FROM account_sso WHERE account_id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    Ok(required.unwrap_or(false))
}

/// Starts signing `email` in through the provider of the account its domain belongs to; answers
/// the portal page that sends the browser on to the provider's authorization URL. Starts count against the sign-in
/// limits (per email and per address) like passwords, so a flood neither fills the table of
/// sign-ins under way nor makes the portal hammer a provider; a finished sign-in clears them.
pub async fn start(
    state: &AppState,
    email: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let email = Email::parse(email).map_err(|m| AppError::field("email", m))?;
    super::auth::count_attempt(&state.db, &state.settings, email.as_str(), client_addr, now)
        .await?;
    let domain = email
        .as_str()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let config: Option<Config> = on_db!(&state.db, |c| sqlx::query_as(
        "SELECT s.account_id, s.issuer, s.client_id, s.client_secret FROM sso_domains d \
         JOIN account_sso s ON s.account_id = d.account_id WHERE d.domain = $1"
    )
    .bind(&domain)
    .fetch_optional(c)
    .await)?;
    let config = config.ok_or_else(|| {
        AppError::field(
            "email",
            "Your company does not sign in through an identity provider here. Sign in with your password.",
        )
    })?;
    let metadata = discover(&config.issuer).await.map_err(|reason| {
        tracing::warn!(%reason, account_id = config.account_id, "provider unreachable");
        AppError::Conflict("Your company's identity provider cannot be reached just now. Try again in a few minutes.".into())
    })?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(
        RedirectUrl::new(callback_url(&state.settings)).map_err(|_| AppError::Internal)?,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .add_extra_param("login_hint", email.as_str())
        .url();
    let mut tx = state.db.begin().await?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM sso_logins WHERE created_at < $1").bind(now - LOGIN_SECONDS))?;
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO sso_logins (state_hash, account_id, nonce, pkce_verifier, authorize_url, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(token_hash(csrf.secret()))
    .bind(config.account_id)
    .bind(nonce.secret())
    .bind(verifier.secret())
    .bind(url.as_str())
    .bind(now))?;
    tx.commit().await?;
    // The browser goes on from a page of the portal's own: the sign-in form may post only to the
    // portal (CSP form-action 'self'), which a redirect to the provider would break.
    Ok(format!("/sso/go?login={}", csrf.secret()))
}

/// The provider address of sign-in `login` (its state), while it is still under way.
pub async fn authorize_url(db: &Db, login: &str, now: i64) -> Result<Option<String>, AppError> {
    on_db!(db, |c| sqlx::query_scalar(
        "SELECT authorize_url FROM sso_logins WHERE state_hash = $1 AND used_at IS NULL \
         AND created_at > $2"
    )
    .bind(token_hash(login))
    .bind(now - LOGIN_SECONDS)
    .fetch_optional(c)
    .await
    .map_err(AppError::from))
}

/// Why a return from the provider signed nobody in, in words for the person (details are logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// The provider sent the browser back with `code` and `state`: the state is used up, the code
/// exchanged, the ID token verified, and the person — an active user of the account, with a
/// verified email of its domains — signed in. Answers the new session's token.
pub async fn finish_sign_in(
    state: &AppState,
    code: &str,
    csrf_state: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, Refused> {
    let db = &state.db;
    let failed = |e: AppError| {
        tracing::error!(error = %e, "single sign-on failed");
        Refused("Signing in did not work. Please try again.")
    };
    let mut tx = db.begin().await.map_err(failed)?;
    let hash = token_hash(csrf_state);
    let used = execute!(tx: &mut tx, sqlx::query(
        "UPDATE sso_logins SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL AND created_at > $3"
    )
    .bind(now)
    .bind(&hash)
    .bind(now - LOGIN_SECONDS))
    .map_err(failed)?;
    let login: Option<(i64, String, String)> = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT account_id, nonce, pkce_verifier FROM sso_logins WHERE state_hash = $1"
    )
    .bind(&hash)
    .fetch_optional(c)
    .await)
    .map_err(|e| failed(e.into()))?;
    tx.commit().await.map_err(failed)?;
    let (Some((account_id, nonce, verifier)), 1) = (login, used) else {
        tracing::info!(
            client_addr,
            "single sign-on with an unknown, used or expired state"
        );
        return Err(Refused(
            "This sign-in link has expired or was already used. Start again from the sign-in page.",
        ));
    };
    let result = verify(state, account_id, code, &nonce, &verifier).await;
    let refuse = |why: &'static str, detail: String| async move {
        tracing::info!(account_id, %detail, "single sign-on refused");
        let event = Event {
            action: "sign_in.failed",
            account_id: Some(account_id),
            target: Some(format!("account:{account_id}")),
            after: Some(json!({ "method": "identity_provider", "reason": detail })),
            client_addr: Some(client_addr),
            ..Event::default()
        };
        if let Ok(mut tx) = db.begin().await {
            let _ = audit::append(&mut tx, &event, now).await;
            let _ = tx.commit().await;
        }
        Refused(why)
    };
    let email = match result {
        Ok(email) => email,
        Err(detail) => {
            return Err(refuse(
                "Your identity provider's answer could not be verified. Please try again.",
                detail,
            )
            .await)
        }
    };
    let domain = email.rsplit('@').next().unwrap_or_default().to_string();
    let domain_ok: i64 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sso_domains WHERE domain = $1 AND account_id = $2"
    )
    .bind(&domain)
    .bind(account_id)
    .fetch_one(c)
    .await)
    .map_err(|e| failed(e.into()))?;
    let user: Option<(i64, String)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, email FROM users WHERE email = $1 AND kind = 'customer' AND account_id = $2 \
         AND status = 'active'"
    )
    .bind(&email)
    .bind(account_id)
    .fetch_optional(c)
    .await
    })
    .map_err(|e| failed(e.into()))?;
    let (Some((user_id, email)), 1) = (user, domain_ok) else {
        return Err(refuse(
            "You do not have access to this support portal. Ask your company's administrators.",
            format!("no active user {email} in the account"),
        )
        .await);
    };
    let mut tx = db.begin().await.map_err(failed)?;
    let token = finish(
        &mut tx,
        &state.settings,
        user_id,
        Some(account_id),
        &email,
        client_addr,
        Some(Method::Sso),
        now,
    )
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(token)
}

/// Exchanges `code` and verifies the ID token (signature with the provider's keys, issuer,
/// audience, expiry, nonce); answers its verified email, lowercased.
async fn verify(
    state: &AppState,
    account_id: i64,
    code: &str,
    nonce: &str,
    verifier: &str,
) -> Result<String, String> {
    let config: Option<Config> = on_db!(&state.db, |c| {
        sqlx::query_as(
        "SELECT account_id, issuer, client_id, client_secret FROM account_sso WHERE account_id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await
    })
    .map_err(|e| e.to_string())?;
    let config = config.ok_or("the account is no longer connected")?;
    let metadata = discover(&config.issuer).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id),
        Some(ClientSecret::new(config.client_secret)),
    )
    .set_redirect_uri(RedirectUrl::new(callback_url(&state.settings)).map_err(|e| e.to_string())?);
    let http = http().map_err(|_| "internal".to_string())?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&http)
        .await
        .map_err(|e| format!("code exchange: {e}"))?;
    let id_token = tokens.id_token().ok_or("no ID token")?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_string()))
        .map_err(|e| format!("ID token: {e}"))?;
    if let (Some(email), Some(true)) = (claims.email(), claims.email_verified()) {
        return Ok(email.as_str().to_ascii_lowercase());
    }
    // Providers that keep the email out of the ID token give it at their userinfo endpoint, for
    // the same subject (OpenID Connect Core §5.3).
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .map_err(|e| format!("userinfo: {e}"))?
        .request_async(&http)
        .await
        .map_err(|e| format!("userinfo: {e}"))?;
    if info.email_verified() != Some(true) {
        return Err("the provider has not verified the email address".into());
    }
    let email = info.email().ok_or("no email from the provider")?;
    Ok(email.as_str().to_ascii_lowercase())
}
