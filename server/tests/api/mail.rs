//! The mail outbox against a real SMTP server on loopback (Python's aiosmtpd, delivering into a
//! maildir): an outage loses nothing, and two portal instances never send one mail twice.

use crate::both_engines;
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// An aiosmtpd process that stores every mail it accepts in a maildir; killed when dropped.
pub(crate) struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    pub(crate) async fn start(port: u16, parent: &Path) -> SmtpServer {
        // aiosmtpd's Mailbox creates the maildir (with tmp/new/cur) only where none exists yet.
        let maildir = parent.join("maildir");
        let python =
            std::env::var("PORTCULLIS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {python} -m aiosmtpd ({e}); scripts/setup-tools.sh installs it"
                )
            });
        let server = SmtpServer { child, maildir };
        assert!(
            listening(port).await,
            "aiosmtpd did not start listening on port {port} (is it installed for {python}?)"
        );
        server
    }

    /// Every message the server accepted.
    pub(crate) fn received(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect()
    }
}

pub(crate) fn smtp_settings(port: u16) -> impl FnOnce(&mut app::server::Settings) {
    move |s| {
        s.smtp_url = app::server::state::Secret::new(format!("smtp://127.0.0.1:{port}"));
        s.mail_retry_base_seconds = 1;
        s.mail_from = "Support Portal <support@vendor.example>".into();
    }
}

async fn invite(app: &TestApp, admin: &reqwest::Client, email: &str) {
    app.expect(
        admin,
        "users/invite",
        &[
            ("first_name", "Mia"),
            ("last_name", "Mailtest"),
            ("email", email),
        ],
        200,
    )
    .await;
}

async fn mails_queued_while_smtp_is_down_arrive_once_it_is_back(engine: Engine) {
    let port = free_port();
    let Some(app) = spawn_with(engine, smtp_settings(port)).await else {
        return;
    };
    let admin = app.signed_in("admin@acme.example").await;
    invite(&app, &admin, "first@acme.example").await;
    invite(&app, &admin, "second@acme.example").await;
    // Nothing listens yet: attempts fail, are counted and rescheduled; nothing is lost.
    app.wait_until(
        "SELECT COUNT(*) FROM mail_outbox WHERE attempts >= 1 AND last_error IS NOT NULL AND sent_at IS NULL",
        2,
    )
    .await;
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE failed_at IS NOT NULL OR secret_link IS NULL"
        )
        .await,
        0
    );

    let maildir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(port, maildir.path()).await;
    app.wait_until(
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL",
        2,
    )
    .await;
    let received = smtp.received();
    assert_eq!(received.len(), 2, "each mail exactly once");
    for to in ["first@acme.example", "second@acme.example"] {
        let mail = received
            .iter()
            .map(|raw| parse_mail(raw))
            .find(|m| m.to.contains(to))
            .unwrap_or_else(|| panic!("no mail to {to}"));
        assert!(mail.subject.contains("invited"), "{}", mail.subject);
        assert!(mail
            .link("/accept?token=")
            .starts_with(&app.settings.public_url));
    }
    let from = received[0]
        .lines()
        .find(|l| l.starts_with("From: "))
        .unwrap_or_default();
    assert!(
        from.contains("Support Portal") && from.contains("<support@vendor.example>"),
        "{from}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM mail_outbox WHERE secret_link IS NOT NULL")
            .await,
        0,
        "no usable link stays in the outbox after delivery"
    );
}

async fn two_instances_on_one_database_never_send_a_mail_twice(engine: Engine) {
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(port, maildir.path()).await;
    let Some(first) = spawn_with(engine, smtp_settings(port)).await else {
        return;
    };
    let mut settings = first.settings.clone();
    smtp_settings(port)(&mut settings);
    let second = spawn_on(first.settings.database_url.expose(), settings).await;
    let a = first.signed_in("admin@acme.example").await;
    let b = second.signed_in("admin@globex.example").await;
    const EACH: usize = 15;
    for i in 0..EACH {
        invite(&first, &a, &format!("a{i}@acme.example")).await;
        invite(&second, &b, &format!("b{i}@globex.example")).await;
    }
    first
        .wait_until(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL",
            2 * EACH as i64,
        )
        .await;
    // Give a racing duplicate time to show up before counting.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let received = smtp.received();
    assert_eq!(received.len(), 2 * EACH, "every mail once, none twice");
    let mut ids: Vec<String> = received
        .iter()
        .filter_map(|raw| {
            raw.lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_string))
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2 * EACH);
}

both_engines!(
    engine: mails_queued_while_smtp_is_down_arrive_once_it_is_back,
    two_instances_on_one_database_never_send_a_mail_twice,
);
