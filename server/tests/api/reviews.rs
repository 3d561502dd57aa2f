//! Access reviews: who may start, see and decide; nobody decides on their own access; a removal
//! disables at once and ends sessions; the last decision completes the review and its evidence
//! (CSV and PDF) verifies against the SHA-256 in the audit trail; the schedule, reminders, overdue
//! notices and dormant access on an injected clock; isolation between accounts.

use crate::both_engines;
use crate::helpers::*;
use sha2::{Digest, Sha256};

const ADMIN: &str = "admin@acme.example";
const SECOND_ADMIN: &str = "secondary@acme.example";
const USER: &str = "user@acme.example";
const PLATFORM: &str = "platform.admin@vendor.example";
const AGENT: &str = "agent@vendor.example";

async fn id_of(app: &TestApp, email: &str) -> String {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
        .to_string()
}

async fn account_of(app: &TestApp, key: &str) -> String {
    app.scalar(&format!(
        "SELECT id FROM accounts WHERE account_key = '{key}'"
    ))
    .await
    .to_string()
}

async fn start(app: &TestApp, c: &reqwest::Client, account: Option<&str>) -> String {
    let form: Vec<(&str, &str)> = account.map(|a| ("account_id", a)).into_iter().collect();
    let id = app.expect(c, "reviews/start", &form, 200).await;
    id.as_i64().expect("the review's number").to_string()
}

async fn decide(
    app: &TestApp,
    c: &reqwest::Client,
    review: &str,
    email: &str,
    decision: &str,
    extra: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let user = id_of(app, email).await;
    let mut form = vec![
        ("review_id", review),
        ("user_id", user.as_str()),
        ("decision", decision),
    ];
    form.extend_from_slice(extra);
    app.call(c, "reviews/decide", &form).await
}

/// POSTs an export button's request; the status and the body's bytes.
async fn download(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, Vec<u8>) {
    let res = c.post(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

async fn audit_after(app: &TestApp, action: &str) -> serde_json::Value {
    let text = app
        .text(&format!(
            "SELECT after_state FROM audit_log WHERE action = '{action}' ORDER BY id DESC LIMIT 1"
        ))
        .await;
    serde_json::from_str(&text).unwrap()
}

async fn status_of(app: &TestApp, email: &str) -> String {
    app.text(&format!("SELECT status FROM users WHERE email = '{email}'"))
        .await
}

async fn reviews_are_for_administrators_and_vendor_staff(app: TestApp) {
    let acme = account_of(&app, "ACME").await;
    for endpoint in ["reviews/account", "reviews/start", "reviews/overview"] {
        app.expect(&client(), endpoint, &[], 401).await;
    }
    let user = app.signed_in(USER).await;
    app.expect(&user, "reviews/account", &[], 403).await;
    app.expect(&user, "reviews/start", &[], 403).await;
    app.expect(&user, "reviews/overview", &[], 403).await;
    let agent = app.signed_in(AGENT).await;
    // Staff read any account's reviews; only a platform admin starts one or changes the settings.
    let page = app
        .expect(&agent, "reviews/account", &[("account_id", &acme)], 200)
        .await;
    assert_eq!(page["account_name"], "Acme Corporation");
    assert_eq!(page["may_manage"], false);
    app.expect(&agent, "reviews/start", &[("account_id", &acme)], 403)
        .await;
    // An account that does not exist is not found, never a failure.
    let platform = app.signed_in(PLATFORM).await;
    let nowhere = [("account_id", "999999")];
    app.expect(&platform, "reviews/start", &nowhere, 404).await;
    app.expect(&platform, "reviews/account", &nowhere, 404)
        .await;
    let settings = [
        ("account_id", "999999"),
        ("schedule", "yearly"),
        ("dormant_days", "90"),
    ];
    app.expect(&platform, "reviews/save_settings", &settings, 404)
        .await;
    let admin = app.signed_in(ADMIN).await;
    app.expect(&admin, "reviews/overview", &[], 403).await;
    app.expect(&admin, "reviews/remind", &[("review_id", "1")], 403)
        .await;
    // A customer's account is the session's, whatever they send.
    let globex = account_of(&app, "GLOBEX").await;
    let own = app
        .expect(&admin, "reviews/account", &[("account_id", &globex)], 200)
        .await;
    assert_eq!(own["account_name"], "Acme Corporation");
    assert_eq!(own["may_manage"], true);
    let review = start(&app, &admin, None).await;
    app.expect(&admin, "reviews/start", &[], 409).await;
    // Another account's administrator finds nothing of it.
    let other = app.signed_in("admin@globex.example").await;
    app.expect(&other, "reviews/get", &[("review_id", &review)], 404)
        .await;
    assert_eq!(
        decide(&app, &other, &review, USER, "keep", &[]).await.0,
        404
    );
    let view = app
        .expect(&agent, "reviews/get", &[("review_id", &review)], 200)
        .await;
    assert_eq!(view["review"]["users"], 3);
    // Vendor staff see it in the overview and remind; the reminder names them.
    let overview = app.expect(&agent, "reviews/overview", &[], 200).await;
    let row = overview[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account_name"] == "Acme Corporation")
        .unwrap()
        .clone();
    assert_eq!(row["open_id"].to_string(), review);
    app.expect(&agent, "reviews/remind", &[("review_id", &review)], 200)
        .await;
    app.wait_for_mail(SECOND_ADMIN, "Reminder: the access review")
        .await;
    let agent_id = id_of(&app, AGENT).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'access_review.reminded' AND actor_id = {agent_id}"
        ))
        .await,
        1
    );
}

