//! Replies by mail, delivered to `portcullis receive-mail` as a mail server delivers to a program:
//! a trusted reply becomes its author's comment (quoted text left out, files attached, an
//! Awaiting-info case reopened, a second delivery ignored); a forged sender, failed
//! authentication, an unknown address, auto-replies and bounces are held or dropped and never
//! answered; a reply to a closed case is refused with one polite mail.

use crate::both_engines;
use crate::helpers::*;
use std::io::Write;
use std::process::{Command, Stdio};

const ACME_USER: &str = "user@acme.example";
const ACME_SECOND: &str = "secondary@acme.example";
const AGENT: &str = "agent@vendor.example";
const MX: &str = "mx.vendor.example";

/// Delivers `raw` to the portal as its mail server would; answers what it printed.
fn deliver(app: &TestApp, raw: &str) -> String {
    let files = app.settings.attachments_dir.clone();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("receive-mail")
        .env(
            "PORTCULLIS_DATABASE_URL",
            app.settings.database_url.expose(),
        )
        .env("PORTCULLIS_ATTACHMENTS_DIR", files)
        .env("PORTCULLIS_PUBLIC_URL", &app.base)
        .env("PORTCULLIS_MAIL_TRUSTED_AUTHSERV_ID", MX)
        .env("PORTCULLIS_LOG_LEVEL", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portcullis receive-mail");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.replace('\n', "\r\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "receive-mail failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A reply from `from` to the reply address with `token`, saying `text`; `extra` headers go on
/// top (where a receiving server adds its own).
fn reply(from: &str, token: &str, id: &str, extra: &str, text: &str) -> String {
    format!(
        "{extra}From: Somebody <{from}>\nTo: Portcullis <support+{token}@vendor.example>\n\
         Subject: Re: [CS] Pipelines stall\nMessage-ID: <{id}@acme.example>\n\
         Date: Sun, 06 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\n{text}\n"
    )
}

fn passed(domain: &str) -> String {
    format!("Authentication-Results: {MX}; spf=pass smtp.mailfrom={domain}; dmarc=pass (p=reject) header.from={domain}\n")
}

async fn comments_saying(app: &TestApp, words: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM case_entries WHERE kind = 'comment' AND body LIKE '%{words}%'"
    ))
    .await
}

/// A case of the ACME user's (its contact) on which the agent asked `question`: its number and
/// the mail that asked.
pub(crate) async fn case_awaiting(app: &TestApp, question: &str) -> (String, SentMail) {
    let number = crate::cases::opened_by(app, ACME_USER).await;
    let agent = app.signed_in(AGENT).await;
    let step = [
        ("number", number.as_str()),
        ("step", "ask_info"),
        ("comment", question),
    ];
    app.expect(&agent, "cases/step", &step, 200).await;
    let asked = app.wait_for_mail_saying(ACME_USER, question).await;
    (number, asked)
}

