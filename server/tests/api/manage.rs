//! Access changes from Manage Accounts (SPEC §3.1, §3.2): who may make them, on whom, the
//! last-administrator rule, sessions ended on disable, and the audit entry with each change.

use crate::both_engines;
use crate::helpers::*;

async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
}

async fn change(
    app: &TestApp,
    c: &reqwest::Client,
    target: i64,
    what: &str,
    extra: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let id = target.to_string();
    let mut form = vec![("user_id", id.as_str()), ("change", what)];
    form.extend_from_slice(extra);
    app.call(c, "users/access", &form).await
}

async fn status_and_admin(app: &TestApp, email: &str) -> (String, bool) {
    app::server::db::on_db!(&app.db, |pool| sqlx::query_as::<_, (String, bool)>(
        "SELECT status, is_admin FROM users WHERE email = $1"
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn only_administrators_and_platform_admins_may_change_access(app: TestApp) {
    let target = user_id(&app, "user@acme.example").await;
    assert_eq!(
        change(&app, &client(), target, "disable", &[]).await.0,
        401,
        "anonymous"
    );
    for who in ["user@acme.example", "secondary@acme.example"] {
        // (the secondary contact is an administrator: they may; the plain user may not)
        let c = app.signed_in(who).await;
        let expected = if who == "user@acme.example" { 403 } else { 200 };
        assert_eq!(
            change(&app, &c, target, "grant_admin", &[]).await.0,
            expected,
            "{who}"
        );
    }
    let agent = app.signed_in("agent@vendor.example").await;
    assert_eq!(
        change(&app, &agent, target, "disable", &[("reason", "asked")])
            .await
            .0,
        403,
        "agent"
    );
    // Another account's administrator cannot even tell the user exists.
    let globex = app.signed_in("admin@globex.example").await;
    assert_eq!(change(&app, &globex, target, "disable", &[]).await.0, 404);
    // Nor can a customer administrator touch vendor staff.
    let acme = app.signed_in("admin@acme.example").await;
    let staff = user_id(&app, "agent@vendor.example").await;
    assert_eq!(change(&app, &acme, staff, "disable", &[]).await.0, 404);
    assert_eq!(
        status_and_admin(&app, "agent@vendor.example").await.0,
        "active"
    );
}

async fn disabling_ends_sessions_and_is_audited(app: TestApp) {
    let victim = app.signed_in("user@acme.example").await;
    let admin = app.signed_in("admin@acme.example").await;
    let target = user_id(&app, "user@acme.example").await;
    let (status, body) = change(&app, &admin, target, "disable", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        status_and_admin(&app, "user@acme.example").await,
        ("disabled".into(), false)
    );
    assert_eq!(app.me(&victim).await, None, "their session ended");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {target}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.sign_in(&client(), "user@acme.example", PASSWORD)
            .await
            .0,
        401
    );
    let (status, _) = change(&app, &admin, target, "enable", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        status_and_admin(&app, "user@acme.example").await.0,
        "active"
    );
    assert!(
        app.sign_in(&client(), "user@acme.example", PASSWORD)
            .await
            .0
            < 400
    );
    let admin_id = user_id(&app, "admin@acme.example").await;
    let audited = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE actor_id = {admin_id} AND target = 'user:{target}' \
             AND action IN ('user.disabled', 'user.enabled') AND before_state IS NOT NULL AND after_state IS NOT NULL"
        ))
        .await;
    assert_eq!(audited, 2);
    assert_eq!(
        app::server::audit::verify(&app.db).await.unwrap().breaks,
        vec![]
    );
}

