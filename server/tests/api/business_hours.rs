//! Business hours and time zones (SPEC §4.4): business SLA targets count the account's working
//! time in its zone, pauses count in the same measure, and every person sees times in their own
//! zone.

use crate::both_engines;
use crate::helpers::*;
use app::model::business_hours::BusinessHours;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";
const WEEK: i64 = 7 * 86_400;

/// Sets ACME's business hours through the staff account form.
async fn set_acme_hours(
    app: &TestApp,
    zone: &str,
    opens: &str,
    closes: &str,
) -> (u16, serde_json::Value) {
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    let id = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string();
    let name: String = app
        .text("SELECT name FROM accounts WHERE account_key = 'ACME'")
        .await;
    app.call(
        &admin,
        "accounts/save",
        &[
            ("account_id", id.as_str()),
            ("name", name.as_str()),
            ("account_key", "ACME"),
            ("service_tier", "managed"),
            ("environments", "Production\nStaging"),
            ("time_zone", zone),
            ("business_start", opens),
            ("business_end", closes),
        ],
    )
    .await
}

/// A P3 case of ACME (first response: 1 business day) opened `age` seconds ago.
async fn p3_case(app: &TestApp, number: &str, age: i64, state: &str, paused_since: Option<i64>) {
    let now = app::server::now();
    let paused = paused_since.map_or("NULL".to_string(), |p| p.to_string());
    // A running resolution clock has its deadline (10 calendar days for P3 as shipped).
    let due = if paused_since.is_none() && matches!(state, "new" | "open") {
        (now - age + 14_400 * 60).to_string()
    } else {
        "NULL".to_string()
    };
    app.exec(&format!(
        "INSERT INTO cases (number, account_id, contact_id, created_by, product_version_id, impact_id, \
         workaround, feature_id, service_id, environment, availability_id, subject, description, state, \
         priority, assignment_group_id, created_at, updated_at, paused_since, due_at) \
         SELECT '{number}', u.account_id, u.id, u.id, (SELECT MIN(id) FROM product_versions), \
         (SELECT id FROM impact_levels WHERE severity = 3), 'no', (SELECT MIN(id) FROM features), \
         (SELECT MIN(id) FROM services), 'Production', (SELECT MIN(id) FROM availability_windows), \
         'Slow reports', 'Reports take minutes', '{state}', 3, (SELECT MIN(id) FROM assignment_groups), \
         {created}, {created}, {paused}, {due} FROM users u WHERE u.email = '{ACME_USER}'",
        created = now - age,
    ))
    .await;
}

