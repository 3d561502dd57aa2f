//! A second factor at sign-in (SPEC §3.4): authenticator apps and recovery codes, who must have
//! one, what an administrator can do about a lost phone, and a person's sessions.

use crate::both_engines;
use crate::helpers::*;
use serde_json::Value;

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const OTHER_ADMIN: &str = "admin@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

/// The secret of the app `client`'s person is offered to set up on their security page.
async fn offered_secret(app: &TestApp, client: &reqwest::Client) -> String {
    let page = app.expect(client, "security/overview", &[], 200).await;
    page["setup"]["secret"]
        .as_str()
        .expect("a secret")
        .to_string()
}

/// Adds an authenticator app for the signed-in `client`; answers its secret.
async fn add_app(app: &TestApp, client: &reqwest::Client) -> String {
    let secret = offered_secret(app, client).await;
    let code = app_code(&secret, 0);
    app.expect(
        client,
        "security/add_app",
        &[("password", PASSWORD), ("code", &code), ("label", "Phone")],
        200,
    )
    .await;
    secret
}

fn codes_of(body: &Value) -> Vec<String> {
    body.as_array()
        .expect("a list of codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(sql).await
}

async fn an_app_is_added_with_the_password_and_asked_for_at_every_sign_in(app: TestApp) {
    let user = app.signed_in(CUSTOMER_USER).await;
    let secret = offered_secret(&app, &user).await;
    assert_eq!(
        secret,
        offered_secret(&app, &user).await,
        "one secret while setting up"
    );
    let code = app_code(&secret, 0);

    // Refused without the password, with a wrong one, or with a wrong code; nothing changes.
    for (password, code, field) in [
        ("", code.as_str(), "password"),
        ("wrong password", code.as_str(), "password"),
        (PASSWORD, "12345", "code"),
    ] {
        let body = app
            .expect(
                &user,
                "security/add_app",
                &[("password", password), ("code", code), ("label", "")],
                422,
            )
            .await;
        assert_eq!(invalid_fields(&body), vec![field.to_string()], "{body}");
    }
    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.expect(
        &user,
        "security/add_app",
        &[("password", PASSWORD), ("code", wrong), ("label", "")],
        422,
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM second_factors WHERE confirmed_at IS NOT NULL"
        )
        .await,
        0
    );

    app.expect(
        &user,
        "security/add_app",
        &[
            ("password", PASSWORD),
            ("code", &code),
            ("label", "Work phone"),
        ],
        200,
    )
    .await;
    // The first app comes with ten recovery codes, shown once.
    let codes = codes_of(
        &app.expect(&user, "security/new_recovery_codes", &[], 200)
            .await,
    );
    assert_eq!(codes.len(), 10);
    assert_eq!(
        app.expect(&user, "security/new_recovery_codes", &[], 200)
            .await,
        Value::Null
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM recovery_codes WHERE code_hash = '{}'",
                codes[0]
            )
        )
        .await,
        0,
        "only hashes are stored"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'second_factor.added'"
        )
        .await,
        1
    );
    let page = app.expect(&user, "security/overview", &[], 200).await;
    assert_eq!(page["apps"][0]["label"], "Work phone");
    assert_eq!(page["recovery_codes_left"], 10);

    // Signing in now stops half-way: the password opens nothing but the code step.
    let browser = client();
    assert_eq!(
        app.sign_in_to(&browser, CUSTOMER_USER).await,
        "/sign-in/code"
    );
    assert_eq!(app.me(&browser).await, None);
    app.expect(&browser, "security/overview", &[], 401).await;
    // The code just used to add the app does not work again; a wrong one is refused and recorded.
    let body = app
        .expect(&browser, "auth/code", &[("code", &code)], 422)
        .await;
    assert_eq!(invalid_fields(&body), vec!["code".to_string()]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed' AND after_state LIKE '%second_factor%'").await,
        1
    );
    let next = app_code(&secret, 1);
    assert_eq!(
        app.post_then(&browser, "/api/auth/code", &[("code", &next)])
            .await,
        "/"
    );
    assert_eq!(app.me(&browser).await.as_deref(), Some(CUSTOMER_USER));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.succeeded' AND after_state LIKE '%authenticator_app%'").await,
        1
    );

    // The same code a second time (another browser, same minute) is refused.
    let second = client();
    assert_eq!(
        app.sign_in_to(&second, CUSTOMER_USER).await,
        "/sign-in/code"
    );
    app.expect(&second, "auth/code", &[("code", &next)], 422)
        .await;
    // A recovery code works once, however it is typed.
    let typed = codes[3].to_uppercase().replace('-', " ");
    assert_eq!(
        app.post_then(&second, "/api/auth/code", &[("code", &typed)])
            .await,
        "/"
    );
    assert_eq!(app.me(&second).await.as_deref(), Some(CUSTOMER_USER));
    let third = client();
    app.sign_in_to(&third, CUSTOMER_USER).await;
    app.expect(&third, "auth/code", &[("code", &codes[3])], 422)
        .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'second_factor.recovery_code_used'"
        )
        .await,
        1
    );

    // Removing the app asks for the password again; then the password alone signs in.
    let id = page["apps"][0]["id"].as_i64().unwrap().to_string();
    app.expect(
        &user,
        "security/remove_app",
        &[("id", &id), ("password", "nope")],
        422,
    )
    .await;
    app.expect(
        &user,
        "security/remove_app",
        &[("id", &id), ("password", PASSWORD)],
        200,
    )
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM recovery_codes").await, 0);
    assert_eq!(app.sign_in_to(&client(), CUSTOMER_USER).await, "/");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'second_factor.removed'"
        )
        .await,
        1
    );
}