async fn a_review_is_decided_person_by_person_and_completes_with_its_evidence(app: TestApp) {
    let admin = app.signed_in(ADMIN).await;
    let second = app.signed_in(SECOND_ADMIN).await;
    let user = app.signed_in(USER).await;
    let review = start(&app, &admin, None).await;
    let started = app
        .wait_for_mail(SECOND_ADMIN, "Access review: confirm")
        .await;
    assert!(
        started.body.contains(&format!("/manage/reviews/{review}")),
        "{}",
        started.body
    );
    let view = app
        .expect(&admin, "reviews/get", &[("review_id", &review)], 200)
        .await;
    let names: Vec<&str> = view["items"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // The page says whom the viewer may not decide on, and why: themselves.
    let own = view["items"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .position(|i| i["email"] == ADMIN)
        .unwrap();
    assert!(view["refusals"][own]
        .as_str()
        .unwrap()
        .contains("own access"));

    // The page as the administrator sees it: whom to decide on, and their own row without buttons.
    let html = app
        .page_text(&admin, &format!("/manage/reviews/{review}"))
        .await;
    assert!(html.contains("Acme Corporation") && html.contains("Administrator, primary contact"));
    assert!(html.contains("aria-label=\"Keep Uma Brandt\""), "{html}");
    assert!(
        !html.contains("aria-label=\"Keep Ada Moreno\""),
        "not their own"
    );
    assert!(html.contains("Nobody decides on their own access"));
    // Nobody decides on their own access; a bad decision changes nothing.
    let (status, body) = decide(&app, &admin, &review, ADMIN, "keep", &[]).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = decide(&app, &admin, &review, USER, "maybe", &[]).await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["decision"]);
    // Vendor staff do not decide for an account with two administrators.
    let platform = app.signed_in(PLATFORM).await;
    let (status, _) = decide(
        &app,
        &platform,
        &review,
        ADMIN,
        "keep",
        &[("reason", "asked")],
    )
    .await;
    assert_eq!(status, 409);

    // Keeping several in one step is all or none: one the viewer may not decide on refuses it.
    let (admin_id, user_id) = (id_of(&app, ADMIN).await, id_of(&app, USER).await);
    let both = format!("{user_id},{admin_id}");
    let form = [("review_id", review.as_str()), ("user_ids", both.as_str())];
    let (status, body) = app.call(&admin, "reviews/keep_all", &form).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.to_string().contains("Ada Moreno"),
        "names whom: {body}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM access_review_items WHERE decision IS NOT NULL")
            .await,
        0
    );
    let junk = [("review_id", review.as_str()), ("user_ids", "1,x")];
    let body = app.expect(&admin, "reviews/keep_all", &junk, 422).await;
    assert_eq!(invalid_fields(&body), ["user_ids"]);
    let form = [
        ("review_id", review.as_str()),
        ("user_ids", user_id.as_str()),
    ];
    app.expect(&admin, "reviews/keep_all", &form, 200).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'access_review.decided'")
            .await,
        1
    );

    // Another administrator decides on an administrator; a removal disables at once.
    decide(&app, &second, &review, ADMIN, "keep", &[]).await;
    let (status, body) = decide(&app, &admin, &review, USER, "remove", &[]).await;
    assert_eq!(
        (status, body.clone()),
        (200, serde_json::json!(false)),
        "{body}"
    );
    assert_eq!(status_of(&app, USER).await, "disabled");
    assert_eq!(app.me(&user).await, None, "their session ended");
    // The review's counts follow each decision, a "keep" turned removal included: three people,
    // two decided, one removed, one still to decide (the filtered page's total).
    let undecided = [("review_id", review.as_str()), ("undecided", "1")];
    let view = app.expect(&admin, "reviews/get", &undecided, 200).await;
    let counts = &view["review"];
    assert_eq!(
        (&counts["users"], &counts["decided"], &counts["removed"]),
        (&3.into(), &2.into(), &1.into()),
        "{view}"
    );
    assert_eq!(view["items"]["total"], 1);
    assert_eq!(view["items"]["rows"][0]["email"], SECOND_ADMIN);
    let after = audit_after(&app, "user.disabled").await;
    assert_eq!(after["status"], "disabled");
    assert!(app
        .text("SELECT reason FROM audit_log WHERE action = 'user.disabled'")
        .await
        .contains(&format!("access review {review}")));
    // A removal is final.
    let (status, _) = decide(&app, &admin, &review, USER, "keep", &[]).await;
    assert_eq!(status, 409);
    // The last decision completes the review.
    let (_, done) = decide(&app, &admin, &review, SECOND_ADMIN, "keep", &[]).await;
    assert_eq!(done, serde_json::json!(true));
    let view = app
        .expect(&admin, "reviews/get", &[("review_id", &review)], 200)
        .await;
    assert!(view["review"]["completed_at"].is_i64());
    assert_eq!(view["review"]["removed"], 1);
    let (status, _) = decide(&app, &second, &review, ADMIN, "remove", &[]).await;
    assert_eq!(status, 409, "a completed review no longer changes");

    // The evidence: both files verify against the SHA-256 in the audit trail.
    let completed = audit_after(&app, "access_review.completed").await;
    let (status, csv) = download(
        &app,
        &admin,
        &format!("/export/access-review.csv?review_id={review}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        hex::encode(Sha256::digest(&csv)),
        completed["csv_sha256"].as_str().unwrap()
    );
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("review,account,started_utc"), "{csv}");
    assert!(
        csv.contains("user@acme.example") && csv.contains(",remove,"),
        "{csv}"
    );
    assert!(
        csv.contains("Ada Moreno <admin@acme.example>"),
        "who decided: {csv}"
    );
    let (status, pdf) = download(
        &app,
        &admin,
        &format!("/export/access-review.pdf?review_id={review}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        hex::encode(Sha256::digest(&pdf)),
        completed["pdf_sha256"].as_str().unwrap()
    );
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains(&format!("Access review {review} - Acme Corporation")));
    assert!(text.contains("Uma Brandt") && text.contains("Remove"));
    // Downloads are audited; another account and customers without the right get nothing.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'export.access_review'")
            .await,
        2
    );
    let other = app.signed_in("admin@globex.example").await;
    let path = format!("/export/access-review.pdf?review_id={review}");
    assert_eq!(download(&app, &other, &path).await.0, 404);
    assert_eq!(download(&app, &client(), &path).await.0, 401);
    let agent = app.signed_in(AGENT).await;
    assert_eq!(download(&app, &agent, &path).await.0, 200);
    // The history keeps it, and a new review may start.
    let html = app
        .page_text(&admin, &format!("/manage/reviews/{review}"))
        .await;
    assert!(
        html.contains(completed["pdf_sha256"].as_str().unwrap()),
        "the hash on the page"
    );
    assert!(html.contains("Download PDF report"));
    let page = app.expect(&admin, "reviews/account", &[], 200).await;
    assert_eq!(page["reviews"].as_array().unwrap().len(), 1);
    start(&app, &admin, None).await;
}

