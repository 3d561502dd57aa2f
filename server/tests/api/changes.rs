//! Change requests (SPEC §5): the customer's own authorized requests, requests raised on an
//! account's behalf and authorized by its administrator, the workflow, the immutable
//! authorization record, and conversion into a case.

use crate::both_engines;
use crate::helpers::*;
use serde_json::Value;

const ACME_USER: &str = "user@acme.example";
const ACME_ADMIN: &str = "admin@acme.example";
const ACME_SECONDARY: &str = "secondary@acme.example";
const GLOBEX_USER: &str = "user@globex.example";
const INITECH_ADMIN: &str = "admin@initech.example";
const AGENT: &str = "agent@vendor.example";
const PLATFORM_ADMIN: &str = "platform.admin@vendor.example";

/// `YYYY-MM-DDTHH:MM` in UTC, `days` from now.
fn local(days: i64) -> String {
    let t = jiff::Timestamp::from_second(app::server::now() + days * 86_400).unwrap();
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn user_id(app: &TestApp, email: &str) -> String {
    app.scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
        .to_string()
}

/// A complete request for ACME, requested by `requester`.
pub(crate) async fn form(app: &TestApp, requester: &str) -> Form {
    Form::new(vec![
        ("requested_by", user_id(app, requester).await),
        ("environment", "Production".into()),
        (
            "short_description",
            "Double the Clouddriver replicas".into(),
        ),
        (
            "description",
            "Scale Clouddriver from 2 to 4 replicas.".into(),
        ),
        ("reason", "Deploys queue up at peak hours.".into()),
        ("affects_capacity", "on".into()),
        ("affects_cost", "on".into()),
        ("risk", "medium".into()),
        ("window_start", local(2)),
        ("window_end", local(3)),
        ("rollback_plan", "Scale back to 2 replicas.".into()),
    ])
}

/// The case fields staff give when converting change request `number` into a case.
pub(crate) async fn convert_fields(app: &TestApp, number: &str) -> Vec<(&'static str, String)> {
    vec![
        ("number", number.to_string()),
        (
            "product_version_id",
            app.scalar("SELECT id FROM product_versions WHERE name = '2.34'")
                .await
                .to_string(),
        ),
        (
            "impact_id",
            app.scalar("SELECT id FROM impact_levels WHERE name = 'Question'")
                .await
                .to_string(),
        ),
        ("workaround", "unknown".to_string()),
        (
            "feature_id",
            app.scalar("SELECT id FROM features WHERE name = 'Canary Analysis'")
                .await
                .to_string(),
        ),
        (
            "service_id",
            app.scalar("SELECT id FROM services WHERE name = 'Clouddriver'")
                .await
                .to_string(),
        ),
        (
            "availability_id",
            app.scalar("SELECT MIN(id) FROM availability_windows")
                .await
                .to_string(),
        ),
    ]
}

pub(crate) fn refs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn step(app: &TestApp, c: &reqwest::Client, number: &str, step: &str) -> (u16, Value) {
    app.call(c, "changes/step", &[("number", number), ("step", step)])
        .await
}

async fn customers_file_authorized_changes_and_self_hosted_accounts_cannot(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await;
    // Anonymous: nothing.
    for endpoint in [
        "changes/options",
        "changes/create",
        "changes/list",
        "changes/get",
        "changes/step",
        "changes/convert",
    ] {
        assert_eq!(
            app.call(
                &client(),
                endpoint,
                &[("number", "CHG0001001"), ("step", "assess")]
            )
            .await
            .0,
            401,
            "{endpoint}"
        );
    }
    // Without the authorization statement ticked, and with a window in the past: refused, each
    // at its field, nothing stored.
    let bad = f.clone().with("window_start", local(-1));
    let body = app
        .expect(&user, "changes/create", &bad.fields(), 422)
        .await;
    let named = invalid_fields(&body);
    assert!(named.contains(&"authorized".to_string()), "{body}");
    assert!(named.contains(&"window_start".to_string()), "{body}");
    assert!(body
        .to_string()
        .contains("I am authorized to request this change for Acme Corporation"));
    let backwards = f
        .clone()
        .with("window_end", local(1))
        .with("authorized", "on");
    let body = app
        .expect(&user, "changes/create", &backwards.fields(), 422)
        .await;
    assert!(
        invalid_fields(&body).contains(&"window_end".to_string()),
        "{body}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM change_requests").await, 0);
    // Authorized: New at once, with the record of who, when, from where and the words.
    let good = f.clone().with("authorized", "on");
    let (status, number) = app.call(&user, "changes/create", &good.fields()).await;
    assert_eq!(status, 200, "{number}");
    let number = number.as_str().unwrap().to_string();
    assert!(number.starts_with("CHG") && number.len() == 10, "{number}");
    let (status, cr) = app
        .call(&user, "changes/get", &[("number", number.as_str())])
        .await;
    assert_eq!(status, 200, "{cr}");
    assert_eq!(cr["state"], "new");
    assert_eq!(
        cr["authorization"]["text"],
        "I am authorized to request this change for Acme Corporation."
    );
    assert!(cr["authorization"]["from"]
        .as_str()
        .is_some_and(|a| !a.is_empty()));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'change.created' AND after_state LIKE '%authorization_text%'")
            .await,
        1
    );
    // The page shows it; the account's lists have it; other accounts do not see it.
    // Searched by number and by words of any of its texts.
    for (q, expected) in [
        (number.as_str(), 1),
        ("clouddriver replicas", 1),
        ("peak", 0),
        ("4 replicas", 1),
        ("kubernetes", 0),
        ("\"* OR", 0),
    ] {
        let (status, found) = app.call(&user, "changes/list", &[("search", q)]).await;
        assert_eq!(status, 200, "{q}: {found}");
        assert_eq!(found["total"], expected, "{q}: {found}");
    }
    let page = app.page_text(&user, &format!("/changes/{number}")).await;
    assert!(
        page.contains("I am authorized to request this change for Acme Corporation."),
        "{page}"
    );
    let (_, list) = app.call(&user, "changes/list", &[]).await;
    assert_eq!(list["total"], 1);
    for who in [GLOBEX_USER, INITECH_ADMIN] {
        let c = app.signed_in(who).await;
        assert_eq!(
            app.call(&c, "changes/get", &[("number", number.as_str())])
                .await
                .0,
            404,
            "{who}"
        );
        let (_, list) = app.call(&c, "changes/list", &[]).await;
        assert_eq!(list["total"], 0, "{who}");
        assert_eq!(
            step(&app, &c, &number, "assess").await.0,
            if who == GLOBEX_USER { 403 } else { 404 },
            "{who}"
        );
    }
    // A customer does not move their own CR; staff do.
    assert_eq!(step(&app, &user, &number, "assess").await.0, 403);
    // Self-hosted accounts are told why they cannot file one.
    let globex = app.signed_in(GLOBEX_USER).await;
    let gf = good
        .clone()
        .with("requested_by", user_id(&app, GLOBEX_USER).await)
        .with("environment", "Production");
    let body = app
        .expect(&globex, "changes/create", &gf.fields(), 409)
        .await;
    assert!(body.to_string().contains("Open a case instead"), "{body}");
}