async fn wrong_codes_end_the_half_way_session_and_are_throttled(app: TestApp) {
    let user = app.signed_in(CUSTOMER_USER).await;
    let secret = add_app(&app, &user).await;
    let browser = client();
    app.sign_in_to(&browser, CUSTOMER_USER).await;
    let good = app_code(&secret, 1);
    let bad = if good == "999999" { "888888" } else { "999999" };
    for _ in 0..5 {
        app.expect(&browser, "auth/code", &[("code", bad)], 422)
            .await;
    }
    // Five wrong codes end it: even the right code now needs the password first.
    let body = app
        .expect(&browser, "auth/code", &[("code", &good)], 409)
        .await;
    assert!(body.to_string().contains("Sign in again"), "{body}");
    assert_eq!(app.me(&browser).await, None);
    // Without a half-way session there is nothing to give a code to.
    app.expect(&client(), "auth/code", &[("code", &good)], 401)
        .await;
    // Codes count against the same per-person limit as passwords: soon neither a code nor even
    // the right password is taken.
    let mut limited = false;
    for _ in 0..4 {
        let b = client();
        if app.sign_in(&b, CUSTOMER_USER, PASSWORD).await.0 == 429 {
            limited = true;
            break;
        }
        for _ in 0..5 {
            if app.call(&b, "auth/code", &[("code", bad)]).await.0 == 429 {
                limited = true;
            }
        }
    }
    assert!(limited, "wrong codes are throttled");
}

