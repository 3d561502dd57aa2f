//! The mail outbox (SPEC §7): a mail is a row written in the same transaction as the change that
//! causes it, so a change is never committed without its mail and a rolled-back change never
//! mails. The server's sender delivers the rows (SMTP, or `.eml` files without SMTP) with retries.

use super::db::{on_tx, Tx};
use super::state::Settings;
use crate::error::AppError;

/// The placeholder in a body where the single-use link goes at delivery time.
pub const LINK_PLACEHOLDER: &str = "{{link}}";

/// One mail to queue.
pub struct Mail<'a> {
    pub kind: &'a str,
    pub account_id: Option<i64>,
    pub to_address: &'a str,
    pub to_name: &'a str,
    pub subject: String,
    /// Plain text; may contain [`LINK_PLACEHOLDER`] where `secret_link` is put when sending.
    pub body: String,
    pub secret_link: Option<String>,
}

/// The address and name of user `user_id`, to write to them.
pub async fn recipient(tx: &mut Tx, user_id: i64) -> Result<(String, String), AppError> {
    on_tx!(tx, |c| sqlx::query_as(
        "SELECT email, first_name || ' ' || last_name FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// Queues `mail` inside the caller's transaction; answers its outbox id.
pub async fn enqueue(tx: &mut Tx, mail: &Mail<'_>, now: i64) -> Result<i64, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO mail_outbox (kind, account_id, to_address, to_name, subject, body, \
         secret_link, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         RETURNING id"
    )
    .bind(mail.kind)
    .bind(mail.account_id)
    .bind(mail.to_address)
    .bind(mail.to_name)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(&mail.secret_link)
    .bind(now)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// The absolute URL of a portal path, for links in mails.
pub fn portal_url(settings: &Settings, path: &str) -> String {
    format!("{}{path}", settings.public_url.trim_end_matches('/'))
}

/// "72 hours", "1 hour", "30 minutes": how long a link works, in the words of the mail.
pub fn lifetime_words(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds % 3600 == 0 {
        plural(seconds / 3600, "hour")
    } else {
        plural((seconds / 60).max(1), "minute")
    }
}

/// The invitation mail: who invited them to which account, the link, and how long it works.
pub fn invitation(
    settings: &Settings,
    account_name: &str,
    inviter: &str,
    first_name: &str,
) -> (String, String) {
    let subject = format!("You are invited to the {account_name} support portal");
    let body = format!(
        "Hello {first_name},\n\n\
         {inviter} has given you access to the support portal for {account_name}.\n\n\
         Choose your password here to start using it:\n\n{LINK_PLACEHOLDER}\n\n\
         The link works once and for {}. If it has expired, ask {inviter} or another \
         administrator of {account_name} to send a new one.\n\n\
         If you did not expect this mail, you can ignore it.\n",
        lifetime_words(settings.invitation_hours * 3600)
    );
    (subject, body)
}

/// The password-reset mail.
pub fn password_reset(settings: &Settings, first_name: &str) -> (String, String) {
    let subject = "Reset your support portal password".to_string();
    let body = format!(
        "Hello {first_name},\n\n\
         Someone (we hope you) asked to reset your support portal password. Choose a new one here:\n\n\
         {LINK_PLACEHOLDER}\n\n\
         The link works once and for {}. If you did not ask for this, ignore this mail: your \
         password stays as it is.\n",
        lifetime_words(settings.reset_minutes * 60)
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(lifetime_words(72 * 3600), "72 hours");
        assert_eq!(lifetime_words(3600), "1 hour");
        assert_eq!(lifetime_words(30 * 60), "30 minutes");
        assert_eq!(lifetime_words(90 * 60), "90 minutes");
    }

    #[test]
    fn mails_carry_the_link_placeholder_and_the_lifetime() {
        let settings = Settings::default();
        let (subject, body) = invitation(&settings, "ACME", "Ada Admin", "Bob");
        assert!(subject.contains("ACME"));
        assert!(body.contains(LINK_PLACEHOLDER) && body.contains("72 hours"));
        assert!(body.contains("Ada Admin") && body.starts_with("Hello Bob,"));
        let (_, body) = password_reset(&settings, "Bob");
        assert!(body.contains(LINK_PLACEHOLDER) && body.contains("1 hour"));
    }
}
