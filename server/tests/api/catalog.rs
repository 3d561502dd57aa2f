//! The catalog platform admins keep (SPEC §8): who may, validation, retired entries, SLA targets,
//! the compatibility matrix, assignment groups and the "my groups" queue.

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

async fn catalog_audit(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'catalog.%'")
        .await
}

async fn only_platform_admins_keep_the_catalog(app: TestApp) {
    let feature = id(
        &app,
        "SELECT id FROM features WHERE name = 'Canary Analysis'",
    )
    .await;
    let version = id(&app, "SELECT id FROM product_versions WHERE name = '2.34'").await;
    let group = id(&app, "SELECT MIN(id) FROM assignment_groups").await;
    let admin_id = id(
        &app,
        &format!("SELECT id FROM users WHERE email = '{PLATFORM_ADMIN}'"),
    )
    .await;
    let pair = format!("{feature}:{version}");
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("catalog/admin", vec![]),
        (
            "catalog/entry",
            vec![("kind", "features"), ("name", "Blue Green")],
        ),
        (
            "catalog/entry",
            vec![
                ("kind", "features"),
                ("id", feature.as_str()),
                ("name", "Renamed"),
            ],
        ),
        (
            "catalog/sla",
            vec![
                ("priority", "1"),
                ("first_response_minutes", "5"),
                ("resolution_minutes", "60"),
            ],
        ),
        ("catalog/matrix_save", vec![("pairs[0]", pair.as_str())]),
        (
            "catalog/member",
            vec![
                ("group_id", group.as_str()),
                ("user_id", admin_id.as_str()),
                ("member", "add"),
            ],
        ),
    ];
    let members_before = app.scalar("SELECT COUNT(*) FROM group_members").await;
    let matrix_before = app.scalar("SELECT COUNT(*) FROM feature_versions").await;
    let features_before = app.scalar("SELECT COUNT(*) FROM features").await;
    for (endpoint, args) in &calls {
        assert_eq!(
            app.call(&client(), endpoint, args).await.0,
            401,
            "anonymous {endpoint}"
        );
        for who in [ACME_USER, ACME_ADMIN, GLOBEX_USER, AGENT] {
            let c = app.signed_in(who).await;
            assert_eq!(
                app.call(&c, endpoint, args).await.0,
                403,
                "{who} {endpoint}"
            );
        }
    }
    // Nothing changed on the way.
    assert_eq!(catalog_audit(&app).await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM features").await,
        features_before
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM feature_versions").await,
        matrix_before
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM group_members").await,
        members_before
    );
    assert_eq!(
        app.scalar(
            "SELECT CAST(first_response_minutes AS BIGINT) FROM sla_targets WHERE priority = 1"
        )
        .await,
        60
    );
    // A platform admin may do each.
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    for (endpoint, args) in &calls {
        let (status, body) = app.call(&admin, endpoint, args).await;
        assert_eq!(status, 200, "platform admin {endpoint}: {body}");
    }
    assert_eq!(catalog_audit(&app).await, 5);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM feature_versions").await,
        1,
        "the matrix was replaced by the one pair sent"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM group_members").await,
        members_before + 1
    );
    // The page itself: platform admins see the catalog, an agent is refused.
    let html = app.page_text(&admin, "/staff/catalog").await;
    assert!(
        html.contains("Blue Green") && html.contains("Renamed"),
        "{html}"
    );
    let agent = app.signed_in(AGENT).await;
    let html = app.page_text(&agent, "/staff/catalog").await;
    assert!(!html.contains("Blue Green"), "{html}");
}