async fn on_behalf_changes_wait_for_an_administrators_authorization(app: TestApp) {
    let acme = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string();
    let mut f = form(&app, ACME_USER).await;
    f.set("account_id", acme.clone());
    f.set("authorizer_id", user_id(&app, ACME_ADMIN).await);
    // Agents are refused, through the UI's endpoint as over HTTP; nothing stored.
    let agent = app.signed_in(AGENT).await;
    app.expect(&agent, "changes/create", &f.fields(), 403).await;
    assert_eq!(
        app.call(&agent, "changes/options", &[("account_id", acme.as_str())])
            .await
            .0,
        403
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM change_requests").await, 0);
    // A platform admin raises it: Awaiting authorization, the named administrator is mailed.
    let admin = app.signed_in(PLATFORM_ADMIN).await;
    let (status, number) = app.call(&admin, "changes/create", &f.fields()).await;
    assert_eq!(status, 200, "{number}");
    let number = number.as_str().unwrap().to_string();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM change_requests WHERE number = '{number}' AND state = 'awaiting_authorization' \
             AND authorized_at IS NULL AND on_behalf"
        ))
        .await,
        1
    );
    let mail = app
        .wait_for_mail(ACME_ADMIN, &format!("[{number}] Authorization needed"))
        .await;
    assert!(
        mail.body.contains(&format!("/changes/{number}")),
        "{}",
        mail.body
    );
    // Nobody moves it forward before the authorization: not staff, not the requester.
    for (who, expected) in [(PLATFORM_ADMIN, 409), (AGENT, 409), (ACME_USER, 403)] {
        let c = app.signed_in(who).await;
        for s in ["assess", "schedule", "cancel"] {
            assert_eq!(step(&app, &c, &number, s).await.0, expected, "{who} {s}");
        }
    }
    // Not a customer user who is no administrator, not the other administrator (one was named),
    // not another account's administrator.
    let acme_user = app.signed_in(ACME_USER).await;
    assert_eq!(step(&app, &acme_user, &number, "authorize").await.0, 403);

    let secondary = app.signed_in(ACME_SECONDARY).await;
    assert_eq!(step(&app, &secondary, &number, "authorize").await.0, 403);
    let initech = app.signed_in(INITECH_ADMIN).await;
    assert_eq!(step(&app, &initech, &number, "authorize").await.0, 404);
    // Not a platform admin impersonating the administrator.
    let impersonator = app.signed_in(PLATFORM_ADMIN).await;
    let (status, body) = app
        .call(
            &impersonator,
            "staff/impersonate",
            &[
                ("user_id", user_id(&app, ACME_ADMIN).await.as_str()),
                ("reason", "Check their view"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(step(&app, &impersonator, &number, "authorize").await.0, 403);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM change_requests WHERE number = '{number}' AND state = 'awaiting_authorization'"))
            .await,
        1
    );
    // The named administrator authorizes it: New, with their record, shown on the CR.
    let acme_admin = app.signed_in(ACME_ADMIN).await;
    let (_, cr) = app
        .call(&acme_admin, "changes/get", &[("number", number.as_str())])
        .await;
    assert_eq!(cr["steps"], serde_json::json!(["authorize", "decline"]));
    let (status, body) = step(&app, &acme_admin, &number, "authorize").await;
    assert_eq!(status, 200, "{body}");
    let (_, cr) = app
        .call(&acme_admin, "changes/get", &[("number", number.as_str())])
        .await;
    assert_eq!(cr["state"], "new");
    assert_eq!(cr["authorization"]["by"], "Ada Moreno");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'change.authorized' AND target = 'change:{number}'"
        ))
        .await,
        1
    );
    // Staff carry it through to Closed; every step is in the history.
    let staff = app.signed_in(AGENT).await;
    assert_eq!(step(&app, &staff, &number, "assess").await.0, 200);
    let body = app
        .expect(
            &staff,
            "changes/step",
            &[
                ("number", number.as_str()),
                ("step", "schedule"),
                ("scheduled_start", local(3).as_str()),
                ("scheduled_end", local(2).as_str()),
            ],
            422,
        )
        .await;
    assert!(invalid_fields(&body).contains(&"scheduled_end".to_string()));
    app.expect(
        &staff,
        "changes/step",
        &[
            ("number", number.as_str()),
            ("step", "schedule"),
            ("scheduled_start", local(2).as_str()),
            ("scheduled_end", local(3).as_str()),
            ("implementer_id", "me"),
            ("note", "Capacity checked with the account's TAM."),
        ],
        200,
    )
    .await;
    assert_eq!(step(&app, &staff, &number, "implement").await.0, 200);
    assert_eq!(step(&app, &staff, &number, "review").await.0, 200);
    // Under review it can only be closed: not cancelled, not converted.
    assert_eq!(step(&app, &staff, &number, "cancel").await.0, 409);
    assert_eq!(step(&app, &staff, &number, "close").await.0, 200);
    let (_, cr) = app
        .call(&staff, "changes/get", &[("number", number.as_str())])
        .await;
    assert_eq!(cr["state"], "closed");
    assert!(cr["implementer"].as_str().is_some(), "{cr}");
    let history = cr["entries"].to_string();
    for label in [
        "Awaiting authorization → New",
        "New → Assess",
        "Assess → Scheduled",
        "Review → Closed",
    ] {
        assert!(history.contains(label), "{label}: {history}");
    }
    let customer_view = app
        .call(&acme_admin, "changes/get", &[("number", number.as_str())])
        .await
        .1;
    assert!(
        !customer_view.to_string().contains("Capacity checked"),
        "staff notes stay with staff"
    );
    assert!(cr.to_string().contains("Capacity checked"));
    // A closed request moves no more, and the chain of authorization is whole.
    assert_eq!(step(&app, &staff, &number, "assess").await.0, 409);
    let broken = app::server::changes::unauthorized(&app.db).await.unwrap();
    assert!(broken.is_empty(), "{broken:?}");
}

