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

/// What makes a mail one of a case's: its recipient (a mail to someone disabled meanwhile is
/// dropped), the case (its mails are threaded) and the recipient's token for the case (their
/// reply address and one-click unsubscribe).
pub struct CaseThread<'a> {
    pub to_user_id: i64,
    pub number: &'a str,
    pub token: &'a str,
}

/// Queues `mail` inside the caller's transaction; answers its outbox id.
pub async fn enqueue(tx: &mut Tx, mail: &Mail<'_>, now: i64) -> Result<i64, AppError> {
    enqueue_in_thread(tx, mail, None, now).await
}

/// Queues a case's `mail` to one of its followers.
pub async fn enqueue_in_thread(
    tx: &mut Tx,
    mail: &Mail<'_>,
    thread: Option<&CaseThread<'_>>,
    now: i64,
) -> Result<i64, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO mail_outbox (kind, account_id, to_address, to_name, subject, body, \
         secret_link, created_at, next_attempt_at, to_user_id, case_number, mail_token) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) RETURNING id"
    )
    .bind(mail.kind)
    .bind(mail.account_id)
    .bind(mail.to_address)
    .bind(mail.to_name)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(&mail.secret_link)
    .bind(now)
    .bind(thread.map(|t| t.to_user_id))
    .bind(thread.map(|t| t.number))
    .bind(thread.map(|t| t.token))
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// The HTML part of a mail, made from its text so the two always say the same: paragraphs as
/// written, links clickable, nothing styled beyond what the reader's mail client and colour
/// scheme choose (so it reads in dark mode and with a screen reader as the text does).
pub fn html_of(subject: &str, text: &str) -> String {
    let mut html = String::with_capacity(text.len() * 2 + 300);
    html.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <meta name=\"supported-color-schemes\" content=\"light dark\"><title>",
    );
    html.push_str(&escape(subject));
    html.push_str("</title></head>\n<body>\n");
    for paragraph in text
        .split("\n\n")
        .map(str::trim_end)
        .filter(|p| !p.trim().is_empty())
    {
        // A paragraph indented in the text (a quoted subject, a comment) keeps its lines.
        let quoted = paragraph.starts_with("  ");
        html.push_str(if quoted { "<blockquote><p>" } else { "<p>" });
        let lines: Vec<String> = paragraph.lines().map(|l| linked(l.trim())).collect();
        html.push_str(&lines.join("<br>\n"));
        html.push_str(if quoted {
            "</p></blockquote>\n"
        } else {
            "</p>\n"
        });
    }
    html.push_str("</body></html>\n");
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line escaped, with its http(s) addresses made links.
fn linked(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            let url = word.trim_end_matches(['.', ',', ')', ';']);
            if (url.starts_with("https://") || url.starts_with("http://")) && url.len() > 8 {
                let rest = &word[url.len()..];
                format!("<a href=\"{0}\">{0}</a>{1}", escape(url), escape(rest))
            } else {
                escape(word)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The host of the portal's public URL: the right-hand side of the Message-IDs of its mails.
pub fn portal_host(settings: &Settings) -> &str {
    settings
        .public_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .filter(|h| !h.is_empty())
        .unwrap_or("portcullis")
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

    #[test]
    fn the_html_part_says_what_the_text_says_and_nothing_runs() {
        let text = "Hello Bo,\n\nSupport replied:\n\n  <script>alert(1)</script> & more\n  second line\n\n\
                    See the case: https://portal.example/cases/CS00001.\n";
        let html = html_of("[CS00001] <b>Down</b>", text);
        assert!(html.contains("<title>[CS00001] &lt;b&gt;Down&lt;/b&gt;</title>"));
        assert!(html.contains("<p>Hello Bo,</p>"));
        assert!(html.contains(
            "<blockquote><p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more<br>\nsecond line</p></blockquote>"
        ));
        assert!(html.contains(
            "<a href=\"https://portal.example/cases/CS00001\">https://portal.example/cases/CS00001</a>.</p>"
        ));
        assert!(html.contains("color-scheme") && !html.contains("<script>"));
        assert!(
            !html.contains("style="),
            "no colours of its own: the reader's scheme decides"
        );
    }
}
