//! The sender behind the mail outbox (SPEC §7): delivers due rows over SMTP (lettre), or writes
//! them as `.eml` files when no SMTP server is configured; retries with exponential backoff.
//!
//! Several portal instances may run a sender on one database. Each claims a batch of due rows
//! with a lease (`claimed_by`, `claimed_until`) in one statement — on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, on SQLite under its single-writer lock — so no two instances hold the
//! same row. A row is marked sent only by the instance that claimed it. A process killed between
//! the SMTP server accepting a mail and the row being marked would send it again after the lease
//! ends: delivery is at least once, and every mail carries a stable Message-ID so receivers can
//! tell a repeat.

use app::server::db::{on_db, Db};
use app::server::mail::LINK_PLACEHOLDER;
use app::server::{now, AppState, Settings};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// How long a claimed mail is reserved for its sender. The sender renews the lease of the rest of
/// its batch before each delivery (a heartbeat), so a live sender keeps its mails however slow the
/// SMTP server, and a dead one's mails are taken over by another sender within this time.
pub const LEASE_SECS: i64 = 45;
const BATCH: i64 = 20;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 3600;

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Folder(PathBuf),
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    kind: String,
    to_address: String,
    to_name: String,
    subject: String,
    body: String,
    secret_link: Option<String>,
    attempts: i32,
    /// For a case's mail: its recipient, case and the recipient's token for the case.
    to_user_id: Option<i64>,
    case_number: Option<String>,
    mail_token: Option<String>,
}

pub struct Sender {
    db: Db,
    settings: std::sync::Arc<Settings>,
    transport: Transport,
    instance: String,
}

impl Sender {
    pub fn new(state: &AppState) -> Result<Sender, crate::BoxError> {
        let settings = state.settings.clone();
        let url = settings.smtp_url.expose();
        let transport = if url.is_empty() {
            let dir = PathBuf::from(&settings.mail_dir);
            std::fs::create_dir_all(&dir)?;
            Transport::Folder(dir)
        } else {
            let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
                .timeout(Some(Duration::from_secs(30)))
                .build();
            Transport::Smtp(Box::new(smtp))
        };
        // Checked now so a typo in the configuration stops the start, not every mail.
        settings.mail_from.parse::<Mailbox>()?;
        Ok(Sender {
            db: state.db.clone(),
            settings,
            transport,
            instance: format!(
                "{}-{}",
                std::process::id(),
                app::server::session::new_token()
            ),
        })
    }

