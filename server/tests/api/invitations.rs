//! Invitations and password resets: who may invite, the mailed single-use link, and every way a
//! link stops working (used, re-sent, revoked, expired, disabled).

use crate::both_engines;
use crate::helpers::*;

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const OTHER_ADMIN: &str = "admin@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";
const NEW_PASSWORD: &str = "Blue-Harbour-Lantern-47";

fn invite_form<'a>(email: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("first_name", "Nora"),
        ("last_name", "Newcomer"),
        ("email", email),
    ];
    form.extend_from_slice(extra);
    form
}

async fn user_count(app: &TestApp, email: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM users WHERE email = '{email}'"
    ))
    .await
}

async fn acme_id(app: &TestApp) -> i64 {
    app.scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
}

async fn invite_is_for_administrators_and_platform_admins(app: TestApp) {
    let acme = acme_id(&app).await.to_string();
    let form = invite_form("nora@acme.example", &[("account_id", &acme)]);
    assert_eq!(app.call(&client(), "users/invite", &form).await.0, 401);
    for who in [CUSTOMER_USER, AGENT] {
        let c = app.signed_in(who).await;
        assert_eq!(app.call(&c, "users/invite", &form).await.0, 403, "{who}");
    }
    assert_eq!(user_count(&app, "nora@acme.example").await, 0);

    // Another account's administrator who names ACME still adds to their own account.
    let globex = app.signed_in(OTHER_ADMIN).await;
    app.expect(&globex, "users/invite", &form, 200).await;
    assert_eq!(
        app.scalar("SELECT u.account_id - a.id FROM users u JOIN accounts a ON a.account_key = 'GLOBEX' WHERE u.email = 'nora@acme.example'").await,
        0
    );
    // …and cannot re-send or revoke an ACME invitation by guessing its id.
    let acme_admin = app.signed_in(CUSTOMER_ADMIN).await;
    let body = app
        .expect(
            &acme_admin,
            "users/invite",
            &invite_form("ola@acme.example", &[]),
            200,
        )
        .await;
    let ola = body.as_i64().unwrap().to_string();
    for change in ["resend", "revoke"] {
        let (status, _) = app
            .call(
                &globex,
                "users/invitation",
                &[("user_id", &ola), ("change", change)],
            )
            .await;
        assert_eq!(status, 404, "{change}");
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {ola} AND status = 'invited'"
        ))
        .await,
        1
    );

    // Platform admins name the account and must give a reason.
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let form = invite_form("pia@acme.example", &[("account_id", &acme)]);
    let body = app.expect(&staff, "users/invite", &form, 422).await;
    assert!(body.to_string().contains("reason"), "{body}");
    assert_eq!(user_count(&app, "pia@acme.example").await, 0);
    let form = invite_form(
        "pia@acme.example",
        &[
            ("account_id", &acme),
            ("reason", "Requested by the customer"),
            ("reference", "CS0001234"),
        ],
    );
    app.expect(&staff, "users/invite", &form, 200).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.invited' AND reason = 'Requested by the customer' \
             AND reference = 'CS0001234' AND account_id = {acme}"
        ))
        .await,
        1
    );

    // A disabled administrator's session no longer works.
    app.exec("UPDATE users SET status = 'disabled' WHERE email = 'admin@acme.example'")
        .await;
    app.expect(
        &acme_admin,
        "users/invite",
        &invite_form("zed@acme.example", &[]),
        401,
    )
    .await;
    assert_eq!(user_count(&app, "zed@acme.example").await, 0);
}

async fn bad_input_and_taken_addresses_change_nothing(app: TestApp) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let before = app.scalar("SELECT COUNT(*) FROM users").await;
    let body = app
        .expect(
            &admin,
            "users/invite",
            &[
                ("first_name", " "),
                ("last_name", "X"),
                ("email", "not-an-email"),
            ],
            422,
        )
        .await;
    let text = body.to_string();
    assert!(
        text.contains("first_name") && text.contains("email"),
        "{text}"
    );
    // Already in this account: said plainly.
    let body = app
        .expect(
            &admin,
            "users/invite",
            &invite_form("USER@acme.example", &[]),
            422,
        )
        .await;
    assert!(
        body.to_string().contains("already a user of this account"),
        "{body}"
    );
    // Someone else's: not revealed to a customer.
    let body = app
        .expect(
            &admin,
            "users/invite",
            &invite_form("user@globex.example", &[]),
            422,
        )
        .await;
    let text = body.to_string();
    assert!(
        text.contains("cannot be added here") && !text.contains("another account"),
        "{text}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, before);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM mail_outbox").await, 0);
}

