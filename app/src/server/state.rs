use super::db::Db;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A value that never prints: configuration secrets (database URLs with passwords, SMTP keys).
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Portal configuration: these defaults, overridden by an optional TOML file, overridden by
/// `PORTCULLIS_*` environment variables (loaded by the server binary).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// `sqlite://path` (the embedded default) or `postgres://…`.
    pub database_url: Secret,
    pub database_max_connections: u32,
    /// Address the HTTP server listens on.
    pub listen: String,
    /// The address people use to reach the portal; `https://…` makes session cookies `Secure`.
    pub public_url: String,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Platform admins must sign in with a second factor (on unless turned off here).
    pub second_factor_platform_admins: bool,
    /// Failed sign-ins are counted over this window…
    pub throttle_window_minutes: i64,
    /// …and refused beyond this many for one email address…
    pub throttle_per_email: i64,
    /// …or this many from one client address.
    pub throttle_per_address: i64,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_proxy_headers: bool,
    /// How many proxies of your own append to `X-Forwarded-For`: the client address is the entry
    /// this many places from the right (entries further left are whatever the client sent).
    pub trusted_proxy_hops: usize,
    /// A request still unanswered after this long is answered 503 and its work stopped.
    pub request_timeout_seconds: u64,
    /// A database statement running longer than this is cancelled (PostgreSQL `statement_timeout`;
    /// on SQLite a progress handler interrupts it).
    pub statement_timeout_seconds: u64,
    /// How many passwords are hashed at once (0: one per CPU core). Further sign-ins wait…
    pub password_hashing_threads: usize,
    /// …at most this long for a turn, then are answered 503.
    pub password_queue_seconds: u64,
    /// When set (e.g. `127.0.0.1:9100`), `/metrics` is served only there, not on `listen`.
    pub metrics_listen: String,
    /// The Ed25519 key (32-byte seed, hex or base64, in a file outside the database) that signs
    /// audit-chain anchors; `PORTCULLIS_AUDIT_ANCHOR_KEY` may carry the seed itself.
    pub audit_anchor_key_file: String,
    pub audit_anchor_key: Secret,
    /// Where `serve` writes a signed anchor every `audit_anchor_minutes` (empty: not on a schedule).
    pub audit_anchor_dir: String,
    pub audit_anchor_minutes: u64,
    /// `human` or `json`.
    pub log_format: String,
    /// A `tracing` filter, e.g. `info` or `portcullis=debug,info`.
    pub log_level: String,
    /// The folder with the built browser assets (`pkg/`), as cargo-leptos writes it.
    pub site_root: String,
    /// How long an invitation link works.
    pub invitation_hours: i64,
    /// How long a password-reset link works.
    pub reset_minutes: i64,
    /// `smtp://host:port`, `smtps://user:password@host:465` or `smtp://…?tls=required` (lettre's
    /// URL form). Empty: mails are written as `.eml` files to `mail_dir` instead.
    pub smtp_url: Secret,
    /// The sender of every mail, e.g. `Support Portal <support@vendor.example>`.
    pub mail_from: String,
    /// The support mailbox replies to case mails go to, e.g. `support@vendor.example`: each
    /// recipient's case mails say `support+<their token>@vendor.example` as the reply address.
    /// Empty: replies go to `mail_from`.
    pub mail_reply_address: String,
    /// The authserv-id of the mail server that receives the support mailbox's mail (the first
    /// word of the `Authentication-Results` headers it adds, e.g. `mx.vendor.example`): only its
    /// verdict on a reply's sender counts. Empty: no reply is trusted; all are held for staff.
    pub mail_trusted_authserv_id: String,
    /// The largest mail taken from the support mailbox; a larger one is refused (its sender told).
    pub inbound_max_mb: u64,
    /// The support mailbox's IMAP server (TLS, port `imap_port`); empty: the portal reads no
    /// mailbox (a mail server may still deliver to `portcullis receive-mail`).
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_user: String,
    pub imap_password: Secret,
    pub imap_mailbox: String,
    /// A PEM file of certificate authorities to trust for the IMAP server instead of the public
    /// ones (a company CA). Empty: the public web PKI.
    pub imap_ca_file: String,
    /// How often the mailbox is looked at when the server does not offer IDLE, and at most how
    /// long an IDLE waits before looking anyway.
    pub imap_poll_seconds: u64,
    pub mail_dir: String,
    /// How often the sender looks for due mails.
    pub mail_poll_seconds: u64,
    /// The first retry waits this long; each further one twice as long (capped at an hour).
    pub mail_retry_base_seconds: i64,
    /// After this many failed attempts a mail is marked failed and no longer retried.
    pub mail_max_attempts: i64,
    /// A resolved case the customer neither accepts nor rejects is closed after this many days.
    pub case_auto_close_days: i64,
    /// This instance's search index (its own directory: instances sharing a database each keep
    /// one, all following the database's change feed). Rebuilt when missing.
    pub search_index_dir: String,
    /// The directory attachments are kept in (content-addressed), unless a bucket is set below.
    pub attachments_dir: String,
    /// An S3-compatible bucket for attachments instead of the directory (for several instances):
    /// its name, the service's address (empty: AWS itself), region and keys.
    pub attachments_s3_bucket: String,
    pub attachments_s3_endpoint: String,
    pub attachments_s3_region: String,
    pub attachments_s3_access_key: Secret,
    pub attachments_s3_secret_key: Secret,
    /// The largest file accepted, in MB…
    pub attachment_max_file_mb: u64,
    /// …and the most one case may hold, in MB.
    pub attachment_max_case_mb: u64,
    /// ClamAV's clamd (`host:port`): when set, new files wait for its scan before customers may
    /// download them, and infected ones are quarantined. Empty: files are not scanned.
    pub clamd_address: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: Secret::new("sqlite://data/portcullis.db"),
            database_max_connections: 10,
            listen: "127.0.0.1:3000".into(),
            public_url: "http://127.0.0.1:3000".into(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            second_factor_platform_admins: true,
            throttle_window_minutes: 15,
            throttle_per_email: 5,
            throttle_per_address: 30,
            trust_proxy_headers: false,
            trusted_proxy_hops: 1,
            request_timeout_seconds: 30,
            statement_timeout_seconds: 20,
            password_hashing_threads: 0,
            password_queue_seconds: 5,
            metrics_listen: String::new(),
            audit_anchor_key_file: String::new(),
            audit_anchor_key: Secret::default(),
            audit_anchor_dir: String::new(),
            audit_anchor_minutes: 60,
            log_format: "human".into(),
            log_level: "info".into(),
            site_root: "target/site".into(),
            invitation_hours: 72,
            reset_minutes: 60,
            smtp_url: Secret::default(),
            mail_from: "Portcullis <portcullis@localhost>".into(),
            mail_reply_address: String::new(),
            mail_trusted_authserv_id: String::new(),
            inbound_max_mb: 25,
            imap_host: String::new(),
            imap_port: 993,
            imap_user: String::new(),
            imap_password: Secret::default(),
            imap_mailbox: "INBOX".into(),
            imap_ca_file: String::new(),
            imap_poll_seconds: 60,
            mail_dir: "data/mail".into(),
            mail_poll_seconds: 5,
            mail_retry_base_seconds: 30,
            mail_max_attempts: 12,
            case_auto_close_days: 7,
            search_index_dir: "data/search".into(),
            attachments_dir: "data/attachments".into(),
            attachments_s3_bucket: String::new(),
            attachments_s3_endpoint: String::new(),
            attachments_s3_region: "us-east-1".into(),
            attachments_s3_access_key: Secret::default(),
            attachments_s3_secret_key: Secret::default(),
            attachment_max_file_mb: 100,
            attachment_max_case_mb: 1024,
            clamd_address: String::new(),
        }
    }
}

impl Settings {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The largest file accepted, in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.attachment_max_file_mb.saturating_mul(1024 * 1024)
    }

    /// The largest mail taken from the support mailbox, in bytes.
    pub fn inbound_max_bytes(&self) -> u64 {
        self.inbound_max_mb.saturating_mul(1024 * 1024)
    }

    /// The most one case may hold, in bytes.
    pub fn max_case_bytes(&self) -> u64 {
        self.attachment_max_case_mb.saturating_mul(1024 * 1024)
    }

    /// Whether new files wait for a malware scan.
    pub fn scanning(&self) -> bool {
        !self.clamd_address.is_empty()
    }
}

/// What every request handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// This instance's search index (KB articles and cases), following the database.
    pub search: super::search::SearchIndex,
    /// Where attachments' bytes are kept.
    pub files: super::attachments::FileStore,
    pub settings: Arc<Settings>,
    pub leptos: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// The state of the server handling the current request (provided by the router as context).
pub fn state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the request context");
        crate::error::AppError::Internal
    })
}
