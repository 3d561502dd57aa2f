//! The evidence promise under impersonation, and the server under hostile input and load: each test
//! here failed before the fix it names.

use crate::both_engines;
use crate::helpers::*;

const CUSTOMER_USER: &str = "user@acme.example";
const CUSTOMER_ADMIN: &str = "admin@acme.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

/// A case Acme's user opens through the form; answers its number.
async fn open_case(app: &TestApp) -> String {
    let user = app.signed_in(CUSTOMER_USER).await;
    let form = crate::cases::form(app, CUSTOMER_USER).await;
    let (status, number) = app.call(&user, "cases/create", &form.fields()).await;
    assert!(status < 400, "{status} {number}");
    number.as_str().unwrap().to_string()
}

async fn id_of(app: &TestApp, email: &str) -> String {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
        .to_string()
}

/// A platform admin's client, impersonating the customer administrator of Acme.
async fn impersonating(app: &TestApp) -> reqwest::Client {
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let admin_id = id_of(app, CUSTOMER_ADMIN).await;
    let (status, body) = app
        .call(
            &staff,
            "staff/impersonate",
            &[
                ("user_id", admin_id.as_str()),
                ("reason", "See what they see"),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(app.me(&staff).await.as_deref(), Some(CUSTOMER_ADMIN));
    staff
}

/// Every field name any server function takes, each with the value "1": a valid string, number
/// and flag alike, so each function gets past reading its arguments to the question of who asks.
/// (The two list-valued fields are optional and left out.)
const EVERY_FIELD: &[&str] = &[
    "account",
    "account_id",
    "account_key",
    "action",
    "active",
    "actor",
    "administrator",
    "affects_capacity",
    "affects_cost",
    "affects_performance",
    "affects_security",
    "assigned_to",
    "assignee",
    "assignment_group_id",
    "audience",
    "authorized",
    "authorizer_id",
    "availability_id",
    "body",
    "business_end",
    "business_hours",
    "business_start",
    "category",
    "category_id",
    "change",
    "client_id",
    "client_secret",
    "code",
    "comment",
    "confirm_password",
    "confirmed",
    "contact_id",
    "credential",
    "csm_user_id",
    "current_password",
    "decision",
    "description",
    "disable_dormant",
    "domains",
    "dormant_days",
    "email",
    "environment",
    "environments",
    "expires_days",
    "extra",
    "feature_id",
    "first_name",
    "first_response_minutes",
    "from",
    "group",
    "group_id",
    "helpful",
    "id",
    "impact_id",
    "implementer_id",
    "import_id",
    "include_admins",
    "intent",
    "internal",
    "issuer",
    "kind",
    "label",
    "last_name",
    "member",
    "name",
    "new_password",
    "note",
    "number",
    "outcome",
    "page",
    "password",
    "previous_stays_admin",
    "priority",
    "priority_reason",
    "product_version_id",
    "q",
    "queue",
    "reason",
    "reference",
    "requested_by",
    "required",
    "resolution_business_hours",
    "resolution_minutes",
    "return_to",
    "review_id",
    "risk",
    "role",
    "rollback_plan",
    "schedule",
    "scheduled_end",
    "scheduled_start",
    "scope",
    "score",
    "search",
    "service_id",
    "service_tier",
    "severity",
    "short_description",
    "sort",
    "state_filter",
    "status",
    "step",
    "subject",
    "t",
    "tam_user_id",
    "tier",
    "time_zone",
    "title",
    "to",
    "token",
    "undecided",
    "user_id",
    "user_ids",
    "version",
    "visibility",
    "window_end",
    "window_start",
    "workaround",
];

/// Rows that any change in a person's name would add to or alter.
const EVIDENCE: &str = "SELECT (SELECT COUNT(*) FROM audit_log) + (SELECT COUNT(*) FROM cases) \
     + (SELECT COUNT(*) FROM case_entries) + (SELECT COUNT(*) FROM change_requests) \
     + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM mail_outbox) \
     + (SELECT COUNT(*) FROM kb_votes) + (SELECT CAST(COALESCE(SUM(updated_at), 0) AS BIGINT) FROM users)";

async fn impersonation_is_view_only_on_every_changing_endpoint(app: TestApp) {
    let staff = impersonating(&app).await;
    let before = app.scalar(EVIDENCE).await;
    let form: Vec<(&str, &str)> = EVERY_FIELD.iter().map(|f| (*f, "1")).collect();
    let mut endpoints: Vec<String> = server_fn::axum::server_fn_paths()
        .filter_map(|(path, _)| path.strip_prefix("/api/").map(str::to_string))
        .collect();
    endpoints.sort();
    assert!(endpoints.len() > 60, "{endpoints:?}");
    let mut refused = 0;
    for endpoint in &endpoints {
        // Everything else is refused: signing in, a mailed link and a survey answer too, so an
        // impersonation ends only through its own recorded stop.
        if app::policy::READ_WHILE_IMPERSONATING.contains(&endpoint.as_str()) {
            continue;
        }
        let (status, body) = app.call(&staff, endpoint, &form).await;
        assert_eq!(status, 403, "{endpoint} answered {status}: {body}");
        let message = body["ViewOnly"].as_str().unwrap_or_default();
        assert!(message.contains("view-only"), "{endpoint}: {body}");
        refused += 1;
    }
    assert!(refused >= 30, "only {refused} endpoints were tried");
    assert_eq!(app.scalar(EVIDENCE).await, before, "something changed");
    // The message names the staff tool that does it on the record.
    let (_, body) = app.call(&staff, "cases/create", &form).await;
    assert!(
        body["ViewOnly"].as_str().unwrap().contains("Open a case"),
        "{body}"
    );
    let (_, body) = app.call(&staff, "users/access", &form).await;
    assert!(
        body["ViewOnly"]
            .as_str()
            .unwrap()
            .contains("reason is recorded"),
        "{body}"
    );
    // Looking still works, and so does ending the impersonation.
    assert_eq!(
        app.call(&staff, "cases/list", &[("scope", "team")]).await.0,
        200
    );
    assert!(app
        .page_text(&staff, "/manage")
        .await
        .contains("Manage Accounts"));
    let (status, _) = app.call(&staff, "staff/stop_impersonating", &[]).await;
    assert!(status < 400);
    assert_eq!(app.me(&staff).await.as_deref(), Some(PLATFORM_ADMIN));
}

async fn impersonation_keeps_the_sessions_lifetime_and_ends_with_its_admin(app: TestApp) {
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let admin_id = id_of(&app, PLATFORM_ADMIN).await;
    // The staff session was signed in long ago: an hour of its lifetime is left.
    app.exec(&format!(
        "UPDATE sessions SET created_at = created_at - 39600, expires_at = expires_at - 39600 WHERE user_id = {admin_id}"
    ))
    .await;
    let expiry = app
        .scalar(&format!(
            "SELECT expires_at FROM sessions WHERE user_id = {admin_id}"
        ))
        .await;
    let customer = id_of(&app, CUSTOMER_ADMIN).await;
    let form = [("user_id", customer.as_str()), ("reason", "Look")];
    for _ in 0..3 {
        app.call(&staff, "staff/impersonate", &form).await;
        assert_eq!(
            app.scalar(&format!(
                "SELECT MAX(expires_at) FROM sessions WHERE impersonator_id = {admin_id}"
            ))
            .await,
            expiry,
            "impersonating does not extend the sign-in"
        );
        app.call(&staff, "staff/stop_impersonating", &[]).await;
        assert_eq!(
            app.scalar(&format!(
                "SELECT MAX(expires_at) FROM sessions WHERE user_id = {admin_id}"
            ))
            .await,
            expiry,
            "stopping does not extend it either"
        );
    }
    // Changing the staff password elsewhere ends the impersonation it started.
    app.call(&staff, "staff/impersonate", &form).await;
    assert_eq!(app.me(&staff).await.as_deref(), Some(CUSTOMER_ADMIN));
    let other = app.signed_in(PLATFORM_ADMIN).await;
    let (status, body) = app
        .call(
            &other,
            "auth/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "Quartz-Lantern-Orbit-2091"),
                ("confirm_password", "Quartz-Lantern-Orbit-2091"),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(
        app.me(&staff).await,
        None,
        "the impersonation ended with the password"
    );
    // An impersonation whose platform admin is no longer one stops working at once.
    let fresh = client();
    let (status, _) = app
        .sign_in(&fresh, PLATFORM_ADMIN, "Quartz-Lantern-Orbit-2091")
        .await;
    assert!(status < 400);
    app.call(&fresh, "staff/impersonate", &form).await;
    assert_eq!(app.me(&fresh).await.as_deref(), Some(CUSTOMER_ADMIN));
    app.exec(&format!(
        "UPDATE users SET kind = 'agent' WHERE id = {admin_id}"
    ))
    .await;
    assert_eq!(
        app.me(&fresh).await,
        None,
        "demoted: the impersonation is over"
    );
}

/// Pages and static files fired at once must each keep their own headers and status.
async fn concurrent_pages_and_files_keep_their_own_headers(engine: Engine) {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(
        site.path().join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    std::fs::write(site.path().join("pkg/portcullis.css"), "body{}").unwrap();
    let root = site.path().display().to_string();
    let Some(app) = spawn_with(engine, |s| s.site_root = root).await else {
        return;
    };
    let user = app.signed_in(CUSTOMER_USER).await;
    let anonymous = client();
    let mut tasks = Vec::new();
    for i in 0..400 {
        let (c, path) = match i % 5 {
            0 => (user.clone(), "/cases"),
            1 => (anonymous.clone(), "/favicon.svg"),
            2 => (anonymous.clone(), "/kb"),
            3 => (user.clone(), "/pkg/portcullis.css"),
            _ => (anonymous.clone(), "/no-such-page"),
        };
        let url = app.url(path);
        tasks.push(tokio::spawn(async move {
            let res = c.get(url).send().await.expect("request");
            let csp = res
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            (path, res.status().as_u16(), csp)
        }));
    }
    for task in tasks {
        let (path, status, csp) = task.await.unwrap();
        match path {
            "/favicon.svg" | "/pkg/portcullis.css" => {
                assert_eq!(status, 200, "{path}");
                assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
            }
            "/no-such-page" => {
                assert_eq!(status, 404, "{path}");
                assert!(csp.contains("script-src 'self' 'nonce-"), "{path}: {csp}");
            }
            _ => {
                assert_eq!(status, 200, "{path}");
                assert!(csp.contains("script-src 'self' 'nonce-"), "{path}: {csp}");
            }
        }
    }
}

/// A case subject or article title is written into `<title>`, and stored text into `<textarea>`:
/// neither may end its element or have its entities decoded.
async fn written_text_never_becomes_markup(app: TestApp) {
    let payload = "Outage </title><meta http-equiv=\"refresh\" content=\"0;url=https://elsewhere.example\"> &amp;lt;b&amp;gt; </textarea><b>x</b>";
    let number = open_case(&app).await;
    app.exec(&format!(
        "UPDATE cases SET subject = '{}' WHERE number = '{number}'",
        payload.replace('\'', "''")
    ))
    .await;
    let user = app.signed_in(CUSTOMER_USER).await;
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(!page.contains("<meta http-equiv=\"refresh\""), "{page}");
    assert!(!page.contains("</textarea><b>"), "{page}");
    let title = page
        .split("<title>")
        .nth(1)
        .unwrap()
        .split("</title>")
        .next()
        .unwrap();
    assert!(
        title.contains("&lt;/title&gt;") && title.contains("&amp;amp;lt;b"),
        "{title}"
    );
    // An article body holding markup-like text round-trips through the editor unchanged.
    let staff = app.signed_in("agent@vendor.example").await;
    let body = "Write &lt;b&gt; for bold.\n</textarea><meta http-equiv=\"refresh\" content=\"0\">";
    let (status, saved) = app
        .call(
            &staff,
            "kb/save",
            &[
                (
                    "title",
                    "Markup </title><meta http-equiv=refresh content=0>",
                ),
                ("body", body),
                (
                    "category_id",
                    &app.scalar("SELECT MIN(id) FROM kb_categories")
                        .await
                        .to_string(),
                ),
                ("visibility", "public"),
                ("intent", "publish"),
            ],
        )
        .await;
    assert!(status < 400, "{status} {saved}");
    let kb = saved.as_str().unwrap().to_string();
    let editor = app.page_text(&staff, &format!("/staff/kb/{kb}")).await;
    assert!(!editor.contains("<meta http-equiv=\"refresh\""), "{editor}");
    assert!(!editor.contains("<meta http-equiv=refresh"), "{editor}");
    let textarea = editor.split("id=\"body\"").nth(1).unwrap();
    let inner = textarea
        .split_once('>')
        .unwrap()
        .1
        .split("</textarea>")
        .next()
        .unwrap();
    assert_eq!(
        html_unescape(inner),
        body,
        "the browser would show (and save) exactly the stored text"
    );
    let public = app.page_text(&client(), &format!("/kb/{kb}")).await;
    assert!(!public.contains("<meta http-equiv=refresh"), "{public}");
}

/// What a browser makes of the escaped text inside a `<textarea>`.
fn html_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

async fn activity_lines_show_plain_values_as_typed(app: TestApp) {
    let number = open_case(&app).await;
    let agent = app.signed_in("agent@vendor.example").await;
    let group = app
        .scalar("SELECT id FROM assignment_groups WHERE name = 'Technical Support'")
        .await
        .to_string();
    let (status, body) = app
        .call(
            &agent,
            "cases/fields",
            &[
                ("number", number.as_str()),
                ("assigned_to", "me"),
                ("assignment_group_id", group.as_str()),
                ("priority", "1"),
                (
                    "priority_reason",
                    "see [this](https://elsewhere.example) ![t](/export/audit.csv)",
                ),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    let user = app.signed_in(CUSTOMER_USER).await;
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(
        page.contains("see [this](https://elsewhere.example)"),
        "shown as typed"
    );
    assert!(!page.contains("href=\"https://elsewhere.example\""));
    assert!(!page.contains("src=\"/export"));
}

async fn exports_start_only_from_a_deliberate_post(app: TestApp) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let exports = "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'export.%'";
    // What an <img src="/export/audit.csv"> in a case description would make a browser do.
    for path in ["/export/audit.csv", "/export/users.csv"] {
        let res = admin
            .get(app.url(path))
            .header("sec-fetch-dest", "image")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 405, "{path}");
    }
    assert_eq!(app.scalar(exports).await, 0);
    // A cross-site form post is refused too.
    let res = admin
        .post(app.url("/export/audit.csv"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(app.scalar(exports).await, 0);
    // The button's POST streams the file and records the export once.
    let res = admin
        .post(app.url("/export/audit.csv"))
        .headers(same_origin_form(&app, "/manage/history"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("id,time_utc,account"), "{csv}");
    assert!(csv.contains("sign_in.succeeded"), "{csv}");
    assert_eq!(app.scalar(exports).await, 1);
}

async fn a_long_trail_exports_whole_in_keyset_batches(app: TestApp) {
    // Over 1,250 entries in Acme's chain: more than one export batch.
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let user_id = id_of(&app, CUSTOMER_USER).await;
    for i in 0..1250 {
        let change = if i % 2 == 0 { "disable" } else { "enable" };
        let (status, body) = app
            .call(
                &staff,
                "users/access",
                &[
                    ("user_id", user_id.as_str()),
                    ("change", change),
                    ("reason", "Load"),
                ],
            )
            .await;
        assert!(status < 400, "{status} {body}");
    }
    let acme = app
        .scalar(&format!(
            "SELECT account_id FROM users WHERE id = {user_id}"
        ))
        .await;
    let expected = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE account_id = {acme}"
        ))
        .await;
    assert!(expected >= 1250, "more than one export batch: {expected}");
    let res = staff
        .post(app.url(&format!("/export/audit.csv?account_id={acme}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let csv = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let ids: Vec<i64> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    // The export is recorded before its first row is read, so it lists itself too.
    assert_eq!(ids.len() as i64, expected + 1, "every entry once");
    assert!(csv.contains("export.audit"));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no entry twice across batches");
    // The page's count stops at 10,000 and never counts the whole trail.
    let (status, page) = app
        .call(
            &staff,
            "audit/list",
            &[("account_id", &acme.to_string()), ("page", "1")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], expected + 1);
}

async fn a_kb_view_counts_once_per_reader_per_day(app: TestApp) {
    let kb = app
        .text("SELECT number FROM kb_articles WHERE state = 'published' AND visibility = 'public' ORDER BY id LIMIT 1")
        .await;
    let views = format!("SELECT views FROM kb_articles WHERE number = '{kb}'");
    let before = app.scalar(&views).await;
    let visitor = client();
    for _ in 0..5 {
        let page = app.page_text(&visitor, &format!("/kb/{kb}")).await;
        assert!(page.contains(&kb));
    }
    assert_eq!(
        app.scalar(&views).await,
        before + 1,
        "one visitor, one view today"
    );
    let user = app.signed_in(CUSTOMER_USER).await;
    for _ in 0..3 {
        app.page_text(&user, &format!("/kb/{kb}")).await;
    }
    assert_eq!(
        app.scalar(&views).await,
        before + 2,
        "a signed-in reader is another reader"
    );
}

async fn concurrent_bad_sign_ins_stop_at_the_limit(app: TestApp) {
    let mut tasks = Vec::new();
    for i in 0..50 {
        let c = client();
        let url = app.url("/api/auth/sign_in");
        tasks.push(tokio::spawn(async move {
            let email = format!("nobody{i}@acme.example");
            c.post(url)
                .form(&[
                    ("email", email.as_str()),
                    ("password", "wrong password 123"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429 || **s == 503).count();
    assert_eq!(checked + refused, 50, "{statuses:?}");
    let limit = app.settings.throttle_per_address as usize;
    assert!(
        checked <= limit,
        "{checked} passwords checked from one address: {statuses:?}"
    );
    // Guessing on one at a time, exactly the limit's worth of passwords is ever checked…
    let mut more = 0;
    for i in 0.. {
        let c = client();
        let email = format!("later{i}@acme.example");
        match app.sign_in(&c, &email, "wrong password 123").await.0 {
            401 => more += 1,
            429 => break,
            other => panic!("answered {other}"),
        }
    }
    assert_eq!(checked + more, limit, "{statuses:?}");
    // …and then even the right password waits out the window.
    let c = client();
    assert_eq!(app.sign_in(&c, CUSTOMER_USER, PASSWORD).await.0, 429);
}

async fn guesses_at_the_current_password_are_throttled(app: TestApp) {
    let user = app.signed_in(CUSTOMER_USER).await;
    let guess = |current: &'static str| {
        [
            ("current_password", current),
            ("new_password", "Quartz-Lantern-Orbit-2091"),
            ("confirm_password", "Quartz-Lantern-Orbit-2091"),
        ]
    };
    let mut statuses = Vec::new();
    for _ in 0..app.settings.throttle_per_email + 2 {
        statuses.push(
            app.call(&user, "auth/change_password", &guess("not my password!"))
                .await
                .0,
        );
    }
    assert!(
        statuses[..app.settings.throttle_per_email as usize]
            .iter()
            .all(|s| *s == 422),
        "{statuses:?}"
    );
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    // Even the right one is refused until the window has passed.
    assert_eq!(
        app.call(&user, "auth/change_password", &guess(PASSWORD))
            .await
            .0,
        429
    );
}

async fn malformed_input_is_the_clients_error(app: TestApp) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    for page in ["abc", "99999999999999999999999", "-5"] {
        let (status, body) = app
            .call(
                &admin,
                "accounts/my_users",
                &[
                    ("search", ""),
                    ("status", ""),
                    ("sort", "name"),
                    ("page", page),
                ],
            )
            .await;
        assert!(
            (400..500).contains(&status) || status == 200,
            "page={page}: {status} {body}"
        );
        assert_ne!(status, 500);
    }
    let user = app.signed_in(CUSTOMER_USER).await;
    for page in ["abc", "99999999999999999999999", "9223372036854775807"] {
        let (status, body) = app
            .call(&user, "cases/list", &[("scope", "team"), ("page", page)])
            .await;
        assert!(
            status == 400 || status == 200,
            "page={page}: {status} {body}"
        );
        let res = user
            .get(app.url(&format!("/cases?page={page}")))
            .send()
            .await
            .unwrap();
        assert!(
            res.status().as_u16() < 500,
            "/cases?page={page}: {}",
            res.status()
        );
    }
    // Bytes that are not UTF-8.
    let res = user
        .post(app.url("/api/cases/list"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b's', b'c', b'o', b'p', b'e', b'=', 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    // A 3 MB body.
    let res = user
        .post(app.url("/api/cases/comment"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "number=CS0000001&body={}",
            "a".repeat(3 * 1024 * 1024)
        ))
        .send()
        .await;
    match res {
        Ok(res) => assert_eq!(res.status().as_u16(), 413),
        // The server answers 413 from the length alone and may close the connection before the
        // client has finished writing the body: the client then sees the write fail, never a 2xx.
        Err(e) => assert!(
            e.is_request() && format!("{e:?}").contains("BodyWrite"),
            "{e:?}"
        ),
    }
}

async fn invented_methods_do_not_grow_metrics(app: TestApp) {
    let c = client();
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        c.request(method, app.url("/")).send().await.unwrap();
    }
    let metrics = app.page_text(&c, "/metrics").await;
    assert!(!metrics.contains("INVENTED"), "{metrics}");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

/// A TCP relay to `target` that can be made to stop answering, as a database server that hangs
/// (or a network that drops everything) does: bytes are no longer passed either way.
async fn relay(target: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hang = down.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let (in_read, in_write) = inbound.into_split();
            let (out_read, out_write) = outbound.into_split();
            tokio::spawn(pump(in_read, out_write, hang.clone()));
            tokio::spawn(pump(out_read, in_write, hang.clone()));
        }
    });
    (addr, down)
}

/// Passes bytes from `from` to `to` until `hang` is set, then holds both ends open, silent.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    hang: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0
            || hang.load(std::sync::atomic::Ordering::SeqCst)
            || to.write_all(&buf[..n]).await.is_err()
        {
            break;
        }
    }
    std::future::pending::<()>().await;
}

/// PostgreSQL stops answering (SQLite, a file, cannot): readiness says so within its second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_within_a_second_when_postgres_stops_answering() {
    let Some((url, _)) = fresh_database(Engine::Postgres).await else {
        return;
    };
    // postgres://user@host:port/db?… → the host:port, relayed.
    let (head, rest) = url.split_once("://").unwrap();
    let (auth, after) = rest.rsplit_once('@').map_or(("", rest), |(a, b)| (a, b));
    let (server, path) = after.split_once('/').unwrap();
    let (relayed, down) = relay(server.to_string()).await;
    let at = if auth.is_empty() {
        String::new()
    } else {
        format!("{auth}@")
    };
    let app = spawn_on(
        &format!("{head}://{at}{relayed}/{path}"),
        app::server::Settings::default(),
    )
    .await;
    let c = client();
    let ready = |c: reqwest::Client, url: String| async move {
        c.get(url).send().await.unwrap().status().as_u16()
    };
    assert_eq!(ready(c.clone(), app.url("/readyz")).await, 200);
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    assert_eq!(ready(c.clone(), app.url("/readyz")).await, 503);
    // A correctness bound (the probe's one-second budget), not a speed measurement: without it
    // the probe waited on the hung connection for as long as the client would.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        ready(c, app.url("/healthz")).await,
        200,
        "the process itself still answers"
    );
}

async fn https_portals_send_hsts(app: TestApp) {
    let c = client();
    let res = c.get(app.url("/healthz")).send().await.unwrap();
    assert!(
        res.headers().get("strict-transport-security").is_none(),
        "not over plain HTTP"
    );
    let mut settings = app.settings.clone();
    settings.public_url = "https://support.example.com".into();
    let state = server::prepare_for_command(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    let res = c
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000; includeSubDomains"
    );
}

async fn the_import_form_is_only_for_platform_admins(app: TestApp) {
    let acme = app
        .scalar("SELECT account_id FROM users WHERE email = 'user@acme.example'")
        .await;
    let path = format!("/staff/accounts/{acme}/import");
    let res = client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert!(!res.text().await.unwrap().contains("Upload and check"));
    for who in [CUSTOMER_ADMIN, "agent@vendor.example"] {
        let c = app.signed_in(who).await;
        let res = c.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 403, "{who}");
        assert!(
            !res.text().await.unwrap().contains("Upload and check"),
            "{who}"
        );
    }
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    assert!(app
        .page_text(&staff, &path)
        .await
        .contains("Upload and check"));
}

async fn internal_categories_stay_hidden_from_readers(app: TestApp) {
    let staff = app.signed_in("agent@vendor.example").await;
    let (status, body) = app
        .call(
            &staff,
            "kb/category",
            &[
                ("name", "Escalation playbooks"),
                ("description", "Staff only"),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    let category = app
        .scalar("SELECT id FROM kb_categories WHERE name = 'Escalation playbooks'")
        .await;
    let (status, body) = app
        .call(
            &staff,
            "kb/save",
            &[
                ("title", "Paging the on-call engineer"),
                ("body", "Call the duty phone."),
                ("category_id", &category.to_string()),
                ("visibility", "internal"),
                ("intent", "publish"),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    assert!(app
        .page_text(&staff, "/kb")
        .await
        .contains("Escalation playbooks"));
    for reader in [client(), app.signed_in(CUSTOMER_USER).await] {
        assert!(!app
            .page_text(&reader, "/kb")
            .await
            .contains("Escalation playbooks"));
        let (_, home) = app.call(&reader, "kb/home", &[]).await;
        assert!(!home.to_string().contains("Escalation playbooks"), "{home}");
    }
}

async fn every_administrator_grant_has_its_own_entry(app: TestApp) {
    let grants = "SELECT COUNT(*) FROM audit_log WHERE action = 'administrator.granted'";
    let before = app.scalar(grants).await;
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let (status, body) = app
        .call(
            &admin,
            "users/invite",
            &[
                ("first_name", "Ada"),
                ("last_name", "Admin"),
                ("email", "ada.admin@acme.example"),
                ("administrator", "on"),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(app.scalar(grants).await, before + 1, "by invitation");
    let invited = id_of(&app, "ada.admin@acme.example").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'administrator.granted' AND target = 'user:{invited}' AND after_state LIKE '%invitation%'"
        ))
        .await,
        1
    );
    // Making a plain user a contact makes them an administrator: recorded as such too.
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let acme = app
        .scalar("SELECT account_id FROM users WHERE email = 'user@acme.example'")
        .await;
    let user = id_of(&app, CUSTOMER_USER).await;
    let (status, body) = app
        .call(
            &staff,
            "accounts/contact",
            &[
                ("account_id", acme.to_string().as_str()),
                ("role", "secondary"),
                ("user_id", user.as_str()),
                ("previous_stays_admin", "yes"),
                ("reason", "New secondary contact"),
            ],
        )
        .await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'administrator.granted' AND target = 'user:{user}' \
             AND reason = 'New secondary contact' AND after_state LIKE '%contact%'"
        ))
        .await,
        1
    );
}

async fn imports_and_mails_resume_within_a_minute_of_a_process_dying(app: TestApp) {
    // A mail claimed by a sender that then died: its lease runs out within a minute.
    let now = app::server::now();
    app.exec(&format!(
        "INSERT INTO mail_outbox (kind, to_address, to_name, subject, body, created_at, next_attempt_at, attempts, claimed_by, claimed_until) \
         VALUES ('test', 'someone@acme.example', 'Someone', 'Left behind', 'Body', {now}, {now}, 0, 'dead-sender', {})",
        now + server::mailer::LEASE_SECS
    ))
    .await;
    let mut settings = app.settings.clone();
    settings.mail_dir = app.mail_dir.path().display().to_string();
    let state = server::prepare_for_command(settings).await.unwrap();
    let sender = server::mailer::Sender::new(&state).unwrap();
    let left = "SELECT COUNT(*) FROM mail_outbox WHERE subject = 'Left behind' AND sent_at IS NULL";
    sender.deliver_due_at(|| now + 30).await.unwrap();
    assert_eq!(app.scalar(left).await, 1, "still leased to the dead sender");
    sender.deliver_due_at(|| now + 59).await.unwrap();
    assert_eq!(app.scalar(left).await, 0, "taken over within 60 s");
    assert!(server::mailer::LEASE_SECS < 60 && app::server::imports::LEASE_SECS < 60);
}

/// SQLite only: PostgreSQL keeps its files on its own server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_does_not_break_later_writes_on_sqlite() {
    // A small tmpfs the test fills up: the portal's database on a disk that runs out.
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("!!! SKIPPED a_full_disk_does_not_break_later_writes_on_sqlite: cannot mount a tmpfs here (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(dir.path().to_path_buf());
    let url = format!("sqlite://{}", dir.path().join("portal.db").display());
    let app = spawn_on(&url, app::server::Settings::default()).await;
    server::seed::seed_demo(&app.db, 0, 0).await.expect("seed");
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    let filler = dir.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let invite = |n: usize| {
        [
            ("first_name", "Disk".to_string()),
            ("last_name", format!("Full {n}")),
            ("email", format!("disk.full{n}@acme.example")),
        ]
    };
    // Writes fail while the disk is full (and as many as the pool has connections).
    for n in 0..8 {
        let form = invite(n);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _) = app.call(&admin, "users/invite", &form).await;
        assert!(status >= 400, "the disk is full: {status}");
    }
    std::fs::remove_file(&filler).unwrap();
    // Space again: the very next write works on every connection.
    for n in 10..20 {
        let form = invite(n);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = app.call(&admin, "users/invite", &form).await;
        assert!(
            status < 400,
            "write {n} after the disk was freed: {status} {body}"
        );
    }
}

async fn a_statement_running_past_its_timeout_is_stopped(engine: Engine) {
    let Some((url, _dir)) = fresh_database(engine).await else {
        return;
    };
    let db =
        app::server::db::Db::connect_with(&url, 1, Some(std::time::Duration::from_millis(500)))
            .await
            .unwrap();
    let long = match engine {
        // Counts to a billion: minutes of work.
        Engine::Sqlite => "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c",
        Engine::Postgres => "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT pg_sleep(60)) s",
    };
    let started = std::time::Instant::now();
    let result = app::server::db::on_db!(&db, |pool| sqlx::query_scalar::<_, i64>(long)
        .fetch_one(pool)
        .await);
    // Stopped for taking too long: the server is busy, not broken (503, not 500).
    assert_eq!(
        app::error::AppError::from(result.unwrap_err()),
        app::error::AppError::Busy
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // The one connection is fine for the next statement, and quick statements in a row are
    // never cut short however long they take together.
    for _ in 0..3 {
        let one: i64 =
            app::server::db::on_db!(&db, |pool| sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
                .fetch_one(pool)
                .await
                .unwrap());
        assert_eq!(one, 1);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// A write that finds another writer's lock held past the wait allowed fails as "busy" (503, try
/// again), not as an internal error; a write that breaks a constraint is still an internal error.
async fn a_lock_held_past_the_wait_is_busy_not_an_internal_error(engine: Engine) {
    use app::error::AppError;
    use app::server::db::{on_db, Db, Tx};
    let Some((url, _dir)) = fresh_database(engine).await else {
        return;
    };
    let holder = Db::connect(&url, 1).await.unwrap();
    on_db!(&holder, |pool| sqlx::query(
        "CREATE TABLE notes (id BIGINT PRIMARY KEY)"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
    let mut tx = holder.begin().await.unwrap();
    match &mut tx {
        Tx::Sqlite(t) => sqlx::query("INSERT INTO notes (id) VALUES (1)")
            .execute(&mut **t)
            .await
            .map(|_| ()),
        Tx::Postgres(t) => sqlx::query("INSERT INTO notes (id) VALUES (1)")
            .execute(&mut **t)
            .await
            .and(
                sqlx::query("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut **t)
                    .await,
            )
            .map(|_| ()),
    }
    .unwrap();
    // Another connection that waits a tenth of a second for a lock.
    let refused = match engine {
        Engine::Sqlite => {
            use sqlx::sqlite::SqliteConnectOptions;
            use sqlx::ConnectOptions;
            use std::str::FromStr;
            let mut conn = SqliteConnectOptions::from_str(&url)
                .unwrap()
                .busy_timeout(std::time::Duration::from_millis(100))
                .connect()
                .await
                .unwrap();
            sqlx::query("INSERT INTO notes (id) VALUES (2)")
                .execute(&mut conn)
                .await
                .map(|_| ())
        }
        Engine::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("SET lock_timeout = '100ms'")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("INSERT INTO notes (id) VALUES (2)")
                .execute(&mut conn)
                .await
                .map(|_| ())
        }
    };
    assert_eq!(AppError::from(refused.unwrap_err()), AppError::Busy);
    tx.commit().await.unwrap();
    let duplicate = on_db!(&holder, |pool| sqlx::query(
        "INSERT INTO notes (id) VALUES (1)"
    )
    .execute(pool)
    .await
    .map(|_| ()));
    assert_eq!(AppError::from(duplicate.unwrap_err()), AppError::Internal);
    holder.close().await;
}

async fn a_request_waiting_too_long_is_answered_503(engine: Engine) {
    let Some(app) = spawn_with(engine, |s| s.request_timeout_seconds = 1).await else {
        return;
    };
    // Another process holds the table a sign-in writes to.
    let (url, _) = (app.settings.database_url.expose().to_string(), ());
    let other = app::server::db::Db::connect(&url, 1).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    match &mut tx {
        app::server::db::Tx::Sqlite(t) => {
            sqlx::query(
                "INSERT INTO sign_in_failures (email, client_addr, at) VALUES ('x', 'y', 0)",
            )
            .execute(&mut **t)
            .await
            .unwrap();
        }
        app::server::db::Tx::Postgres(t) => {
            sqlx::query("LOCK TABLE sign_in_failures IN ACCESS EXCLUSIVE MODE")
                .execute(&mut **t)
                .await
                .unwrap();
        }
    }
    let c = client();
    let (status, _) = app.sign_in(&c, CUSTOMER_USER, PASSWORD).await;
    assert_eq!(status, 503);
    drop(tx);
    other.close().await;
    let (status, body) = app.sign_in(&c, CUSTOMER_USER, PASSWORD).await;
    assert!(status < 400, "{status} {body}");
}

async fn a_signed_anchor_finds_a_recomputed_chain(app: TestApp) {
    let admin = app.signed_in(CUSTOMER_ADMIN).await;
    for n in 0..3 {
        let email = format!("anchored{n}@acme.example");
        let (status, body) = app
            .call(
                &admin,
                "users/invite",
                &[
                    ("first_name", "An"),
                    ("last_name", "Chor"),
                    ("email", email.as_str()),
                ],
            )
            .await;
        assert!(status < 400, "{status} {body}");
    }
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("anchor.key");
    let public = server::anchor::generate_key_file(&key_file).unwrap();
    assert!(
        server::anchor::generate_key_file(&key_file).is_err(),
        "never overwritten"
    );
    let mut settings = app.settings.clone();
    settings.audit_anchor_key_file = key_file.display().to_string();
    let key = server::anchor::signing_key(&settings).unwrap();
    assert_eq!(key.verifying_key(), public);
    let anchor = server::anchor::make(&app.db, &key, app::server::now())
        .await
        .unwrap();
    let path = server::anchor::write(dir.path(), &anchor).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        server::anchor::check(&app.db, &text, &public)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    // A forged anchor, or one signed by another key, is no evidence.
    let forged = text.replacen("\"seq\": ", "\"seq\": 1", 1);
    assert!(server::anchor::check(&app.db, &forged, &public)
        .await
        .is_err());
    let stranger = server::anchor::generate_key_file(&dir.path().join("other.key")).unwrap();
    assert!(server::anchor::check(&app.db, &text, &stranger)
        .await
        .is_err());
    // Later entries are fine: the anchor covers what existed when it was signed.
    app.call(
        &admin,
        "users/invite",
        &[
            ("first_name", "La"),
            ("last_name", "Ter"),
            ("email", "later@acme.example"),
        ],
    )
    .await;
    assert!(server::anchor::check(&app.db, &text, &public)
        .await
        .unwrap()
        .is_empty());
    // An insider rewrites an early entry and recomputes every hash and the head: the chain
    // verifies again, but no longer matches the anchor.
    let chain = app
        .text("SELECT chain_key FROM audit_log WHERE action = 'user.invited' ORDER BY id LIMIT 1")
        .await;
    rewrite_chain(&app, &chain).await;
    let report = app::server::audit::verify(&app.db).await.unwrap();
    assert!(
        report.breaks.is_empty(),
        "the rewrite is self-consistent: {:?}",
        report.breaks
    );
    let findings = server::anchor::check(&app.db, &text, &public)
        .await
        .unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("rewritten"), "{findings:?}");
}

/// What an insider with write access could do: change the first entry of `chain`, then recompute
/// every hash after it and the head, with the triggers that refuse edits dropped and restored.
async fn rewrite_chain(app: &TestApp, chain: &str) {
    use app::server::audit::Entry;
    let triggers_off = match app.db {
        app::server::db::Db::Sqlite(_) => vec![
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        app::server::db::Db::Postgres(_) => {
            vec!["ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete"]
        }
    };
    for sql in triggers_off {
        app.exec(sql).await;
    }
    let entries: Vec<Entry> = app::server::db::on_db!(&app.db, |pool| {
        sqlx::query_as(
        "SELECT id, chain_key, seq, at, actor_id, impersonator_id, account_id, action, target, reason, \
         reference, before_state, after_state, client_addr, prev_hash, hash, hash_version \
         FROM audit_log WHERE chain_key = $1 ORDER BY seq"
    )
    .bind(chain)
    .fetch_all(pool)
    .await
    .unwrap()
    });
    let mut prev = app::server::audit::GENESIS.to_string();
    for (i, mut e) in entries.into_iter().enumerate() {
        if i == 0 {
            e.client_addr = Some("203.0.113.66".into());
        }
        e.prev_hash = prev.clone();
        e.hash = e.compute_hash();
        app::server::db::on_db!(&app.db, |pool| sqlx::query(
            "UPDATE audit_log SET client_addr = $1, prev_hash = $2, hash = $3 WHERE id = $4"
        )
        .bind(&e.client_addr)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .bind(e.id)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        prev = e.hash.clone();
    }
    app::server::db::on_db!(&app.db, |pool| sqlx::query(
        "UPDATE audit_chain_heads SET hash = $1 WHERE chain_key = $2"
    )
    .bind(&prev)
    .bind(chain)
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
}

async fn a_reset_request_takes_as_long_for_a_known_address_as_for_an_unknown_one(app: TestApp) {
    let mails = "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'reset'";
    for (email, mailed) in [
        ("nobody.here@acme.example", 0),
        (CUSTOMER_USER, 1),
        ("also.nobody@globex.example", 1),
    ] {
        let started = std::time::Instant::now();
        let (status, body) = app
            .call(&client(), "auth/request_reset", &[("email", email)])
            .await;
        let took = started.elapsed();
        assert!(status < 400, "{status} {body}");
        // Every answer waits out the same fixed time, whatever work the address caused.
        assert!(
            took >= std::time::Duration::from_millis(400),
            "{email}: answered after {took:?}"
        );
        assert_eq!(app.scalar(mails).await, mailed, "{email}");
    }
}

async fn signing_in_over_an_impersonation_is_refused_until_it_is_stopped(app: TestApp) {
    let staff = impersonating(&app).await;
    // Ending an impersonation is a recorded step of its own: a sign-in does not replace it.
    let (status, body) = app.sign_in(&staff, CUSTOMER_USER, PASSWORD).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(app.me(&staff).await.as_deref(), Some(CUSTOMER_ADMIN));
    app.call(&staff, "staff/stop_impersonating", &[]).await;
    let (status, body) = app.sign_in(&staff, CUSTOMER_USER, PASSWORD).await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(app.me(&staff).await.as_deref(), Some(CUSTOMER_USER));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'impersonation.stopped'")
            .await,
        1
    );
}

both_engines!(
    signing_in_over_an_impersonation_is_refused_until_it_is_stopped,
    a_reset_request_takes_as_long_for_a_known_address_as_for_an_unknown_one,
    a_signed_anchor_finds_a_recomputed_chain,
    impersonation_is_view_only_on_every_changing_endpoint,
    impersonation_keeps_the_sessions_lifetime_and_ends_with_its_admin,
    written_text_never_becomes_markup,
    activity_lines_show_plain_values_as_typed,
    exports_start_only_from_a_deliberate_post,
    a_long_trail_exports_whole_in_keyset_batches,
    a_kb_view_counts_once_per_reader_per_day,
    concurrent_bad_sign_ins_stop_at_the_limit,
    guesses_at_the_current_password_are_throttled,
    malformed_input_is_the_clients_error,
    invented_methods_do_not_grow_metrics,
    https_portals_send_hsts,
    the_import_form_is_only_for_platform_admins,
    internal_categories_stay_hidden_from_readers,
    every_administrator_grant_has_its_own_entry,
    imports_and_mails_resume_within_a_minute_of_a_process_dying
);
both_engines!(engine: a_statement_running_past_its_timeout_is_stopped, a_lock_held_past_the_wait_is_busy_not_an_internal_error, a_request_waiting_too_long_is_answered_503, concurrent_pages_and_files_keep_their_own_headers);