async fn vendor_staff_decide_for_an_accounts_only_administrator(app: TestApp) {
    let globex = account_of(&app, "GLOBEX").await;
    let platform = app.signed_in(PLATFORM).await;
    let review = start(&app, &platform, Some(&globex)).await;
    let admin = app.signed_in("admin@globex.example").await;
    let (status, _) = decide(&app, &admin, &review, "admin@globex.example", "keep", &[]).await;
    assert_eq!(status, 409, "not their own");
    let (status, _) = decide(
        &app,
        &platform,
        &review,
        "user@globex.example",
        "keep",
        &[("reason", "x")],
    )
    .await;
    assert_eq!(status, 409, "staff decide only for the sole administrator");
    let (status, body) = decide(
        &app,
        &platform,
        &review,
        "admin@globex.example",
        "keep",
        &[],
    )
    .await;
    assert_eq!(status, 422, "staff give a reason");
    assert_eq!(invalid_fields(&body), ["reason"]);
    let (status, _) = decide(
        &app,
        &platform,
        &review,
        "admin@globex.example",
        "keep",
        &[
            ("reason", "Confirmed by phone with the customer's CIO"),
            ("reference", "CS0001234"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (_, done) = decide(&app, &admin, &review, "user@globex.example", "keep", &[]).await;
    assert_eq!(done, serde_json::json!(true));
    let csv = download(
        &app,
        &admin,
        &format!("/export/access-review.csv?review_id={review}"),
    )
    .await
    .1;
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("(vendor staff)"), "{csv}");
    assert!(app
        .text("SELECT reason FROM audit_log WHERE action = 'access_review.decided' ORDER BY id LIMIT 1")
        .await
        .contains("CIO"));
}

async fn reviews_start_remind_and_escalate_on_the_schedule(app: TestApp) {
    let admin = app.signed_in(ADMIN).await;
    let bad = [("schedule", "weekly"), ("dormant_days", "3")];
    let (status, body) = app.call(&admin, "reviews/save_settings", &bad).await;
    assert_eq!(status, 422);
    assert_eq!(invalid_fields(&body), ["schedule", "dormant_days"]);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM access_review_settings")
            .await,
        0
    );
    let good = [("schedule", "quarterly"), ("dormant_days", "30")];
    app.expect(&admin, "reviews/save_settings", &good, 200)
        .await;
    let state = server::prepare_for_command(app.settings.clone())
        .await
        .unwrap();
    let run = |now: i64| {
        let state = state.clone();
        async move {
            app::server::reviews::schedule::run(&state, now)
                .await
                .unwrap()
        }
    };
    let day = 86_400;
    let t0 = app.scalar("SELECT MAX(created_at) FROM users").await + day;
    // Never reviewed: due at once, and only one at a time.
    assert_eq!(run(t0).await.started, 1);
    assert_eq!(run(t0 + 60).await.started, 0);
    let review = app.scalar("SELECT MAX(id) FROM access_reviews").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM access_reviews WHERE id = {review} AND started_by IS NULL"
        ))
        .await,
        1
    );
    // A reminder after a week, not before; the contacts hear once it is overdue.
    assert_eq!(run(t0 + 6 * day).await.reminded, 0);
    assert_eq!(run(t0 + 7 * day).await.reminded, 1);
    // (Mails wait in the outbox for the clock the test moved: counted there.)
    let queued = |kind: &'static str, to: &'static str| {
        let sql = format!(
            "SELECT COUNT(*) FROM mail_outbox WHERE kind = '{kind}' AND to_address = '{to}'"
        );
        let app = &app;
        async move { app.scalar(&sql).await }
    };
    assert_eq!(queued("access_review_started", ADMIN).await, 1);
    assert_eq!(queued("access_review_reminder", SECOND_ADMIN).await, 1);
    let late = run(t0 + 31 * day).await;
    assert_eq!(late.overdue, 1);
    assert_eq!(run(t0 + 32 * day).await.overdue, 0, "once");
    // Both contacts: the primary (an administrator too) and the secondary.
    assert_eq!(queued("access_review_overdue", ADMIN).await, 1);
    assert_eq!(queued("access_review_overdue", SECOND_ADMIN).await, 1);
    assert_eq!(queued("access_review_overdue", USER).await, 0);
    // Completed: the next one starts a quarter after the last start.
    let second = app.signed_in(SECOND_ADMIN).await;
    let id = review.to_string();
    decide(&app, &second, &id, ADMIN, "keep", &[]).await;
    decide(&app, &admin, &id, USER, "keep", &[]).await;
    decide(&app, &admin, &id, SECOND_ADMIN, "keep", &[]).await;
    assert_eq!(run(t0 + 90 * day).await.started, 0);
    assert_eq!(run(t0 + 91 * day).await.started, 1);
}

