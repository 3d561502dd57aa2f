//! Forgiving forms: a refused plain post comes back with what was typed (never a password) and
//! its problems, without the error in the URL; create forms carry an idempotency key, so the same
//! form posted twice makes one record.

use crate::both_engines;
use crate::helpers::*;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const AGENT: &str = "agent@vendor.example";

/// The `name=value` of the refused-form cookie a response set.
fn refused_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portcullis_refused="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

async fn a_refused_sign_in_comes_back_with_the_email_and_never_the_password(app: TestApp) {
    let c = client();
    let res = app
        .post_form(
            &c,
            "/api/auth/sign_in",
            same_origin_form(&app, "/?from=mail"),
            &[
                ("email", "admin@acme.example"),
                ("password", "my secret guess 123"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location, "/?from=mail",
        "the page's own address, no error in it"
    );
    let cookie = refused_cookie(&res).expect("a refused-form cookie");
    assert!(cookie.len() > "portcullis_refused=".len() + 30, "{cookie}");
    let stored = app.text("SELECT fields FROM refused_forms").await;
    assert!(stored.contains("admin@acme.example"), "{stored}");
    assert!(
        !stored.contains("my secret guess"),
        "passwords are never kept: {stored}"
    );

    // Another page does not take it.
    let kb = app.page_text(&c, "/kb").await;
    assert!(!kb.contains("There is a problem"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM refused_forms").await, 1);

    let page = app.page_text(&c, &location).await;
    assert!(page.contains("There is a problem"), "error summary shown");
    assert!(page.contains("The email address or password is incorrect."));
    assert!(page.contains("value=\"admin@acme.example\""), "email kept");
    assert!(!page.contains("my secret guess"), "the password is not");
    // Read once: a reload shows the form as it stands.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM refused_forms").await, 0);
    let again = app.page_text(&c, "/").await;
    assert!(!again.contains("There is a problem"));
    assert!(!again.contains("value=\"admin@acme.example\""));

    // Another browser with a guessed or replayed token gets nothing.
    let res = app
        .post_form(
            &c,
            "/api/auth/sign_in",
            same_origin_form(&app, "/"),
            &[("email", "someone@acme.example"), ("password", "x")],
        )
        .await;
    let cookie = refused_cookie(&res).unwrap();
    let stranger = body_of(
        plain_client()
            .get(app.url("/kb"))
            .header("cookie", "portcullis_refused=not-a-token"),
    )
    .await;
    assert!(!stranger.contains("someone@acme.example"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM refused_forms").await, 1);
    let thief = plain_client()
        .get(app.url("/"))
        .header("cookie", cookie.as_str())
        .send()
        .await
        .unwrap();
    assert!(
        thief
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("portcullis_refused=;")),
        "the page that shows it forgets it"
    );
}

/// A long notice refused for a missing severity comes back whole — markup in it shown as text,
/// never run — with the audience chosen, and with script (a JSON answer) nothing is kept at all.
async fn a_refused_notice_keeps_its_text_audience_and_choices(app: TestApp) {
    let staff = app.signed_in(AGENT).await;
    let body = format!(
        "</textarea><script>alert(1)</script> Rotate the signing keys.\n\n{}",
        "Every deploy key issued before 1 December must be replaced. ".repeat(60)
    );
    let res = app
        .post_form(
            &staff,
            "/api/notices/create",
            same_origin_form(&app, "/staff/notices/new"),
            &[
                ("subject", "Key rotation"),
                ("severity", ""),
                ("body", &body),
                ("audience", "tier"),
                ("tier", "managed"),
                ("include_admins", "on"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/staff/notices/new");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM notices").await,
        0,
        "nothing stored"
    );
    let page = app.page_text(&staff, "/staff/notices/new").await;
    assert!(
        page.contains("Choose the severity"),
        "the problem beside its field"
    );
    assert!(page.contains("value=\"Key rotation\""));
    assert!(page.contains("Rotate the signing keys."));
    assert!(
        page.contains("&lt;/textarea&gt;&lt;script&gt;alert(1)"),
        "markup as text"
    );
    assert!(!page.contains("<script>alert(1)"), "never as markup");
    assert!(
        page.contains("must be replaced. Every deploy key"),
        "the whole text"
    );
    for chosen in [
        "id=\"audience-tier\" name=\"audience\" value=\"tier\" checked",
        "value=\"managed\" selected",
        "name=\"include_admins\" value=\"on\" checked",
    ] {
        assert!(page.contains(chosen), "{chosen}");
    }

    // A script's request (JSON answer, as the browser's WASM sends it) is answered in place.
    let (status, _) = app
        .call(&staff, "notices/create", &[("subject", "Key rotation")])
        .await;
    assert_eq!(status, 422);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM refused_forms").await, 0);
}

/// A refused step keeps its message in its own form only (each step is a form of one server
/// function); a refused staff note keeps its text.
async fn several_forms_of_one_kind_keep_only_their_own_fields(app: TestApp) {
    let number = crate::cases::opened_by(&app, ACME_USER).await;
    let staff = app.signed_in(AGENT).await;
    let case_page = format!("/cases/{number}");
    // Asking the customer for information needs a message: refused, in its own form.
    let res = app
        .post_form(
            &staff,
            "/api/cases/step",
            same_origin_form(&app, &case_page),
            &[
                ("number", &number),
                ("step", "ask_info"),
                ("comment", "   "),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let page = app.page_text(&staff, &case_page).await;
    assert!(page.contains("There is a problem"), "{page}");
    let opened: Vec<&str> = page
        .match_indices("<details open class=\"confirm\"><summary>")
        .map(|(i, m)| page[i + m.len()..].split('<').next().unwrap_or_default())
        .collect();
    assert_eq!(
        opened,
        ["Ask the customer for information"],
        "only its own form opens"
    );

    let res = app
        .post_form(
            &staff,
            "/api/cases/note",
            same_origin_form(&app, &case_page),
            &[
                ("number", &number),
                ("body", &"x".repeat(20_001)),
                ("internal", "on"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let page = app.page_text(&staff, &case_page).await;
    assert!(page.contains(&"x".repeat(20_001)), "the note as written");
    assert!(page.contains("aria-invalid=\"true\""));
}

/// The same create form posted twice (a double click, a retried request) makes one record, and
/// answers the first one's; another person's identical key is theirs alone.
async fn a_create_form_sent_twice_makes_one_record(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = crate::cases::form(&app, ACME_USER)
        .await
        .with("form_key", "5f2b9c0e4d1a4b7e9a3c6d8f0e1b2a34");
    let fields = f.fields();
    let (first, second) = tokio::join!(
        app.call(&user, "cases/create", &fields),
        app.call(&user, "cases/create", &fields),
    );
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    assert_eq!(first.1, second.1, "both answer the same case");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 1);
    let number = first.1.as_str().unwrap().to_string();

    // The same key from another person of another account is not this case.
    let globex = app.signed_in(GLOBEX_USER).await;
    let theirs = crate::cases::form(&app, GLOBEX_USER)
        .await
        .with("form_key", "5f2b9c0e4d1a4b7e9a3c6d8f0e1b2a34");
    let body = app
        .expect(&globex, "cases/create", &theirs.fields(), 200)
        .await;
    assert_ne!(body.as_str().unwrap(), number);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 2);

    // A refused submission does not spend its key: corrected, the same form files its case.
    let fixed = crate::cases::form(&app, ACME_USER)
        .await
        .with("form_key", "key-of-a-form-refused-first");
    app.expect(
        &user,
        "cases/create",
        &fixed.clone().with("subject", "").fields(),
        422,
    )
    .await;
    app.expect(&user, "cases/create", &fixed.fields(), 200)
        .await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 3);

    // Comments and staff notes.
    let comment = [
        ("number", number.as_str()),
        ("body", "Still stalling."),
        ("form_key", "comment-key-1"),
    ];
    app.expect(&user, "cases/comment", &comment, 200).await;
    app.expect(&user, "cases/comment", &comment, 200).await;
    let staff = app.signed_in(AGENT).await;
    let note = [
        ("number", number.as_str()),
        ("body", "Looking at the canary logs."),
        ("internal", "on"),
        ("form_key", "note-key-1"),
    ];
    app.expect(&staff, "cases/note", &note, 200).await;
    app.expect(&staff, "cases/note", &note, 200).await;
    let entries = |kind: &str| {
        format!(
            "SELECT COUNT(*) FROM case_entries e JOIN cases c ON c.id = e.case_id \
             WHERE c.number = '{number}' AND e.kind = '{kind}'"
        )
    };
    assert_eq!(app.scalar(&entries("comment")).await, 1);
    assert_eq!(app.scalar(&entries("work_note")).await, 1);
    // Without a key a form still works, unprotected: each post adds.
    app.expect(&user, "cases/comment", &comment[..2], 200).await;
    assert_eq!(app.scalar(&entries("comment")).await, 2);

    // Change requests, invitations, notices.
    let change = crate::changes::form(&app, ACME_USER)
        .await
        .with("authorized", "on")
        .with("form_key", "change-key-1");
    let a = app
        .expect(&user, "changes/create", &change.fields(), 200)
        .await;
    let b = app
        .expect(&user, "changes/create", &change.fields(), 200)
        .await;
    assert_eq!(a, b);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM change_requests").await, 1);

    let admin = app.signed_in(ACME_ADMIN).await;
    let invite = [
        ("first_name", "Dana"),
        ("last_name", "Scully"),
        ("email", "dana.scully@acme.example"),
        ("form_key", "invite-key-1"),
    ];
    let a = app.expect(&admin, "users/invite", &invite, 200).await;
    let b = app.expect(&admin, "users/invite", &invite, 200).await;
    assert_eq!(
        a, b,
        "the second answer is the first invitation, not 'already a user'"
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE to_address = 'dana.scully@acme.example'"
        )
        .await,
        1,
        "one invitation mailed"
    );

    let notice = [
        ("subject", "Maintenance"),
        ("severity", "low"),
        ("body", "Saturday 02:00 UTC."),
        ("audience", "all"),
        ("form_key", "notice-key-1"),
    ];
    let a = app.expect(&staff, "notices/create", &notice, 200).await;
    let b = app.expect(&staff, "notices/create", &notice, 200).await;
    assert_eq!(a, b);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM notices").await, 1);

    // A key is for one kind of form: reused for another it is refused, not confused.
    let reused = [
        ("subject", "Other"),
        ("severity", "low"),
        ("body", "Other."),
        ("audience", "all"),
        ("form_key", "note-key-1"),
    ];
    app.expect(&staff, "notices/create", &reused, 409).await;
}

/// A refused case form keeps the files staged for it: the page it comes back to lists them and
/// carries their tokens again, so the completed form brings them with the case.
async fn a_refused_case_form_keeps_its_staged_files(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let file = reqwest::multipart::Part::bytes(b"2026-12-06 ERROR canary stalled\n".to_vec())
        .file_name("canary.log");
    let res = user
        .post(app.url("/attachments"))
        .multipart(reqwest::multipart::Form::new().part("file", file))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 201);
    let staged: serde_json::Value = res.json().await.expect("json");
    let token = staged["files"][0]["token"]
        .as_str()
        .expect("a token")
        .to_string();

    let mut form = crate::cases::form(&app, ACME_USER).await;
    form.set("subject", "");
    form.set("attachments", token.clone());
    form.set("staged_names", format!("{token} canary.log"));
    let cases = "SELECT COUNT(*) FROM cases";
    let before = app.scalar(cases).await;
    let res = app
        .post_form(
            &user,
            "/api/cases/create",
            same_origin_form(&app, "/cases/new"),
            &form.fields(),
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(app.scalar(cases).await, before, "nothing filed");
    let page = app.page_text(&user, "/cases/new").await;
    assert!(page.contains("There is a problem"), "refused");
    assert!(
        page.contains(&format!("name=\"attachments\" value=\"{token}\"")),
        "the file's token goes with the form again"
    );
    assert!(
        page.contains(&format!("data-unstage=\"{token}\"")),
        "and can be taken off it"
    );
    assert!(page.contains("canary.log"), "listed by its name");
    let unattached = "SELECT COUNT(*) FROM attachments WHERE case_id IS NULL";
    assert_eq!(
        app.scalar(unattached).await,
        1,
        "still staged, not attached"
    );

    form.set("subject", "Canary stage stalls");
    let body = app.expect(&user, "cases/create", &form.fields(), 200).await;
    let number = body.as_str().expect("a case number");
    let case = app
        .expect(&user, "cases/get", &[("number", number)], 200)
        .await;
    assert_eq!(case["attachments"][0]["file_name"], "canary.log");
    assert_eq!(app.scalar(unattached).await, 0);
}

both_engines!(
    a_refused_sign_in_comes_back_with_the_email_and_never_the_password,
    a_refused_notice_keeps_its_text_audience_and_choices,
    several_forms_of_one_kind_keep_only_their_own_fields,
    a_create_form_sent_twice_makes_one_record,
    a_refused_case_form_keeps_its_staged_files
);