/// Runs `portcullis <command>` on the test database: (success, stdout).
fn cli(app: &TestApp, command: &str) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg(command)
        .env(
            "PORTCULLIS_DATABASE_URL",
            app.settings.database_url.expose(),
        )
        .env("PORTCULLIS_LOG_LEVEL", "warn")
        .output()
        .expect("run portcullis");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn the_authorization_record_cannot_be_changed(engine: Engine) {
    let Some(app) = spawn(engine).await else {
        return;
    };
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await.with("authorized", "on");
    let (_, number) = app.call(&user, "changes/create", &f.fields()).await;
    let number = number.as_str().unwrap().to_string();
    for command in ["verify-audit", "verify-changes"] {
        let (ok, out) = cli(&app, command);
        assert!(ok, "{command}: {out}");
    }
    // The schema refuses to change it, and to skip it.
    let edited = app::on_db!(&app.db, |pool| sqlx::query(&format!(
        "UPDATE change_requests SET authorization_text = 'something else' WHERE number = '{number}'"
    ))
    .execute(pool)
    .await
    .map(|_| ()));
    assert!(edited.is_err(), "the authorization was changed");
    let skipped = app::on_db!(&app.db, |pool| {
        sqlx::query(
        "UPDATE change_requests SET state = 'implement', authorized_by = NULL, authorized_at = NULL"
    )
    .execute(pool)
    .await
    .map(|_| ())
    });
    assert!(skipped.is_err(), "a CR lost its authorization");
    // Behind the schema's back (trigger dropped), the edit no longer matches the audit trail.
    match engine {
        Engine::Sqlite => {
            app.exec("DROP TRIGGER change_authorization_immutable")
                .await
        }
        Engine::Postgres => {
            app.exec("DROP TRIGGER change_authorization_immutable ON change_requests")
                .await
        }
    }
    app.exec(&format!(
        "UPDATE change_requests SET authorized_from = '203.0.113.9' WHERE number = '{number}'"
    ))
    .await;
    let broken = app::server::changes::unauthorized(&app.db).await.unwrap();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].contains(&number) && broken[0].contains("audit trail"));
    for command in ["verify-audit", "verify-changes"] {
        let (ok, out) = cli(&app, command);
        assert!(!ok && out.contains(&number), "{command}: {out}");
    }
}

