//! Customer cases (SPEC §4.1): the form's rules, numbers, lists, account isolation and work notes.

use crate::both_engines;
use crate::helpers::*;
use serde_json::Value;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

async fn id(app: &TestApp, sql: &str) -> String {
    app.scalar(sql).await.to_string()
}

/// Opens a case as `email` (an ACME user), who is its contact; answers its number.
pub(crate) async fn opened_by(app: &TestApp, email: &str) -> String {
    let user = app.signed_in(email).await;
    let f = form(app, email).await;
    let number = app.expect(&user, "cases/create", &f.fields(), 200).await;
    number.as_str().expect("a case number").to_string()
}

/// A complete, valid form for an ACME user, as strings.
pub(crate) async fn form(app: &TestApp, contact: &str) -> Form {
    Form::new(vec![
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
    ])
}

async fn the_case_form_refuses_a_missing_availability_and_files_a_numbered_case(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_ADMIN).await.without("availability_id");
    let body = app.expect(&user, "cases/create", &f.fields(), 422).await;
    let text = body.to_string();
    assert!(
        text.contains("availability_id") && text.contains("no default"),
        "{text}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cases").await, 0);
    // A feature the chosen version does not offer, an environment the account does not have.
    let mut f = form(&app, ACME_ADMIN).await;
    f.set(
        "product_version_id",
        id(&app, "SELECT id FROM product_versions WHERE name = '2.28'").await,
    );
    f.set(
        "feature_id",
        id(
            &app,
            "SELECT id FROM features WHERE name = 'Dynamic Accounts'",
        )
        .await,
    );
    f.set("environment", "Mars");
    let body = app.expect(&user, "cases/create", &f.fields(), 422).await;
    let text = body.to_string();
    assert!(
        text.contains("compatibility matrix") && text.contains("environment"),
        "{text}"
    );

    let f = form(&app, ACME_ADMIN).await;
    let body = app.expect(&user, "cases/create", &f.fields(), 200).await;
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
    // The contact has it among their own too; a case someone opens for themselves counts once.
    let (_, mine) = app.call(&admin, "cases/list", &[("scope", "mine")]).await;
    assert_eq!(mine["total"], 1);
    let own = form(&app, ACME_USER).await;
    app.expect(&user, "cases/create", &own.fields(), 200).await;
    let (_, mine) = app.call(&user, "cases/list", &[("scope", "mine")]).await;
    assert_eq!(mine["total"], 2, "{mine}");
    assert_eq!(mine["rows"].as_array().map(Vec::len), Some(2));
    let page = app.page_text(&user, "/cases/CS0001001").await;
    assert!(
        page.contains("Pipelines stall after upgrade") && page.contains("Canary Analysis"),
        "{page}"
    );
}

