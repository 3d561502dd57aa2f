//! A real server on port 0 per test, on a fresh database of the chosen engine.
//!
//! SQLite: a temporary file. PostgreSQL: a new database on the server named by
//! `PORTCULLIS_TEST_POSTGRES_URL` (an admin URL such as `postgres://postgres@127.0.0.1/postgres`).
//! Without that variable the PostgreSQL half of each test is skipped with a loud message, unless
//! `PORTCULLIS_REQUIRE_POSTGRES=1`, which turns the absence into a failure (CI sets it).

use app::server::db::{on_db, Db};
use app::server::Settings;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use std::net::SocketAddr;

pub const PASSWORD: &str = server::seed::DEMO_PASSWORD;

/// The arguments of `accounts/my_users` for the unfiltered first page.
pub const ALL_USERS_FIRST_PAGE: [(&str, &str); 4] = [
    ("search", ""),
    ("status", ""),
    ("sort", "name"),
    ("page", "1"),
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub settings: Settings,
    _dir: Option<tempfile::TempDir>,
    /// Where the portal writes mails when no SMTP server is configured.
    pub mail_dir: tempfile::TempDir,
    /// Holds this instance's search index directory (removed with it).
    _search_dir: tempfile::TempDir,
    /// This instance's attachment directory, unless the test chose a store (removed with it).
    pub files_dir: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    mailer: tokio::task::JoinHandle<()>,
    importer: tokio::task::JoinHandle<()>,
    scanner: Option<tokio::task::JoinHandle<()>>,
    imap: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.mailer.abort();
        self.importer.abort();
        if let Some(scanner) = &self.scanner {
            scanner.abort();
        }
        self.stop_imap();
    }
}

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| (b'a' + rng.gen_range(0..26)) as char)
        .collect()
}

/// A fresh database URL for one test, or `None` when the engine is not available here.
pub async fn fresh_database(engine: Engine) -> Option<(String, Option<tempfile::TempDir>)> {
    match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            Some((url, Some(dir)))
        }
        Engine::Postgres => {
            let Ok(admin_url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") else {
                if std::env::var("PORTCULLIS_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!(
                        "PORTCULLIS_REQUIRE_POSTGRES=1 but PORTCULLIS_TEST_POSTGRES_URL is not set"
                    );
                }
                eprintln!("!!! SKIPPED on PostgreSQL: PORTCULLIS_TEST_POSTGRES_URL is not set");
                return None;
            };
            let name = format!("portcullis_test_{}", random_suffix());
            let admin = Db::connect(&admin_url, 1)
                .await
                .expect("connect to the PostgreSQL admin URL");
            on_db!(&admin, |pool| sqlx::query(&format!(
                "CREATE DATABASE {name}"
            ))
            .execute(pool)
            .await
            .map(|_| ())
            .expect("create test database"));
            admin.close().await;
            let (prefix, _) = admin_url
                .rsplit_once('/')
                .expect("admin URL names a database");
            let query = admin_url
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            Some((format!("{prefix}/{name}{query}"), None))
        }
    }
}

/// Starts a portal with demo data on a fresh database of `engine`.
pub async fn spawn(engine: Engine) -> Option<TestApp> {
    spawn_with(engine, |_| {}).await
}

pub async fn spawn_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let (url, dir) = fresh_database(engine).await?;
    // Platform admins need a second factor by default; the suites of other features sign them in
    // with the password alone. `second_factor.rs` tests the default itself.
    let mut settings = Settings {
        second_factor_platform_admins: false,
        ..Settings::default()
    };
    tweak(&mut settings);
    let mut app = spawn_on(&url, settings).await;
    server::seed::seed_demo(&app.db, 0, 0)
        .await
        .expect("seed demo data");
    app._dir = dir;
    Some(app)
}

