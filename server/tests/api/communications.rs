//! Communications (SPEC §7): security notices and NPS surveys to the contacts of chosen accounts —
//! audience resolution recorded at sending, the accounts without a contact, delivery over a real
//! SMTP server on loopback, personal survey links (tampering, expiry, reuse), the NPS arithmetic,
//! and that only vendor staff send or see answers.

use crate::both_engines;
use crate::helpers::*;
use crate::mail::{free_port, smtp_settings, SmtpServer};
use serde_json::Value;

const ACME_ADMIN: &str = "admin@acme.example";
const ACME_SECONDARY: &str = "secondary@acme.example";
const ACME_USER: &str = "user@acme.example";
const GLOBEX_ADMIN: &str = "admin@globex.example";
const GLOBEX_USER: &str = "user@globex.example";
const INITECH_ADMIN: &str = "admin@initech.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

async fn account(app: &TestApp, key: &str) -> String {
    app.scalar(&format!(
        "SELECT id FROM accounts WHERE account_key = '{key}'"
    ))
    .await
    .to_string()
}

fn emails(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_string())
        .collect()
}

fn gap_names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| g["account"].as_str().unwrap().to_string())
        .collect()
}

fn fields(body: &Value) -> Vec<String> {
    body["Validation"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Creates a notice for `accounts` (empty: every account) as `staff`; answers its id.
async fn notice(
    app: &TestApp,
    staff: &reqwest::Client,
    subject: &str,
    accounts: &[&str],
    include_admins: bool,
) -> String {
    let mut form: Vec<(String, String)> = vec![
        ("subject".into(), subject.into()),
        ("severity".into(), "high".into()),
        (
            "body".into(),
            "Rotate the **deploy keys** before Friday.".into(),
        ),
        (
            "audience".into(),
            if accounts.is_empty() {
                "all"
            } else {
                "accounts"
            }
            .into(),
        ),
    ];
    for (i, a) in accounts.iter().enumerate() {
        form.push((format!("account_ids[{i}]"), a.to_string()));
    }
    if include_admins {
        form.push(("include_admins".into(), "on".into()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = app.expect(staff, "notices/create", &form, 200).await;
    body.as_i64().unwrap().to_string()
}

/// A notice reaches the contacts as they were when it was sent; an account without a contact is
/// a listed gap; the audience must be the one confirmed; recipients read it in the portal.
async fn notices_record_their_audience_at_sending(app: TestApp) {
    let staff = app.signed_in(AGENT).await;
    let (acme, initech) = (account(&app, "ACME").await, account(&app, "INITECH").await);
    app.exec("UPDATE accounts SET primary_contact_id = NULL WHERE account_key = 'INITECH'")
        .await;

    // Bad input: errors next to each field, nothing stored.
    let body = app
        .expect(
            &staff,
            "notices/create",
            &[
                ("subject", ""),
                ("severity", "dire"),
                ("audience", "accounts"),
            ],
            422,
        )
        .await;
    assert_eq!(
        fields(&body),
        ["subject", "severity", "body", "account_ids"]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM notices").await, 0);

    let id = notice(
        &app,
        &staff,
        "Rotate deploy keys",
        &[&acme, &initech],
        false,
    )
    .await;
    let (status, draft) = app
        .call(&staff, "notices/get", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 200, "{draft}");
    assert_eq!(emails(&draft["recipients"]), [ACME_ADMIN, ACME_SECONDARY]);
    assert_eq!(gap_names(&draft["gaps"]), ["Initech"]);
    assert_eq!(draft["recipients"][0]["roles"], "primary contact");
    // Sending needs the count that was shown: a different one sends nothing.
    app.expect(
        &staff,
        "notices/send",
        &[("id", id.as_str()), ("confirmed", "3")],
        409,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM communication_recipients")
            .await,
        0
    );
    assert_eq!(
        app.text(&format!("SELECT state FROM notices WHERE id = {id}"))
            .await,
        "draft"
    );
    let (status, sent) = app
        .call(
            &staff,
            "notices/send",
            &[("id", id.as_str()), ("confirmed", "2")],
        )
        .await;
    assert_eq!((status, sent.as_i64()), (200, Some(2)));
    let mail = app
        .wait_for_mail(ACME_ADMIN, "[Security notice: high] Rotate deploy keys")
        .await;
    assert!(
        mail.body.contains("deploy keys") && mail.body.contains(&format!("/notices/{id}")),
        "{}",
        mail.body
    );
    app.wait_for_mail(ACME_SECONDARY, "Rotate deploy keys")
        .await;
    // Sent twice? No.
    app.expect(
        &staff,
        "notices/send",
        &[("id", id.as_str()), ("confirmed", "2")],
        409,
    )
    .await;

    // Contacts change afterwards: the recorded audience does not.
    let user = app
        .scalar(&format!("SELECT id FROM users WHERE email = '{ACME_USER}'"))
        .await;
    app.exec(&format!(
        "UPDATE accounts SET secondary_contact_id = {user} WHERE account_key = 'ACME'"
    ))
    .await;
    let initech_admin = app
        .scalar(&format!(
            "SELECT id FROM users WHERE email = '{INITECH_ADMIN}'"
        ))
        .await;
    app.exec(&format!(
        "UPDATE accounts SET primary_contact_id = {initech_admin} WHERE account_key = 'INITECH'"
    ))
    .await;
    app.wait_until(
        &format!("SELECT COUNT(*) FROM mail_outbox o JOIN communication_recipients r ON r.outbox_id = o.id \
                  WHERE r.parent_id = {id} AND o.sent_at IS NOT NULL"),
        2,
    )
    .await;
    let (_, after) = app
        .call(&staff, "notices/get", &[("id", id.as_str())])
        .await;
    assert_eq!(emails(&after["recipients"]), [ACME_ADMIN, ACME_SECONDARY]);
    assert_eq!(gap_names(&after["gaps"]), ["Initech"]);
    assert_eq!(after["recipients"][0]["delivery"], "sent");
    // A new draft for the same accounts sees the new contacts.
    let second = notice(&app, &staff, "Second notice", &[&acme, &initech], false).await;
    let (_, draft) = app
        .call(&staff, "notices/get", &[("id", second.as_str())])
        .await;
    assert_eq!(
        emails(&draft["recipients"]),
        [ACME_ADMIN, ACME_USER, INITECH_ADMIN]
    );
    assert_eq!(draft["gaps"], serde_json::json!([]));

    // Who sent what to whom is in the audit trail.
    let after_state = app
        .text(&format!("SELECT after_state FROM audit_log WHERE action = 'notice.sent' AND target = 'notice {id}'"))
        .await;
    for text in [ACME_ADMIN, ACME_SECONDARY, "Initech", "primary contact"] {
        assert!(
            after_state.contains(text),
            "{text} missing from {after_state}"
        );
    }

    // Recipients read it in the portal; nobody else does.
    let admin = app.signed_in(ACME_ADMIN).await;
    let (status, seen) = app
        .call(&admin, "notices/get", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(seen["subject"], "Rotate deploy keys");
    assert!(seen["body_html"]
        .as_str()
        .unwrap()
        .contains("<strong>deploy keys</strong>"));
    assert_eq!(
        seen["recipients"],
        serde_json::json!([]),
        "a recipient sees no audience"
    );
    let (_, mine) = app.call(&admin, "notices/mine", &[]).await;
    assert_eq!(
        mine[0]["id"].as_i64().map(|v| v.to_string()),
        Some(id.clone())
    );
    for other in [ACME_USER, GLOBEX_USER] {
        let c = app.signed_in(other).await;
        let (status, _) = app.call(&c, "notices/get", &[("id", id.as_str())]).await;
        assert_eq!(status, 404, "{other}");
        let (_, mine) = app.call(&c, "notices/mine", &[]).await;
        assert_eq!(mine, serde_json::json!([]), "{other}");
    }
    // Drafts are not shown to anyone but staff.
    app.expect(&admin, "notices/get", &[("id", second.as_str())], 404)
        .await;

    // Every administrator too, on request: roles say why each is there.
    let third = notice(&app, &staff, "With administrators", &[&acme], true).await;
    let (_, draft) = app
        .call(&staff, "notices/get", &[("id", third.as_str())])
        .await;
    let roles: Vec<(String, String)> = draft["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().into(),
                r["roles"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (
                ACME_ADMIN.to_string(),
                "primary contact, administrator".to_string()
            ),
            (ACME_USER.to_string(), "secondary contact".to_string()),
            (ACME_SECONDARY.to_string(), "administrator".to_string()),
        ]
    );
}

/// Only vendor staff send communications or see survey answers.
async fn communications_are_for_staff_only(app: TestApp) {
    let staff = app.signed_in(AGENT).await;
    let acme = account(&app, "ACME").await;
    let id = notice(&app, &staff, "Staff only", &[&acme], false).await;
    let body = app
        .expect(
            &staff,
            "surveys/create",
            &[("name", "Q4"), ("expires_days", "14"), ("audience", "all")],
            200,
        )
        .await;
    let survey = body.as_i64().unwrap().to_string();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("communications/overview", vec![]),
        (
            "notices/create",
            vec![
                ("subject", "x"),
                ("severity", "low"),
                ("body", "x"),
                ("audience", "all"),
            ],
        ),
        (
            "notices/send",
            vec![("id", id.as_str()), ("confirmed", "2")],
        ),
        (
            "surveys/create",
            vec![("name", "x"), ("expires_days", "3"), ("audience", "all")],
        ),
        ("surveys/get", vec![("id", survey.as_str())]),
        (
            "surveys/start",
            vec![("id", survey.as_str()), ("confirmed", "4")],
        ),
    ];
    let counts = async || {
        (
            app.scalar("SELECT COUNT(*) FROM notices").await,
            app.scalar("SELECT COUNT(*) FROM nps_rounds").await,
            app.scalar("SELECT COUNT(*) FROM communication_recipients")
                .await,
        )
    };
    let before = counts().await;
    for (c, expected) in [
        (client(), 401),
        (app.signed_in(ACME_USER).await, 403),
        (app.signed_in(ACME_ADMIN).await, 403),
        (app.signed_in(GLOBEX_ADMIN).await, 403),
    ] {
        for (endpoint, form) in &calls {
            let (status, body) = app.call(&c, endpoint, form).await;
            assert_eq!(status, expected, "{endpoint}: {body}");
        }
        let res = c
            .post(app.url(&format!("/staff/surveys/{survey}/answers.csv")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected);
        // A recipient-only read of a draft is not found, whoever asks.
        let (status, _) = app.call(&c, "notices/get", &[("id", id.as_str())]).await;
        assert!(status == 401 || status == 404, "{status}");
    }
    assert_eq!(before, counts().await, "a refused call changed something");
    for email in [AGENT, PLATFORM_ADMIN] {
        let c = app.signed_in(email).await;
        let body = app.expect(&c, "communications/overview", &[], 200).await;
        assert_eq!(body["accounts"].as_array().unwrap().len(), 3);
        app.expect(&c, "surveys/get", &[("id", survey.as_str())], 200)
            .await;
    }
}

/// Personal survey links: tampering, reuse and expiry are refused politely; scores add up to the
/// NPS per round and per account; answers export as CSV.
async fn survey_links_and_scores(app: TestApp) {
    let staff = app.signed_in(AGENT).await;
    let (status, body) = app
        .call(
            &staff,
            "surveys/create",
            &[("name", ""), ("expires_days", "0"), ("audience", "tier")],
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (
            422,
            vec!["name".into(), "expires_days".into(), "tier".into()]
        )
    );
    let body = app
        .expect(
            &staff,
            "surveys/create",
            &[
                ("name", "NPS Q4"),
                ("expires_days", "14"),
                ("audience", "all"),
            ],
            200,
        )
        .await;
    let id = body.as_i64().unwrap().to_string();
    let (_, draft) = app
        .call(&staff, "surveys/get", &[("id", id.as_str())])
        .await;
    assert_eq!(
        emails(&draft["recipients"]),
        [ACME_ADMIN, ACME_SECONDARY, GLOBEX_ADMIN, INITECH_ADMIN]
    );
    let (status, started) = app
        .call(
            &staff,
            "surveys/start",
            &[("id", id.as_str()), ("confirmed", "4")],
        )
        .await;
    assert_eq!((status, started.as_i64()), (200, Some(4)));
    let mut links = Vec::new();
    for email in [ACME_ADMIN, ACME_SECONDARY, GLOBEX_ADMIN, INITECH_ADMIN] {
        let mail = app
            .wait_for_mail(email, "A quick question about our support")
            .await;
        links.push(mail.link("/nps?t="));
    }
    let token = |link: &str| link.split("t=").nth(1).unwrap().to_string();
    let visitor = client();
    let answer = |t: String, score: &'static str, comment: &'static str| {
        let app = &app;
        let visitor = visitor.clone();
        async move {
            app.call(
                &visitor,
                "nps/answer",
                &[("t", t.as_str()), ("score", score), ("comment", comment)],
            )
            .await
        }
    };

    // A tampered link is no link: the same answer as one that never existed.
    let good = token(&links[0]);
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    app.expect(&visitor, "nps/link", &[("t", tampered.as_str())], 404)
        .await;
    assert_eq!(answer(tampered.clone(), "10", "").await.0, 404);
    assert_eq!(answer("not-a-token".into(), "10", "").await.0, 404);

    // The page a link opens, and the answers; a bad score records nothing.
    let (status, link) = app
        .call(&visitor, "nps/link", &[("t", good.as_str())])
        .await;
    assert_eq!(
        (status, link["state"].as_str(), link["first_name"].as_str()),
        (200, Some("open"), Some("Ada"))
    );
    let (status, body) = answer(good.clone(), "11", "").await;
    assert_eq!((status, fields(&body)), (422, vec!["score".to_string()]));
    assert_eq!(
        answer(good.clone(), "10", "=HYPERLINK(\"x\") Fast answers")
            .await
            .0,
        200
    );
    // Answering twice is refused, politely, and the first answer stays.
    let (status, again) = answer(good.clone(), "0", "").await;
    assert_eq!(status, 409);
    assert!(
        again["Conflict"]
            .as_str()
            .unwrap()
            .contains("already answered"),
        "{again}"
    );
    let (_, link) = app
        .call(&visitor, "nps/link", &[("t", good.as_str())])
        .await;
    assert_eq!(link["state"], "answered");
    assert_eq!(answer(token(&links[1]), "9", "").await.0, 200);
    assert_eq!(answer(token(&links[2]), "3", "Slow").await.0, 200);

    // An expired round refuses the last link.
    app.exec(&format!(
        "UPDATE nps_rounds SET expires_at = 1 WHERE id = {id}"
    ))
    .await;
    let (status, expired) = answer(token(&links[3]), "8", "").await;
    assert_eq!(status, 409);
    assert!(
        expired["Conflict"].as_str().unwrap().contains("expired"),
        "{expired}"
    );
    let (_, link) = app
        .call(&visitor, "nps/link", &[("t", token(&links[3]).as_str())])
        .await;
    assert_eq!(link["state"], "expired");

    // The report: 10, 9 (ACME) and 3 (Globex) of 4 asked → NPS (2 − 1) / 3 = +33.
    let (_, report) = app
        .call(&staff, "surveys/get", &[("id", id.as_str())])
        .await;
    let total = &report["total"];
    assert_eq!(
        (
            total["invited"].as_i64(),
            total["answered"].as_i64(),
            total["nps"].as_i64()
        ),
        (Some(4), Some(3), Some(33))
    );
    assert_eq!(
        (
            total["promoters"].as_i64(),
            total["passives"].as_i64(),
            total["detractors"].as_i64()
        ),
        (Some(2), Some(0), Some(1))
    );
    let per_account: Vec<(String, i64, i64, Option<i64>)> = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["label"].as_str().unwrap().into(),
                s["invited"].as_i64().unwrap(),
                s["answered"].as_i64().unwrap(),
                s["nps"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        per_account,
        [
            ("Acme Corporation".into(), 2, 2, Some(100)),
            ("Globex".into(), 1, 1, Some(-100)),
            ("Initech".into(), 1, 0, None),
        ]
    );
    assert_eq!(
        report["distribution"],
        serde_json::json!([0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1])
    );
    // The report page draws the distribution.
    let page = app.page_text(&staff, &format!("/staff/surveys/{id}")).await;
    assert!(
        page.contains("<svg ") && page.contains("class=\"nps-chart\""),
        "no chart: {page}"
    );
    assert!(
        page.contains("Answers per score — 0: 0, 1: 0, 2: 0, 3: 1"),
        "no chart label"
    );

    // CSV export: every person asked, answers included, formulas defused.
    let csv = body_of(staff.post(app.url(&format!("/staff/surveys/{id}/answers.csv")))).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "account,name,email,asked_as,score,comment,answered_utc"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        csv.contains("Ada Moreno,admin@acme.example,primary contact,10,\"'=HYPERLINK"),
        "{csv}"
    );
    assert!(csv.contains("Slow"), "{csv}");
    let audited = app
        .scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'survey.started' AND target = 'survey {id}'"))
        .await;
    assert_eq!(audited, 1);
}

/// Notice mails go out through the outbox to a real SMTP server on loopback; while it is down
/// they wait, and a mail that never gets through shows as failed after its retries.
async fn notices_are_delivered_over_smtp(engine: Engine) {
    let port = free_port();
    let Some(app) = spawn_with(engine, |s| {
        smtp_settings(port)(s);
        s.mail_max_attempts = 2;
    })
    .await
    else {
        return;
    };
    let staff = app.signed_in(AGENT).await;
    let acme = account(&app, "ACME").await;
    // The mail server is down: both attempts fail and the recipients show it.
    let down = notice(&app, &staff, "While the server is down", &[&acme], false).await;
    app.call(
        &staff,
        "notices/send",
        &[("id", down.as_str()), ("confirmed", "2")],
    )
    .await;
    app.wait_until(
        &format!("SELECT COUNT(*) FROM mail_outbox o JOIN communication_recipients r ON r.outbox_id = o.id \
                  WHERE r.parent_id = {down} AND r.kind = 'notice' AND o.failed_at IS NOT NULL"),
        2,
    )
    .await;
    let (_, failed) = app
        .call(&staff, "notices/get", &[("id", down.as_str())])
        .await;
    assert_eq!(failed["recipients"][0]["delivery"], "failed");
    // With the server up, the next notice arrives, once per recipient.
    let maildir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(port, maildir.path()).await;
    let up = notice(&app, &staff, "Patch available", &[&acme], false).await;
    app.expect(
        &staff,
        "notices/send",
        &[("id", up.as_str()), ("confirmed", "2")],
        200,
    )
    .await;
    app.wait_until(
        &format!("SELECT COUNT(*) FROM mail_outbox o JOIN communication_recipients r ON r.outbox_id = o.id \
                  WHERE r.parent_id = {up} AND r.kind = 'notice' AND o.sent_at IS NOT NULL"),
        2,
    )
    .await;
    let received = smtp.received();
    let patch: Vec<&String> = received
        .iter()
        .filter(|m| m.contains("Patch available"))
        .collect();
    assert_eq!(patch.len(), 2, "{received:?}");
    assert!(
        patch.iter().any(|m| m.contains(ACME_ADMIN))
            && patch.iter().any(|m| m.contains(ACME_SECONDARY))
    );
    let (_, delivered) = app
        .call(&staff, "notices/get", &[("id", up.as_str())])
        .await;
    assert_eq!(delivered["recipients"][0]["delivery"], "sent");
    assert_eq!(delivered["recipients"][1]["delivery"], "sent");
}

both_engines!(
    notices_record_their_audience_at_sending,
    communications_are_for_staff_only,
    survey_links_and_scores
);
both_engines!(engine: notices_are_delivered_over_smtp);