async fn cases_follow_the_matrix_and_stay_in_their_account(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &f.fields()).await;
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
        // Staff file cases only on a named account's behalf.
        assert_eq!(app.call(&c, "cases/options", &[]).await.0, 404, "{who}");
        assert_eq!(
            app.call(&c, "cases/create", &f.fields()).await.0,
            404,
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
        let (status, _) = app.call(&c, "cases/create", &f.fields()).await;
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

async fn work_notes_never_reach_a_customer(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &f.fields()).await;
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

async fn descriptions_and_comments_render_markdown_safely(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await.with(
        "description",
        "Deploys **stall** at `canary`\n<script>window.pwned=1</script>\n\nSee [docs](javascript:alert(1))",
    );
    let (status, number) = app.call(&user, "cases/create", &f.fields()).await;
    assert_eq!(status, 200, "{number}");
    let number = number.as_str().unwrap().to_string();
    app.expect(
        &user,
        "cases/comment",
        &[
            ("number", number.as_str()),
            ("body", "Still _broken_ <img src=x onerror=alert(2)>"),
        ],
        200,
    )
    .await;
    let (_, case) = app
        .call(&user, "cases/get", &[("number", number.as_str())])
        .await;
    let html = case["description_html"].as_str().unwrap();
    assert!(
        html.contains("<strong>stall</strong>") && html.contains("<code>canary</code>"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("javascript:"),
        "{html}"
    );
    // The source text is kept as written.
    assert!(case["description"].as_str().unwrap().contains("<script>"));
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(
        page.contains("<strong>stall</strong>") && page.contains("<em>broken</em>"),
        "{page}"
    );
    // Neither as markup nor inside the hydration data (where the source text is escaped).
    assert!(
        !page.contains("<script>window.pwned") && !page.contains("<img src=x onerror"),
        "{page}"
    );
    assert!(!page.contains("<img src=\"x\" onerror"), "{page}");
}

/// Files a case of `email` (an ACME person, its contact and opener) straight into the database:
/// `number`, `state`, `priority`, opened at `created`, resolution due at `due` (`NULL`: none).
async fn insert_case(
    app: &TestApp,
    email: &str,
    (number, state, priority, created, due): (&str, &str, i32, i64, &str),
) {
    app.exec(&format!(
        "INSERT INTO cases (number, account_id, contact_id, created_by, product_version_id, impact_id, \
         workaround, feature_id, service_id, environment, availability_id, subject, description, state, \
         priority, assignment_group_id, created_at, updated_at, due_at) \
         SELECT '{number}', u.account_id, u.id, u.id, (SELECT MIN(id) FROM product_versions), \
         (SELECT MIN(id) FROM impact_levels), 'no', (SELECT MIN(id) FROM features), \
         (SELECT MIN(id) FROM services), 'Production', (SELECT MIN(id) FROM availability_windows), \
         'Sorting', 'Sorting', '{state}', {priority}, (SELECT MIN(id) FROM assignment_groups), {created}, \
         {created}, {due} FROM users u WHERE u.email = '{email}'"
    ))
    .await;
}

/// The case numbers of a list's answer, in its order.
fn numbers(list: &Value) -> Vec<String> {
    list["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_string())
        .collect()
}

async fn queues_sort_as_asked(app: TestApp) {
    for case in [
        ("CS0800001", "open", 3, 1000, "9000"),
        ("CS0800002", "awaiting_info", 1, 2000, "NULL"),
        ("CS0800003", "open", 3, 3000, "5000"),
        ("CS0800004", "new", 2, 4000, "7000"),
    ] {
        insert_case(&app, ACME_USER, case).await;
    }
    let agent = app.signed_in(AGENT).await;
    let order = |sort: &'static str| queue_order(&app, &agent, "all", sort, "");
    // Soonest resolution deadline first; a clock standing still (no deadline) last: in every
    // queue, and when the queue is searched (through the search index).
    let by_due = ["CS0800003", "CS0800004", "CS0800001", "CS0800002"];
    assert_eq!(order("due").await, by_due);
    assert_eq!(
        queue_order(&app, &agent, "unassigned", "due", "").await,
        by_due
    );
    assert_eq!(
        queue_order(&app, &agent, "all", "due", "sorting").await,
        by_due
    );
    app.exec(&format!(
        "UPDATE cases SET assigned_to = (SELECT id FROM users WHERE email = '{AGENT}')"
    ))
    .await;
    assert_eq!(queue_order(&app, &agent, "mine", "due", "").await, by_due);
    let order = |sort: &'static str| {
        let app = &app;
        let agent = agent.clone();
        async move {
            let (status, q) = app
                .call(&agent, "cases/queue", &[("queue", "all"), ("sort", sort)])
                .await;
            assert_eq!(status, 200, "{q}");
            q["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["number"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        order("newest").await,
        ["CS0800004", "CS0800003", "CS0800002", "CS0800001"]
    );
    assert_eq!(
        order("oldest").await,
        ["CS0800001", "CS0800002", "CS0800003", "CS0800004"]
    );
    assert_eq!(
        order("priority").await,
        ["CS0800002", "CS0800004", "CS0800003", "CS0800001"]
    );
    assert_eq!(order("nonsense").await, order("newest").await);
}

/// The numbers in staff queue `queue` sorted by `sort`, searched for `words`, as `agent` sees it.
async fn queue_order(
    app: &TestApp,
    agent: &reqwest::Client,
    queue: &str,
    sort: &str,
    words: &str,
) -> Vec<String> {
    let form = [("queue", queue), ("sort", sort), ("search", words)];
    numbers(&app.expect(agent, "cases/queue", &form, 200).await)
}

async fn customers_list_their_open_or_closed_cases(app: TestApp) {
    for case in [
        ("CS0800001", "open", 3, 1000, "9000"),
        ("CS0800002", "resolved", 3, 2000, "NULL"),
        ("CS0800003", "closed", 3, 3000, "NULL"),
        ("CS0800004", "cancelled", 3, 4000, "NULL"),
        ("CS0800005", "new", 3, 5000, "9000"),
    ] {
        insert_case(&app, ACME_USER, case).await;
    }
    insert_case(
        &app,
        "secondary@acme.example",
        ("CS0800006", "closed", 3, 6000, "NULL"),
    )
    .await;
    insert_case(&app, GLOBEX_USER, ("CS0800007", "open", 3, 7000, "NULL")).await;
    let user = app.signed_in(ACME_USER).await;
    let list = |scope: &'static str, state: &'static str, words: &'static str| {
        let (app, user) = (&app, user.clone());
        async move {
            let form = [("scope", scope), ("state", state), ("search", words)];
            let body = app.expect(&user, "cases/list", &form, 200).await;
            (numbers(&body), body["total"].as_i64().unwrap_or_default())
        }
    };
    // Resolved cases wait for the customer's verdict: they are open.
    let open = vec![
        "CS0800005".to_string(),
        "CS0800002".into(),
        "CS0800001".into(),
    ];
    assert_eq!(list("mine", "open", "").await, (open.clone(), 3));
    assert_eq!(
        list("mine", "closed", "").await,
        (vec!["CS0800004".to_string(), "CS0800003".into()], 2)
    );
    assert_eq!(list("mine", "", "").await.1, 5);
    // A value that names nothing is no filter.
    assert_eq!(list("mine", "frozen", "").await.1, 5);
    // The team's: a colleague's closed case too, never another account's.
    assert_eq!(
        list("team", "closed", "").await,
        (
            vec![
                "CS0800006".to_string(),
                "CS0800004".into(),
                "CS0800003".into()
            ],
            3
        )
    );
    assert_eq!(list("team", "open", "").await.1, 3);
    // Searched, through the search index, with the same filter.
    let (found, total) = list("team", "open", "sorting").await;
    assert_eq!((found.len(), total), (3, 3), "{found:?}");
    assert!(found.iter().all(|n| open.contains(n)), "{found:?}");
    let (found, _) = list("mine", "closed", "sorting").await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(!found.iter().any(|n| open.contains(n)), "{found:?}");
}

async fn a_customer_reply_reopens_a_case_awaiting_info(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &f.fields()).await;
    let number = number.as_str().unwrap().to_string();
    app.exec(&format!(
        "UPDATE cases SET state = 'awaiting_info' WHERE number = '{number}'"
    ))
    .await;
    app.expect(
        &user,
        "cases/comment",
        &[("number", &number), ("body", "  ")],
        422,
    )
    .await;
    app.expect(
        &user,
        "cases/comment",
        &[
            ("number", &number),
            ("body", "Here are the logs you asked for."),
        ],
        200,
    )
    .await;
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
    app.expect(
        &user,
        "cases/comment",
        &[("number", &number), ("body", "One more thing")],
        409,
    )
    .await;
}

async fn concurrent_cases_get_distinct_numbers(app: TestApp) {
    let f = form(&app, ACME_USER).await;
    let mut tasks = Vec::new();
    for who in [ACME_USER, ACME_ADMIN, "secondary@acme.example"] {
        let c = app.signed_in(who).await;
        for _ in 0..4 {
            let (c, url, f) = (c.clone(), app.url("/api/cases/create"), f.clone());
            tasks.push(tokio::spawn(async move {
                let res = c.post(url).form(&f.fields()).send().await.unwrap();
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

async fn staff_carry_a_case_through_its_life_cycle(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &f.fields()).await;
    let number = number.as_str().unwrap().to_string();
    let step = |c: &reqwest::Client, step: &'static str, comment: &'static str| {
        let (c, number, app) = (c.clone(), number.clone(), &app);
        async move {
            app.call(
                &c,
                "cases/step",
                &[
                    ("number", number.as_str()),
                    ("step", step),
                    ("comment", comment),
                ],
            )
            .await
            .0
        }
    };
    let state = || {
        let (number, app) = (number.clone(), &app);
        async move { on_db_state(app, &number).await }
    };
    let agent = app.signed_in(AGENT).await;
    assert_eq!(step(&client(), "start", "").await, 401);
    assert_eq!(
        step(&user, "start", "").await,
        409,
        "staff steps are not the customer's"
    );
    let other = app.signed_in(GLOBEX_USER).await;
    assert_eq!(step(&other, "accept", "").await, 404);
    assert_eq!(
        step(&agent, "accept", "").await,
        409,
        "customer steps are not staff's"
    );
    assert_eq!(step(&agent, "start", "").await, 200);
    assert_eq!(state().await, "open");
    assert_eq!(
        step(&agent, "ask_info", "").await,
        422,
        "asking needs a message"
    );
    assert_eq!(
        step(&agent, "ask_info", "Please attach the Orca logs.").await,
        200
    );
    assert_eq!(state().await, "awaiting_info");
    app.wait_for_mail(ACME_USER, &number).await;
    // The customer's reply reopens it.
    app.call(
        &user,
        "cases/comment",
        &[("number", &number), ("body", "Logs attached.")],
    )
    .await;
    assert_eq!(state().await, "open");
    assert_eq!(
        step(&agent, "resolve", "Raise the canary timeout to 30 minutes.").await,
        200
    );
    assert_eq!(state().await, "resolved");
    assert_eq!(step(&user, "reject", "").await, 200);
    assert_eq!(state().await, "open");
    assert_eq!(
        step(&agent, "resolve", "Also clear the stuck executions.").await,
        200
    );
    assert_eq!(step(&user, "accept", "").await, 200);
    assert_eq!(state().await, "closed");
    for s in ["start", "resolve", "cancel"] {
        assert_eq!(step(&agent, s, "x").await, 409, "{s} on a closed case");
    }
    assert_eq!(step(&user, "reject", "").await, 409);
    // Every move is in the activity with who and when.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM case_entries e JOIN cases c ON c.id = e.case_id \
             WHERE c.number = '{number}' AND e.kind = 'change' AND e.body LIKE 'State:%'"
        ))
        .await,
        7
    );
    // The contact was told of the resolution and of the close.
    assert!(app.scalar(&format!("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'case_resolved' AND subject LIKE '[{number}]%'")).await >= 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'case_closed'")
            .await,
        1
    );
}

async fn on_db_state(app: &TestApp, number: &str) -> String {
    app::server::db::on_db!(&app.db, |pool| sqlx::query_scalar::<_, String>(
        "SELECT state FROM cases WHERE number = $1"
    )
    .bind(number)
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn staff_fields_queues_and_the_sla_clock(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let (_, number) = app.call(&user, "cases/create", &f.fields()).await;
    let number = number.as_str().unwrap().to_string();
    let agent = app.signed_in(AGENT).await;
    let group = id(
        &app,
        "SELECT id FROM assignment_groups WHERE name = 'Technical Support'",
    )
    .await;
    // Who may: staff only.
    let fields = [
        ("number", number.as_str()),
        ("assigned_to", "me"),
        ("assignment_group_id", group.as_str()),
    ];
    assert_eq!(app.call(&client(), "cases/fields", &fields).await.0, 401);
    assert_eq!(app.call(&user, "cases/fields", &fields).await.0, 403);
    assert_eq!(app.call(&user, "cases/queue", &[]).await.0, 403);
    assert_eq!(
        app.call(
            &user,
            "cases/note",
            &[("number", number.as_str()), ("body", "x")]
        )
        .await
        .0,
        403
    );
    // Unassigned until someone takes it.
    let (_, q) = app
        .call(&agent, "cases/queue", &[("queue", "unassigned")])
        .await;
    assert_eq!(q["total"], 1, "{q}");
    // A priority by hand needs a reason.
    let mut with_priority = fields.to_vec();
    with_priority.push(("priority", "1"));
    let body = app
        .expect(&agent, "cases/fields", &with_priority, 422)
        .await;
    assert!(body.to_string().contains("priority_reason"));
    with_priority.push(("priority_reason", "Customer's launch is tomorrow"));
    assert_eq!(
        app.call(&agent, "cases/fields", &with_priority).await.0,
        200
    );
    let (_, q) = app.call(&agent, "cases/queue", &[("queue", "mine")]).await;
    assert_eq!(q["rows"][0]["number"], number.as_str());
    assert_eq!(q["rows"][0]["priority"], 1);
    let (_, q) = app
        .call(&agent, "cases/queue", &[("queue", "unassigned")])
        .await;
    assert_eq!(q["total"], 0);
    // Words of the subject or description (all must occur); query syntax is not passed on, and a
    // search of symbols only is no search.
    for (search, hits) in [
        ("stall after", 1),
        ("CANARY stage", 1),
        ("canary nosuchword", 0),
        ("\"*", 1),
        ("stall OR nosuchword", 0),
    ] {
        let (status, q) = app
            .call(
                &agent,
                "cases/queue",
                &[("queue", "all"), ("search", search)],
            )
            .await;
        assert_eq!(status, 200, "{search}");
        assert_eq!(q["total"], hits, "{search}: {q}");
    }
    let (_, q) = app
        .call(
            &agent,
            "cases/queue",
            &[("queue", "all"), ("account", "globex")],
        )
        .await;
    assert_eq!(q["total"], 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM case_entries e JOIN cases c ON c.id = e.case_id WHERE c.number = '{number}' \
             AND e.body LIKE 'Priority: P3 → P1 (set by hand: Customer''s launch is tomorrow)'"
        ))
        .await,
        1
    );

    // The SLA clock (P1: first response 1 h, resolution 1 day), moved back in time: opened 3 h ago,
    // of which 2 h awaiting the customer — 1 h has run.
    let now = app.scalar("SELECT MAX(created_at) FROM cases").await;
    app.exec(&format!(
        "UPDATE cases SET created_at = {}, state = 'awaiting_info', paused_since = {}, paused_seconds = 0 \
         WHERE number = '{number}'",
        now - 3 * 3600,
        now - 2 * 3600
    ))
    .await;
    let (_, case) = app.call(&agent, "cases/get", &[("number", &number)]).await;
    let left = case["resolution_left"].as_i64().unwrap();
    assert!((86_400 - 3600 - left).abs() < 120, "resolution left {left}");
    let first = case["first_response_left"].as_i64().unwrap();
    assert!(first.abs() < 120, "first response left {first}");
    // A staff comment is the first response: its clock stops.
    assert_eq!(
        app.call(
            &agent,
            "cases/note",
            &[("number", number.as_str()), ("body", "Looking at it now.")]
        )
        .await
        .0,
        200
    );
    let (_, case) = app.call(&agent, "cases/get", &[("number", &number)]).await;
    assert!(case["first_response_left"].is_null(), "{case}");
    // A work note is not a response and is never mailed.
    let mails = app.scalar("SELECT COUNT(*) FROM mail_outbox").await;
    app.call(
        &agent,
        "cases/note",
        &[
            ("number", number.as_str()),
            ("body", "Suspect their proxy."),
            ("internal", "on"),
        ],
    )
    .await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM mail_outbox").await, mails);
    // Breaching: running for two days without a pause (as if the agent had resumed it then).
    app.exec(&format!(
        "UPDATE cases SET state = 'awaiting_info', paused_since = {}, paused_seconds = 0, created_at = {} \
         WHERE number = '{number}'",
        now - 2 * 86_400,
        now - 2 * 86_400
    ))
    .await;
    let (_, q) = app
        .call(&agent, "cases/queue", &[("queue", "breaching")])
        .await;
    assert_eq!(q["total"], 0, "paused: not breaching");
    app.expect(
        &agent,
        "cases/step",
        &[("number", number.as_str()), ("step", "resume")],
        200,
    )
    .await;
    // Resuming credits the pause: the deadline moved by it (P1: one day of running time).
    assert_eq!(
        app.scalar(&format!(
            "SELECT due_at - created_at - paused_seconds FROM cases WHERE number = '{number}'"
        ))
        .await,
        86_400
    );
    // Now without the pause: two days of running time, one day over.
    app.exec(&format!(
        "UPDATE cases SET paused_seconds = 0, due_at = created_at + 86400 WHERE number = '{number}'"
    ))
    .await;
    let (_, q) = app
        .call(&agent, "cases/queue", &[("queue", "breaching")])
        .await;
    assert_eq!(q["total"], 1, "{q}");
    assert!(q["rows"][0]["resolution_left"].as_i64().unwrap() < 0);
}

async fn resolved_cases_close_themselves_after_the_configured_days(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let (_, n) = app.call(&user, "cases/create", &f.fields()).await;
        numbers.push(n.as_str().unwrap().to_string());
    }
    let now = app.scalar("SELECT MAX(created_at) FROM cases").await;
    // One resolved eight days ago, one yesterday.
    for (number, days) in numbers.iter().zip([8, 1]) {
        app.exec(&format!(
            "UPDATE cases SET state = 'resolved', resolved_at = {}, paused_since = {} WHERE number = '{number}'",
            now - days * 86_400,
            now - days * 86_400
        ))
        .await;
    }
    let state = server::prepare_for_command(app.settings.clone())
        .await
        .unwrap();
    let closed = app::server::cases::auto_close(&state, 7, now)
        .await
        .unwrap();
    assert_eq!(closed, 1);
    assert_eq!(on_db_state(&app, &numbers[0]).await, "closed");
    assert_eq!(on_db_state(&app, &numbers[1]).await, "resolved");
    let (_, case) = app
        .call(&user, "cases/get", &[("number", &numbers[0])])
        .await;
    let last = case["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["author"], "Portcullis");
    assert_eq!(last["body"], "State: Resolved → Closed");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'case_closed'")
            .await,
        1
    );
    assert_eq!(
        app::server::cases::auto_close(&state, 7, now)
            .await
            .unwrap(),
        0,
        "nothing twice"
    );
}

async fn the_compatibility_matrix_is_shown_to_signed_in_people(app: TestApp) {
    assert_eq!(app.call(&client(), "catalog/matrix", &[]).await.0, 401);
    let user = app.signed_in(ACME_USER).await;
    let (status, m) = app.call(&user, "catalog/matrix", &[]).await;
    assert_eq!(status, 200);
    let versions: Vec<&str> = m["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2.34", "2.32", "2.30", "2.28"]);
    let dynamic = m["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f[0]["name"] == "Dynamic Accounts")
        .unwrap();
    assert_eq!(dynamic[1], serde_json::json!([true, true, false, false]));
    let page = app.page_text(&user, "/catalog/matrix").await;
    assert!(
        page.contains("Dynamic Accounts") && page.contains("Not available"),
        "{page}"
    );
}

async fn staff_open_a_case_on_a_customers_behalf(app: TestApp) {
    let acme = id(&app, "SELECT id FROM accounts WHERE account_key = 'ACME'").await;
    let agent = app.signed_in(AGENT).await;
    let (status, opts) = app
        .call(&agent, "cases/options", &[("account_id", &acme)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        opts["me"],
        serde_json::Value::Null,
        "no contact preselected for staff"
    );
    // A contact from another account is refused.
    let mut f = form(&app, GLOBEX_USER).await;
    f.set("account_id", acme.clone());
    app.expect(&agent, "cases/create", &f.fields(), 422).await;
    let mut f = form(&app, ACME_USER).await;
    f.set("account_id", acme.clone());
    let (status, number) = app.call(&agent, "cases/create", &f.fields()).await;
    assert_eq!(status, 200, "{number}");
    let number = number.as_str().unwrap().to_string();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM cases WHERE number = '{number}' AND on_behalf \
             AND created_by = (SELECT id FROM users WHERE email = '{AGENT}')"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'case.created_on_behalf' AND target = 'case:{number}' AND account_id = {acme}")).await,
        1
    );
    let mail = app.wait_for_mail(ACME_USER, &number).await;
    assert!(mail.body.contains("on your behalf"), "{}", mail.body);
    // The customer sees it, and that staff opened it for them.
    let user = app.signed_in(ACME_USER).await;
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(
        page.contains("Opened by vendor staff on the customer"),
        "{page}"
    );
    // A customer naming another account still files for their own.
    let globex = id(&app, "SELECT id FROM accounts WHERE account_key = 'GLOBEX'").await;
    let mut f = form(&app, ACME_USER).await;
    f.set("account_id", globex);
    let (status, number) = app.call(&user, "cases/create", &f.fields()).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM cases WHERE number = '{}' AND account_id = {acme} AND NOT on_behalf", number.as_str().unwrap())).await,
        1
    );
}