async fn an_account_that_requires_it_leads_people_to_set_one_up_first(app: TestApp) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let user = app.signed_in(CUSTOMER_USER).await;
    let (agent, other) = (app.signed_in(AGENT).await, app.signed_in(OTHER_ADMIN).await);
    // Who may set the rule: the account's administrators, for their own account only.
    app.expect_each(
        "accounts/require_second_factor",
        &[("required", "true")],
        &[(&client(), 401), (&user, 403), (&agent, 403), (&other, 200)],
    )
    .await;
    assert_eq!(
        app.text("SELECT name FROM accounts WHERE require_second_factor").await,
        app.text("SELECT a.name FROM accounts a JOIN users u ON u.account_id = a.id WHERE u.email = 'admin@globex.example'").await,
        "the rule changes the actor's own account only"
    );
    assert_eq!(
        app.expect(&admin, "accounts/second_factor_rule", &[], 200)
            .await,
        false
    );
    app.expect(
        &admin,
        "accounts/require_second_factor",
        &[("required", "true")],
        200,
    )
    .await;
    assert_eq!(
        app.expect(&admin, "accounts/second_factor_rule", &[], 200)
            .await,
        true
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'second_factor.requirement_changed'"
        )
        .await,
        2
    );

    // The user's next sign-in goes to setting up an app, and nowhere else.
    let browser = client();
    assert_eq!(
        app.sign_in_to(&browser, CUSTOMER_USER).await,
        "/sign-in/set-up"
    );
    assert_eq!(app.me(&browser).await, None);
    app.expect(&browser, "security/overview", &[], 401).await;
    let step = app.expect(&browser, "auth/set_up", &[], 200).await;
    let secret = step["setup"]["secret"].as_str().unwrap().to_string();
    assert!(step["setup"]["qr_svg"].as_str().unwrap().contains("<svg"));
    app.expect(&browser, "auth/set_up_done", &[("code", "")], 422)
        .await;
    let location = app
        .post_then(
            &browser,
            "/api/auth/set_up_done",
            &[("code", &app_code(&secret, 0))],
        )
        .await;
    assert_eq!(location, "/account/recovery-codes");
    assert_eq!(app.me(&browser).await.as_deref(), Some(CUSTOMER_USER));
    assert_eq!(
        codes_of(
            &app.expect(&browser, "security/new_recovery_codes", &[], 200)
                .await
        )
        .len(),
        10
    );
    // The only app cannot be removed while the account requires one.
    let page = app.expect(&browser, "security/overview", &[], 200).await;
    assert_eq!(page["required"], true);
    let id = page["apps"][0]["id"].as_i64().unwrap().to_string();
    app.expect(
        &browser,
        "security/remove_app",
        &[("id", &id), ("password", PASSWORD)],
        409,
    )
    .await;

    // A mailed reset link proves the mailbox, not the second factor.
    let (via_link, location) = app.reset_by_mail(CUSTOMER_USER).await;
    assert_eq!(location, "/sign-in/code");
    assert_eq!(app.me(&via_link).await, None);
}

async fn platform_admins_need_one_by_default_and_staff_when_required(engine: Engine) {
    let Some(app) = spawn_with(engine, |s| s.second_factor_platform_admins = true).await else {
        return;
    };
    let browser = client();
    assert_eq!(
        app.sign_in_to(&browser, PLATFORM_ADMIN).await,
        "/sign-in/set-up"
    );
    let secret = app.expect(&browser, "auth/set_up", &[], 200).await["setup"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_then(
        &browser,
        "/api/auth/set_up_done",
        &[("code", &app_code(&secret, 0))],
    )
    .await;
    assert_eq!(app.me(&browser).await.as_deref(), Some(PLATFORM_ADMIN));
    // Agents: optional until a platform admin requires it of all staff.
    assert_eq!(app.sign_in_to(&client(), AGENT).await, "/");
    let agent = app.signed_in(AGENT).await;
    app.expect_each(
        "staff/require_second_factor",
        &[("required", "true")],
        &[
            (&agent, 403),
            (&app.signed_in(CUSTOMER_ADMIN).await, 403),
            (&client(), 401),
            (&browser, 200),
        ],
    )
    .await;
    assert_eq!(
        app.expect(&browser, "staff/sign_in_policy", &[], 200).await,
        serde_json::json!([true, true])
    );
    assert_eq!(app.sign_in_to(&client(), AGENT).await, "/sign-in/set-up");
    // Customers are not affected by the staff rule.
    assert_eq!(app.sign_in_to(&client(), CUSTOMER_USER).await, "/");
}

async fn an_administrator_resets_a_lost_factor_and_signs_people_out(app: TestApp) {
    let user = app.signed_in(CUSTOMER_USER).await;
    add_app(&app, &user).await;
    let user_id = app
        .scalar("SELECT id FROM users WHERE email = 'user@acme.example'")
        .await
        .to_string();
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let list = app
        .expect(&admin, "accounts/my_users", &ALL_USERS_FIRST_PAGE, 200)
        .await;
    let row = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == CUSTOMER_USER)
        .unwrap()
        .clone();
    assert_eq!(row["has_second_factor"], true);

    let reset = [
        ("user_id", user_id.as_str()),
        ("change", "reset_second_factor"),
    ];
    // Nobody else's administrator, no plain user, nobody anonymous.
    app.expect_each(
        "users/access",
        &reset,
        &[
            (&app.signed_in(OTHER_ADMIN).await, 404),
            (&app.signed_in("user@globex.example").await, 403),
            (&client(), 401),
            (&admin, 200),
        ],
    )
    .await;
    assert_eq!(app.me(&user).await, None, "signed out at once");
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM second_factors WHERE user_id = {user_id}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM recovery_codes WHERE user_id = {user_id}")
        )
        .await,
        0
    );
    let mail = app
        .wait_for_mail(CUSTOMER_USER, "second factor was reset")
        .await;
    assert!(mail.body.contains("administrator removed"), "{}", mail.body);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'second_factor.reset'"
        )
        .await,
        1
    );
    assert_eq!(app.sign_in_to(&client(), CUSTOMER_USER).await, "/");

    // Signing someone out everywhere ends every session of theirs, and is on the record.
    let a = app.signed_in(CUSTOMER_USER).await;
    let b = app.signed_in(CUSTOMER_USER).await;
    app.expect(
        &admin,
        "users/access",
        &[
            ("user_id", user_id.as_str()),
            ("change", "sign_out_everywhere"),
        ],
        200,
    )
    .await;
    assert_eq!(app.me(&a).await, None);
    assert_eq!(app.me(&b).await, None);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'session.ended_everywhere'"
        )
        .await,
        1
    );
    // Staff give a reason.
    let platform = app.signed_in(PLATFORM_ADMIN).await;
    let body = app
        .expect(
            &platform,
            "users/access",
            &[
                ("user_id", user_id.as_str()),
                ("change", "sign_out_everywhere"),
            ],
            422,
        )
        .await;
    assert_eq!(invalid_fields(&body), vec!["reason".to_string()]);
    app.expect(
        &platform,
        "users/access",
        &[
            ("user_id", user_id.as_str()),
            ("change", "sign_out_everywhere"),
            ("reason", "Customer asked by phone"),
        ],
        200,
    )
    .await;
}

