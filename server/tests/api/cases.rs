//! Customer cases (SPEC §4.1): the form's rules, numbers, lists, account isolation and work notes.

use crate::both_engines;
use crate::helpers::*;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

async fn id(app: &TestApp, sql: &str) -> String {
    app.scalar(sql).await.to_string()
}

/// A complete, valid form for an ACME user, as strings.
async fn form(app: &TestApp, contact: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "contact_id",
            id(
                app,
                &format!("SELECT id FROM users WHERE email = '{contact}'"),
            )
            .await,
        ),
        (
            "product_version_id",
            id(app, "SELECT id FROM product_versions WHERE name = '2.34'").await,
        ),
        (
            "impact_id",
            id(
                app,
                "SELECT id FROM impact_levels WHERE name = 'Production degraded'",
            )
            .await,
        ),
        ("workaround", "yes".into()),
        (
            "feature_id",
            id(
                app,
                "SELECT id FROM features WHERE name = 'Canary Analysis'",
            )
            .await,
        ),
        (
            "service_id",
            id(app, "SELECT id FROM services WHERE name = 'Orca'").await,
        ),
        ("environment", "Production".into()),
        (
            "availability_id",
            id(app, "SELECT MIN(id) FROM availability_windows").await,
        ),
        ("subject", "Pipelines stall after upgrade".into()),
        (
            "description",
            "Since Tuesday every deploy pipeline stops at the canary stage.".into(),
        ),
    ]
}

fn refs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn the_case_form_refuses_a_missing_availability_and_files_a_numbered_case(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let mut f = form(&app, ACME_ADMIN).await;
    f.retain(|(k, _)| *k != "availability_id");
    let (status, body) = app.call(&user, "cases/create", &refs(&f)).await;
    assert_eq!(status, 422, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("availability_id") && text.contains("no default"),
        "{text}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 0);
    // A feature the chosen version does not offer, an environment the account does not have.
    let mut f = form(&app, ACME_ADMIN).await;
    f[1].1 = id(&app, "SELECT id FROM product_versions WHERE name = '2.28'").await;
    f[4].1 = id(
        &app,
        "SELECT id FROM features WHERE name = 'Dynamic Accounts'",
    )
    .await;
    f[6].1 = "Mars".into();
    let (status, body) = app.call(&user, "cases/create", &refs(&f)).await;
    assert_eq!(status, 422);
    let text = body.to_string();
    assert!(
        text.contains("compatibility matrix") && text.contains("environment"),
        "{text}"
    );

    let f = form(&app, ACME_ADMIN).await;
    let (status, body) = app.call(&user, "cases/create", &refs(&f)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "CS0001001");
    // Production degraded with a workaround: P3; New, in Technical Support, unassigned.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cases c JOIN assignment_groups g ON g.id = c.assignment_group_id \
                    WHERE c.number = 'CS0001001' AND c.priority = 3 AND c.state = 'new' \
                    AND g.name = 'Technical Support' AND c.assigned_to IS NULL").await,
        1
    );
    // The contact (not the submitter) is mailed.
    let mail = app.wait_for_mail(ACME_ADMIN, "CS0001001").await;
    assert!(mail.body.contains("/cases/CS0001001"), "{}", mail.body);
    // Lists: the submitter's own, and the team's.
    let (_, mine) = app.call(&user, "cases/list", &[("scope", "mine")]).await;
    assert_eq!(mine["total"], 1);
    let admin = app.signed_in(ACME_ADMIN).await;
    let (_, team) = app.call(&admin, "cases/list", &[("scope", "team")]).await;
    assert_eq!(team["rows"][0]["number"], "CS0001001");
    let secondary = app.signed_in("secondary@acme.example").await;
    let (_, mine) = app
        .call(&secondary, "cases/list", &[("scope", "mine")])
        .await;
    assert_eq!(mine["total"], 0, "neither opened by nor for them");
    let page = app.page_text(&user, "/cases/CS0001001").await;
    assert!(
        page.contains("Pipelines stall after upgrade") && page.contains("Canary Analysis"),
        "{page}"
    );
}

