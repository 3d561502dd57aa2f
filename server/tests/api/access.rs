//! Who may call what: each server function × anonymous, customer user, customer administrator of
//! the same and of another account, agent and platform admin. The tenant is the session's.

use crate::both_engines;
use crate::helpers::*;

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const OTHER_ADMIN: &str = "admin@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

async fn manage_accounts_list_is_for_customer_administrators_of_their_own_account(app: TestApp) {
    let args = ALL_USERS_FIRST_PAGE;
    assert_eq!(
        app.call(&client(), "accounts/my_users", &args).await.0,
        401,
        "anonymous"
    );
    for (who, expected) in [(CUSTOMER_USER, 403), (AGENT, 403), (PLATFORM_ADMIN, 403)] {
        let c = app.signed_in(who).await;
        assert_eq!(
            app.call(&c, "accounts/my_users", &args).await.0,
            expected,
            "{who}"
        );
    }
    let acme = app.signed_in(CUSTOMER_ADMIN).await;
    let body = app.expect(&acme, "accounts/my_users", &args, 200).await;
    let emails: Vec<&str> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 3, "{emails:?}");
    assert!(
        emails.iter().all(|e| e.ends_with("@acme.example")),
        "{emails:?}"
    );
    assert_eq!(body["total"], 3);
    // The other account's administrator sees only theirs, whatever they send.
    let globex = app.signed_in(OTHER_ADMIN).await;
    let (_, body) = app
        .call(
            &globex,
            "accounts/my_users",
            &[
                ("search", ""),
                ("status", ""),
                ("sort", "name"),
                ("page", "1"),
                ("account_id", "1"),
            ],
        )
        .await;
    let text = body.to_string();
    assert!(!text.contains("acme.example"), "{text}");
    assert!(text.contains("admin@globex.example"));
    // Contact roles are shown.
    let primary = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "admin@globex.example")
        .unwrap();
    assert_eq!(primary["contact_role"], "primary");
    assert_eq!(primary["is_admin"], true);
}

async fn staff_console_list_is_for_vendor_staff(app: TestApp) {
    let args = [("page", "1")];
    assert_eq!(
        app.call(&client(), "accounts/list", &args).await.0,
        401,
        "anonymous"
    );
    for who in [CUSTOMER_USER, CUSTOMER_ADMIN, OTHER_ADMIN] {
        let c = app.signed_in(who).await;
        assert_eq!(app.call(&c, "accounts/list", &args).await.0, 403, "{who}");
    }
    for who in [AGENT, PLATFORM_ADMIN] {
        let c = app.signed_in(who).await;
        let (status, body) = app.call(&c, "accounts/list", &args).await;
        assert_eq!(status, 200, "{who}");
        assert_eq!(body["total"], 3);
        let acme = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["account_key"] == "ACME")
            .unwrap();
        assert_eq!(acme["users"], 3);
        assert_eq!(acme["administrators"], 2);
    }
}

async fn me_reports_each_role(app: TestApp) {
    assert_eq!(
        app.call(&client(), "auth/me", &[]).await,
        (200, serde_json::Value::Null)
    );
    for (who, role) in [
        (CUSTOMER_USER, "CustomerUser"),
        (CUSTOMER_ADMIN, "CustomerAdmin"),
        (AGENT, "Agent"),
        (PLATFORM_ADMIN, "PlatformAdmin"),
    ] {
        let c = app.signed_in(who).await;
        let (_, body) = app.call(&c, "auth/me", &[]).await;
        assert_eq!(body["role"], role, "{who}");
    }
}

async fn signed_in_pages_refuse_anonymous_visitors(app: TestApp) {
    for path in ["/manage", "/staff", "/account/password"] {
        let res = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("Sign in to continue"), "{path}");
    }
}