async fn people_see_their_sessions_and_end_them(app: TestApp) {
    let here = app.signed_in(CUSTOMER_USER).await;
    let phone = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1")
        .build()
        .unwrap();
    app.sign_in(&phone, CUSTOMER_USER, PASSWORD).await;
    let laptop = app.signed_in(CUSTOMER_USER).await;
    let someone_else = app.signed_in(CUSTOMER_ADMIN).await;

    let page = app.expect(&here, "security/overview", &[], 200).await;
    let sessions = page["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_line = sessions
        .iter()
        .find(|s| s["device"] == "Safari on iPhone")
        .expect("the phone, named");
    assert_eq!(phone_line["client_addr"], "127.0.0.1");
    let id = phone_line["id"].as_str().unwrap().to_string();
    // Nobody else can end it, and a made-up id ends nothing.
    app.expect(&someone_else, "security/end_session", &[("id", &id)], 404)
        .await;
    app.expect(&here, "security/end_session", &[("id", "zz")], 404)
        .await;
    app.expect(&client(), "security/end_session", &[("id", &id)], 401)
        .await;
    assert_eq!(app.me(&phone).await.as_deref(), Some(CUSTOMER_USER));
    app.expect(&here, "security/end_session", &[("id", &id)], 200)
        .await;
    assert_eq!(app.me(&phone).await, None);
    assert_eq!(app.me(&laptop).await.as_deref(), Some(CUSTOMER_USER));
    // Every other session at once.
    app.expect(&here, "security/end_session", &[("id", "")], 200)
        .await;
    assert_eq!(app.me(&laptop).await, None);
    assert_eq!(app.me(&here).await.as_deref(), Some(CUSTOMER_USER));
    assert_eq!(app.me(&someone_else).await.as_deref(), Some(CUSTOMER_ADMIN));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'session.ended'"
        )
        .await,
        2
    );
    // The security page is the person's own: nobody signed out sees it.
    app.expect(&client(), "security/overview", &[], 401).await;
}

both_engines!(
    an_app_is_added_with_the_password_and_asked_for_at_every_sign_in,
    wrong_codes_end_the_half_way_session_and_are_throttled,
    an_account_that_requires_it_leads_people_to_set_one_up_first,
    an_administrator_resets_a_lost_factor_and_signs_people_out,
    people_see_their_sessions_and_end_them
);
both_engines!(engine: platform_admins_need_one_by_default_and_staff_when_required);