async fn an_account_always_keeps_an_active_administrator(app: TestApp) {
    let admin = app.signed_in("admin@acme.example").await;
    let me = user_id(&app, "admin@acme.example").await;
    let secondary = user_id(&app, "secondary@acme.example").await;
    // Nobody locks themselves out.
    assert_eq!(change(&app, &admin, me, "revoke_admin", &[]).await.0, 409);
    assert_eq!(change(&app, &admin, me, "disable", &[]).await.0, 409);
    // With two administrators, one may go…
    assert_eq!(
        change(&app, &admin, secondary, "revoke_admin", &[]).await.0,
        200
    );
    assert_eq!(
        status_and_admin(&app, "secondary@acme.example").await,
        ("active".into(), false)
    );
    // …but the last one stays, even when a platform admin asks.
    let platform = app.signed_in("platform.admin@vendor.example").await;
    let why = [("reason", "customer asked by phone")];
    let (status, body) = change(&app, &platform, me, "revoke_admin", &why).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.to_string().contains("last active administrator"),
        "{body}"
    );
    assert_eq!(change(&app, &platform, me, "disable", &why).await.0, 409);
    assert_eq!(
        status_and_admin(&app, "admin@acme.example").await,
        ("active".into(), true)
    );
    // Granting is fine, and then the first may be removed.
    let user = user_id(&app, "user@acme.example").await;
    assert_eq!(change(&app, &admin, user, "grant_admin", &[]).await.0, 200);
    assert_eq!(
        change(&app, &platform, me, "revoke_admin", &why).await.0,
        200
    );
    let (_, me_body) = app
        .call(&app.signed_in("user@acme.example").await, "auth/me", &[])
        .await;
    assert_eq!(me_body["role"], "CustomerAdmin");
}

async fn platform_admin_changes_need_a_reason(app: TestApp) {
    let platform = app.signed_in("platform.admin@vendor.example").await;
    let target = user_id(&app, "user@globex.example").await;
    let (status, body) = change(&app, &platform, target, "grant_admin", &[("reason", "  ")]).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("\"reason\""), "{body}");
    let (status, body) = change(
        &app,
        &platform,
        target,
        "grant_admin",
        &[("reason", "ticket"), ("reference", "12345")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("\"reference\""), "{body}");
    assert!(
        !status_and_admin(&app, "user@globex.example").await.1,
        "nothing changed"
    );
    let ok = [
        ("reason", "Customer's CTO asked for it"),
        ("reference", "cs0001234"),
    ];
    assert_eq!(
        change(&app, &platform, target, "grant_admin", &ok).await.0,
        200
    );
    assert!(status_and_admin(&app, "user@globex.example").await.1);
    let recorded = app
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'administrator.granted' \
             AND reason = 'Customer''s CTO asked for it' AND reference = 'CS0001234'",
        )
        .await;
    assert_eq!(recorded, 1);
}

async fn manage_page_offers_actions_but_not_on_oneself(app: TestApp) {
    let admin = app.signed_in("admin@acme.example").await;
    let html = app.page_text(&admin, "/manage").await;
    assert!(
        html.contains("Disable Uma Brandt? They are signed out at once"),
        "confirmation names the person"
    );
    assert!(html.contains("Make Uma Brandt an administrator"));
    assert!(
        !html.contains("Disable Ada Moreno"),
        "no self-disable offered"
    );
    // The form works without JavaScript: a plain post comes back to the page.
    let target = user_id(&app, "user@acme.example").await.to_string();
    let res = app
        .post_form(
            &admin,
            "/api/users/access",
            same_origin_form(&app, "/manage"),
            &[("user_id", &target), ("change", "disable")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 302);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&app.url("/manage")) && !location.contains("__err"),
        "{location}"
    );
    let html = app.page_text(&admin, "/manage").await;
    assert!(html.contains("Re-enable Uma Brandt"));
}

both_engines!(
    only_administrators_and_platform_admins_may_change_access,
    disabling_ends_sessions_and_is_audited,
    an_account_always_keeps_an_active_administrator,
    platform_admin_changes_need_a_reason,
    manage_page_offers_actions_but_not_on_oneself
);