async fn pages_show_what_each_role_may_do(app: TestApp) {
    let page = |c: reqwest::Client, path: &'static str| {
        let url = app.url(path);
        async move {
            let res = c.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let user = app.signed_in(CUSTOMER_USER).await;
    let (status, home) = page(user.clone(), "/").await;
    assert_eq!(status, 200);
    assert!(home.contains("Welcome, Uma Brandt"));
    assert!(
        !home.contains("href=\"/manage\""),
        "customer user must not see Manage Accounts"
    );
    assert!(!home.contains("href=\"/staff\""));
    assert_eq!(page(user.clone(), "/manage").await.0, 403);
    assert_eq!(page(user, "/staff").await.0, 403);

    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let (_, home) = page(admin.clone(), "/").await;
    assert!(home.contains("href=\"/manage\""));
    assert!(!home.contains("href=\"/staff\""));
    let (status, manage) = page(admin, "/manage").await;
    assert_eq!(status, 200);
    assert!(manage.contains("user@acme.example") && !manage.contains("globex"));

    let agent = app.signed_in(AGENT).await;
    let (_, home) = page(agent.clone(), "/").await;
    assert!(home.contains("href=\"/staff\"") && !home.contains("href=\"/manage\""));
    let (status, staff) = page(agent, "/staff").await;
    assert_eq!(status, 200);
    assert!(staff.contains("Acme Corporation") && staff.contains("Globex"));
}

/// Every endpoint that changes or reads access, called by people whose accounts were disabled
/// after they signed in: all refused as signed out, nothing changed.
async fn disabled_users_can_do_nothing(app: TestApp) {
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    app.exec("UPDATE users SET status = 'disabled' WHERE email IN ('platform.admin@vendor.example', 'admin@acme.example')")
        .await;
    let user_id = app
        .scalar("SELECT id FROM users WHERE email = 'user@acme.example'")
        .await
        .to_string();
    let acme = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string();
    let before = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("accounts/my_users", ALL_USERS_FIRST_PAGE.to_vec()),
        ("accounts/list", vec![("page", "1")]),
        (
            "accounts/get",
            vec![
                ("account_id", &acme),
                ("search", ""),
                ("status", ""),
                ("sort", "name"),
                ("page", "1"),
            ],
        ),
        (
            "accounts/save",
            vec![
                ("name", "X"),
                ("account_key", "XX"),
                ("service_tier", "managed"),
                ("environments", "Production"),
            ],
        ),
        (
            "accounts/contact",
            vec![
                ("account_id", &acme),
                ("role", "primary"),
                ("user_id", &user_id),
                ("previous_stays_admin", "yes"),
                ("reason", "x"),
            ],
        ),
        ("accounts/staff", vec![]),
        (
            "users/access",
            vec![
                ("user_id", &user_id),
                ("change", "disable"),
                ("reason", "x"),
            ],
        ),
        (
            "users/invite",
            vec![
                ("first_name", "A"),
                ("last_name", "B"),
                ("email", "ab@acme.example"),
                ("account_id", &acme),
                ("reason", "x"),
            ],
        ),
        (
            "users/invitation",
            vec![("user_id", &user_id), ("change", "resend"), ("reason", "x")],
        ),
        (
            "staff/impersonate",
            vec![("user_id", &user_id), ("reason", "x")],
        ),
        ("audit/list", vec![]),
        ("imports/get", vec![("import_id", "1")]),
        (
            "imports/decide",
            vec![("import_id", "1"), ("decision", "confirm"), ("reason", "x")],
        ),
    ];
    for c in [&staff, &admin] {
        for (endpoint, form) in &calls {
            assert_eq!(app.call(c, endpoint, form).await.0, 401, "{endpoint}");
        }
        for path in ["/export/users.csv?account_id=1", "/export/audit.csv"] {
            let status = c
                .post(app.url(path))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert_eq!(status, 401, "{path}");
        }
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_log").await, before);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE email = 'ab@acme.example'")
            .await,
        0
    );
}