async fn staff_convert_a_mistaken_change_into_a_case(app: TestApp) {
    let user = app.signed_in(ACME_USER).await;
    let f = form(&app, ACME_USER).await.with("authorized", "on");
    let (_, number) = app.call(&user, "changes/create", &f.fields()).await;
    let number = number.as_str().unwrap().to_string();
    let case_fields = convert_fields(&app, &number).await;
    let args = refs(&case_fields);
    // Who may: staff only.
    assert_eq!(app.call(&client(), "changes/convert", &args).await.0, 401);
    for who in [ACME_USER, ACME_ADMIN] {
        let c = app.signed_in(who).await;
        assert_eq!(app.call(&c, "changes/convert", &args).await.0, 403, "{who}");
    }
    // A missing case field: refused at the field, nothing changed.
    let agent = app.signed_in(AGENT).await;
    let body = app
        .expect(
            &agent,
            "changes/convert",
            &[("number", number.as_str())],
            422,
        )
        .await;
    assert!(invalid_fields(&body).contains(&"product_version_id".to_string()));
    let (status, case) = app.call(&agent, "changes/convert", &args).await;
    assert_eq!(status, 200, "{case}");
    let case = case.as_str().unwrap().to_string();
    // Both point at each other; the case carries the content and history; the CR is cancelled.
    let (_, cr) = app
        .call(&user, "changes/get", &[("number", number.as_str())])
        .await;
    assert_eq!(cr["state"], "cancelled");
    assert_eq!(cr["converted_case"], case.as_str());
    let (_, c) = app
        .call(&user, "cases/get", &[("number", case.as_str())])
        .await;
    assert_eq!(c["subject"], "Double the Clouddriver replicas");
    assert!(c["description"]
        .as_str()
        .unwrap()
        .contains("Scale Clouddriver from 2 to 4 replicas."));
    assert!(c["description"].as_str().unwrap().contains(&number));
    assert!(
        c.to_string()
            .contains("Change request filed and authorized by the requester"),
        "{c}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM cases c JOIN change_requests r ON r.id = c.from_change_id \
             WHERE c.number = '{case}' AND r.number = '{number}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'change.converted' AND target = 'change:{number}'"))
            .await,
        1
    );
    app.wait_for_mail(ACME_USER, &format!("[{case}]")).await;
    // Once converted (or implementing), no second conversion.
    app.expect(&agent, "changes/convert", &args, 409).await;
}

