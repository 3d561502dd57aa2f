//! Bulk creation (SPEC §3.3): the preview, who may import, idempotent re-runs, resuming after a
//! process stopped part-way, and a 10,000-row file.

use crate::both_engines;
use crate::helpers::*;
use std::fmt::Write;

const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

/// Uploads `csv` for account `account_id`; answers the status and the Location of the answer.
async fn upload(app: &TestApp, c: &reqwest::Client, account_id: i64, csv: String) -> (u16, String) {
    let part = reqwest::multipart::Part::text(csv)
        .file_name("people.csv")
        .mime_str("text/csv")
        .unwrap();
    let res = c
        .post(app.url(&format!("/staff/accounts/{account_id}/import")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (res.status().as_u16(), location)
}

fn import_id(location: &str) -> i64 {
    location
        .strip_prefix("/staff/imports/")
        .unwrap_or_else(|| panic!("not a preview: {location}"))
        .parse()
        .unwrap()
}

async fn acme(app: &TestApp) -> i64 {
    app.scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
}

const MIXED: &str = "first_name,last_name,email,administrator\n\
    Bea,Archer,bea.archer@acme.example,yes\n\
    Cal,Barker,cal.barker@acme.example,\n\
    Dot,Carver,dot.carver@acme.example,no\n\
    Bea,Again,BEA.ARCHER@acme.example,\n\
    Uma,Brandt,user@acme.example,\n\
    ,Nameless,nameless@acme.example,\n\
    Eli,Broken,eli-at-acme,\n";

async fn only_platform_admins_import_and_nothing_is_created_before_confirmation(app: TestApp) {
    let acme = acme(&app).await;
    assert_eq!(upload(&app, &client(), acme, MIXED.into()).await.0, 401);
    for who in [
        "user@acme.example",
        "admin@acme.example",
        "agent@vendor.example",
    ] {
        let c = app.signed_in(who).await;
        assert_eq!(upload(&app, &c, acme, MIXED.into()).await.0, 403, "{who}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM imports").await, 0);
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let (status, location) = upload(&app, &staff, acme, MIXED.into()).await;
    assert_eq!(status, 303);
    let id = import_id(&location).to_string();
    for who in ["admin@acme.example", "agent@vendor.example"] {
        let c = app.signed_in(who).await;
        assert_eq!(
            app.call(&c, "imports/get", &[("import_id", &id)]).await.0,
            403,
            "{who}"
        );
        assert_eq!(
            app.call(
                &c,
                "imports/decide",
                &[("import_id", &id), ("decision", "confirm"), ("reason", "x")]
            )
            .await
            .0,
            403,
            "{who}"
        );
    }
    let (status, view) = app.call(&staff, "imports/get", &[("import_id", &id)]).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (
            view["to_create"].as_i64(),
            view["existing"].as_i64(),
            view["invalid"].as_i64()
        ),
        (Some(3), Some(1), Some(3)),
        "{view}"
    );
    let rows = view["rows"]["rows"].as_array().unwrap();
    let reason_of = |email: &str| {
        rows.iter()
            .find(|r| r["email"].as_str().unwrap().eq_ignore_ascii_case(email))
            .map(|r| {
                (
                    r["outcome"].as_str().unwrap().to_string(),
                    r["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .unwrap()
    };
    assert_eq!(reason_of("user@acme.example").0, "exists");
    assert!(reason_of("nameless@acme.example").1.contains("first name"));
    assert!(reason_of("eli-at-acme").1.contains("format"));
    let page = app.page_text(&staff, &location).await;
    assert!(
        page.contains("Create 3 users") && page.contains("Repeats the email address of line 2"),
        "{page}"
    );
    // The preview created nobody.
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE email LIKE '%.archer@%' OR email LIKE 'cal.%'"
        )
        .await,
        0
    );
    // Confirming needs a reason.
    app.expect(
        &staff,
        "imports/decide",
        &[("import_id", &id), ("decision", "confirm")],
        422,
    )
    .await;
    app.expect(
        &staff,
        "imports/decide",
        &[
            ("import_id", &id),
            ("decision", "confirm"),
            ("reason", "List sent by the customer"),
            ("reference", "CS0000777"),
        ],
        200,
    )
    .await;
    app.wait_until(
        &format!("SELECT COUNT(*) FROM imports WHERE id = {id} AND status = 'done'"),
        1,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE email IN ('bea.archer@acme.example', 'cal.barker@acme.example', 'dot.carver@acme.example') AND status = 'invited'").await,
        3
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM users WHERE email = 'bea.archer@acme.example' AND is_admin"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.invited' AND reference = 'CS0000777'").await,
        3
    );
    app.wait_for_mail("cal.barker@acme.example", "invited")
        .await;
    // Confirming twice is refused.
    app.expect(
        &staff,
        "imports/decide",
        &[
            ("import_id", &id),
            ("decision", "confirm"),
            ("reason", "again"),
        ],
        409,
    )
    .await;

    // The same file again: nothing left to create.
    let (_, location) = upload(&app, &staff, acme, MIXED.into()).await;
    let again = import_id(&location).to_string();
    let (_, view) = app
        .call(&staff, "imports/get", &[("import_id", &again)])
        .await;
    assert_eq!(view["to_create"], 0, "{view}");
    assert_eq!(view["existing"], 4, "{view}");

    // A file that is not CSV text gets an answer next to the file field.
    let (status, location) =
        upload(&app, &staff, acme, "name,email\nx,y@acme.example\n".into()).await;
    assert_eq!(status, 303);
    assert!(
        location.contains("/import?error=") && location.contains("first_name"),
        "{location}"
    );
}

fn many(count: usize, domain: &str) -> String {
    let mut csv = String::from("first_name,last_name,email\n");
    for i in 0..count {
        writeln!(csv, "Person,Number {i:05},person{i:05}@{domain}").unwrap();
    }
    csv
}

async fn a_stopped_import_leaves_whole_users_and_a_rerun_completes_it(app: TestApp) {
    let acme = acme(&app).await;
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let (_, location) = upload(&app, &staff, acme, many(450, "acme.example")).await;
    let id = import_id(&location);
    // Confirmed by hand and held by a "crashed" process whose lease runs far into the future, so
    // the portal's own worker leaves it alone while this test plays that process.
    let real_now = app.scalar("SELECT MAX(created_at) FROM imports").await;
    app.exec(&format!(
        "UPDATE imports SET status = 'queued', confirmed_by = (SELECT id FROM users WHERE email = '{PLATFORM_ADMIN}'), \
         reason = 'Resume test', claimed_by = 'crashed', claimed_until = {} WHERE id = {id}",
        real_now + 1_000_000
    ))
    .await;
    let mut settings = app.settings.clone();
    settings.mail_dir = app.mail_dir.path().display().to_string();
    let state = server::prepare_for_command(settings).await.unwrap();
    // The process runs one chunk and is "killed" before the next.
    let created = app::server::imports::work(&state, "first", Some(1), || real_now + 2_000_000)
        .await
        .unwrap();
    assert_eq!(created, 200);
    let invited = "SELECT COUNT(*) FROM users WHERE email LIKE 'person%@acme.example'";
    assert_eq!(app.scalar(invited).await, 200);
    // Every user created so far is whole: invitation link, mail and audit entry with it.
    let whole = "SELECT COUNT(*) FROM users u WHERE u.email LIKE 'person%@acme.example' \
         AND EXISTS (SELECT 1 FROM user_tokens t WHERE t.user_id = u.id) \
         AND EXISTS (SELECT 1 FROM mail_outbox m WHERE m.to_address = u.email) \
         AND EXISTS (SELECT 1 FROM audit_log a WHERE a.target = 'user:' || u.id AND a.action = 'user.invited')";
    assert_eq!(app.scalar(whole).await, 200);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM import_rows WHERE import_id = {id} AND done_at IS NOT NULL"
        ))
        .await,
        200
    );
    // After its lease has run out, another process takes over and completes the rest.
    let created = app::server::imports::work(&state, "second", None, || real_now + 4_000_000)
        .await
        .unwrap();
    assert_eq!(created, 250);
    assert_eq!(app.scalar(invited).await, 450);
    assert_eq!(app.scalar(whole).await, 450);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM imports WHERE id = {id} AND status = 'done'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'bulk_import.completed'")
            .await,
        1
    );
}