    /// Delivers every due mail it can claim; answers how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        self.deliver_due_at(now).await
    }

    /// `deliver_due` on the clock `now` (tests play a later time with it).
    pub async fn deliver_due_at(&self, now: impl Fn() -> i64) -> Result<usize, sqlx::Error> {
        let mut delivered = 0;
        loop {
            let batch = self.claim(now()).await?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            for mail in batch {
                self.renew_lease(now()).await?;
                if !self.recipient_active(&mail).await? {
                    self.mark_dropped(&mail, "the recipient was disabled")
                        .await?;
                    continue;
                }
                match self.deliver(&mail).await {
                    Ok(()) => {
                        self.mark_sent(mail.id).await?;
                        delivered += 1;
                    }
                    Err(err) => {
                        tracing::warn!(mail_id = mail.id, kind = %mail.kind, attempt = mail.attempts + 1, error = %err, "mail not delivered");
                        self.mark_failed_attempt(&mail, &err.to_string()).await?;
                    }
                }
            }
        }
    }

    async fn claim(&self, now: i64) -> Result<Vec<Due>, sqlx::Error> {
        let lock = match self.db {
            Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE mail_outbox SET claimed_by = $1, claimed_until = $2 WHERE id IN (\
             SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
             AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
             ORDER BY id LIMIT $4 {lock}) \
             RETURNING id, kind, to_address, to_name, subject, body, secret_link, attempts, \
             to_user_id, case_number, mail_token"
        );
        let mut rows: Vec<Due> = on_db!(&self.db, |c| sqlx::query_as(&sql)
            .bind(&self.instance)
            .bind(now + LEASE_SECS)
            .bind(now)
            .bind(BATCH)
            .fetch_all(c)
            .await)?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    fn message(&self, mail: &Due) -> Result<Message, crate::BoxError> {
        let body = match &mail.secret_link {
            Some(link) => mail.body.replace(LINK_PLACEHOLDER, link),
            None => mail.body.clone(),
        };
        let to = Mailbox::new(Some(mail.to_name.clone()), mail.to_address.parse()?);
        let host = app::server::mail::portal_host(&self.settings);
        let from: Mailbox = self.settings.mail_from.parse()?;
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<outbox-{}@{host}>", mail.id)))
            // Every mail of the portal is sent by it, not by a person (RFC 3834): well-behaved
            // responders do not answer it, and the portal never answers one marked so.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ));
        if let (Some(number), Some(token)) = (&mail.case_number, &mail.mail_token) {
            // A case's mails are one thread in the reader's mail client.
            let thread = format!("<case-{number}@{host}>");
            builder = builder.in_reply_to(thread.clone()).references(thread);
            if let Some(reply_to) = reply_address(&self.settings.mail_reply_address, token) {
                builder = builder.reply_to(Mailbox::new(from.name.clone(), reply_to.parse()?));
            }
            let stop = app::server::mail::portal_url(
                &self.settings,
                &format!("/mail/unsubscribe/{token}"),
            );
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{stop}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let html = app::server::mail::html_of(&mail.subject, &body);
        Ok(builder.multipart(MultiPart::alternative_plain_html(body, html))?)
    }

    /// Whether a mail's recipient may still get it: a case mail to someone disabled since it was
    /// queued is not sent.
    async fn recipient_active(&self, mail: &Due) -> Result<bool, sqlx::Error> {
        let Some(user_id) = mail.to_user_id else {
            return Ok(true);
        };
        let active: i64 = on_db!(&self.db, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE id = $1 AND status = 'active'"
        )
        .bind(user_id)
        .fetch_one(c)
        .await)?;
        Ok(active > 0)
    }

    async fn deliver(&self, mail: &Due) -> Result<(), crate::BoxError> {
        let message = self.message(mail)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Folder(dir) => {
                // Written under a temporary name and renamed, so a reader never sees half a file.
                let name = format!("{:010}-{}.eml", mail.id, mail.kind);
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, message.formatted()).await?;
                tokio::fs::rename(&tmp, dir.join(name)).await?;
            }
        }
        Ok(())
    }

    /// Extends the lease of every mail this sender holds and has not finished.
    async fn renew_lease(&self, now: i64) -> Result<(), sqlx::Error> {
        on_db!(&self.db, |c| sqlx::query(
            "UPDATE mail_outbox SET claimed_until = $1 WHERE claimed_by = $2 \
             AND sent_at IS NULL AND failed_at IS NULL"
        )
        .bind(now + LEASE_SECS)
        .bind(&self.instance)
        .execute(c)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    async fn mark_sent(&self, id: i64) -> Result<(), sqlx::Error> {
        let done = on_db!(&self.db, |c| {
            sqlx::query(
            "UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1, secret_link = NULL, \
             claimed_by = NULL, claimed_until = NULL, last_error = NULL WHERE id = $2 AND claimed_by = $3"
        )
        .bind(now())
        .bind(id)
        .bind(&self.instance)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            tracing::warn!(mail_id = id, "mail delivered after its lease ended");
        }
        Ok(())
    }

    /// Ends a mail that is not to be sent at all, saying why.
    async fn mark_dropped(&self, mail: &Due, why: &str) -> Result<(), sqlx::Error> {
        tracing::info!(mail_id = mail.id, why, "mail dropped");
        on_db!(&self.db, |c| sqlx::query(
            "UPDATE mail_outbox SET failed_at = $1, last_error = $2, secret_link = NULL, \
             claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND claimed_by = $4"
        )
        .bind(now())
        .bind(why)
        .bind(mail.id)
        .bind(&self.instance)
        .execute(c)
        .await
        .map(|_| ()))
    }

    async fn mark_failed_attempt(&self, mail: &Due, error: &str) -> Result<(), sqlx::Error> {
        let attempts = i64::from(mail.attempts) + 1;
        let now = now();
        let error: String = error.chars().take(500).collect();
        if attempts >= self.settings.mail_max_attempts {
            tracing::error!(
                mail_id = mail.id,
                attempts,
                "mail given up after its last attempt"
            );
            return on_db!(&self.db, |c| {
                sqlx::query(
                "UPDATE mail_outbox SET failed_at = $1, attempts = $2, last_error = $3, secret_link = NULL, \
                 claimed_by = NULL, claimed_until = NULL WHERE id = $4 AND claimed_by = $5"
            )
            .bind(now)
            .bind(attempts)
            .bind(&error)
            .bind(mail.id)
            .bind(&self.instance)
            .execute(c)
            .await
            .map(|_| ())
            });
        }
        let wait = backoff(self.settings.mail_retry_base_seconds, attempts);
        on_db!(&self.db, |c| sqlx::query(
            "UPDATE mail_outbox SET attempts = $1, last_error = $2, next_attempt_at = $3, \
             claimed_by = NULL, claimed_until = NULL WHERE id = $4 AND claimed_by = $5"
        )
        .bind(attempts)
        .bind(&error)
        .bind(now + wait)
        .bind(mail.id)
        .bind(&self.instance)
        .execute(c)
        .await
        .map(|_| ()))
    }
}

/// The reply address of a case mail with `token`: the support mailbox `address` with the token
/// after a `+` (`support+<token>@vendor.example`); none when no mailbox is configured.
pub fn reply_address(address: &str, token: &str) -> Option<String> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    let local = local.split('+').next().unwrap_or(local);
    (!local.is_empty() && !domain.is_empty()).then(|| format!("{local}+{token}@{domain}"))
}

/// The wait before the next attempt after `attempts` failures: base, 2×base, 4×base, … capped.
pub fn backoff(base: i64, attempts: i64) -> i64 {
    let factor = 1_i64 << attempts.clamp(1, 20).saturating_sub(1);
    base.max(1).saturating_mul(factor).min(MAX_BACKOFF_SECS)
}

/// Runs the sender every `mail_poll_seconds` until the process ends.
pub fn spawn(state: &AppState) -> Result<tokio::task::JoinHandle<()>, crate::BoxError> {
    let sender = Sender::new(state)?;
    let every = Duration::from_secs(state.settings.mail_poll_seconds.max(1));
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sender.deliver_due().await {
                tracing::warn!(error = %e, "mail sender could not read the outbox");
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::{backoff, reply_address};

    #[test]
    fn the_reply_address_carries_the_token() {
        assert_eq!(
            reply_address("support@vendor.example", "ab12").as_deref(),
            Some("support+ab12@vendor.example")
        );
        assert_eq!(
            reply_address(" help+x@vendor.example ", "ab12").as_deref(),
            Some("help+ab12@vendor.example")
        );
        assert_eq!(reply_address("", "ab12"), None);
        assert_eq!(reply_address("nobody", "ab12"), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(30, 1), 30);
        assert_eq!(backoff(30, 2), 60);
        assert_eq!(backoff(30, 3), 120);
        assert_eq!(backoff(30, 50), 3600);
        assert_eq!(backoff(0, 1), 1);
    }
}
