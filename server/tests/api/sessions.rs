//! Sign-in, sessions and credentials (SPEC §3.4).

use crate::both_engines;
use crate::helpers::*;

async fn sign_in_sets_a_hashed_session_cookie(app: TestApp) {
    let c = client();
    let form = [("email", "Admin@Acme.example "), ("password", PASSWORD)];
    let res = app
        .post_form(&c, "/api/auth/sign_in", Default::default(), &form)
        .await;
    assert!(res.status().as_u16() < 400, "status {}", res.status());
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("portcullis_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP portal must not mark the cookie Secure"
    );
    let token = cookie
        .trim_start_matches("portcullis_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(token.len() >= 43, "at least 256 bits of token");
    // Only the hash is stored.
    let hash = app::server::session::token_hash(&token);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{hash}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    assert_eq!(app.me(&c).await.as_deref(), Some("admin@acme.example"));
}

async fn wrong_password_and_unknown_email_get_the_same_answer(app: TestApp) {
    let c = client();
    let wrong = app
        .sign_in(&c, "admin@acme.example", "not the password at all")
        .await;
    let unknown = app
        .sign_in(&c, "nobody@acme.example", "not the password at all")
        .await;
    let invited_or_missing = app.sign_in(&c, "ghost@nowhere.example", PASSWORD).await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, invited_or_missing);
    assert!(wrong.1.to_string().contains("SignInFailed"), "{}", wrong.1);
    assert_eq!(app.me(&c).await, None);
}

async fn repeated_failures_for_one_email_are_throttled(app: TestApp) {
    let c = client();
    for _ in 0..app.settings.throttle_per_email {
        assert_eq!(
            app.sign_in(&c, "user@acme.example", "wrong password guess")
                .await
                .0,
            401
        );
    }
    // Even the right password is refused while throttled…
    let (status, _) = app.sign_in(&c, "user@acme.example", PASSWORD).await;
    assert_eq!(status, 429);
    assert_eq!(app.me(&c).await, None);
    // …and so is a never-seen email the same way, so throttling reveals nothing about accounts.
    for _ in 0..app.settings.throttle_per_email {
        app.sign_in(&c, "nobody@acme.example", "wrong password guess")
            .await;
    }
    assert_eq!(app.sign_in(&c, "nobody@acme.example", "x").await.0, 429);
    // Other people are not locked out by it.
    assert!(
        app.sign_in(&client(), "admin@acme.example", PASSWORD)
            .await
            .0
            < 400
    );
}

async fn failures_from_one_address_are_throttled(engine: Engine) {
    let Some(app) = spawn_with(engine, |s| s.throttle_per_address = 3).await else {
        return;
    };
    let c = client();
    for email in ["a@acme.example", "b@acme.example", "c@acme.example"] {
        assert_eq!(app.sign_in(&c, email, "wrong password guess").await.0, 401);
    }
    assert_eq!(app.sign_in(&c, "admin@acme.example", PASSWORD).await.0, 429);
}

async fn successful_sign_in_clears_the_failure_count(app: TestApp) {
    let c = client();
    for _ in 0..app.settings.throttle_per_email - 1 {
        app.sign_in(&c, "user@acme.example", "wrong password guess")
            .await;
    }
    assert!(app.sign_in(&c, "user@acme.example", PASSWORD).await.0 < 400);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sign_in_failures WHERE email = 'user@acme.example'")
            .await,
        0
    );
}

async fn idle_session_expires(app: TestApp) {
    let c = app.signed_in("user@acme.example").await;
    let idle = app.settings.session_idle_minutes * 60;
    // Just inside the idle timeout the session still works…
    app.exec(&format!(
        "UPDATE sessions SET last_seen_at = last_seen_at - {}",
        idle - 30
    ))
    .await;
    assert_eq!(app.me(&c).await.as_deref(), Some("user@acme.example"));
    // …and using it moved last_seen_at forward; past the limit it is gone.
    app.exec(&format!(
        "UPDATE sessions SET last_seen_at = last_seen_at - {}",
        idle + 1
    ))
    .await;
    assert_eq!(app.me(&c).await, None);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions").await,
        0,
        "expired session removed"
    );
}

async fn absolute_session_lifetime_ends_even_when_active(app: TestApp) {
    let c = app.signed_in("user@acme.example").await;
    let lifetime = app
        .scalar("SELECT expires_at - created_at FROM sessions")
        .await;
    assert_eq!(lifetime, app.settings.session_absolute_hours * 3600);
    app.exec("UPDATE sessions SET expires_at = last_seen_at - 1")
        .await;
    assert_eq!(app.me(&c).await, None);
}