async fn bad_entries_change_nothing_and_say_which_field(app: TestApp) {
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    let features_before = app.scalar("SELECT COUNT(*) FROM features").await;
    let long = "x".repeat(81);
    for (args, field) in [
        (
            vec![("kind", "features"), ("name", " ")],
            "features-new-name",
        ),
        (
            vec![("kind", "features"), ("name", long.as_str())],
            "features-new-name",
        ),
        (
            vec![("kind", "features"), ("name", "Canary Analysis")],
            "features-new-name",
        ),
        (
            vec![("kind", "impacts"), ("name", "Cosmetic"), ("extra", "7")],
            "impacts-new-extra",
        ),
        (
            vec![("kind", "versions"), ("name", "3.0"), ("extra", "soon")],
            "versions-new-extra",
        ),
    ] {
        let (status, body) = app.call(&admin, "catalog/entry", &args).await;
        assert_eq!(status, 422, "{args:?}: {body}");
        assert!(
            invalid_fields(&body).contains(&field.to_string()),
            "{args:?}: {body}"
        );
    }
    app.expect(
        &admin,
        "catalog/entry",
        &[("kind", "planets"), ("name", "Mars")],
        404,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM features").await,
        features_before
    );
    // The group new cases go to keeps its name and stays active.
    let default = id(&app, "SELECT MIN(id) FROM assignment_groups").await;
    let body = app
        .expect(
            &admin,
            "catalog/entry",
            &[
                ("kind", "groups"),
                ("id", default.as_str()),
                ("name", "Technical Support"),
            ],
            422,
        )
        .await;
    assert!(invalid_fields(&body).contains(&format!("groups-{default}-name")));
    // SLA targets: whole minutes, resolution not before the first response.
    for (first, resolution, field) in [
        ("0", "60", "sla-2-first"),
        ("abc", "60", "sla-2-first"),
        ("60", "30", "sla-2-resolution"),
        ("60", "9999999", "sla-2-resolution"),
    ] {
        let (status, body) = app
            .call(
                &admin,
                "catalog/sla",
                &[
                    ("priority", "2"),
                    ("first_response_minutes", first),
                    ("resolution_minutes", resolution),
                ],
            )
            .await;
        assert_eq!(status, 422, "{first}/{resolution}: {body}");
        assert!(invalid_fields(&body).contains(&field.to_string()), "{body}");
    }
    assert_eq!(
        app.scalar("SELECT CAST(resolution_minutes AS BIGINT) FROM sla_targets WHERE priority = 2")
            .await,
        4320
    );
    // A matrix naming an unknown feature changes nothing.
    let before = app.scalar("SELECT COUNT(*) FROM feature_versions").await;
    app.expect(
        &admin,
        "catalog/matrix_save",
        &[("pairs[0]", "999999:1")],
        422,
    )
    .await;
    app.expect(
        &admin,
        "catalog/matrix_save",
        &[("pairs[0]", "nonsense")],
        422,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM feature_versions").await,
        before
    );
    assert_eq!(catalog_audit(&app).await, 0);
}

/// Names of the entries of `list` in the case-form options.
fn names(options: &Value, list: &str) -> Vec<String> {
    options[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

async fn retired_entries_stay_on_old_cases_but_leave_the_form(app: TestApp) {
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    let user = app.signed_in(ACME_USER).await;
    // Adding: a new service is offered at once, and the trail has it.
    app.expect(
        &admin,
        "catalog/entry",
        &[("kind", "services"), ("name", "Keel")],
        200,
    )
    .await;
    let (_, options) = app.call(&user, "cases/options", &[]).await;
    assert!(names(&options, "services").contains(&"Keel".to_string()));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.added' AND after_state LIKE '%Keel%'")
            .await,
        1
    );
    // A case filed with a service that is then retired keeps showing it.
    let form = vec![
        (
            "contact_id",
            id(
                &app,
                &format!("SELECT id FROM users WHERE email = '{ACME_USER}'"),
            )
            .await,
        ),
        (
            "product_version_id",
            id(&app, "SELECT id FROM product_versions WHERE name = '2.34'").await,
        ),
        (
            "impact_id",
            id(&app, "SELECT id FROM impact_levels WHERE name = 'Question'").await,
        ),
        ("workaround", "unknown".to_string()),
        (
            "feature_id",
            id(
                &app,
                "SELECT id FROM features WHERE name = 'Canary Analysis'",
            )
            .await,
        ),
        (
            "service_id",
            id(&app, "SELECT id FROM services WHERE name = 'Keel'").await,
        ),
        ("environment", "Production".to_string()),
        (
            "availability_id",
            id(&app, "SELECT MIN(id) FROM availability_windows").await,
        ),
        ("subject", "Keel question".to_string()),
        ("description", "How do I pin a version?".to_string()),
    ];
    let form_refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, number) = app.call(&user, "cases/create", &form_refs).await;
    assert_eq!(status, 200, "{number}");
    let number = number.as_str().unwrap().to_string();
    let keel = id(&app, "SELECT id FROM services WHERE name = 'Keel'").await;
    app.expect(
        &admin,
        "catalog/entry",
        &[
            ("kind", "services"),
            ("id", keel.as_str()),
            ("name", "Keel"),
        ],
        200,
    )
    .await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM services WHERE id = {keel} AND NOT active"
        ))
        .await,
        1
    );
    let (_, options) = app.call(&user, "cases/options", &[]).await;
    assert!(!names(&options, "services").contains(&"Keel".to_string()));
    let (status, body) = app.call(&user, "cases/create", &form_refs).await;
    assert_eq!(status, 422, "a retired service is refused: {body}");
    let (_, case) = app
        .call(&user, "cases/get", &[("number", number.as_str())])
        .await;
    assert_eq!(case["service"], "Keel");
    // Brought back, renamed, with the change before and after in the trail.
    app.expect(
        &admin,
        "catalog/entry",
        &[
            ("kind", "services"),
            ("id", keel.as_str()),
            ("name", "Keel CD"),
            ("active", "on"),
        ],
        200,
    )
    .await;
    let (_, options) = app.call(&user, "cases/options", &[]).await;
    assert!(names(&options, "services").contains(&"Keel CD".to_string()));
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.changed' \
             AND before_state LIKE '%\"active\":false%' AND after_state LIKE '%Keel CD%'"
        )
        .await,
        1
    );
    // Severity of a new impact level orders it and sets priorities.
    app.expect(
        &admin,
        "catalog/entry",
        &[
            ("kind", "impacts"),
            ("name", "Security incident"),
            ("extra", "1"),
        ],
        200,
    )
    .await;
    assert_eq!(
        app.scalar(
            "SELECT CAST(severity AS BIGINT) FROM impact_levels WHERE name = 'Security incident'"
        )
        .await,
        1
    );
}