/// Every state × step over HTTP, staff and administrator: exactly the moves of SPEC §5.2 are
/// taken (checked against the pure table), and nothing moves an unauthorized request forward.
async fn every_state_and_step_over_http(engine: Engine) {
    use app::model::change_flow::{ChangeFlow, ChangeMover, ChangeState, ChangeStep, Flow};
    let Some(app) = spawn(engine).await else {
        return;
    };
    let acme = app
        .scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
        .to_string();
    let mut f = form(&app, ACME_USER).await;
    f.set("account_id", acme);
    let platform = app.signed_in(PLATFORM_ADMIN).await;
    let staff = app.signed_in(AGENT).await;
    let admin = app.signed_in(ACME_ADMIN).await;
    let admin_id = user_id(&app, ACME_ADMIN).await;
    for from in ChangeState::ALL {
        for step_kind in ChangeStep::ALL {
            if step_kind == ChangeStep::Convert {
                continue; // its own endpoint, tested below
            }
            for (mover, client) in [
                (ChangeMover::Staff, &staff),
                (ChangeMover::CustomerAdmin, &admin),
            ] {
                let (_, number) = app.call(&platform, "changes/create", &f.fields()).await;
                let number = number.as_str().unwrap().to_string();
                // Put the request in `from`, with an authorization wherever the state needs one.
                let authorized = if from.needs_authorization() {
                    format!(", authorized_by = {admin_id}, authorized_at = 1, authorized_from = 'test', authorization_text = 'test'")
                } else {
                    String::new()
                };
                app.exec(&format!(
                    "UPDATE change_requests SET state = '{}'{authorized} WHERE number = '{number}'",
                    from.as_str()
                ))
                .await;
                let mut args = vec![
                    ("number", number.clone()),
                    ("step", step_kind.as_str().to_string()),
                ];
                if step_kind == ChangeStep::Schedule {
                    args.push(("scheduled_start", local(2)));
                    args.push(("scheduled_end", local(3)));
                }
                let (status, body) = app.call(client, "changes/step", &refs(&args)).await;
                let expected = ChangeFlow::next(from, step_kind, mover);
                let state_now = app
                    .text(&format!(
                        "SELECT state FROM change_requests WHERE number = '{number}'"
                    ))
                    .await;
                match expected {
                    Ok(to) => {
                        assert_eq!(status, 200, "{from:?} --{step_kind:?} by {mover:?}: {body}");
                        assert_eq!(state_now, to.as_str());
                    }
                    Err(_) => {
                        assert!(
                            matches!(status, 403 | 409),
                            "{from:?} --{step_kind:?} by {mover:?}: {status} {body}"
                        );
                        assert_eq!(
                            state_now,
                            from.as_str(),
                            "{from:?} --{step_kind:?} by {mover:?} moved it"
                        );
                    }
                }
            }
        }
    }
}

both_engines!(
    customers_file_authorized_changes_and_self_hosted_accounts_cannot,
    on_behalf_changes_wait_for_an_administrators_authorization,
    staff_convert_a_mistaken_change_into_a_case
);
both_engines!(engine: every_state_and_step_over_http, the_authorization_record_cannot_be_changed);