async fn invitation_link_sets_the_password_once_and_signs_in(app: TestApp) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    app.expect(
        &admin,
        "users/invite",
        &invite_form("nora@acme.example", &[("administrator", "on")]),
        200,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE email = 'nora@acme.example' AND status = 'invited' AND is_admin AND password_hash IS NULL").await,
        1
    );
    let mail = app.wait_for_mail("nora@acme.example", "invited").await;
    assert!(
        mail.body.contains("Ada") || mail.body.contains("has given you access"),
        "{}",
        mail.body
    );
    assert!(mail.body.contains("72 hours"), "{}", mail.body);
    let link = mail.link("/accept?token=");
    let token = link.split("token=").nth(1).unwrap().to_string();
    // The database has only a hash of the token, and no usable link once the mail went out.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM user_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    app.wait_until(
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL AND secret_link IS NULL",
        1,
    )
    .await;

    let visitor = client();
    let page = app.page_text(&visitor, &link).await;
    assert!(
        page.contains("nora@acme.example") && page.contains("new_password"),
        "{page}"
    );
    let kind = [("kind", "invitation"), ("token", token.as_str())];
    // A weak password is refused next to the field and the link still works.
    let body = app
        .expect(
            &visitor,
            "auth/use_link",
            &[
                kind[0],
                kind[1],
                ("new_password", "password1234"),
                ("confirm_password", "password1234"),
            ],
            422,
        )
        .await;
    assert!(body.to_string().contains("new_password"), "{body}");
    let (status, body) = app
        .call(
            &visitor,
            "auth/use_link",
            &[
                kind[0],
                kind[1],
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(app.me(&visitor).await.as_deref(), Some("nora@acme.example"));
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE email = 'nora@acme.example' AND status = 'active'"
        )
        .await,
        1
    );
    for action in ["user.invited", "user.activated"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await,
            1,
            "{action}"
        );
    }
    // Signing in with the chosen password works; the link does not work twice.
    let fresh = client();
    assert!(
        app.sign_in(&fresh, "nora@acme.example", NEW_PASSWORD)
            .await
            .0
            < 400
    );
    let again = client();
    let body = app
        .expect(
            &again,
            "auth/use_link",
            &[
                kind[0],
                kind[1],
                ("new_password", "Another-Harbour-Lantern-48"),
                ("confirm_password", "Another-Harbour-Lantern-48"),
            ],
            409,
        )
        .await;
    assert!(body.to_string().contains("already been used"), "{body}");
    let page = app.page_text(&again, &link).await;
    assert!(
        page.contains("This link does not work") && !page.contains("new_password"),
        "{page}"
    );
    assert!(
        app.sign_in(&client(), "nora@acme.example", NEW_PASSWORD)
            .await
            .0
            < 400
    );
}