/// Pages offer each reader the way that works for them: staff go back to the queues from a case,
/// and are not offered customer-only forms on the change-request list.
async fn back_links_and_actions_fit_the_reader(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    let number = app.expect(&user, "cases/create", &f.fields(), 200).await;
    let number = number.as_str().unwrap();
    let agent = app.signed_in(AGENT).await;
    let page = app.page_text(&agent, &format!("/cases/{number}")).await;
    assert!(page.contains("href=\"/staff/cases\""), "{page}");
    assert!(!page.contains("href=\"/cases\""), "{page}");
    // The agent's box says where the text goes: two buttons, the reply's with an empty value.
    let page = app.page_text(&agent, &format!("/cases/{number}")).await;
    assert!(
        page.contains(">Send reply to customer</button>")
            && page.contains(">Save internal note</button>"),
        "{page}"
    );
    for (internal, body) in [
        ("", "Reply for the customer"),
        ("on", "Note for staff only"),
    ] {
        app.expect(
            &agent,
            "cases/note",
            &[("number", number), ("body", body), ("internal", internal)],
            200,
        )
        .await;
    }
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(page.contains("href=\"/cases\""), "{page}");
    assert!(
        page.contains("Reply for the customer") && !page.contains("Note for staff only"),
        "{page}"
    );
    // Stored values read as words: the case's workaround, the trail's actions.
    let page = app.page_text(&user, &format!("/cases/{number}")).await;
    assert!(
        page.contains("<dd>Yes</dd>"),
        "workaround as a word: {page}"
    );
    let page = app.page_text(&agent, "/staff/audit").await;
    assert!(
        page.contains("Signed in") && page.contains("sign_in.succeeded"),
        "{page}"
    );
    let page = app.page_text(&agent, "/changes").await;
    assert!(
        !page.contains("/changes/new") && !page.contains("/cases/new"),
        "{page}"
    );
    assert!(page.contains("staff console"), "{page}");
    let page = app.page_text(&user, "/changes").await;
    assert!(
        page.contains("/changes/new") && page.contains("/cases/new"),
        "{page}"
    );
}

both_engines!(
    back_links_and_actions_fit_the_reader,
    staff_open_a_case_on_a_customers_behalf,
    the_compatibility_matrix_is_shown_to_signed_in_people,
    resolved_cases_close_themselves_after_the_configured_days,
    staff_carry_a_case_through_its_life_cycle,
    staff_fields_queues_and_the_sla_clock,
    the_case_form_refuses_a_missing_availability_and_files_a_numbered_case,
    cases_follow_the_matrix_and_stay_in_their_account,
    work_notes_never_reach_a_customer,
    descriptions_and_comments_render_markdown_safely,
    queues_sort_as_asked,
    customers_list_their_open_or_closed_cases,
    a_customer_reply_reopens_a_case_awaiting_info,
    concurrent_cases_get_distinct_numbers
);