async fn sign_out_deletes_the_session_on_the_server(app: TestApp) {
    let c = client();
    let cookie = app.session_cookie(&c, "user@acme.example").await;
    let (status, _) = app.call(&c, "auth/sign_out", &[]).await;
    assert!(status < 400);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
    // Replaying the old cookie from elsewhere does not work either.
    let replay = plain_client()
        .post(app.url("/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.text().await.unwrap(), "null");
}

async fn disabled_user_session_is_rejected_immediately(app: TestApp) {
    let c = app.signed_in("admin@acme.example").await;
    assert_eq!(
        app.call(&c, "accounts/my_users", &ALL_USERS_FIRST_PAGE)
            .await
            .0,
        200
    );
    app.exec("UPDATE users SET status = 'disabled' WHERE email = 'admin@acme.example'")
        .await;
    assert_eq!(app.me(&c).await, None);
    assert_eq!(
        app.call(&c, "accounts/my_users", &ALL_USERS_FIRST_PAGE)
            .await
            .0,
        401
    );
    // And they cannot sign in again.
    assert_eq!(
        app.sign_in(&client(), "admin@acme.example", PASSWORD)
            .await
            .0,
        401
    );
}

async fn sign_in_rotates_the_session_token(app: TestApp) {
    let c = app.signed_in("user@acme.example").await;
    let first = app.scalar("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(first, 1);
    // Signing in again from the same browser replaces, not adds, its session.
    assert!(app.sign_in(&c, "user@acme.example", PASSWORD).await.0 < 400);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(app.me(&c).await.as_deref(), Some("user@acme.example"));
}

async fn change_password_checks_rules_and_ends_other_sessions(app: TestApp) {
    let here = app.signed_in("user@acme.example").await;
    let elsewhere = app.signed_in("user@acme.example").await;
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        let app = &app;
        let here = &here;
        async move {
            app.call(
                here,
                "auth/change_password",
                &[
                    ("current_password", current),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await
        }
    };
    let (status, body) = change(
        "wrong current password",
        "Tangerine-Orbit-Castle-42",
        "Tangerine-Orbit-Castle-42",
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("current_password"), "{body}");
    let (status, body) = change(PASSWORD, "password1234", "password1234").await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("new_password"), "{body}");
    let (status, body) = change(
        PASSWORD,
        "Tangerine-Orbit-Castle-42",
        "Tangerine-Orbit-Castle-43",
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("confirm_password"), "{body}");
    // Nothing changed so far.
    assert_eq!(
        app.me(&elsewhere).await.as_deref(),
        Some("user@acme.example")
    );

    let (status, body) = change(
        PASSWORD,
        "Tangerine-Orbit-Castle-42",
        "Tangerine-Orbit-Castle-42",
    )
    .await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(
        app.me(&here).await.as_deref(),
        Some("user@acme.example"),
        "current session stays"
    );
    assert_eq!(app.me(&elsewhere).await, None, "other sessions end");
    assert_eq!(
        app.sign_in(&client(), "user@acme.example", PASSWORD)
            .await
            .0,
        401
    );
    assert!(
        app.sign_in(&client(), "user@acme.example", "Tangerine-Orbit-Castle-42")
            .await
            .0
            < 400
    );
}

async fn concurrent_sign_ins_never_hit_a_locked_database(app: TestApp) {
    // Four sign-ins per person: within the per-email limit even though every attempt is counted
    // from the moment it starts.
    let emails = [
        "user@acme.example",
        "admin@acme.example",
        "user@globex.example",
        "admin@globex.example",
        "user@initech.example",
        "admin@initech.example",
    ];
    let mut tasks = Vec::new();
    for i in 0..24 {
        let url = app.url("/api/auth/sign_in");
        let email = emails[i % emails.len()];
        tasks.push(tokio::spawn(async move {
            client()
                .post(url)
                .form(&[("email", email), ("password", PASSWORD)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status < 400, "a concurrent sign-in failed with {status}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 24);
}

async fn two_instances_on_one_database_behave_as_one_portal(engine: Engine) {
    let Some(first) = spawn(engine).await else {
        return;
    };
    let url = first.settings.database_url.expose().to_string();
    let second = spawn_on(&url, first.settings.clone()).await;
    let c = client();
    let cookie = first.session_cookie(&c, "admin@acme.example").await;
    let on_second = body_of(
        plain_client()
            .post(second.url("/api/auth/me"))
            .header("cookie", &cookie),
    )
    .await;
    assert!(on_second.contains("admin@acme.example"), "{on_second}");
    // Sign out on the second ends it on the first.
    plain_client()
        .post(second.url("/api/auth/sign_out"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(first.me(&c).await, None);
    // Throttling is shared too.
    for _ in 0..first.settings.throttle_per_email {
        first
            .sign_in(&client(), "user@acme.example", "wrong password guess")
            .await;
    }
    assert_eq!(
        second
            .sign_in(&client(), "user@acme.example", PASSWORD)
            .await
            .0,
        429
    );
}

both_engines!(
    sign_in_sets_a_hashed_session_cookie,
    wrong_password_and_unknown_email_get_the_same_answer,
    repeated_failures_for_one_email_are_throttled,
    successful_sign_in_clears_the_failure_count,
    idle_session_expires,
    absolute_session_lifetime_ends_even_when_active,
    sign_out_deletes_the_session_on_the_server,
    disabled_user_session_is_rejected_immediately,
    sign_in_rotates_the_session_token,
    change_password_checks_rules_and_ends_other_sessions,
    concurrent_sign_ins_never_hit_a_locked_database
);
both_engines!(engine: failures_from_one_address_are_throttled, two_instances_on_one_database_behave_as_one_portal);
