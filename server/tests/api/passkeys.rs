//! Passkeys and security keys as a second factor (SPEC §3.4). A software authenticator
//! (`webauthn-authenticator-rs`'s `SoftPasskey`) answers the portal's ceremonies the way a
//! browser with a passkey does: it signs the challenge for the portal's origin with its own key.

use crate::both_engines;
use crate::helpers::*;
use serde_json::Value;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

type Authenticator = WebauthnAuthenticator<SoftPasskey>;

/// A portal reached by a host name, as passkeys need.
async fn spawn_named(engine: Engine) -> Option<TestApp> {
    spawn_with(engine, |s| s.public_url = "http://localhost".into()).await
}

fn authenticator() -> Authenticator {
    // `true`: the soft key says the person was verified (a fingerprint, a PIN), as passkeys do.
    WebauthnAuthenticator::new(SoftPasskey::new(true))
}

fn origin(app: &TestApp) -> Url {
    Url::parse(&app.settings.public_url).expect("the portal's URL")
}

/// The JSON text a server function answered (the options, the next page).
fn text_of(body: &Value) -> String {
    body.as_str().expect("a text answer").to_string()
}

/// Adds a passkey named `label` from `key` for the signed-in `client`; answers the page the
/// browser goes to next.
async fn add_passkey(
    app: &TestApp,
    client: &reqwest::Client,
    key: &mut Authenticator,
    label: &str,
) -> String {
    let options = app
        .expect(
            client,
            "security/passkey_options",
            &[("password", PASSWORD), ("label", label)],
            200,
        )
        .await;
    let options: CreationChallengeResponse =
        serde_json::from_str(&text_of(&options)).expect("creation options");
    let credential = key
        .do_registration(origin(app), options)
        .expect("the authenticator makes a passkey");
    let credential = serde_json::to_string(&credential).unwrap();
    text_of(
        &app.expect(
            client,
            "security/add_passkey",
            &[("credential", &credential)],
            200,
        )
        .await,
    )
}

/// The signed answer of `key` to the passkey step of the half-way session of `browser`.
async fn assertion(app: &TestApp, browser: &reqwest::Client, key: &mut Authenticator) -> String {
    let options = app.expect(browser, "auth/passkey_options", &[], 200).await;
    let options: RequestChallengeResponse =
        serde_json::from_str(&text_of(&options)).expect("request options");
    let answer = key
        .do_authentication(origin(app), options)
        .expect("the authenticator signs");
    serde_json::to_string(&answer).unwrap()
}

async fn a_passkey_is_added_with_the_password_and_asked_for_at_sign_in(engine: Engine) {
    let Some(app) = spawn_named(engine).await else {
        return;
    };
    let user = app.signed_in(CUSTOMER_USER).await;
    // Nobody signed out starts or finishes one.
    for (endpoint, form) in [
        (
            "security/passkey_options",
            vec![("password", PASSWORD), ("label", "")],
        ),
        ("security/add_passkey", vec![("credential", "{}")]),
    ] {
        app.expect(&client(), endpoint, &form, 401).await;
    }
    // The password is asked again; a long name is refused; nothing is started or stored.
    for (password, label, field) in [
        ("", "Laptop", "password"),
        ("wrong password", "Laptop", "password"),
        (PASSWORD, &*"x".repeat(61), "label"),
    ] {
        let body = app
            .expect(
                &user,
                "security/passkey_options",
                &[("password", password), ("label", label)],
                422,
            )
            .await;
        assert_eq!(invalid_fields(&body), vec![field.to_string()], "{body}");
    }
    app.expect(&user, "security/add_passkey", &[("credential", "{}")], 422)
        .await;
    app.expect(
        &user,
        "security/add_passkey",
        &[("credential", r#"{"id":"x","rawId":"eA","type":"public-key","response":{"attestationObject":"eA","clientDataJSON":"eA"}}"#)],
        409,
    )
    .await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM second_factors").await, 0);

    // Added: the person's first factor comes with recovery codes, shown next.
    let mut key = authenticator();
    assert_eq!(
        add_passkey(&app, &user, &mut key, "Office laptop").await,
        "/account/recovery-codes"
    );
    let codes = app
        .expect(&user, "security/new_recovery_codes", &[], 200)
        .await;
    assert_eq!(codes.as_array().map(Vec::len), Some(10));
    let page = app.expect(&user, "security/overview", &[], 200).await;
    assert_eq!(page["apps"][0]["label"], "Office laptop");
    assert_eq!(page["apps"][0]["passkey"], true);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'second_factor.added' \
             AND after_state LIKE '%\"kind\":\"passkey\"%'"
        )
        .await,
        1
    );
    // The same passkey again: the authenticator refuses to make a second one for the portal.
    let options = app
        .expect(
            &user,
            "security/passkey_options",
            &[("password", PASSWORD), ("label", "")],
            200,
        )
        .await;
    let options: CreationChallengeResponse = serde_json::from_str(&text_of(&options)).unwrap();
    let excluded = options.public_key.exclude_credentials.unwrap_or_default();
    assert_eq!(excluded.len(), 1, "the passkey the person has is excluded");
    // A second key is added without new recovery codes.
    let mut other_key = authenticator();
    assert_eq!(
        add_passkey(&app, &user, &mut other_key, "").await,
        "/account/security?passkey=1"
    );
    assert_eq!(
        app.text("SELECT label FROM second_factors ORDER BY id DESC LIMIT 1")
            .await,
        "Passkey"
    );

    // Signing in: the password, then the passkey.
    let browser = client();
    assert_eq!(
        app.sign_in_to(&browser, CUSTOMER_USER).await,
        "/sign-in/code"
    );
    assert_eq!(
        app.expect(&browser, "auth/second_step", &[], 200).await,
        serde_json::json!([false, true])
    );
    app.expect(&browser, "auth/passkey", &[("credential", "{}")], 422)
        .await;
    let answer = assertion(&app, &browser, &mut key).await;
    assert_eq!(
        text_of(
            &app.expect(&browser, "auth/passkey", &[("credential", &answer)], 200)
                .await
        ),
        "/"
    );
    assert_eq!(app.me(&browser).await.as_deref(), Some(CUSTOMER_USER));
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.succeeded' \
             AND after_state LIKE '%\"method\":\"passkey\"%'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM second_factors WHERE last_used_at IS NOT NULL")
            .await,
        1
    );

    // An answer works once: replayed in another sign-in it is refused and counted as a wrong
    // code; a six-digit code means nothing to a passkey.
    let second = client();
    app.sign_in_to(&second, CUSTOMER_USER).await;
    app.expect(&second, "auth/passkey_options", &[], 200).await;
    let body = app
        .expect(&second, "auth/passkey", &[("credential", &answer)], 422)
        .await;
    assert_eq!(invalid_fields(&body), vec!["credential".to_string()]);
    app.expect(&second, "auth/code", &[("code", "123456")], 422)
        .await;
    assert_eq!(
        app.scalar("SELECT MAX(failed_codes) FROM sessions WHERE stage = 'second_factor'")
            .await,
        2
    );
    assert_eq!(app.me(&second).await, None);
    // The other key signs in too.
    let answer = assertion(&app, &second, &mut other_key).await;
    app.expect(&second, "auth/passkey", &[("credential", &answer)], 200)
        .await;
    assert_eq!(app.me(&second).await.as_deref(), Some(CUSTOMER_USER));
}