/// The §1.1 matrix for every access-management endpoint: anonymous, customer user, customer
/// administrator of the same account (ACME) and of another (GLOBEX), agent, platform admin. Each
/// request is one that, once allowed, fails on the data or changes nothing, so one portal serves
/// the whole table; the status tells whether the policy let it through.
async fn every_access_endpoint_follows_the_matrix(app: TestApp) {
    let id = |email: &'static str| {
        let app = &app;
        async move {
            app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
                .await
                .to_string()
        }
    };
    let acme = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string();
    let user = id(CUSTOMER_USER).await;
    let acme_admin = id(CUSTOMER_ADMIN).await;
    let agent = id(AGENT).await;
    let who = [
        CUSTOMER_USER,
        CUSTOMER_ADMIN,
        OTHER_ADMIN,
        AGENT,
        PLATFORM_ADMIN,
    ];
    let clients = {
        let mut v = vec![client()];
        for w in who {
            v.push(app.signed_in(w).await);
        }
        v
    };
    type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, [u16; 6]);
    let table: Vec<Row> = vec![
        (
            "accounts/get",
            vec![
                ("account_id", &acme),
                ("search", ""),
                ("status", ""),
                ("sort", "name"),
                ("page", "1"),
            ],
            [401, 403, 403, 403, 200, 200],
        ),
        (
            "accounts/list",
            vec![("page", "1")],
            [401, 403, 403, 403, 200, 200],
        ),
        (
            "accounts/save",
            vec![
                ("name", ""),
                ("account_key", "X"),
                ("service_tier", "managed"),
                ("environments", "P"),
            ],
            [401, 403, 403, 403, 403, 422],
        ),
        ("accounts/staff", vec![], [401, 403, 403, 403, 403, 200]),
        // Setting the current primary contact again changes nothing.
        (
            "accounts/contact",
            vec![
                ("account_id", &acme),
                ("role", "primary"),
                ("user_id", &acme_admin),
                ("reason", "x"),
            ],
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "users/invite",
            vec![
                ("first_name", "A"),
                ("last_name", "B"),
                ("email", "bad"),
                ("account_id", &acme),
                ("reason", "x"),
            ],
            [401, 403, 422, 422, 403, 422],
        ),
        // Re-sending to someone already active is refused on the data.
        (
            "users/invitation",
            vec![("user_id", &user), ("change", "resend"), ("reason", "x")],
            [401, 403, 409, 404, 403, 409],
        ),
        // Enabling someone already active changes nothing.
        (
            "users/access",
            vec![("user_id", &user), ("change", "enable"), ("reason", "x")],
            [401, 403, 200, 404, 403, 200],
        ),
        (
            "staff/impersonate",
            vec![("user_id", &agent), ("reason", "x")],
            [401, 403, 403, 403, 403, 404],
        ),
        (
            "staff/stop_impersonating",
            vec![],
            [401, 403, 403, 403, 403, 409],
        ),
        ("audit/list", vec![], [401, 403, 200, 200, 200, 200]),
        (
            "imports/get",
            vec![("import_id", "999")],
            [401, 403, 403, 403, 403, 404],
        ),
        (
            "imports/decide",
            vec![("import_id", "999"), ("decision", "discard")],
            [401, 403, 403, 403, 403, 404],
        ),
    ];
    let before = app.scalar("SELECT COUNT(*) FROM users").await;
    for (endpoint, form, expected) in &table {
        for (i, c) in clients.iter().enumerate() {
            let (status, body) = app.call(c, endpoint, form).await;
            let caller = if i == 0 { "anonymous" } else { who[i - 1] };
            assert_eq!(status, expected[i], "{endpoint} as {caller}: {body}");
        }
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, before);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {acme_admin} AND is_admin AND status = 'active'"
        ))
        .await,
        1
    );
}

both_engines!(
    every_access_endpoint_follows_the_matrix,
    disabled_users_can_do_nothing,
    manage_accounts_list_is_for_customer_administrators_of_their_own_account,
    staff_console_list_is_for_vendor_staff,
    me_reports_each_role,
    signed_in_pages_refuse_anonymous_visitors,
    pages_show_what_each_role_may_do
);