async fn resent_revoked_expired_and_disabled_links_do_nothing(app: TestApp) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let use_link = |token: String| {
        let app = &app;
        async move {
            app.call(
                &client(),
                "auth/use_link",
                &[
                    ("kind", "invitation"),
                    ("token", &token),
                    ("new_password", NEW_PASSWORD),
                    ("confirm_password", NEW_PASSWORD),
                ],
            )
            .await
        }
    };
    let token_of = |mail: SentMail| {
        mail.link("/accept?token=")
            .split("token=")
            .nth(1)
            .unwrap()
            .to_string()
    };

    // Re-sent: the first link dies, the second works.
    let (_, id) = app
        .call(
            &admin,
            "users/invite",
            &invite_form("rita@acme.example", &[]),
        )
        .await;
    let id = id.as_i64().unwrap().to_string();
    let first = token_of(app.wait_for_mail("rita@acme.example", "invited").await);
    app.expect(
        &admin,
        "users/invitation",
        &[("user_id", &id), ("change", "resend")],
        200,
    )
    .await;
    app.wait_until("SELECT COUNT(*) FROM mail_outbox WHERE to_address = 'rita@acme.example' AND sent_at IS NOT NULL", 2).await;
    let second = token_of(app.wait_for_mail("rita@acme.example", "invited").await);
    assert_ne!(first, second);
    let (status, body) = use_link(first).await;
    assert_eq!(status, 409);
    assert!(body.to_string().contains("newer invitation"), "{body}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {id} AND status = 'invited'"
        ))
        .await,
        1
    );
    assert!(use_link(second).await.0 < 400);

    // Revoked: the link dies and the user is disabled.
    let (_, id) = app
        .call(
            &admin,
            "users/invite",
            &invite_form("ron@acme.example", &[]),
        )
        .await;
    let id = id.as_i64().unwrap().to_string();
    let token = token_of(app.wait_for_mail("ron@acme.example", "invited").await);
    app.expect(
        &admin,
        "users/invitation",
        &[("user_id", &id), ("change", "revoke")],
        200,
    )
    .await;
    let (status, body) = use_link(token).await;
    assert_eq!(status, 409);
    assert!(body.to_string().contains("withdrawn"), "{body}");
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM users WHERE id = {id} AND status = 'disabled' AND password_hash IS NULL")).await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'invitation.revoked'")
            .await,
        1
    );
    // Re-sending a revoked (disabled) invitation is refused until they are re-enabled.
    app.expect(
        &admin,
        "users/invitation",
        &[("user_id", &id), ("change", "resend")],
        409,
    )
    .await;

    // Expired.
    app.call(
        &admin,
        "users/invite",
        &invite_form("eve@acme.example", &[]),
    )
    .await;
    let token = token_of(app.wait_for_mail("eve@acme.example", "invited").await);
    app.exec("UPDATE user_tokens SET expires_at = 1 WHERE user_id = (SELECT id FROM users WHERE email = 'eve@acme.example')").await;
    let (status, body) = use_link(token).await;
    assert_eq!(status, 409);
    assert!(body.to_string().contains("expired"), "{body}");

    // Disabled while the invitation was open.
    let (_, id) = app
        .call(
            &admin,
            "users/invite",
            &invite_form("dan@acme.example", &[]),
        )
        .await;
    let id = id.as_i64().unwrap().to_string();
    let token = token_of(app.wait_for_mail("dan@acme.example", "invited").await);
    app.call(
        &admin,
        "users/access",
        &[("user_id", &id), ("change", "disable")],
    )
    .await;
    app.call(
        &admin,
        "users/access",
        &[("user_id", &id), ("change", "enable")],
    )
    .await;
    let (status, _) = use_link(token).await;
    assert_eq!(
        status, 409,
        "a link from before the user was disabled stays dead"
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE email = 'dan@acme.example' AND password_hash IS NULL"
        )
        .await,
        1
    );

    // A token that never existed.
    let (status, body) = use_link("x".repeat(43)).await;
    assert_eq!(status, 409);
    assert!(body.to_string().contains("not valid"), "{body}");
}

async fn password_reset_mails_a_link_without_revealing_who_exists(app: TestApp) {
    let old_session = app.signed_in(CUSTOMER_USER).await;
    for email in ["nobody@acme.example", AGENT, CUSTOMER_USER] {
        let (status, body) = app
            .call(&client(), "auth/request_reset", &[("email", email)])
            .await;
        assert!(status < 400, "{email}: {status} {body}");
    }
    app.expect(
        &client(),
        "auth/request_reset",
        &[("email", "not an email")],
        422,
    )
    .await;
    // Only the active customer got a mail.
    let mail = app.wait_for_mail(CUSTOMER_USER, "Reset").await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM mail_outbox").await, 1);
    assert!(mail.body.contains("1 hour"), "{}", mail.body);
    let link = mail.link("/reset?token=");
    let token = link.split("token=").nth(1).unwrap();
    // An invitation link form of the same token is not accepted.
    app.expect(
        &client(),
        "auth/use_link",
        &[
            ("kind", "invitation"),
            ("token", token),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
        409,
    )
    .await;
    let browser = client();
    let (status, body) = app
        .call(
            &browser,
            "auth/use_link",
            &[
                ("kind", "reset"),
                ("token", token),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(app.me(&browser).await.as_deref(), Some(CUSTOMER_USER));
    assert_eq!(app.me(&old_session).await, None, "other sessions end");
    assert!(app.sign_in(&client(), CUSTOMER_USER, PASSWORD).await.0 >= 400);
    assert!(app.sign_in(&client(), CUSTOMER_USER, NEW_PASSWORD).await.0 < 400);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'password.reset'")
            .await,
        1
    );

    // No more than three reset mails an hour for one person.
    for _ in 0..5 {
        app.call(&client(), "auth/request_reset", &[("email", CUSTOMER_USER)])
            .await;
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM user_tokens WHERE purpose = 'reset'")
            .await,
        3
    );
}

both_engines!(
    invite_is_for_administrators_and_platform_admins,
    bad_input_and_taken_addresses_change_nothing,
    invitation_link_sets_the_password_once_and_signs_in,
    resent_revoked_expired_and_disabled_links_do_nothing,
    password_reset_mails_a_link_without_revealing_who_exists
);