async fn users_are_searched_and_filtered_in_the_database(app: TestApp) {
    let admin = app.signed_in("admin@acme.example").await;
    let list = |search: &'static str, status: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let (code, body) = app
                .call(
                    admin,
                    "accounts/my_users",
                    &[
                        ("search", search),
                        ("status", status),
                        ("sort", "email"),
                        ("page", "1"),
                    ],
                )
                .await;
            assert_eq!(code, 200, "{body}");
            let emails: Vec<String> = body["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["email"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(body["total"].as_u64().unwrap() as usize, emails.len());
            emails
        }
    };
    assert_eq!(list("", "").await.len(), 3);
    assert_eq!(
        list("uma", "").await,
        ["user@acme.example"],
        "by name, any case"
    );
    assert_eq!(
        list("  SECONDARY@ ", "").await,
        ["secondary@acme.example"],
        "by email, trimmed"
    );
    assert_eq!(list("moreno", "active").await, ["admin@acme.example"]);
    assert!(
        list("%", "").await.is_empty(),
        "LIKE wildcards are taken literally"
    );
    assert!(list("_", "").await.is_empty());
    assert!(
        list("globex", "").await.is_empty(),
        "never another account's users"
    );
    assert!(list("", "disabled").await.is_empty());
    let uma = user_id(&app, "user@acme.example").await;
    assert_eq!(change(&app, &admin, uma, "disable", &[]).await.0, 200);
    assert_eq!(list("", "disabled").await, ["user@acme.example"]);
    assert_eq!(
        list("", "no-such-status").await.len(),
        3,
        "an unknown status means all"
    );
    // The page carries the search in its links and form.
    let html = app
        .page_text(&admin, "/manage?q=uma&status=disabled&sort=name")
        .await;
    assert!(html.contains("1 user match."), "{html}");
    assert!(html.contains("href=\"/manage?sort=email&amp;q=uma&amp;status=disabled&amp;page=1\""));
    assert!(html.contains("value=\"uma\""));
}

both_engines!(users_are_searched_and_filtered_in_the_database);

/// The unfiltered list's total is the count the database keeps per account (not a count of the
/// rows on each request): it follows invitations and stays the account's own.
async fn the_kept_user_count_follows_every_new_user(app: TestApp) {
    let admin = app.signed_in("admin@acme.example").await;
    let total = |who: &'static str| {
        let app = &app;
        async move {
            let c = app.signed_in(who).await;
            let body = app
                .expect(&c, "accounts/my_users", &ALL_USERS_FIRST_PAGE, 200)
                .await;
            body["total"].as_i64().unwrap()
        }
    };
    let counted = "SELECT COUNT(*) FROM users WHERE account_id = \
                   (SELECT account_id FROM users WHERE email = 'admin@acme.example')";
    assert_eq!(total("admin@acme.example").await, app.scalar(counted).await);
    let globex = total("admin@globex.example").await;
    for (i, email) in ["dana@acme.example", "fox@acme.example"].iter().enumerate() {
        let invite = [
            ("first_name", "New"),
            ("last_name", "Person"),
            ("email", *email),
        ];
        app.expect(&admin, "users/invite", &invite, 200).await;
        assert_eq!(total("admin@acme.example").await, 4 + i as i64);
    }
    assert_eq!(total("admin@acme.example").await, app.scalar(counted).await);
    assert_eq!(
        total("admin@globex.example").await,
        globex,
        "another account's"
    );
    // A status change moves nobody in or out of the account.
    let uma = user_id(&app, "user@acme.example").await;
    assert_eq!(change(&app, &admin, uma, "disable", &[]).await.0, 200);
    assert_eq!(total("admin@acme.example").await, 5);
    // The staff console shows the same count.
    let staff = app.signed_in("agent@vendor.example").await;
    let body = app
        .expect(&staff, "accounts/list", &[("page", "1")], 200)
        .await;
    let acme = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account_key"] == "ACME")
        .cloned()
        .unwrap();
    assert_eq!(acme["users"], 5);
}

both_engines!(the_kept_user_count_follows_every_new_user);
