//! Single sign-on through a customer account's OpenID Connect provider, against a real provider
//! (`oidc-provider` from npm, `end2end/oidc/provider.mjs`, started per test): the round trip, and
//! everything that must not sign anyone in — a replayed state, a person of another account or
//! none, an unverified email, a code issued to another client, an expired ID token.

use crate::both_engines;
use crate::helpers::*;
use crate::mail::free_port;
use std::process::{Child, Command, Stdio};

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const OTHER_ADMIN: &str = "admin@globex.example";

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    async fn start(app: &TestApp, env: &[(&str, &str)]) -> Provider {
        let port = free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/provider.mjs");
        let child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(app.url("/sso/callback"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node (end2end/oidc/provider.mjs; scripts/setup-tools.sh installs oidc-provider)");
        assert!(listening(port).await, "the OpenID provider did not start");
        Provider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// Connects acme to `provider` as its administrator would; `required` refuses passwords.
async fn connect(app: &TestApp, provider: &Provider, required: bool) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let mut form = vec![
        ("issuer", provider.issuer.as_str()),
        ("client_id", "portal"),
        ("client_secret", "portal-secret"),
        ("domains", "acme.example"),
    ];
    if required {
        form.push(("required", "on"));
    }
    app.expect(&admin, "accounts/save_sso", &form, 200).await;
}

/// The value of attribute `name` in the HTML tag `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&"))
}

/// Goes through the provider as a person's browser would, logging in as `login`, from `url` (the
/// provider's authorization URL); answers the portal address the provider sends the browser back
/// to.
async fn through_provider(app: &TestApp, url: &str, login: &str) -> String {
    let browser = client();
    let mut url = url.to_string();
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..12 {
        let req = match form.take() {
            None => browser.get(&url),
            Some(fields) => browser.post(&url).form(&fields),
        };
        let res = req.send().await.expect("provider request");
        if let Some(location) = res.headers().get("location") {
            let location = location.to_str().unwrap().to_string();
            let next = reqwest::Url::parse(&url)
                .unwrap()
                .join(&location)
                .unwrap()
                .to_string();
            if next.starts_with(&app.base) {
                return next;
            }
            url = next;
            continue;
        }
        let html = res.text().await.unwrap();
        let form_tag = html
            .split("<form")
            .nth(1)
            .expect("a page with a form")
            .split('>')
            .next()
            .unwrap();
        url = reqwest::Url::parse(&url)
            .unwrap()
            .join(&attr(form_tag, "action").unwrap())
            .unwrap()
            .to_string();
        let mut fields: Vec<(String, String)> = html
            .split("<input")
            .skip(1)
            .filter_map(|i| {
                let tag = i.split('>').next()?;
                Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
            })
            .collect();
        for (name, value) in fields.iter_mut() {
            match name.as_str() {
                "login" => *value = login.to_string(),
                "password" => *value = "any".to_string(),
                _ => {}
            }
        }
        form = Some(fields);
    }
    panic!("the provider never sent the browser back");
}

/// Starts a single sign-on for `email` in `browser`; answers the provider's authorization URL,
/// read from the portal page that sends the browser on.
async fn start(app: &TestApp, browser: &reqwest::Client, email: &str) -> String {
    let go = app
        .post_then(browser, "/api/auth/sso", &[("email", email)])
        .await;
    assert!(go.starts_with("/sso/go?login="), "{go}");
    let page = app.page_text(browser, &go).await;
    let link = page
        .split("<a href=\"")
        .nth(1)
        .expect("a link on to the provider");
    link.split('"').next().unwrap().replace("&amp;", "&")
}

/// Follows the provider's answer `callback` in `browser`: the status and the page's text.
async fn come_back(browser: &reqwest::Client, callback: &str) -> (u16, String) {
    let res = browser.get(callback).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

async fn a_connected_account_signs_its_people_in_through_its_provider(app: TestApp) {
    let provider = Provider::start(&app, &[]).await;
    let form = [
        ("issuer", provider.issuer.as_str()),
        ("client_id", "portal"),
        ("client_secret", "portal-secret"),
        ("domains", "acme.example"),
    ];
    // Who may connect an account: its administrators (their own), platform admins; nobody else.
    app.expect_each(
        "accounts/save_sso",
        &form,
        &[
            (&client(), 401),
            (&app.signed_in(CUSTOMER_USER).await, 403),
            (&app.signed_in("agent@vendor.example").await, 403),
        ],
    )
    .await;
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let mut broken = form.to_vec();
    broken[0] = ("issuer", "http://127.0.0.1:9");
    let body = app.expect(&admin, "accounts/save_sso", &broken, 422).await;
    assert_eq!(invalid_fields(&body), vec!["issuer".to_string()]);
    app.expect(&admin, "accounts/save_sso", &form, 200).await;
    let (settings, callback) = {
        let body = app.expect(&admin, "accounts/sso", &[], 200).await;
        (body[0].clone(), body[1].as_str().unwrap().to_string())
    };
    assert_eq!(settings["connected"], true);
    assert!(
        !settings.to_string().contains("portal-secret"),
        "the secret is never shown"
    );
    assert_eq!(callback, app.url("/sso/callback"));
    // A platform admin names the account; an account that does not exist is not found.
    let platform = app.signed_in("platform.admin@vendor.example").await;
    app.expect(&platform, "accounts/sso", &[("account_id", "999999")], 404)
        .await;
    let acme = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string();
    let body = app
        .expect(&platform, "accounts/sso", &[("account_id", &acme)], 200)
        .await;
    assert_eq!(body[0]["issuer"], provider.issuer.as_str());
    // Another account cannot take the domain.
    let other = app.signed_in(OTHER_ADMIN).await;
    let body = app.expect(&other, "accounts/save_sso", &form, 422).await;
    assert_eq!(invalid_fields(&body), vec!["domains".to_string()]);

    // The round trip.
    let browser = client();
    let authorize = start(&app, &browser, CUSTOMER_USER).await;
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    assert!(authorize.contains("code_challenge=") && authorize.contains("nonce="));
    let back = through_provider(&app, &authorize, CUSTOMER_USER).await;
    let (status, _) = come_back(&browser, &back).await;
    assert_eq!(status, 303);
    assert_eq!(app.me(&browser).await.as_deref(), Some(CUSTOMER_USER));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.succeeded' AND after_state LIKE '%identity_provider%'").await,
        1
    );
    // The page that sent the browser on works only while the sign-in is under way.
    let gone = client()
        .get(app.url("/sso/go?login=made-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    // The same answer again (a replayed state) signs nobody in.
    let replay = client();
    let (status, text) = come_back(&replay, &back).await;
    assert_eq!(status, 400);
    assert!(text.contains("already used"), "{text}");
    assert_eq!(app.me(&replay).await, None);

    // Nobody the account does not have signs in: another account's person, an unknown person
    // of the domain (and no user is made), an email the provider has not verified.
    let users = app.scalar("SELECT COUNT(*) FROM users").await;
    for login in [
        "user@globex.example",
        "newbie@acme.example",
        "unverified@acme.example",
    ] {
        let b = client();
        let authorize = start(&app, &b, CUSTOMER_USER).await;
        let back = through_provider(&app, &authorize, login).await;
        let (status, _) = come_back(&b, &back).await;
        assert_eq!(status, 400, "{login}");
        assert_eq!(app.me(&b).await, None, "{login}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, users);
    // A code the provider issued to another client is refused at the exchange.
    let b = client();
    let authorize = start(&app, &b, CUSTOMER_USER)
        .await
        .replace("client_id=portal", "client_id=other");
    let back = through_provider(&app, &authorize, CUSTOMER_USER).await;
    assert_eq!(come_back(&b, &back).await.0, 400);
    assert_eq!(app.me(&b).await, None);
    assert!(app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed' AND after_state LIKE '%identity_provider%'").await >= 4);

    // Starting over and over is throttled like password guesses.
    let mut limited = false;
    for _ in 0..30 {
        if app
            .call(&client(), "auth/sso", &[("email", "flood@acme.example")])
            .await
            .0
            == 429
        {
            limited = true;
            break;
        }
    }
    assert!(limited, "a flood of starts is throttled");
    // A domain without a provider is told to use the password.
    let body = app
        .expect(
            &client(),
            "auth/sso",
            &[("email", "user@globex.example")],
            422,
        )
        .await;
    assert_eq!(invalid_fields(&body), vec!["email".to_string()]);
}

async fn an_account_that_requires_sso_refuses_passwords(app: TestApp) {
    let provider = Provider::start(&app, &[]).await;
    connect(&app, &provider, true).await;
    let (status, body) = app.sign_in(&client(), CUSTOMER_USER, PASSWORD).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("identity provider"), "{body}");
    // A mailed link sets the password but signs nobody in: the provider does.
    let (via_link, location) = app.reset_by_mail(CUSTOMER_USER).await;
    assert_eq!(location, "/?sso=1");
    assert_eq!(app.me(&via_link).await, None);
    // Other accounts keep their passwords.
    assert!(
        app.sign_in(&client(), "user@globex.example", PASSWORD)
            .await
            .0
            < 400
    );
    let browser = client();
    let authorize = start(&app, &browser, CUSTOMER_USER).await;
    let back = through_provider(&app, &authorize, CUSTOMER_USER).await;
    come_back(&browser, &back).await;
    assert_eq!(app.me(&browser).await.as_deref(), Some(CUSTOMER_USER));
}

async fn an_expired_id_token_is_refused(app: TestApp) {
    // The provider's clock is two minutes behind and its ID tokens last one: expired on arrival.
    let provider = Provider::start(
        &app,
        &[("CLOCK_BEHIND_SECONDS", "120"), ("ID_TOKEN_TTL", "60")],
    )
    .await;
    connect(&app, &provider, false).await;
    let browser = client();
    let authorize = start(&app, &browser, CUSTOMER_USER).await;
    let back = through_provider(&app, &authorize, CUSTOMER_USER).await;
    let (status, text) = come_back(&browser, &back).await;
    assert_eq!(status, 400);
    assert!(text.contains("could not be verified"), "{text}");
    assert_eq!(app.me(&browser).await, None);
}

both_engines!(
    a_connected_account_signs_its_people_in_through_its_provider,
    an_account_that_requires_sso_refuses_passwords,
    an_expired_id_token_is_refused
);
