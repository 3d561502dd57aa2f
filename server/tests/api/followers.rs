//! Who hears about a case by mail: the contact and the colleagues watching it, each mail threaded
//! with the case's others and carrying its recipient's own reply address and one-click
//! unsubscribe; the rules of who may add whom; a disabled user stops getting mail at once.

use crate::both_engines;
use crate::helpers::*;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const ACME_SECOND: &str = "secondary@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

async fn user_id(app: &TestApp, email: &str) -> String {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
        .to_string()
}

/// Opens a case as the ACME user, who is its contact; answers its number.
async fn open_case(app: &TestApp) -> String {
    crate::cases::opened_by(app, ACME_USER).await
}

async fn follow_change(
    app: &TestApp,
    who: &reqwest::Client,
    number: &str,
    change: &str,
    user: Option<&str>,
) -> (u16, serde_json::Value) {
    let id = match user {
        Some(email) => user_id(app, email).await,
        None => String::new(),
    };
    let mut form = vec![("number", number), ("change", change)];
    if user.is_some() {
        form.push(("user_id", id.as_str()));
    }
    app.call(who, "cases/followers", &form).await
}

async fn staff_reply(app: &TestApp, number: &str, text: &str) {
    let agent = app.signed_in(AGENT).await;
    app.expect(
        &agent,
        "cases/note",
        &[("number", number), ("body", text)],
        200,
    )
    .await;
}

/// The mails to `to` whose text contains `words`.
fn mails_saying(app: &TestApp, to: &str, words: &str) -> usize {
    app.mails()
        .iter()
        .filter(|m| m.to.contains(to) && m.body.contains(words))
        .count()
}

async fn case_mails_are_threaded_with_a_reply_address_each_and_reach_watchers(engine: Engine) {
    let Some(app) = spawn_with(engine, |s| {
        s.mail_reply_address = "support@vendor.example".into();
    })
    .await
    else {
        return;
    };
    let number = open_case(&app).await;
    let opened = app.wait_for_mail(ACME_USER, &number).await;
    let host = app
        .base
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap()
        .to_string();
    let thread = format!("<case-{number}@{host}>");
    assert_eq!(opened.header("In-Reply-To"), thread);
    assert_eq!(opened.header("References"), thread);
    assert_eq!(opened.header("Auto-Submitted"), "auto-generated");
    assert_eq!(
        opened.header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let token = opened.case_token();
    assert_eq!(token.len(), 40, "{opened:?}");
    assert!(
        opened
            .header("Reply-To")
            .contains(&format!("support+{token}@vendor.example")),
        "{}",
        opened.header("Reply-To")
    );
    assert!(opened
        .header("List-Unsubscribe")
        .starts_with(&format!("<{}/mail/unsubscribe/", app.base)));
    // Text and HTML say the same; the HTML links the case and carries nothing of its own style.
    let html = opened.html.clone().expect("an HTML part");
    assert!(
        html.contains(&format!("href=\"{}/cases/{number}\"", app.base)),
        "{html}"
    );
    assert!(opened
        .body
        .contains(&format!("{}/cases/{number}", app.base)));
    assert!(html.contains("color-scheme") && !html.contains("<script"));

    // The contact adds a colleague; staff reply; both hear, each with their own address.
    let contact = app.signed_in(ACME_USER).await;
    let (status, body) = follow_change(&app, &contact, &number, "add", Some(ACME_SECOND)).await;
    assert_eq!(status, 200, "{body}");
    staff_reply(&app, &number, "Please send the pipeline log.").await;
    let to_contact = app
        .wait_for_mail_saying(ACME_USER, "Please send the pipeline log.")
        .await;
    let to_watcher = app
        .wait_for_mail_saying(ACME_SECOND, "Please send the pipeline log.")
        .await;
    assert_eq!(to_watcher.header("In-Reply-To"), thread);
    assert_eq!(
        to_contact.case_token(),
        token,
        "one address per person and case"
    );
    assert_ne!(to_watcher.case_token(), token);

    // A watcher's comment reaches the contact, not the watcher themself.
    let watcher = app.signed_in(ACME_SECOND).await;
    app.expect(
        &watcher,
        "cases/comment",
        &[
            ("number", number.as_str()),
            ("body", "Log attached tomorrow."),
        ],
        200,
    )
    .await;
    let told = app
        .wait_for_mail_saying(ACME_USER, "Log attached tomorrow.")
        .await;
    assert!(told.body.contains("commented:"), "{told:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(mails_saying(&app, ACME_SECOND, "Log attached tomorrow."), 0);

    // Evidence names who added whom.
    let audited = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'case.watcher_added' \
             AND target = 'case:{number}' AND actor_id = {}",
            user_id(&app, ACME_USER).await
        ))
        .await;
    assert_eq!(audited, 1);
}

