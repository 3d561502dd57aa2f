//! What the pages show of a person's sign-in security: their second factors and sessions.

use serde::{Deserialize, Serialize};

/// A second factor someone set up: an authenticator app, or a passkey or security key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorApp {
    pub id: i64,
    /// A passkey or security key (WebAuthn) rather than an app's codes.
    pub passkey: bool,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A new authenticator app's secret, while it is being set up: as a QR code and as text to type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSetup {
    pub secret: String,
    /// The secret in groups of four, easier to type.
    pub secret_grouped: String,
    pub qr_svg: String,
}

/// One session of a person, as their security page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLine {
    /// A prefix of the stored token hash: names the session without being its credential.
    pub id: String,
    pub device: String,
    pub client_addr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The session of the browser looking.
    pub current: bool,
    /// Opened by vendor staff acting as this person (impersonation).
    pub staff_name: Option<String>,
}

/// The security page: second factors, recovery codes, sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOverview {
    pub apps: Vec<AuthenticatorApp>,
    pub recovery_codes_left: i64,
    /// Whether the person's account (or, for staff, the portal) requires a second factor.
    pub required: bool,
    /// The app being set up, when the page offers to add one.
    pub setup: AppSetup,
    pub sessions: Vec<SessionLine>,
}

/// The half-way point of signing in with a second factor to set up: who is signing in and the
/// app to set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSetup {
    pub name: String,
    pub setup: AppSetup,
}

/// A short description of a browser's User-Agent for people: "Firefox on Windows".
pub fn device_name(user_agent: &str) -> String {
    if user_agent.trim().is_empty() {
        return "Unknown device".into();
    }
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("Browser on {s}"),
        (None, None) => user_agent.chars().take(60).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::device_name;

    #[test]
    fn devices_are_named_for_people() {
        assert_eq!(
            device_name("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0"),
            "Edge on Windows"
        );
        assert_eq!(
            device_name("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
            "Firefox on Linux"
        );
        assert_eq!(device_name("curl/8.5.0"), "curl/8.5.0");
        assert_eq!(device_name(""), "Unknown device");
    }
}

/// A SCIM token of an account, as its administrators see it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ScimTokenLine {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub created_by: String,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The provisioning section of Manage Accounts: the SCIM address, the tokens, and a token just
/// made (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioning {
    pub base_url: String,
    pub tokens: Vec<ScimTokenLine>,
    pub new_token: Option<String>,
}

/// An account's connection to its OpenID Connect provider, as its settings page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSettings {
    pub connected: bool,
    pub issuer: String,
    pub client_id: String,
    /// One per line.
    pub domains: String,
    /// Passwords refused: the account's people sign in through the provider only.
    pub required: bool,
}