async fn sla_targets_and_the_matrix_take_effect(app: TestApp) {
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    let user = app.signed_in(ACME_USER).await;
    // A P4 case ("Question", workaround unknown) with a running resolution clock.
    app.exec(
        "INSERT INTO cases (number, account_id, contact_id, created_by, product_version_id, impact_id, \
         workaround, feature_id, service_id, environment, availability_id, subject, description, state, \
         priority, assignment_group_id, created_at, updated_at, due_at) \
         SELECT 'CS0500000', u.account_id, u.id, u.id, (SELECT MIN(id) FROM product_versions), \
         (SELECT MIN(id) FROM impact_levels), 'unknown', (SELECT MIN(id) FROM features), \
         (SELECT MIN(id) FROM services), 'Production', (SELECT MIN(id) FROM availability_windows), \
         'Clock', 'Clock', 'open', 4, (SELECT MIN(id) FROM assignment_groups), 1000, 1000, 1000 + 43200 * 60 \
         FROM users u WHERE u.email = 'user@acme.example'",
    )
    .await;
    app.expect(
        &admin,
        "catalog/sla",
        &[
            ("priority", "4"),
            ("first_response_minutes", "120"),
            ("resolution_minutes", "1440"),
        ],
        200,
    )
    .await;
    assert_eq!(
        app.scalar("SELECT CAST(first_response_minutes * 10000 + resolution_minutes AS BIGINT) FROM sla_targets WHERE priority = 4")
            .await,
        120 * 10000 + 1440
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sla_targets WHERE priority = 4 AND business_hours")
            .await,
        0,
        "the box was not ticked"
    );
    assert_eq!(
        app.scalar("SELECT due_at FROM cases WHERE number = 'CS0500000'")
            .await,
        1000 + 1440 * 60,
        "the running clock follows the new target"
    );
    // The matrix: exactly the ticked cells, as customers then see it.
    let feature = id(
        &app,
        "SELECT id FROM features WHERE name = 'Canary Analysis'",
    )
    .await;
    let v1 = id(&app, "SELECT id FROM product_versions WHERE name = '2.34'").await;
    let v2 = id(&app, "SELECT MIN(id) FROM product_versions").await;
    let pairs = [format!("{feature}:{v1}"), format!("{feature}:{v2}")];
    let body = app
        .expect(
            &admin,
            "catalog/matrix_save",
            &[
                ("pairs[3]", pairs[0].as_str()),
                ("pairs[7]", pairs[1].as_str()),
            ],
            200,
        )
        .await;
    let expected = if v1 == v2 { 1 } else { 2 };
    assert_eq!(body, expected);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM feature_versions").await,
        expected
    );
    let (_, matrix) = app.call(&user, "catalog/matrix", &[]).await;
    let rows = matrix["features"].as_array().unwrap();
    let available: usize = rows
        .iter()
        .map(|r| {
            r[1].as_array()
                .unwrap()
                .iter()
                .filter(|c| c == &&Value::Bool(true))
                .count()
        })
        .sum();
    assert_eq!(available as i64, expected, "{matrix}");
    // Nothing ticked: an empty matrix, still one audited change.
    app.expect(&admin, "catalog/matrix_save", &[], 200).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM feature_versions").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'catalog.matrix_changed'")
            .await,
        2
    );
}