/// Starts another portal process-equivalent on an existing database.
pub async fn spawn_on(url: &str, mut settings: Settings) -> TestApp {
    settings.database_url = app::server::state::Secret::new(url);
    settings.database_max_connections = 5;
    let mail_dir = tempfile::tempdir().expect("mail dir");
    settings.mail_dir = mail_dir.path().display().to_string();
    settings.mail_poll_seconds = 1;
    let search_dir = tempfile::tempdir().expect("search index dir");
    let files_dir = (settings.attachments_dir == Settings::default().attachments_dir
        && settings.attachments_s3_bucket.is_empty())
    .then(|| tempfile::tempdir().expect("attachment dir"));
    if let Some(dir) = &files_dir {
        settings.attachments_dir = dir.path().display().to_string();
    }
    settings.search_index_dir = search_dir.path().join("index").display().to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr: SocketAddr = listener.local_addr().unwrap();
    // Links in mails point at this very server. A test that needs it reached by a name rather
    // than an address asks for `http://localhost` (WebAuthn refuses passkeys on an IP address).
    settings.public_url = if settings.public_url == "http://localhost" {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    let state = server::prepare(settings.clone())
        .await
        .expect("prepare the portal");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let db = state.db.clone();
    let mailer = server::mailer::spawn(&state).expect("start the mail sender");
    let importer = server::imports::spawn_worker(&state);
    let scanner = server::spawn_scanner(&state);
    let imap = server::imap::spawn(&state).expect("start the mailbox reader");
    tokio::spawn(server::serve(listener, state, async move {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        db,
        settings,
        _dir: None,
        mail_dir,
        _search_dir: search_dir,
        files_dir,
        shutdown: Some(tx),
        mailer,
        importer,
        scanner,
        imap,
    }
}

/// How long one request may take before the test fails naming it (instead of hanging the run).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

/// The body `request` is answered with, as text.
pub async fn body_of(request: reqwest::RequestBuilder) -> String {
    let response = request.send().await.expect("request");
    response.text().await.expect("body")
}

/// A client without a cookie jar, for replaying a cookie by hand.
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls a server function the way the browser does (URL-encoded form, JSON answer).
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let res = client
            .post(self.url(&format!("/api/{endpoint}")))
            .form(form)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Calls a server function like [`TestApp::call`] and checks the answer's status; the answer.
    pub async fn expect(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
        status: u16,
    ) -> Value {
        let (got, body) = self.call(client, endpoint, form).await;
        assert_eq!(got, status, "{endpoint}: {body}");
        body
    }

    /// Posts `form` to `endpoint` as each client of `answers` and checks the status each gets: who
    /// may, and who may not.
    pub async fn expect_each(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
        answers: &[(&reqwest::Client, u16)],
    ) {
        for (n, (client, status)) in answers.iter().enumerate() {
            let (got, body) = self.call(client, endpoint, form).await;
            assert_eq!(got, *status, "{endpoint}, caller {n}: {body}");
        }
    }

    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> (u16, Value) {
        self.call(
            client,
            "auth/sign_in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// The body of the page at `path` (or an absolute URL) as `client` sees it.
    pub async fn page_text(&self, client: &reqwest::Client, path: &str) -> String {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            self.url(path)
        };
        body_of(client.get(url)).await
    }

    /// Posts a form to `path` with extra request headers.
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        headers: HeaderMap,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .headers(headers)
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Signs `client` in as `email` with the demo password and returns the `name=value` of the
    /// session cookie the server set.
    pub async fn session_cookie(&self, client: &reqwest::Client, email: &str) -> String {
        let res = client
            .post(self.url("/api/auth/sign_in"))
            .form(&[("email", email), ("password", PASSWORD)])
            .send()
            .await
            .expect("request");
        assert!(
            res.status().as_u16() < 400,
            "sign-in of {email} failed: {}",
            res.status()
        );
        let header = res
            .headers()
            .get("set-cookie")
            .expect("a session cookie")
            .to_str()
            .unwrap();
        header.split(';').next().unwrap().to_string()
    }

    /// A new client signed in as `email` with the demo password.
    pub async fn signed_in(&self, email: &str) -> reqwest::Client {
        let c = client();
        let (status, body) = self.sign_in(&c, email, PASSWORD).await;
        assert!(status < 400, "sign-in of {email} failed: {status} {body}");
        c
    }

    /// Posts the sign-in form for `email` with the demo password; answers the page the portal
    /// sends the browser to next: `/` when signed in, `/sign-in/code` or `/sign-in/set-up` when a
    /// second factor is still to be given or set up.
    pub async fn sign_in_to(&self, client: &reqwest::Client, email: &str) -> String {
        self.post_then(
            client,
            "/api/auth/sign_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
    }

    /// Asks for a password reset for `email` and follows the mailed link in a new browser,
    /// choosing a new password; answers that browser and the page the portal sent it to.
    pub async fn reset_by_mail(&self, email: &str) -> (reqwest::Client, String) {
        self.call(&client(), "auth/request_reset", &[("email", email)])
            .await;
        let mail = self.wait_for_mail(email, "Reset").await;
        let link = mail.link("/reset?token=");
        let token = link.split("token=").nth(1).unwrap();
        let browser = client();
        let new_password = "a much longer passphrase 2026";
        let form = [
            ("kind", "reset"),
            ("token", token),
            ("new_password", new_password),
            ("confirm_password", new_password),
        ];
        let location = self.post_then(&browser, "/api/auth/use_link", &form).await;
        (browser, location)
    }

    /// Posts `form` to `path` and answers where the portal redirects (failing on an error).
    pub async fn post_then(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> String {
        let res = client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = res.text().await.unwrap_or_default();
        assert!(status < 400, "{path}: {status} {body}");
        location
    }

    /// The signed-in user's email according to the server, or `None`.
    pub async fn me(&self, client: &reqwest::Client) -> Option<String> {
        let (status, body) = self.call(client, "auth/me", &[]).await;
        assert_eq!(status, 200, "auth/me answered {status}: {body}");
        body.get("email")
            .and_then(|e| e.as_str())
            .map(str::to_string)
    }

    pub async fn exec(&self, sql: &str) {
        on_db!(&self.db, |pool| sqlx::query(sql)
            .execute(pool)
            .await
            .map(|_| ())
            .expect(sql))
    }

    pub async fn text(&self, sql: &str) -> String {
        on_db!(&self.db, |pool| sqlx::query_scalar::<_, String>(sql)
            .fetch_one(pool)
            .await
            .expect(sql))
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        on_db!(&self.db, |pool| sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .expect(sql))
    }
}

/// A mail as the portal wrote it to its mail folder (or as an SMTP server received it).
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    /// The decoded text part.
    pub body: String,
    /// The HTML part, when the mail has one.
    pub html: Option<String>,
    /// Every header, name and raw value, in order.
    pub headers: Vec<(String, String)>,
}

impl SentMail {
    /// The first portal link in the body that starts with `path` (e.g. `/accept?token=`).
    pub fn link(&self, path: &str) -> String {
        self.body
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(path))
            .unwrap_or_else(|| panic!("no {path} link in mail: {}", self.body))
            .to_string()
    }

    /// The recipient's token for the case a case mail is about (the end of its one-click
    /// unsubscribe address, and of its reply address).
    pub fn case_token(&self) -> String {
        self.header("List-Unsubscribe")
            .trim_matches(['<', '>'])
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The value of header `name` (the first, case-insensitive), trimmed; empty when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }
}

/// The code an authenticator app holding `secret` shows `steps` time steps from now.
pub fn app_code(secret: &str, steps: i64) -> String {
    use app::server::second_factor::codes;
    codes::code_at(secret, app::server::now() / codes::STEP_SECONDS + steps)
}

/// Parses an RFC 5322 message (any MIME structure lettre writes) with a mail library.
pub fn parse_mail(raw: &str) -> SentMail {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable mail");
    let headers: Vec<(String, String)> = message
        .headers_raw()
        .map(|(name, value)| {
            (
                name.to_string(),
                value.replace("\r\n", "").trim().to_string(),
            )
        })
        .collect();
    let html = message
        .html_bodies()
        .find(|part| part.is_text_html())
        .map(|_| message.body_html(0).unwrap_or_default().into_owned());
    SentMail {
        to: headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("To"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        subject: message.subject().unwrap_or_default().to_string(),
        body: message.body_text(0).unwrap_or_default().into_owned(),
        html,
        headers,
    }
}

impl TestApp {
    /// Stops this instance's mail sender: mails stay queued (another instance may send them).
    pub fn stop_mailer(&self) {
        self.mailer.abort();
    }

    /// Stops this instance's support-mailbox reader, as if its process were killed.
    pub fn stop_imap(&self) {
        if let Some(reader) = &self.imap {
            reader.abort();
        }
    }

    /// Every mail in the portal's mail folder, oldest first.
    pub fn mails(&self) -> Vec<SentMail> {
        let mut names: Vec<_> = std::fs::read_dir(self.mail_dir.path())
            .expect("mail dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| parse_mail(&std::fs::read_to_string(p).expect("read mail")))
            .collect()
    }

    /// Waits (up to 20 s) for the newest mail to `to` whose subject contains `subject`.
    pub async fn wait_for_mail(&self, to: &str, subject: &str) -> SentMail {
        for _ in 0..200 {
            if let Some(m) = self
                .mails()
                .into_iter()
                .rev()
                .find(|m| m.to.contains(to) && m.subject.contains(subject))
            {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "no mail to {to} about {subject:?}; mails: {:?}",
            self.mails()
        );
    }

    /// Waits (up to 20 s) for a mail to `to` whose text contains `words`.
    pub async fn wait_for_mail_saying(&self, to: &str, words: &str) -> SentMail {
        for _ in 0..200 {
            if let Some(mail) = self
                .mails()
                .into_iter()
                .find(|m| m.to.contains(to) && m.body.contains(words))
            {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "no mail to {to} saying {words:?}; mails: {:?}",
            self.mails()
        );
    }

    /// Waits (up to 30 s) until `sql` answers `expected`.
    pub async fn wait_until(&self, sql: &str, expected: i64) {
        for _ in 0..300 {
            if self.scalar(sql).await == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "{sql} never answered {expected} (last: {})",
            self.scalar(sql).await
        );
    }
}

/// One request header.
/// The fields a 422 answer names, in order.
pub fn invalid_fields(body: &Value) -> Vec<String> {
    body["Validation"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(name, HeaderValue::from_str(value).unwrap());
    h
}

/// Headers a browser sends on a same-origin form post.
pub fn same_origin_form(app: &TestApp, referer_path: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "accept",
        HeaderValue::from_static("text/html,application/xhtml+xml"),
    );
    h.insert("origin", HeaderValue::from_str(&app.base).unwrap());
    h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
    h.insert(
        "referer",
        HeaderValue::from_str(&app.url(referer_path)).unwrap(),
    );
    h
}

/// Fails a test that runs longer than any should, so a hang is reported, not waited out.
pub async fn within_limit(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(120), test)
        .await
        .expect("the test did not finish within 120 s")
}

/// Runs `test` on a freshly seeded app of `engine`, within the time limit; skipped (passes) where
/// the engine is not available and not required.
pub async fn on_fresh_app<F, Fut>(engine: Engine, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    within_limit(async move {
        if let Some(app) = spawn(engine).await {
            test(app).await
        }
    })
    .await
}

/// Generates `name::sqlite` and `name::postgres` tests: from `async fn name(app: TestApp)`, given
/// a freshly seeded app of each engine, or, after `engine:`, from `async fn name(engine: Engine)`
/// for scenarios that start their apps themselves.
#[macro_export]
macro_rules! both_engines {
    (engine: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::helpers::within_limit(super::$name($crate::helpers::Engine::Sqlite)).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::helpers::within_limit(super::$name($crate::helpers::Engine::Postgres)).await
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::{on_fresh_app, Engine};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                on_fresh_app(Engine::Sqlite, super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                on_fresh_app(Engine::Postgres, super::$name).await
            }
        }
    )*};
}

/// A form as a browser sends it: named fields, which a scenario changes by name ("without an
/// availability", "with a window in the past") rather than by position.
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(&'static str, String)>);

impl Form {
    pub fn new(fields: Vec<(&'static str, String)>) -> Self {
        Form(fields)
    }

    /// The form with field `name` set to `value` (replaced, or added when absent).
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets field `name` to `value` (replaced, or added when absent).
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(field) => field.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The form as if field `name` had been left out.
    pub fn without(mut self, name: &str) -> Self {
        self.0.retain(|(k, _)| *k != name);
        self
    }

    /// The fields, for [`TestApp::call`].
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// Waits up to 30 s for something to listen on loopback port `port`; answers whether it did.
pub async fn listening(port: u16) -> bool {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}