async fn replies_by_mail_become_comments_only_when_trusted(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let agent = app.signed_in(AGENT).await;
    let (number, asked) = case_awaiting(&app, "Please send the pipeline log.").await;
    let token = asked.case_token();
    let outbox_before = app.scalar("SELECT COUNT(*) FROM mail_outbox").await;

    // The contact answers from their mail client: multipart, quoting the request, with a file.
    let trusted = format!(
        "{}From: Uma Brandt <{ACME_USER}>\nTo: support+{token}@vendor.example\n\
         Subject: Re: [{number}] Pipelines stall\nMessage-ID: <log-1@acme.example>\n\
         In-Reply-To: <outbox-2@127.0.0.1>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n\
         Content-Type: text/plain; charset=utf-8\n\nHere is the log you asked for.\n\n\
         On Sun, 6 Dec 2026 at 09:00, Portcullis <portcullis@localhost> wrote:\n\
         > Please send the pipeline log.\n\n--b1\n\
         Content-Type: text/plain; name=\"canary.log\"\nContent-Disposition: attachment; filename=\"canary.log\"\n\
         Content-Transfer-Encoding: base64\n\nMjAyNi0xMi0wNiBFUlJPUiBjYW5hcnkgc3RhbGxlZAo=\n--b1--\n",
        passed("acme.example")
    );
    let said = deliver(&app, &trusted);
    assert!(said.starts_with("accepted"), "{said}");
    assert_eq!(
        comments_saying(&app, "Here is the log you asked for.").await,
        1
    );
    let taken = app
        .text("SELECT body FROM case_entries WHERE body LIKE '%Here is the log%'")
        .await;
    assert_eq!(
        taken, "Here is the log you asked for.",
        "the quote is left out"
    );
    let author = app
        .text(
            "SELECT u.email FROM case_entries e JOIN users u ON u.id = e.author_id \
             WHERE e.body LIKE '%Here is the log%'",
        )
        .await;
    assert_eq!(author, ACME_USER);
    assert_eq!(
        app.text(&format!(
            "SELECT state FROM cases WHERE number = '{number}'"
        ))
        .await,
        "open"
    );
    assert_eq!(
        app.text("SELECT file_name FROM attachments WHERE case_id IS NOT NULL")
            .await,
        "canary.log"
    );
    // The same mail delivered twice makes one comment.
    assert!(deliver(&app, &trusted).starts_with("duplicate"));
    assert_eq!(
        comments_saying(&app, "Here is the log you asked for.").await,
        1
    );

    // Mails that cannot be trusted are held, automatic ones dropped; none is answered.
    let held = [
        reply(
            ACME_SECOND,
            &token,
            "forged",
            &passed("acme.example"),
            "Forged sender.",
        ),
        reply(
            ACME_USER,
            &token,
            "nodmarc",
            &format!("Authentication-Results: {MX}; dmarc=fail header.from=acme.example\n"),
            "Failed DMARC.",
        ),
        reply(
            ACME_USER,
            &token,
            "otherserver",
            "Authentication-Results: evil.example; dmarc=pass header.from=acme.example\n",
            "Untrusted results.",
        ),
        reply(
            ACME_USER,
            &"0".repeat(40),
            "unknown",
            &passed("acme.example"),
            "Unknown token.",
        ),
        reply(
            ACME_USER,
            "",
            "noaddress",
            &passed("acme.example"),
            "No reply address.",
        ),
    ];
    for mail in &held {
        let said = deliver(&app, mail);
        assert!(said.starts_with("held"), "{said}\n{mail}");
    }
    let dropped = [
        reply(
            ACME_USER,
            &token,
            "ooo",
            &format!("{}Auto-Submitted: auto-replied\n", passed("acme.example")),
            "I am out of office.",
        ),
        reply(
            ACME_USER,
            &token,
            "bounce",
            &format!("{}Return-Path: <>\n", passed("acme.example")),
            "Undeliverable.",
        ),
        reply(
            ACME_USER,
            &token,
            "list",
            &format!("{}List-Id: <dev.acme.example>\n", passed("acme.example")),
            "List mail.",
        ),
    ];
    for mail in &dropped {
        let said = deliver(&app, mail);
        assert!(said.starts_with("dropped"), "{said}\n{mail}");
    }
    for words in [
        "Forged sender",
        "Failed DMARC",
        "Untrusted results",
        "Unknown token",
        "out of office",
        "Undeliverable",
        "List mail",
    ] {
        assert_eq!(comments_saying(&app, words).await, 0, "{words}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM mail_outbox").await,
        outbox_before,
        "nothing answered"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM inbound_mails WHERE verdict = 'held'")
            .await,
        5
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM inbound_mails WHERE verdict = 'dropped'")
            .await,
        3
    );
    let forged = app
        .text("SELECT reason FROM inbound_mails WHERE message_id = 'forged@acme.example'")
        .await;
    assert!(forged.contains(ACME_SECOND), "{forged}");

    // A reply the case cannot take as a comment (far too long) is held with the reason, and the
    // mails after it are taken as usual.
    let long = reply(
        ACME_USER,
        &token,
        "long-1",
        &passed("acme.example"),
        &"log line\n".repeat(4000),
    );
    let said = deliver(&app, &long);
    assert!(
        said.starts_with("held") && said.contains("characters or fewer"),
        "{said}"
    );

    // An HTML-only reply is taken as its text.
    let html = format!(
        "{}From: {ACME_USER}\nTo: support+{token}@vendor.example\nSubject: Re\nMessage-ID: <html-1@acme.example>\n\
         MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n\
         <html><body><p>Restarted <b>the canary</b>.</p><script>alert(1)</script></body></html>\n",
        passed("acme.example")
    );
    assert!(deliver(&app, &html).starts_with("accepted"));
    let body = app
        .text("SELECT body FROM case_entries WHERE body LIKE '%Restarted%'")
        .await;
    assert!(
        body.contains("the canary") && !body.contains("<b>") && !body.contains("<script"),
        "{body}"
    );

    // Without a plus-address, the case mail a reply answers (In-Reply-To) names its case and
    // person; the sender is checked all the same.
    let answered = asked.header("Message-ID");
    let threaded = |from: &str, id: &str, text: &str| {
        format!(
            "{}From: {from}\nTo: portcullis@localhost\nSubject: Re: [{number}]\nMessage-ID: <{id}@acme.example>\n\
             In-Reply-To: {answered}\nReferences: {answered}\nContent-Type: text/plain\n\n{text}\n",
            passed("acme.example")
        )
    };
    assert!(deliver(
        &app,
        &threaded(ACME_USER, "thread-1", "Answered in the thread.")
    )
    .starts_with("accepted"));
    assert_eq!(comments_saying(&app, "Answered in the thread.").await, 1);
    assert!(deliver(
        &app,
        &threaded(ACME_SECOND, "thread-2", "Not the addressee.")
    )
    .starts_with("held"));

    // A colleague watching the case answers from their own mail like the contact.
    app.expect(
        &user,
        "cases/followers",
        &[
            ("number", number.as_str()),
            ("change", "add"),
            (
                "user_id",
                &app.scalar(&format!(
                    "SELECT id FROM users WHERE email = '{ACME_SECOND}'"
                ))
                .await
                .to_string(),
            ),
        ],
        200,
    )
    .await;
    app.expect(
        &agent,
        "cases/note",
        &[("number", number.as_str()), ("body", "Which stage stalls?")],
        200,
    )
    .await;
    let watched = app.wait_for_mail(ACME_SECOND, &number).await;
    let theirs = watched.case_token();
    assert_ne!(theirs, token);
    let said = deliver(
        &app,
        &reply(
            ACME_SECOND,
            &theirs,
            "watcher-1",
            &passed("acme.example"),
            "The canary stage stalls.",
        ),
    );
    assert!(said.starts_with("accepted"), "{said}");
    let author = app
        .text("SELECT u.email FROM case_entries e JOIN users u ON u.id = e.author_id WHERE e.body LIKE '%canary stage stalls%'")
        .await;
    assert_eq!(author, ACME_SECOND);

    // The staff member the case is assigned to hears of a customer's comment, and answers by mail:
    // a comment to the customer, never a work note.
    app.exec(&format!(
        "UPDATE cases SET assigned_to = (SELECT id FROM users WHERE email = '{AGENT}') WHERE number = '{number}'"
    ))
    .await;
    app.expect(
        &user,
        "cases/comment",
        &[("number", number.as_str()), ("body", "Any news?")],
        200,
    )
    .await;
    let told = app.wait_for_mail(AGENT, &number).await;
    assert!(told.body.contains("Any news?"), "{}", told.body);
    let staff_token = told.case_token();
    let answer = format!(
        "{}From: Alex Lindqvist <{AGENT}>\nTo: support+{staff_token}@vendor.example\nSubject: Re\n\
         Message-ID: <staff-1@vendor.example>\nContent-Type: text/plain\n\nA fix ships on Monday.\n",
        passed("vendor.example")
    );
    let said = deliver(&app, &answer);
    assert!(said.starts_with("accepted"), "{said}");
    let (kind, by): (String, String) = (
        app.text("SELECT kind FROM case_entries WHERE body = 'A fix ships on Monday.'").await,
        app.text("SELECT u.email FROM case_entries e JOIN users u ON u.id = e.author_id WHERE e.body = 'A fix ships on Monday.'").await,
    );
    assert_eq!((kind.as_str(), by.as_str()), ("comment", AGENT));
    let relayed = app
        .wait_for_mail_saying(ACME_USER, "A fix ships on Monday.")
        .await;
    assert!(relayed.body.contains("Support replied"));
    // The assignee may unsubscribe like anyone else.
    let stop = told.header("List-Unsubscribe");
    let res = plain_client()
        .post(stop.trim_matches(['<', '>']))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let again = [("number", number.as_str()), ("body", "Still there?")];
    app.expect(&user, "cases/comment", &again, 200).await;
    let queued = format!(
        "SELECT COUNT(*) FROM mail_outbox WHERE to_address = '{AGENT}' AND body LIKE '%Still there?%'"
    );
    assert_eq!(app.scalar(&queued).await, 0);

    // A reply to a closed case is refused, and its sender told once.
    app.exec(&format!(
        "UPDATE cases SET state = 'closed' WHERE number = '{number}'"
    ))
    .await;
    let late = reply(
        ACME_USER,
        &token,
        "late-1",
        &passed("acme.example"),
        "One more thing.",
    );
    assert!(deliver(&app, &late).starts_with("refused"));
    let later = reply(
        ACME_USER,
        &token,
        "late-2",
        &passed("acme.example"),
        "And another.",
    );
    assert!(deliver(&app, &later).starts_with("refused"));
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'reply_refused' AND to_address = '{ACME_USER}'")).await,
        1
    );
    let told = app.wait_for_mail(ACME_USER, "was not added").await;
    assert!(
        told.body.contains("the case is closed") && told.body.contains(&number),
        "{}",
        told.body
    );
    assert_eq!(comments_saying(&app, "One more thing").await, 0);
}