async fn business_targets_count_the_accounts_working_time(app: TestApp) {
    // Bad hours are refused field by field and change nothing.
    let (status, body) = set_acme_hours(&app, "Mars/Olympus", "17:00", "09:00").await;
    assert_eq!(status, 422, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("time_zone") && text.contains("business_end"),
        "{body}"
    );
    let (status, body) = set_acme_hours(&app, "Asia/Tokyo", "9am", "17:00").await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("business_start"), "{body}");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM accounts WHERE account_key = 'ACME' AND time_zone = 'UTC'"
        )
        .await,
        1
    );
    // Tokyo has no daylight saving: any 7 days hold exactly 5 × 8 working hours.
    let (status, body) = set_acme_hours(&app, "Asia/Tokyo", "09:00", "17:00").await;
    assert_eq!(status, 200, "{body}");
    p3_case(&app, "CS0700001", WEEK, "open", None).await;
    let user = app.signed_in(ACME_USER).await;
    let (_, case) = app
        .call(&user, "cases/get", &[("number", "CS0700001")])
        .await;
    let first = case["first_response_left"].as_i64().unwrap();
    // Target 8 working hours, 40 used: 32 h over (calendar time would say 160 h).
    assert!((first - (8 - 40) * 3600).abs() <= 5, "{first}");
    // The resolution target (10 days) counts calendar time by default.
    let resolution = case["resolution_left"].as_i64().unwrap();
    assert!(
        (resolution - (10 * 86_400 - WEEK)).abs() <= 5,
        "{resolution}"
    );

    // A pause in a business clock is measured in working time too: awaiting info for a week,
    // then the customer's reply resumes the clock.
    let now = app::server::now();
    p3_case(
        &app,
        "CS0700002",
        2 * WEEK,
        "awaiting_info",
        Some(now - WEEK),
    )
    .await;
    app.expect(
        &user,
        "cases/comment",
        &[("number", "CS0700002"), ("body", "Here is the trace.")],
        200,
    )
    .await;
    let paused = app
        .scalar("SELECT paused_seconds FROM cases WHERE number = 'CS0700002'")
        .await;
    let paused_working = app
        .scalar("SELECT paused_business_seconds FROM cases WHERE number = 'CS0700002'")
        .await;
    assert!((paused - WEEK).abs() <= 5, "{paused}");
    assert!((paused_working - 40 * 3600).abs() <= 5, "{paused_working}");
    let (_, case) = app
        .call(&user, "cases/get", &[("number", "CS0700002")])
        .await;
    let first = case["first_response_left"].as_i64().unwrap();
    assert!(
        (first - (8 - 40) * 3600).abs() <= 10,
        "only the unpaused week counts: {first}"
    );

    // Resolution in business hours: the breaching queue's deadline follows the account's hours.
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    app.expect(
        &admin,
        "catalog/sla",
        &[
            ("priority", "3"),
            ("first_response_minutes", "480"),
            ("resolution_minutes", "4800"),
            ("business_hours", "on"),
            ("resolution_business_hours", "on"),
        ],
        200,
    )
    .await;
    let (created, due) = (
        app.scalar("SELECT created_at FROM cases WHERE number = 'CS0700001'")
            .await,
        app.scalar("SELECT due_at FROM cases WHERE number = 'CS0700001'")
            .await,
    );
    let tokyo = BusinessHours::new("Asia/Tokyo", 540, 1020);
    assert_eq!(due, tokyo.add(created, 4800 * 60));
    assert_eq!(tokyo.seconds_between(created, due), 80 * 3600);
    // New hours move the deadline of the account's running cases.
    let (status, _) = set_acme_hours(&app, "Asia/Tokyo", "08:00", "20:00").await;
    assert_eq!(status, 200);
    let due = app
        .scalar("SELECT due_at FROM cases WHERE number = 'CS0700001'")
        .await;
    assert_eq!(
        due,
        BusinessHours::new("Asia/Tokyo", 480, 1200).add(created, 4800 * 60)
    );
}

async fn everyone_sees_times_in_their_own_zone(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    // Anonymous: sign in first. A zone the database lacks: refused, nothing changed.
    assert_eq!(
        app.call(
            &client(),
            "auth/time_zone",
            &[("time_zone", "Europe/Berlin")]
        )
        .await
        .0,
        401
    );
    let body = app
        .expect(
            &user,
            "auth/time_zone",
            &[("time_zone", "Europe/Atlantis")],
            422,
        )
        .await;
    assert!(body.to_string().contains("time_zone"), "{body}");
    // A case opened at a known moment: 2026-11-22 21:58 UTC.
    p3_case(&app, "CS0700003", 0, "new", None).await;
    app.exec("UPDATE cases SET created_at = 1795384680 WHERE number = 'CS0700003'")
        .await;
    let page = app.page_text(&user, "/cases/CS0700003").await;
    assert!(page.contains("2026-11-22 21:58 UTC"), "{page}");
    app.expect(
        &user,
        "auth/time_zone",
        &[("time_zone", "Europe/Berlin")],
        200,
    )
    .await;
    let page = app.page_text(&user, "/cases/CS0700003").await;
    assert!(page.contains("2026-11-22 22:58 CET"), "{page}");
    let (_, me) = app.call(&user, "auth/me", &[]).await;
    assert_eq!(me["time_zone"], "Europe/Berlin");
    // Someone else is unaffected; the change is in the trail.
    let admin = app.signed_in(ACME_ADMIN).await;
    let page = app.page_text(&admin, "/cases/CS0700003").await;
    assert!(page.contains("2026-11-22 21:58 UTC"), "{page}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.time_zone_changed' AND after_state LIKE '%Europe/Berlin%'")
            .await,
        1
    );
    // People added to an account start in the account's zone.
    let (status, _) = set_acme_hours(&app, "America/Chicago", "08:00", "16:00").await;
    assert_eq!(status, 200);
    app.expect(
        &admin,
        "users/invite",
        &[
            ("email", "new.person@acme.example"),
            ("first_name", "New"),
            ("last_name", "Person"),
        ],
        200,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE email = 'new.person@acme.example' AND time_zone = 'America/Chicago'")
            .await,
        1
    );
}

both_engines!(
    business_targets_count_the_accounts_working_time,
    everyone_sees_times_in_their_own_zone
);