async fn ten_thousand_rows_are_previewed_and_created(app: TestApp) {
    let globex = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'GLOBEX'")
        .await;
    let staff = app.signed_in(PLATFORM_ADMIN).await;
    let (status, location) = upload(&app, &staff, globex, many(10_000, "globex.example")).await;
    assert_eq!(status, 303, "{location}");
    let id = import_id(&location).to_string();
    let (_, view) = app
        .call(
            &staff,
            "imports/get",
            &[("import_id", &id), ("outcome", "create"), ("page", "200")],
        )
        .await;
    assert_eq!(view["to_create"], 10_000);
    assert_eq!(
        view["rows"]["rows"].as_array().unwrap().len(),
        50,
        "the last page of 200"
    );
    app.expect(
        &staff,
        "imports/decide",
        &[
            ("import_id", &id),
            ("decision", "confirm"),
            ("reason", "Large customer list"),
        ],
        200,
    )
    .await;
    // Wait while the import makes progress: on a loaded machine 10,000 users take a while, but a
    // worker that stops creating users for a minute has failed.
    let created = "SELECT COUNT(*) FROM users WHERE email LIKE 'person%@globex.example' AND status = 'invited'";
    let (mut last, mut idle) = (-1, 0);
    while idle < 60 {
        let done = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM imports WHERE id = {id} AND status = 'done'"
            ))
            .await;
        if done == 1 {
            break;
        }
        let now = app.scalar(created).await;
        (last, idle) = if now > last {
            (now, 0)
        } else {
            (last, idle + 1)
        };
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert_eq!(app.scalar(created).await, 10_000);
}

both_engines!(
    only_platform_admins_import_and_nothing_is_created_before_confirmation,
    a_stopped_import_leaves_whole_users_and_a_rerun_completes_it
);

// 10,000 rows take longer than the per-test limit of the other tests allows on a loaded machine.
mod ten_thousand_rows_are_previewed_and_created {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        if let Some(app) = crate::helpers::spawn(crate::helpers::Engine::Sqlite).await {
            super::ten_thousand_rows_are_previewed_and_created(app).await
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = crate::helpers::spawn(crate::helpers::Engine::Postgres).await {
            super::ten_thousand_rows_are_previewed_and_created(app).await
        }
    }
}