async fn dormant_access_is_flagged_and_may_be_disabled(app: TestApp) {
    let admin = app.signed_in(ADMIN).await;
    let day = 86_400;
    let now = app::server::now();
    // Everyone at Acme last signed in 40 days ago, the admin yesterday.
    app.exec(&format!(
        "UPDATE users SET last_sign_in_at = {} WHERE email IN ('{USER}', '{SECOND_ADMIN}')",
        now - 40 * day
    ))
    .await;
    app.exec(&format!(
        "UPDATE users SET last_sign_in_at = {} WHERE email = '{ADMIN}'",
        now - day
    ))
    .await;
    let dormant = |body: serde_json::Value| -> Vec<String> {
        body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["dormant"] == true)
            .map(|r| r["email"].as_str().unwrap().to_string())
            .collect()
    };
    let users = app
        .expect(&admin, "accounts/my_users", &ALL_USERS_FIRST_PAGE, 200)
        .await;
    assert!(dormant(users).is_empty(), "within the default 90 days");
    let settings = [
        ("schedule", "off"),
        ("dormant_days", "30"),
        ("disable_dormant", "on"),
    ];
    app.expect(&admin, "reviews/save_settings", &settings, 200)
        .await;
    let users = app
        .expect(&admin, "accounts/my_users", &ALL_USERS_FIRST_PAGE, 200)
        .await;
    let mut flagged = dormant(users);
    flagged.sort();
    assert_eq!(flagged, [SECOND_ADMIN, USER]);
    // The review marks them too.
    let review = start(&app, &admin, None).await;
    let view = app
        .expect(&admin, "reviews/get", &[("review_id", &review)], 200)
        .await;
    let marked = view["items"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["dormant"] == true)
        .count();
    assert_eq!(marked, 2);
    // Disabled automatically: each audited, the administrators mailed.
    let state = server::prepare_for_command(app.settings.clone())
        .await
        .unwrap();
    let round = app::server::reviews::schedule::run(&state, now)
        .await
        .unwrap();
    assert_eq!(round.disabled, 2);
    assert_eq!(status_of(&app, USER).await, "disabled");
    assert_eq!(status_of(&app, SECOND_ADMIN).await, "disabled");
    assert_eq!(status_of(&app, ADMIN).await, "active");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.disabled' AND reason LIKE '%dormant%' AND actor_id IS NULL")
            .await,
        2
    );
    let mail = app.wait_for_mail(ADMIN, "disabled after a long time").await;
    assert!(mail.body.contains("Uma Brandt"), "{}", mail.body);
    // The account's last active administrator is never disabled this way.
    app.exec(&format!(
        "UPDATE users SET last_sign_in_at = {} WHERE email = '{ADMIN}'",
        now - 40 * day
    ))
    .await;
    assert_eq!(
        app::server::reviews::schedule::run(&state, now)
            .await
            .unwrap()
            .disabled,
        0
    );
    assert_eq!(status_of(&app, ADMIN).await, "active");
    // Other accounts are untouched.
    assert_eq!(status_of(&app, "user@globex.example").await, "active");
}

both_engines!(
    reviews_are_for_administrators_and_vendor_staff,
    a_review_is_decided_person_by_person_and_completes_with_its_evidence,
    vendor_staff_decide_for_an_accounts_only_administrator,
    reviews_start_remind_and_escalate_on_the_schedule,
    dormant_access_is_flagged_and_may_be_disabled
);