async fn cases_follow_the_matrix_and_stay_in_their_account(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &refs(&f)).await;
    let number = number.as_str().unwrap().to_string();
    // Anonymous: nothing. Staff: no customer case form or lists (on-behalf cases are separate).
    for endpoint in [
        "cases/options",
        "cases/create",
        "cases/list",
        "cases/get",
        "cases/comment",
    ] {
        let args = [
            ("scope", "team"),
            ("number", number.as_str()),
            ("body", "hi"),
        ];
        assert_eq!(
            app.call(&client(), endpoint, &args).await.0,
            401,
            "{endpoint}"
        );
    }
    for who in [AGENT, PLATFORM_ADMIN] {
        let c = app.signed_in(who).await;
        assert_eq!(app.call(&c, "cases/options", &[]).await.0, 403, "{who}");
        assert_eq!(
            app.call(&c, "cases/create", &refs(&f)).await.0,
            403,
            "{who}"
        );
        assert_eq!(
            app.call(&c, "cases/list", &[("scope", "team")]).await.0,
            403,
            "{who}"
        );
        assert_eq!(
            app.call(&c, "cases/comment", &[("number", &number), ("body", "x")])
                .await
                .0,
            403,
            "{who}"
        );
        let (status, body) = app.call(&c, "cases/get", &[("number", &number)]).await;
        assert_eq!(status, 200, "{who}: {body}");
    }
    // Another account's user and administrator: the case does not exist for them.
    for who in [GLOBEX_USER, "admin@globex.example"] {
        let c = app.signed_in(who).await;
        assert_eq!(
            app.call(&c, "cases/get", &[("number", &number)]).await.0,
            404,
            "{who}"
        );
        assert_eq!(
            app.call(&c, "cases/get", &[("number", "CS9999999")])
                .await
                .0,
            404,
            "{who}"
        );
        assert_eq!(
            app.call(&c, "cases/comment", &[("number", &number), ("body", "x")])
                .await
                .0,
            404,
            "{who}"
        );
        let (_, team) = app.call(&c, "cases/list", &[("scope", "team")]).await;
        assert_eq!(team["total"], 0, "{who}");
        let (status, _) = app.call(&c, "cases/create", &refs(&f)).await;
        assert_eq!(
            status, 422,
            "{who}: an ACME contact is not offered to GLOBEX"
        );
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM case_entries WHERE kind = 'comment'")
            .await,
        0
    );
}

async fn work_notes_never_reach_a_customer(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &refs(&f)).await;
    let number = number.as_str().unwrap().to_string();
    app.exec(&format!(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) SELECT c.id, 'work_note', \
         (SELECT id FROM users WHERE email = '{AGENT}'), 'SECRET-NOTE: customer cluster is misconfigured', 1 \
         FROM cases c WHERE c.number = '{number}'"
    ))
    .await;
    let (_, body) = app.call(&user, "cases/get", &[("number", &number)]).await;
    assert!(!body.to_string().contains("SECRET-NOTE"), "{body}");
    let html = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(
        html.contains(&number) && !html.contains("SECRET-NOTE"),
        "not in the page, nor in its hydration data"
    );
    let agent = app.signed_in(AGENT).await;
    let (_, body) = app.call(&agent, "cases/get", &[("number", &number)]).await;
    assert!(body.to_string().contains("SECRET-NOTE"));
}

async fn a_customer_reply_reopens_a_case_awaiting_info(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &refs(&f)).await;
    let number = number.as_str().unwrap().to_string();
    app.exec(&format!(
        "UPDATE cases SET state = 'awaiting_info' WHERE number = '{number}'"
    ))
    .await;
    let (status, _) = app
        .call(
            &user,
            "cases/comment",
            &[("number", &number), ("body", "  ")],
        )
        .await;
    assert_eq!(status, 422);
    let (status, body) = app
        .call(
            &user,
            "cases/comment",
            &[
                ("number", &number),
                ("body", "Here are the logs you asked for."),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM cases WHERE number = '{number}' AND state = 'open'"
        ))
        .await,
        1
    );
    app.exec(&format!(
        "UPDATE cases SET state = 'closed' WHERE number = '{number}'"
    ))
    .await;
    let (status, _) = app
        .call(
            &user,
            "cases/comment",
            &[("number", &number), ("body", "One more thing")],
        )
        .await;
    assert_eq!(status, 409);
}

async fn concurrent_cases_get_distinct_numbers(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let f = form(&app, ACME_USER).await;
    let mut tasks = Vec::new();
    for who in [ACME_USER, ACME_ADMIN, "secondary@acme.example"] {
        let c = app.signed_in(who).await;
        for _ in 0..4 {
            let (c, url, f) = (c.clone(), app.url("/api/cases/create"), f.clone());
            tasks.push(tokio::spawn(async move {
                let res = c.post(url).form(&f).send().await.unwrap();
                assert_eq!(res.status().as_u16(), 200);
                res.json::<String>().await.unwrap()
            }));
        }
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 12, "{numbers:?}");
    assert!(numbers.iter().all(|n| n.len() == 9 && n.starts_with("CS")));
}

both_engines!(
    the_case_form_refuses_a_missing_availability_and_files_a_numbered_case,
    cases_follow_the_matrix_and_stay_in_their_account,
    work_notes_never_reach_a_customer,
    a_customer_reply_reopens_a_case_awaiting_info,
    concurrent_cases_get_distinct_numbers,
);