async fn staff_accept_or_discard_held_mail_with_evidence(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let number = crate::cases::opened_by(&app, ACME_USER).await;
    let opened = app.wait_for_mail(ACME_USER, &number).await;
    let token = opened.case_token();
    let unverified = reply(
        ACME_USER,
        &token,
        "unverified",
        "",
        "Sent from a server without DMARC.",
    );
    assert!(deliver(&app, &unverified).starts_with("held"));
    let forged = reply(
        ACME_SECOND,
        &token,
        "forged-2",
        &passed("acme.example"),
        "Words in another's name.",
    );
    assert!(deliver(&app, &forged).starts_with("held"));

    // Who may look: staff only.
    assert_eq!(app.call(&client(), "staff/mail/held", &[]).await.0, 401);
    assert_eq!(app.call(&user, "staff/mail/held", &[]).await.0, 403);
    let admin = app.signed_in("admin@acme.example").await;
    assert_eq!(
        app.call(
            &admin,
            "staff/mail/decide",
            &[("id", "1"), ("decision", "accept")]
        )
        .await
        .0,
        403
    );
    let agent = app.signed_in(AGENT).await;
    let held = app.expect(&agent, "staff/mail/held", &[], 200).await;
    let held = held.as_array().unwrap().clone();
    assert_eq!(held.len(), 2, "{held:?}");
    let id_of = |words: &str| {
        held.iter()
            .find(|m| m["text"].as_str().unwrap_or_default().contains(words))
            .map(|m| {
                (
                    m["id"].as_i64().unwrap().to_string(),
                    m["acceptable"].as_bool().unwrap(),
                )
            })
            .unwrap()
    };
    let (unverified_id, acceptable) = id_of("without DMARC");
    assert!(acceptable);
    let (forged_id, acceptable) = id_of("another's name");
    assert!(!acceptable, "never in the name of someone else");

    // A forged sender cannot be accepted in the addressee's name; it can be discarded.
    let (status, _) = app
        .call(
            &agent,
            "staff/mail/decide",
            &[("id", forged_id.as_str()), ("decision", "accept")],
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(comments_saying(&app, "Words in another").await, 0);
    let (status, body) = app
        .call(
            &agent,
            "staff/mail/decide",
            &[("id", unverified_id.as_str()), ("decision", "maybe")],
        )
        .await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["decision".to_string()])
    );
    app.expect(
        &agent,
        "staff/mail/decide",
        &[("id", unverified_id.as_str()), ("decision", "accept")],
        200,
    )
    .await;
    assert_eq!(
        comments_saying(&app, "Sent from a server without DMARC.").await,
        1
    );
    assert_eq!(
        app.call(
            &agent,
            "staff/mail/decide",
            &[("id", unverified_id.as_str()), ("decision", "accept")]
        )
        .await
        .0,
        404
    );
    let platform = app.signed_in("platform.admin@vendor.example").await;
    app.expect(
        &platform,
        "staff/mail/decide",
        &[("id", forged_id.as_str()), ("decision", "discard")],
        200,
    )
    .await;
    assert!(app
        .expect(&agent, "staff/mail/held", &[], 200)
        .await
        .as_array()
        .unwrap()
        .is_empty());
    // The evidence names the staff member and the customer's account sees it in its trail.
    for (action, who) in [
        ("mail.accepted", AGENT),
        ("mail.discarded", "platform.admin@vendor.example"),
    ] {
        let n = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.actor_id \
                 WHERE a.action = '{action}' AND u.email = '{who}' \
                 AND a.account_id = (SELECT account_id FROM cases WHERE number = '{number}')"
            ))
            .await;
        assert_eq!(n, 1, "{action}");
    }
}

both_engines!(
    replies_by_mail_become_comments_only_when_trusted,
    staff_accept_or_discard_held_mail_with_evidence
);