async fn group_members_see_their_groups_queue(app: TestApp) {
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    let agent = app.signed_in(AGENT).await;
    let agent_id = id(
        &app,
        &format!("SELECT id FROM users WHERE email = '{AGENT}'"),
    )
    .await;
    let customer_id = id(
        &app,
        &format!("SELECT id FROM users WHERE email = '{ACME_USER}'"),
    )
    .await;
    let (status, group) = app
        .call(
            &admin,
            "catalog/entry",
            &[("kind", "groups"), ("name", "Database Team")],
        )
        .await;
    assert_eq!(status, 200);
    let group = group.to_string();
    // Only active vendor staff can join a group.
    let body = app
        .expect(
            &admin,
            "catalog/member",
            &[
                ("group_id", group.as_str()),
                ("user_id", customer_id.as_str()),
                ("member", "add"),
            ],
            422,
        )
        .await;
    assert!(invalid_fields(&body).contains(&format!("groups-{group}-member")));
    app.expect(
        &admin,
        "catalog/member",
        &[
            ("group_id", group.as_str()),
            ("user_id", agent_id.as_str()),
            ("member", "add"),
        ],
        200,
    )
    .await;
    // A case moved to the group shows in the member's "my groups" queue, not in others'.
    app.exec(
        "INSERT INTO cases (number, account_id, contact_id, created_by, product_version_id, impact_id, \
         workaround, feature_id, service_id, environment, availability_id, subject, description, state, \
         priority, assignment_group_id, created_at, updated_at) \
         SELECT 'CS0600000', u.account_id, u.id, u.id, (SELECT MIN(id) FROM product_versions), \
         (SELECT MIN(id) FROM impact_levels), 'unknown', (SELECT MIN(id) FROM features), \
         (SELECT MIN(id) FROM services), 'Production', (SELECT MIN(id) FROM availability_windows), \
         'Replication lag', 'Replica behind', 'new', 3, (SELECT MIN(id) FROM assignment_groups), 1000, 1000 \
         FROM users u WHERE u.email = 'user@acme.example'",
    )
    .await;
    app.expect(
        &agent,
        "cases/fields",
        &[
            ("number", "CS0600000"),
            ("assignment_group_id", group.as_str()),
        ],
        200,
    )
    .await;
    let number = "CS0600000".to_string();
    let numbers = |q: &Value| -> Vec<String> {
        q["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["number"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, q) = app
        .call(&agent, "cases/queue", &[("queue", "groups")])
        .await;
    assert_eq!(numbers(&q), vec![number.clone()], "{q}");
    let (_, q) = app
        .call(&admin, "cases/queue", &[("queue", "groups")])
        .await;
    assert!(numbers(&q).is_empty(), "not a member: {q}");
    // The group filter finds it in any queue; the assignee filter finds nobody's.
    let (_, q) = app
        .call(
            &admin,
            "cases/queue",
            &[("queue", "all"), ("group", group.as_str())],
        )
        .await;
    assert_eq!(numbers(&q), vec![number.clone()]);
    let (_, q) = app
        .call(
            &admin,
            "cases/queue",
            &[("queue", "all"), ("assignee", agent_id.as_str())],
        )
        .await;
    assert!(!numbers(&q).contains(&number));
    // Off the group, out of the queue; both changes are in the trail.
    app.expect(
        &admin,
        "catalog/member",
        &[
            ("group_id", group.as_str()),
            ("user_id", agent_id.as_str()),
            ("member", "remove"),
        ],
        200,
    )
    .await;
    let (_, q) = app
        .call(&agent, "cases/queue", &[("queue", "groups")])
        .await;
    assert!(numbers(&q).is_empty());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'catalog.group_member_%'")
            .await,
        2
    );
    // The catalog page lists the group and offers the staff to add.
    let html = app.page_text(&admin, "/staff/catalog").await;
    assert!(
        html.contains("Database Team") && html.contains("Add a member"),
        "{html}"
    );
}

both_engines!(
    only_platform_admins_keep_the_catalog,
    bad_entries_change_nothing_and_say_which_field,
    retired_entries_stay_on_old_cases_but_leave_the_form,
    sla_targets_and_the_matrix_take_effect,
    group_members_see_their_groups_queue
);