async fn who_may_change_who_hears_follows_the_matrix(app: TestApp) {
    let number = open_case(&app).await;
    // Anonymous: sign in first. Another account: the case does not exist.
    assert_eq!(
        follow_change(&app, &client(), &number, "add", Some(ACME_SECOND))
            .await
            .0,
        401
    );
    let globex = app.signed_in(GLOBEX_USER).await;
    assert_eq!(
        follow_change(&app, &globex, &number, "add", Some(GLOBEX_USER))
            .await
            .0,
        404
    );
    assert_eq!(
        follow_change(&app, &globex, &number, "unfollow", None)
            .await
            .0,
        404
    );
    let (status, _) = app
        .call(&globex, "cases/get", &[("number", number.as_str())])
        .await;
    assert_eq!(status, 404);

    // Only active users of the case's account may watch; the contact already hears.
    let admin = app.signed_in(ACME_ADMIN).await;
    let (status, body) = follow_change(&app, &admin, &number, "add", Some(GLOBEX_USER)).await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["user_id".to_string()])
    );
    let (status, body) = follow_change(&app, &admin, &number, "add", Some(ACME_USER)).await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["user_id".to_string()])
    );
    let (status, body) = follow_change(&app, &admin, &number, "promote", Some(ACME_SECOND)).await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["change".to_string()])
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM case_followers WHERE watcher")
            .await,
        0
    );

    // Staff add any user of the account; they cannot follow a customer's case themselves.
    for staff in [AGENT, PLATFORM_ADMIN] {
        let who = app.signed_in(staff).await;
        let (status, body) = follow_change(&app, &who, &number, "add", Some(ACME_SECOND)).await;
        assert_eq!(status, 200, "{staff}: {body}");
        assert_eq!(
            follow_change(&app, &who, &number, "follow", None).await.0,
            403,
            "{staff}"
        );
    }
    // A customer administrator adds themself by following.
    assert_eq!(
        follow_change(&app, &admin, &number, "follow", None).await.0,
        200
    );

    // The case page shows who hears, and whom one may still add.
    let contact = app.signed_in(ACME_USER).await;
    let page = app
        .expect(&contact, "cases/get", &[("number", number.as_str())], 200)
        .await;
    let people: Vec<&str> = page["followers"]["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(people.len(), 3, "{page}");
    assert_eq!(page["followers"]["people"][0]["contact"], true);
    assert_eq!(page["followers"]["me"], true);
    assert!(
        page["followers"]["choices"].as_array().unwrap().is_empty(),
        "everyone follows"
    );

    // A colleague takes a watcher off: no more mail for them.
    assert_eq!(
        follow_change(&app, &contact, &number, "remove", Some(ACME_SECOND))
            .await
            .0,
        200
    );
    staff_reply(&app, &number, "Fixed in 2.35.").await;
    app.wait_for_mail_saying(ACME_ADMIN, "Fixed in 2.35.").await;
    app.wait_for_mail_saying(ACME_USER, "Fixed in 2.35.").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(mails_saying(&app, ACME_SECOND, "Fixed in 2.35."), 0);
    assert_eq!(mails_saying(&app, ACME_USER, "Fixed in 2.35."), 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'case.watcher_removed' AND target = 'case:{number}'"
        ))
        .await,
        1
    );
}

