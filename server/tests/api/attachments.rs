//! Attachments: who may upload, see, download and remove a file; types from the content; the
//! limits; removal's evidence; bytes stored once and deleted when nothing refers to them.

use crate::both_engines;
use crate::helpers::*;
use crate::mail::free_port;
use serde_json::Value;
use std::process::{Child, Command, Stdio};

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM: &str = "platform.admin@vendor.example";

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

fn multipart(files: &[(&str, &[u8])]) -> reqwest::multipart::Form {
    files
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, (name, bytes)| {
            form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
            )
        })
}

/// Uploads `files` ahead of a form; the status and the answer.
async fn stage(app: &TestApp, client: &reqwest::Client, files: &[(&str, &[u8])]) -> (u16, Value) {
    let res = client
        .post(app.url("/attachments"))
        .multipart(multipart(files))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Uploads one file ahead of a form and answers its token.
async fn staged(app: &TestApp, client: &reqwest::Client, name: &str, bytes: &[u8]) -> String {
    let (status, body) = stage(app, client, &[(name, bytes)]).await;
    assert_eq!(status, 201, "{body}");
    body["files"][0]["token"].as_str().unwrap().to_string()
}

/// Adds `files` to case `number` through the case page's form.
async fn attach(
    app: &TestApp,
    client: &reqwest::Client,
    number: &str,
    files: &[(&str, &[u8])],
    internal: bool,
) -> reqwest::Response {
    let mut form = multipart(files);
    if internal {
        form = form.text("internal", "on");
    }
    client
        .post(app.url(&format!("/cases/{number}/attachments")))
        .multipart(form)
        .send()
        .await
        .expect("request")
}

/// Opens a case as the ACME user with staged files `tokens`; answers its number.
async fn open_case_with(app: &TestApp, user: &reqwest::Client, tokens: &[String]) -> String {
    let mut f = crate::cases::form(app, ACME_USER).await;
    f.set("subject", "Pipeline stalls after upgrade");
    f.set("attachments", tokens.join(" "));
    let body = app.expect(user, "cases/create", &f.fields(), 200).await;
    body.as_str().expect("a case number").to_string()
}

async fn case_files(app: &TestApp, client: &reqwest::Client, number: &str) -> Vec<Value> {
    let body = app
        .expect(client, "cases/get", &[("number", number)], 200)
        .await;
    body["attachments"].as_array().cloned().unwrap_or_default()
}

/// The file called `name` among `files` (as the case JSON lists them).
fn named(files: &[Value], name: &str) -> Value {
    files
        .iter()
        .find(|f| f["file_name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no file {name} in {files:?}"))
}

async fn download(client: &reqwest::Client, app: &TestApp, href: &str) -> reqwest::Response {
    client.get(app.url(href)).send().await.expect("request")
}

async fn a_customers_files_reach_their_account_and_staff_only(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let log = b"2026-12-06 ERROR pipeline stalled at stage 3\n".repeat(100);
    let token = staged(&app, &user, "../../etc/pipeline.log", &log).await;
    // A staged file is its uploader's alone.
    let href = format!("/attachments/{token}");
    assert_eq!(download(&user, &app, &href).await.status(), 200);
    let admin = app.signed_in(ACME_ADMIN).await;
    assert_eq!(download(&admin, &app, &href).await.status(), 404);
    // Nor can another person attach it to their own form.
    let mut f = crate::cases::form(&app, ACME_ADMIN).await;
    f.set("attachments", token.clone());
    let body = app.expect(&admin, "cases/create", &f.fields(), 422).await;
    assert_eq!(invalid_fields(&body), ["attachments"]);

    let number = open_case_with(&app, &user, &[token.clone()]).await;
    let files = case_files(&app, &user, &number).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["file_name"], "pipeline.log", "never a path");
    assert_eq!(files[0]["content_type"], "text/plain");
    assert_eq!(files[0]["entry_id"], Value::Null, "with the case itself");
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(page.contains("pipeline.log"), "listed on the case page");

    let globex = app.signed_in(GLOBEX_USER).await;
    let agent = app.signed_in(AGENT).await;
    let platform = app.signed_in(PLATFORM).await;
    for (who, client, status) in [
        ("the uploader", &user, 200),
        ("an administrator of the account", &admin, 200),
        ("an agent", &agent, 200),
        ("a platform administrator", &platform, 200),
        ("another account's user", &globex, 404),
        ("an anonymous visitor", &client(), 401),
    ] {
        let res = download(client, &app, &format!("{href}/pipeline.log")).await;
        assert_eq!(res.status().as_u16(), status, "{who}");
        if status == 200 {
            let h = res.headers();
            assert_eq!(h["content-type"], "application/octet-stream");
            let disposition = h["content-disposition"].to_str().unwrap();
            assert!(
                disposition.starts_with("attachment; filename=\"pipeline.log\""),
                "{disposition}"
            );
            assert_eq!(h["x-content-type-options"], "nosniff");
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("sandbox") && csp.contains("default-src 'none'"),
                "{csp}"
            );
            assert_eq!(res.bytes().await.unwrap().as_ref(), log.as_slice(), "{who}");
        } else {
            let text = res.text().await.unwrap();
            assert!(!text.contains("pipeline stalled"), "{who}: {text}");
        }
    }
    // A broken download resumes: one range, answered 206 with its place in the file.
    let part = user
        .get(app.url(&href))
        .header("range", "bytes=11-17")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 11-17/{}", log.len())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &log[11..18]);
    let beyond = user
        .get(app.url(&href))
        .header("range", "bytes=999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);
    // Another account's user cannot list it either, nor reach the case.
    app.expect(&globex, "cases/get", &[("number", number.as_str())], 404)
        .await;

    // The contact's mail counts the files and carries none.
    let mail = app.wait_for_mail(ACME_USER, &number).await;
    assert!(mail.body.contains("1 file was attached"), "{}", mail.body);
    assert!(!mail.body.contains("pipeline stalled"));

    // The upload is evidence.
    let audited = app
        .text("SELECT after_state FROM audit_log WHERE action = 'attachment.added'")
        .await;
    assert!(audited.contains("pipeline.log"), "{audited}");
}