async fn passkeys_belong_to_their_owner_and_leave_with_the_password(engine: Engine) {
    let Some(app) = spawn_named(engine).await else {
        return;
    };
    let user = app.signed_in(CUSTOMER_USER).await;
    let mut key = authenticator();
    add_passkey(&app, &user, &mut key, "Phone").await;
    let id = app
        .scalar("SELECT id FROM second_factors WHERE kind = 'passkey'")
        .await
        .to_string();

    // Someone with no passkey is told so at the passkey step; someone without a half-way session
    // has no passkey step at all.
    let admin = client();
    app.signed_in(CUSTOMER_ADMIN).await;
    app.exec(&format!(
        "INSERT INTO second_factors (user_id, kind, label, secret, created_at, confirmed_at) \
         SELECT id, 'totp', 'Phone', 'JBSWY3DPEHPK3PXP', 1, 1 FROM users WHERE email = '{CUSTOMER_ADMIN}'"
    ))
    .await;
    assert_eq!(
        app.sign_in_to(&admin, CUSTOMER_ADMIN).await,
        "/sign-in/code"
    );
    assert_eq!(
        app.expect(&admin, "auth/second_step", &[], 200).await,
        serde_json::json!([true, false])
    );
    app.expect_each(
        "auth/passkey_options",
        &[],
        &[(&admin, 409), (&client(), 401)],
    )
    .await;
    // A signed-in browser is past that step.
    app.expect(&user, "auth/passkey_options", &[], 409).await;

    // Staff viewing as the customer cannot add or remove the customer's passkeys.
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let user_id = app
        .scalar(&format!(
            "SELECT id FROM users WHERE email = '{CUSTOMER_USER}'"
        ))
        .await
        .to_string();
    app.expect(
        &staff,
        "staff/impersonate",
        &[
            ("user_id", &user_id),
            ("reason", "Customer asked us to look"),
        ],
        200,
    )
    .await;
    app.expect(
        &staff,
        "security/passkey_options",
        &[("password", PASSWORD), ("label", "")],
        403,
    )
    .await;
    app.expect(
        &staff,
        "security/remove_app",
        &[("id", &id), ("password", PASSWORD)],
        403,
    )
    .await;

    // Removed with the password only; the last factor takes the recovery codes with it.
    app.expect(
        &user,
        "security/remove_app",
        &[("id", &id), ("password", "wrong password")],
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
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM second_factors WHERE kind = 'passkey'")
            .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id \
             WHERE u.email = '{CUSTOMER_USER}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'second_factor.removed' \
             AND after_state LIKE '%\"kind\":\"passkey\"%'"
        )
        .await,
        1
    );
    assert_eq!(app.sign_in_to(&client(), CUSTOMER_USER).await, "/");
}

async fn a_portal_reached_by_address_offers_no_passkeys(app: TestApp) {
    let user = app.signed_in(CUSTOMER_USER).await;
    let body = app
        .expect(
            &user,
            "security/passkey_options",
            &[("password", PASSWORD), ("label", "")],
            409,
        )
        .await;
    assert!(body.to_string().contains("host name"), "{body}");
}

both_engines!(a_portal_reached_by_address_offers_no_passkeys);
both_engines!(engine: a_passkey_is_added_with_the_password_and_asked_for_at_sign_in, passkeys_belong_to_their_owner_and_leave_with_the_password);