async fn one_click_unsubscribe_and_disabled_users_stop_at_once(app: TestApp) {
    let number = open_case(&app).await;
    let opened = app.wait_for_mail(ACME_USER, &number).await;
    let link = opened.header("List-Unsubscribe");
    let link = link.trim_matches(['<', '>']);
    // Following the link only asks: a mail scanner's visit changes nothing.
    let res = plain_client().get(link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Stop these mails"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM case_followers WHERE NOT following")
            .await,
        0
    );
    // The mail client's one-click POST (RFC 8058): no session, no Origin.
    let res = plain_client()
        .post(link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(&number));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'case.unfollowed' AND target = 'case:{number}' \
             AND actor_id = {}",
            user_id(&app, ACME_USER).await
        ))
        .await,
        1
    );
    // Unknown and malformed tokens are simply unknown.
    let bad = format!("{}/mail/unsubscribe/{}", app.base, "0".repeat(40));
    assert_eq!(
        plain_client().post(&bad).send().await.unwrap().status(),
        404
    );
    let bad = format!("{}/mail/unsubscribe/..%2f..%2fetc", app.base);
    assert_eq!(plain_client().get(&bad).send().await.unwrap().status(), 404);

    // A colleague watches; the contact no longer hears, until they follow again.
    let contact = app.signed_in(ACME_USER).await;
    assert_eq!(
        follow_change(&app, &contact, &number, "add", Some(ACME_SECOND))
            .await
            .0,
        200
    );
    staff_reply(&app, &number, "First answer.").await;
    app.wait_for_mail_saying(ACME_SECOND, "First answer.").await;
    assert_eq!(mails_saying(&app, ACME_USER, "First answer."), 0);
    assert_eq!(
        follow_change(&app, &contact, &number, "follow", None)
            .await
            .0,
        200
    );

    // Mails already queued for someone disabled meanwhile are not sent.
    app.stop_mailer();
    staff_reply(&app, &number, "Second answer.").await;
    app.exec(&format!(
        "UPDATE users SET status = 'disabled' WHERE email = '{ACME_SECOND}'"
    ))
    .await;
    let sender = spawn_on(app.settings.database_url.expose(), app.settings.clone()).await;
    sender
        .wait_for_mail_saying(ACME_USER, "Second answer.")
        .await;
    app.wait_until(
        "SELECT COUNT(*) FROM mail_outbox WHERE failed_at IS NOT NULL AND last_error = 'the recipient was disabled'",
        1,
    )
    .await;
    assert_eq!(mails_saying(&sender, ACME_SECOND, "Second answer."), 0);
    assert_eq!(mails_saying(&sender, ACME_USER, "Second answer."), 1);
    // And nothing new is queued for them.
    staff_reply(&app, &number, "Third answer.").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM mail_outbox WHERE to_address = '{ACME_SECOND}' AND body LIKE '%Third answer.%'"
        ))
        .await,
        0
    );
}

/// An account with more users than a page lists: the form asks for the colleague's address.
async fn a_large_account_adds_watchers_by_address(app: TestApp) {
    let number = open_case(&app).await;
    let acme = app
        .scalar("SELECT account_id FROM users WHERE email = 'user@acme.example'")
        .await;
    for i in 0..120 {
        app.exec(&format!(
            "INSERT INTO users (account_id, email, first_name, last_name, kind, is_admin, status, created_at, updated_at) \
             VALUES ({acme}, 'colleague{i}@acme.example', 'Colleague', 'No {i:03}', 'customer', FALSE, 'active', 0, 0)"
        ))
        .await;
    }
    let contact = app.signed_in(ACME_USER).await;
    let page = app
        .expect(&contact, "cases/get", &[("number", number.as_str())], 200)
        .await;
    assert_eq!(
        page["followers"]["ask_address"], true,
        "{}",
        page["followers"]
    );
    assert!(page["followers"]["choices"].as_array().unwrap().is_empty());
    let add = |email: &'static str| {
        let (contact, number) = (contact.clone(), number.clone());
        let app = &app;
        async move {
            app.call(
                &contact,
                "cases/followers",
                &[
                    ("number", number.as_str()),
                    ("change", "add"),
                    ("email", email),
                ],
            )
            .await
        }
    };
    assert_eq!(add(" Colleague77@ACME.example ").await.0, 200);
    let (status, body) = add(GLOBEX_USER).await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["email".to_string()])
    );
    let (status, body) = add("nobody@acme.example").await;
    assert_eq!(
        (status, invalid_fields(&body)),
        (422, vec!["email".to_string()])
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM case_followers f JOIN users u ON u.id = f.user_id \
                    WHERE f.watcher AND u.email = 'colleague77@acme.example'"
        )
        .await,
        1
    );
}

both_engines!(
    a_large_account_adds_watchers_by_address,
    who_may_change_who_hears_follows_the_matrix,
    one_click_unsubscribe_and_disabled_users_stop_at_once
);
both_engines!(engine: case_mails_are_threaded_with_a_reply_address_each_and_reach_watchers);