async fn a_work_notes_files_never_reach_the_customer(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let number = open_case_with(&app, &user, &[]).await;
    let agent = app.signed_in(AGENT).await;
    let token = staged(
        &app,
        &agent,
        "customer-db-dump.sql",
        b"INSERT INTO secrets VALUES (1);",
    )
    .await;
    app.expect(
        &agent,
        "cases/note",
        &[
            ("number", &number),
            ("body", "Found it in the dump"),
            ("internal", "on"),
            ("attachments", &token),
        ],
        200,
    )
    .await;
    // A staff-only file added from the case page.
    let res = attach(
        &app,
        &agent,
        &number,
        &[("vendor-trace.txt", b"internal trace")],
        true,
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);

    let staff_view = case_files(&app, &agent, &number).await;
    assert_eq!(staff_view.len(), 2, "{staff_view:?}");
    assert!(staff_view.iter().all(|f| f["internal"] == true));
    let customer_view = app
        .expect(&user, "cases/get", &[("number", number.as_str())], 200)
        .await
        .to_string();
    assert!(
        !customer_view.contains("customer-db-dump.sql"),
        "{customer_view}"
    );
    assert!(!customer_view.contains("vendor-trace.txt"));
    assert!(!customer_view.contains(&token));
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(!page.contains("customer-db-dump.sql") && !page.contains("vendor-trace.txt"));
    assert!(!page.contains(&token));
    let admin = app.signed_in(ACME_ADMIN).await;
    for client in [&user, &admin] {
        let res = download(client, &app, &format!("/attachments/{token}")).await;
        assert_eq!(res.status(), 404);
    }
    assert_eq!(
        download(&agent, &app, &format!("/attachments/{token}"))
            .await
            .status(),
        200
    );
    // No mail to the customer mentions it.
    assert!(app
        .mails()
        .iter()
        .all(|m| !m.body.contains("customer-db-dump")));

    // A customer cannot mark a file staff only.
    let res = attach(&app, &user, &number, &[("mine.txt", b"mine")], true).await;
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attachments WHERE file_name = 'mine.txt'")
            .await,
        0
    );
}

async fn the_type_comes_from_the_content_and_only_images_show_inline(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let number = open_case_with(&app, &user, &[]).await;
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let res = attach(
        &app,
        &user,
        &number,
        &[
            ("setup.exe", PNG),
            ("screenshot.png", html),
            ("diagram.svg", svg),
        ],
        false,
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], format!("/cases/{number}#files"));
    let files = case_files(&app, &user, &number).await;
    let by_name = |name: &str| named(&files, name);
    assert_eq!(by_name("setup.exe")["content_type"], "image/png");
    assert_ne!(by_name("screenshot.png")["content_type"], "image/png");

    let png = download(
        &user,
        &app,
        &format!(
            "/attachments/{}",
            by_name("setup.exe")["token"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    for name in ["screenshot.png", "diagram.svg"] {
        let res = download(
            &user,
            &app,
            &format!("/attachments/{}", by_name(name)["token"].as_str().unwrap()),
        )
        .await;
        assert_eq!(
            res.headers()["content-type"],
            "application/octet-stream",
            "{name}"
        );
        let disposition = res.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment"),
            "{name}: {disposition}"
        );
        assert!(res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox"));
    }
    // The activity says who attached what.
    let body = app
        .expect(&user, "cases/get", &[("number", number.as_str())], 200)
        .await;
    let activity = body["entries"].to_string();
    assert!(activity.contains("Attached 3 files"), "{activity}");
}

async fn limits_refuse_a_file_and_change_nothing(engine: Engine) {
    let Some(app) = spawn_with(engine, |s| {
        s.attachment_max_file_mb = 1;
        s.attachment_max_case_mb = 2;
    })
    .await
    else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let number = open_case_with(&app, &user, &[]).await;
    let mb = 1024 * 1024;
    let big = vec![b'x'; mb + 1];
    let (status, body) = stage(&app, &user, &[("big.log", &big)]).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("1.0 MB"), "{body}");
    let (status, body) = stage(&app, &user, &[("empty.log", b"")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("empty.log is empty"),
        "{body}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attachments").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM blobs").await, 0);

    // The case's own limit: two files of 0.9 MB fit, a third does not.
    let part = vec![b'y'; mb * 9 / 10];
    let res = attach(&app, &user, &number, &[("one.log", &part)], false).await;
    assert_eq!(res.status().as_u16(), 303);
    let mut other = part.clone();
    other[0] = b'z';
    let res = attach(&app, &user, &number, &[("two.log", &other)], false).await;
    assert_eq!(res.status().as_u16(), 303);
    let mut third = part.clone();
    third[0] = b'w';
    let res = attach(&app, &user, &number, &[("three.log", &third)], false).await;
    assert_eq!(res.status().as_u16(), 303, "back to the case");
    assert_eq!(res.headers()["location"], format!("/cases/{number}"));
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(page.contains("There is a problem"), "the refusal is shown");
    assert!(page.contains("of room left for files"), "{page}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attachments").await, 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM blobs").await, 2);
    // Asked for JSON, the same refusal is a 413.
    let res = user
        .post(app.url(&format!("/cases/{number}/attachments")))
        .header("accept", "application/json")
        .multipart(multipart(&[("three.log", &third)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    // Staged files go over the case's limit when claimed: refused, and the form changes nothing.
    let token = staged(&app, &user, "three.log", &third).await;
    let (status, body) = app
        .call(
            &user,
            "cases/comment",
            &[
                ("number", &number),
                ("body", "And the third"),
                ("attachments", &token),
            ],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(invalid_fields(&body), ["attachments"]);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM case_entries WHERE body = 'And the third'")
            .await,
        0
    );
    // What waits for a form is limited too: a case's worth per person.
    let mut fourth = part.clone();
    fourth[0] = b'v';
    staged(&app, &user, "four.log", &fourth).await;
    let mut fifth = part.clone();
    fifth[0] = b'u';
    let (status, body) = stage(&app, &user, &[("five.log", &fifth)]).await;
    assert_eq!(status, 413, "{body}");
    let staged_rows = "SELECT COUNT(*) FROM attachments WHERE case_id IS NULL";
    assert_eq!(app.scalar(staged_rows).await, 2);
}

async fn removal_leaves_evidence_and_frees_bytes_nothing_uses(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let number = open_case_with(&app, &user, &[]).await;
    let same = b"the same log twice".as_slice();
    attach(
        &app,
        &user,
        &number,
        &[("first.log", same), ("second.log", same)],
        false,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM blobs").await,
        1,
        "stored once"
    );
    let files = case_files(&app, &user, &number).await;
    let token = |i: usize| files[i]["token"].as_str().unwrap().to_string();
    assert!(files.iter().all(|f| f["removable"] == true));

    // Another account's user and the uploader's colleague may not remove it.
    let (globex, admin) = (
        app.signed_in(GLOBEX_USER).await,
        app.signed_in(ACME_ADMIN).await,
    );
    app.expect_each(
        "attachments/remove",
        &[("token", &token(0))],
        &[(&globex, 404), (&admin, 403), (&client(), 401)],
    )
    .await;

    app.expect(&user, "attachments/remove", &[("token", &token(0))], 200)
        .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM blobs").await,
        1,
        "still used by the second"
    );
    let activity = app
        .expect(&user, "cases/get", &[("number", number.as_str())], 200)
        .await["entries"]
        .to_string();
    assert!(
        activity.contains("Removed the file first.log"),
        "{activity}"
    );

    // Once staff replied, the customer's upload stays; staff remove it with a reason.
    let agent = app.signed_in(AGENT).await;
    app.expect(
        &agent,
        "cases/note",
        &[("number", &number), ("body", "Looking at it")],
        200,
    )
    .await;
    let files = case_files(&app, &user, &number).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["removable"], false);
    let second = files[0]["token"].as_str().unwrap().to_string();
    app.expect(&user, "attachments/remove", &[("token", &second)], 403)
        .await;
    let body = app
        .expect(&agent, "attachments/remove", &[("token", &second)], 422)
        .await;
    assert_eq!(invalid_fields(&body), ["reason"]);
    app.expect(
        &agent,
        "attachments/remove",
        &[
            ("token", &second),
            ("reason", "It held a customer's password"),
        ],
        200,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM blobs").await,
        0,
        "nothing refers to the bytes"
    );
    let dir = app.files_dir.as_ref().unwrap().path().join("blobs");
    let left = walk(&dir);
    assert!(left.is_empty(), "bytes deleted: {left:?}");
    assert_eq!(
        download(&user, &app, &format!("/attachments/{second}"))
            .await
            .status(),
        404
    );
    let removed = app
        .text("SELECT reason FROM audit_log WHERE action = 'attachment.removed' ORDER BY id DESC LIMIT 1")
        .await;
    assert_eq!(removed, "It held a customer's password");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'attachment.removed'")
            .await,
        2
    );
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

async fn a_broken_off_upload_leaves_no_row_and_no_bytes(app: TestApp) {
    let cookie = app.session_cookie(&client(), ACME_USER).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let boundary = "XyZzyBoundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.log\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    );
    {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "POST /attachments HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 50000000\r\n\r\n{head}"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        stream
            .write_all(&vec![b'a'; 3 * 1024 * 1024])
            .await
            .unwrap();
        stream.flush().await.unwrap();
        // The client is killed mid-upload.
    }
    let staging = app.files_dir.as_ref().unwrap().path().join("staging");
    for _ in 0..100 {
        if walk(&staging).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(walk(&staging).is_empty(), "the partial upload was dropped");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attachments").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM blobs").await, 0);
}

async fn closed_cases_and_strangers_cannot_add_files(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let number = open_case_with(&app, &user, &[]).await;
    let globex = app.signed_in(GLOBEX_USER).await;
    let res = attach(&app, &globex, &number, &[("x.log", b"x")], false).await;
    assert_eq!(res.status().as_u16(), 404);
    let res = attach(&app, &client(), &number, &[("x.log", b"x")], false).await;
    assert_eq!(res.status().as_u16(), 401);
    let (status, _) = stage(&app, &client(), &[("x.log", b"x")]).await;
    assert_eq!(status, 401);
    app.exec(&format!(
        "UPDATE cases SET state = 'closed' WHERE number = '{number}'"
    ))
    .await;
    let res = attach(&app, &user, &number, &[("late.log", b"late")], false).await;
    assert_eq!(res.status().as_u16(), 303);
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(page.contains("This case is closed"), "told why");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attachments").await, 0);
    assert!(walk(&app.files_dir.as_ref().unwrap().path().join("staging")).is_empty());
}

/// The EICAR test file: harmless, and detected by every scanner as if it were malware.
const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// ClamAV's clamd (Debian's clamav-daemon) on loopback port `port`, with a signature database of
/// the EICAR test signature alone (the public signature feeds are not reachable here); stopped
/// when dropped.
struct Clamd {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Clamd {
    async fn start(port: u16) -> Clamd {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir_all(&db).unwrap();
        std::fs::write(
            db.join("eicar.ndb"),
            format!("Eicar-Test-Signature:0:0:{}\n", hex::encode(&EICAR[..40])),
        )
        .unwrap();
        let conf = dir.path().join("clamd.conf");
        std::fs::write(
            &conf,
            format!(
                "DatabaseDirectory {}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\n\
                 LogFile {}\nTemporaryDirectory {}\nStreamMaxLength 200M\n",
                db.display(),
                dir.path().join("clamd.log").display(),
                dir.path().display()
            ),
        )
        .unwrap();
        let clamd =
            std::env::var("PORTCULLIS_TEST_CLAMD").unwrap_or_else(|_| "/usr/sbin/clamd".into());
        let child = Command::new(&clamd)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {clamd} ({e}); scripts/setup-tools.sh installs clamav-daemon")
            });
        let server = Clamd { child, _dir: dir };
        assert!(
            listening(port).await,
            "clamd did not start listening on port {port}"
        );
        server
    }
}

async fn infected_files_are_quarantined_and_clean_ones_served(engine: Engine) {
    let port = free_port();
    let _clamd = Clamd::start(port).await;
    let Some(app) = spawn_with(engine, |s| s.clamd_address = format!("127.0.0.1:{port}")).await
    else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let number = open_case_with(&app, &user, &[]).await;
    let res = attach(
        &app,
        &user,
        &number,
        &[("eicar.com", EICAR), ("notes.txt", b"all clean here")],
        false,
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    app.wait_until(
        "SELECT COUNT(*) FROM blobs WHERE scan IN ('clean', 'infected')",
        2,
    )
    .await;
    let files = case_files(&app, &user, &number).await;
    let by_name = |name: &str| named(&files, name);
    assert_eq!(by_name("eicar.com")["scan"], "infected");
    assert_eq!(by_name("notes.txt")["scan"], "clean");
    let agent = app.signed_in(AGENT).await;
    let eicar = format!(
        "/attachments/{}",
        by_name("eicar.com")["token"].as_str().unwrap()
    );
    for client in [&user, &agent] {
        let res = download(client, &app, &eicar).await;
        assert_eq!(res.status(), 403, "quarantined for everyone");
        assert!(!res.text().await.unwrap().contains("EICAR"));
    }
    let clean = format!(
        "/attachments/{}",
        by_name("notes.txt")["token"].as_str().unwrap()
    );
    assert_eq!(
        download(&user, &app, &clean)
            .await
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"all clean here"
    );
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(
        page.contains("Quarantined: malware found"),
        "the state is shown"
    );
    assert!(
        !page.contains(&format!("href=\"{eicar}")),
        "and no link to it"
    );
}

async fn files_wait_for_the_scan_while_clamd_is_down(engine: Engine) {
    let port = free_port();
    let Some(app) = spawn_with(engine, |s| s.clamd_address = format!("127.0.0.1:{port}")).await
    else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let token = staged(&app, &user, "trace.txt", b"a trace").await;
    let number = open_case_with(&app, &user, &[token.clone()]).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(app.text("SELECT scan FROM blobs").await, "pending");
    let href = format!("/attachments/{token}");
    let res = download(&user, &app, &href).await;
    assert_eq!(res.status(), 409, "not served to customers before the scan");
    assert!(res.text().await.unwrap().contains("malware scan"));
    let agent = app.signed_in(AGENT).await;
    assert_eq!(
        download(&agent, &app, &href).await.status(),
        200,
        "staff see it, marked"
    );
    let files = case_files(&app, &agent, &number).await;
    assert_eq!(files[0]["scan"], "pending");

    let _clamd = Clamd::start(port).await;
    app.wait_until("SELECT COUNT(*) FROM blobs WHERE scan = 'clean'", 1)
        .await;
    assert_eq!(download(&user, &app, &href).await.status(), 200);
}

/// moto's S3-compatible server (from PyPI) on loopback port `port`; stopped when dropped.
struct S3Server {
    child: Child,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    async fn start(port: u16) -> S3Server {
        let python =
            std::env::var("PORTCULLIS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} -m moto.server ({e}); scripts/setup-tools.sh installs it"));
        let server = S3Server { child };
        assert!(
            listening(port).await,
            "moto's S3 server did not start listening on port {port} (is moto[server] installed for {python}?)"
        );
        server
    }

    /// The keys of bucket `bucket`, as its listing (XML) names them.
    async fn keys(port: u16, bucket: &str) -> String {
        reqwest::get(format!("http://127.0.0.1:{port}/{bucket}?list-type=2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

async fn files_live_in_an_s3_compatible_store(engine: Engine) {
    let port = free_port();
    let _s3 = S3Server::start(port).await;
    let bucket = "portcullis-files";
    let made = reqwest::Client::new()
        .put(format!("http://127.0.0.1:{port}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "bucket made: {}", made.status());
    let Some(app) = spawn_with(engine, |s| {
        s.attachments_s3_bucket = bucket.into();
        s.attachments_s3_endpoint = format!("http://127.0.0.1:{port}");
        s.attachments_s3_access_key = app::server::state::Secret::new("testing");
        s.attachments_s3_secret_key = app::server::state::Secret::new("testing");
    })
    .await
    else {
        return;
    };
    assert!(app.files_dir.is_none(), "no local directory in use");
    let user = app.signed_in(ACME_USER).await;
    // Larger than one multipart part (5 MB), so the upload goes in parts.
    let log: Vec<u8> = (0..7 * 1024 * 1024u32)
        .map(|i| b"0123456789abcdef\n"[(i % 17) as usize])
        .collect();
    let token = staged(&app, &user, "big.log", &log).await;
    let number = open_case_with(&app, &user, &[token.clone()]).await;
    let sha = app.text("SELECT sha256 FROM blobs").await;
    let listing = S3Server::keys(port, bucket).await;
    assert!(
        listing.contains(&format!("blobs/{}/{}/{sha}", &sha[..2], &sha[2..4])),
        "{listing}"
    );
    assert!(
        !listing.contains("staging/"),
        "nothing left in staging: {listing}"
    );
    let got = download(&user, &app, &format!("/attachments/{token}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(
        got.as_ref() == log.as_slice(),
        "the same bytes back ({} of {})",
        got.len(),
        log.len()
    );
    // The same content again is stored once; removing both deletes the object.
    let res = attach(&app, &user, &number, &[("copy.log", &log)], false).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM blobs").await, 1);
    for file in case_files(&app, &user, &number).await {
        app.expect(
            &user,
            "attachments/remove",
            &[("token", file["token"].as_str().unwrap())],
            200,
        )
        .await;
    }
    let listing = S3Server::keys(port, bucket).await;
    assert!(
        !listing.contains(&sha),
        "deleted once nothing refers to it: {listing}"
    );
}

async fn change_requests_carry_files_into_the_case_they_become(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let runbook = b"1. scale clouddriver\n2. watch the queue\n".as_slice();
    let token = staged(&app, &user, "runbook.md", runbook).await;
    let f = crate::changes::form(&app, ACME_USER)
        .await
        .with("authorized", "on")
        .with("attachments", token.clone());
    let (status, number) = app.call(&user, "changes/create", &f.fields()).await;
    assert_eq!(status, 200, "{number}");
    let number = number.as_str().unwrap().to_string();
    let listed = |body: Value| body["attachments"].as_array().cloned().unwrap_or_default();
    let detail = app
        .expect(&user, "changes/get", &[("number", number.as_str())], 200)
        .await;
    assert_eq!(
        listed(detail.clone())[0]["file_name"],
        "runbook.md",
        "{detail}"
    );
    // The request's own account and staff download it; another account does not see it.
    let href = format!("/attachments/{token}");
    let admin = app.signed_in(ACME_ADMIN).await;
    let agent = app.signed_in(AGENT).await;
    let globex = app.signed_in(GLOBEX_USER).await;
    assert_eq!(download(&admin, &app, &href).await.status(), 200);
    assert_eq!(download(&agent, &app, &href).await.status(), 200);
    assert_eq!(download(&globex, &app, &href).await.status(), 404);
    // More files from the request's page, with a line in its history.
    let res = user
        .post(app.url(&format!("/changes/{number}/attachments")))
        .multipart(multipart(&[("topology.png", PNG)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/changes/{number}#files")
    );
    let res = globex
        .post(app.url(&format!("/changes/{number}/attachments")))
        .multipart(multipart(&[("x.txt", b"x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404, "another account's request");
    let detail = app
        .expect(&agent, "changes/get", &[("number", number.as_str())], 200)
        .await;
    assert_eq!(listed(detail.clone()).len(), 2);
    assert!(
        detail["entries"]
            .to_string()
            .contains("Attached topology.png"),
        "{detail}"
    );
    let audited = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'attachment.added' AND target = 'change:{number}'"
        ))
        .await;
    assert_eq!(audited, 2);

    // Converted into a case, the request's files come along under the case.
    let fields = crate::changes::convert_fields(&app, &number).await;
    let case = app
        .expect(
            &agent,
            "changes/convert",
            &crate::changes::refs(&fields),
            200,
        )
        .await;
    let case = case.as_str().unwrap().to_string();
    let files = case_files(&app, &user, &case).await;
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["runbook.md", "topology.png"]);
    let on_case = format!("/attachments/{}", files[0]["token"].as_str().unwrap());
    assert_eq!(
        download(&user, &app, &on_case)
            .await
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        runbook
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM blobs").await,
        2,
        "the same bytes, not copies"
    );
    // A finished request takes no more files.
    let res = user
        .post(app.url(&format!("/changes/{number}/attachments")))
        .multipart(multipart(&[("late.txt", b"late")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let page = app.page_text(&user, &format!("/changes/{number}")).await;
    assert!(page.contains("files can no longer be added"), "told why");
}

/// Saves a new article as `staff` with the staged files `tokens`; answers its number.
async fn article_with(
    app: &TestApp,
    staff: &reqwest::Client,
    visibility: &str,
    intent: &str,
    tokens: &[String],
) -> String {
    let category = crate::kb::category(app, "Pipelines").await;
    let attachments = tokens.join(" ");
    let number = app
        .expect(
            staff,
            "kb/save",
            &[
                ("title", &format!("Rotating the {visibility} keys")),
                ("body", "Follow the steps in the attached runbook."),
                ("category_id", &category),
                ("visibility", visibility),
                ("intent", intent),
                ("attachments", &attachments),
            ],
            200,
        )
        .await;
    number.as_str().unwrap().to_string()
}

async fn an_articles_files_reach_exactly_its_readers(app: TestApp) {
    let agent = app.signed_in(AGENT).await;
    let user = app.signed_in(ACME_USER).await;
    let visitor = client();
    let mut hrefs = Vec::new();
    for (visibility, intent) in [
        ("public", "publish"),
        ("customers", "publish"),
        ("internal", "publish"),
        ("customers", "draft"),
    ] {
        let token = staged(
            &app,
            &agent,
            &format!("{visibility}-{intent}.txt"),
            visibility.as_bytes(),
        )
        .await;
        let number = article_with(&app, &agent, visibility, intent, &[token.clone()]).await;
        hrefs.push((visibility, intent, number, format!("/attachments/{token}")));
    }
    // Who may download each: exactly who may read the article.
    let expect = [
        // (visitor, customer, agent)
        (200, 200, 200),
        (401, 200, 200),
        (401, 404, 200),
        (401, 404, 200),
    ];
    for ((visibility, intent, _, href), (v, c, a)) in hrefs.iter().zip(expect) {
        assert_eq!(
            download(&visitor, &app, href).await.status().as_u16(),
            v,
            "visitor, {visibility} {intent}"
        );
        assert_eq!(
            download(&user, &app, href).await.status().as_u16(),
            c,
            "customer, {visibility} {intent}"
        );
        assert_eq!(
            download(&agent, &app, href).await.status().as_u16(),
            a,
            "agent, {visibility} {intent}"
        );
    }
    // The article lists its files for its readers; the customer cannot take them away.
    let (_, _, public, href) = &hrefs[0];
    let article = app
        .expect(&visitor, "kb/article", &[("number", public.as_str())], 200)
        .await;
    assert_eq!(
        article["attachments"][0]["file_name"], "public-publish.txt",
        "{article}"
    );
    assert_eq!(article["attachments"][0]["removable"], false);
    let page = app.page_text(&visitor, &format!("/kb/{public}")).await;
    assert!(page.contains("public-publish.txt"));
    let token = href.trim_start_matches("/attachments/");
    app.expect(&user, "attachments/remove", &[("token", token)], 403)
        .await;
    // Staff remove one with a reason: gone for readers, and in the audit trail.
    app.expect(
        &agent,
        "attachments/remove",
        &[("token", token), ("reason", "Superseded by v2")],
        200,
    )
    .await;
    assert_eq!(download(&visitor, &app, href).await.status(), 401);
    assert_eq!(download(&agent, &app, href).await.status(), 404);
    let audited = app
        .text(&format!("SELECT reason FROM audit_log WHERE action = 'attachment.removed' AND target = '{public}'"))
        .await;
    assert_eq!(audited, "Superseded by v2");
    // A customer cannot attach files to an article.
    let token = staged(&app, &user, "mine.txt", b"mine").await;
    let category = crate::kb::category(&app, "Pipelines").await;
    app.expect(
        &user,
        "kb/save",
        &[
            ("title", "x"),
            ("body", "y"),
            ("category_id", &category),
            ("visibility", "public"),
            ("intent", "publish"),
            ("attachments", &token),
        ],
        403,
    )
    .await;
}

both_engines!(
    an_articles_files_reach_exactly_its_readers,
    change_requests_carry_files_into_the_case_they_become,
    a_customers_files_reach_their_account_and_staff_only,
    a_work_notes_files_never_reach_the_customer,
    the_type_comes_from_the_content_and_only_images_show_inline,
    removal_leaves_evidence_and_frees_bytes_nothing_uses,
    a_broken_off_upload_leaves_no_row_and_no_bytes,
    closed_cases_and_strangers_cannot_add_files
);
both_engines!(engine: files_live_in_an_s3_compatible_store, infected_files_are_quarantined_and_clean_ones_served, files_wait_for_the_scan_while_clamd_is_down, limits_refuse_a_file_and_change_nothing);
