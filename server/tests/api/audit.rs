//! The audit trail: events written with the change, hash-chained, append-only, and tampering found.

use crate::both_engines;
use crate::helpers::*;
use app::server::audit;
use std::process::Command;

async fn actions(app: &TestApp, chain: &str) -> Vec<String> {
    app::server::db::on_db!(&app.db, |pool| sqlx::query_scalar::<_, String>(
        "SELECT action FROM audit_log WHERE chain_key = $1 ORDER BY seq"
    )
    .bind(chain)
    .fetch_all(pool)
    .await
    .unwrap())
}

async fn acme_id(app: &TestApp) -> i64 {
    app.scalar("SELECT id FROM accounts WHERE account_key = 'ACME'")
        .await
}

/// Lets a test play the attacker with direct database access.
async fn disable_append_only_guard(app: &TestApp) {
    if app.db.engine() == "sqlite" {
        app.exec("DROP TRIGGER audit_log_no_update").await;
        app.exec("DROP TRIGGER audit_log_no_delete").await;
    } else {
        app.exec("ALTER TABLE audit_log DISABLE TRIGGER USER").await;
    }
}

/// A portal with some history whose database an attacker has opened to edits; returns it with
/// the ACME chain's key.
async fn open_to_tampering(engine: Engine) -> Option<(TestApp, String)> {
    let app = spawn(engine).await?;
    make_history(&app).await;
    disable_append_only_guard(&app).await;
    let acme = format!("account:{}", acme_id(&app).await);
    Some((app, acme))
}

fn verify_audit_cli(app: &TestApp) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("verify-audit")
        .env(
            "PORTCULLIS_DATABASE_URL",
            app.settings.database_url.expose(),
        )
        .env("PORTCULLIS_LOG_LEVEL", "warn")
        .output()
        .expect("run portcullis verify-audit");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Signs in and out a few times so the ACME chain has several entries.
async fn make_history(app: &TestApp) {
    let c = app.signed_in("admin@acme.example").await;
    app.sign_in(&client(), "user@acme.example", "wrong password guess")
        .await;
    app.signed_in("user@acme.example").await;
    app.call(
        &c,
        "auth/change_password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "Tangerine-Orbit-Castle-42"),
            ("confirm_password", "Tangerine-Orbit-Castle-42"),
        ],
    )
    .await;
}

async fn sign_in_events_are_recorded_in_the_accounts_chain(app: TestApp) {
    make_history(&app).await;
    app.sign_in(
        &client(),
        "stranger@nowhere.example",
        "wrong password guess",
    )
    .await;
    let acme = format!("account:{}", acme_id(&app).await);
    assert_eq!(
        actions(&app, &acme).await,
        [
            "sign_in.succeeded",
            "sign_in.failed",
            "sign_in.succeeded",
            "password.changed"
        ]
    );
    assert_eq!(actions(&app, "portal").await, ["sign_in.failed"]);
    let target: String = app::server::db::on_db!(&app.db, |pool| sqlx::query_scalar(
        "SELECT target FROM audit_log WHERE chain_key = 'portal'"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(target, "email:stranger@nowhere.example");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE client_addr = '127.0.0.1'")
            .await,
        5
    );
    let report = audit::verify(&app.db).await.unwrap();
    assert_eq!(report.breaks, vec![]);
    assert_eq!((report.chains, report.entries), (2, 5));
    let (ok, out) = verify_audit_cli(&app);
    assert!(ok, "{out}");
    assert!(
        out.contains("Audit trail intact: 5 entries in 2 chains"),
        "{out}"
    );
}

async fn the_audit_log_refuses_updates_and_deletes(app: TestApp) {
    make_history(&app).await;
    for sql in [
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
    ] {
        let refused = app::server::db::on_db!(&app.db, |pool| sqlx::query(sql)
            .execute(pool)
            .await
            .map(|_| ()));
        let err = refused.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{err}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_log").await, 4);
}

async fn an_edited_entry_breaks_the_chain_at_that_entry(engine: Engine) {
    let Some((app, acme)) = open_to_tampering(engine).await else {
        return;
    };
    app.exec(&format!(
        "UPDATE audit_log SET client_addr = '203.0.113.9' WHERE chain_key = '{acme}' AND seq = 2"
    ))
    .await;
    let report = audit::verify(&app.db).await.unwrap();
    assert_eq!(report.breaks.len(), 1);
    let b = &report.breaks[0];
    assert_eq!((b.chain_key.as_str(), b.seq), (acme.as_str(), 2));
    assert!(b.problem.contains("changed"), "{b:?}");
    let (ok, out) = verify_audit_cli(&app);
    assert!(!ok);
    assert!(
        out.contains(&format!("BROKEN: chain {acme} at entry 2")),
        "{out}"
    );
}

async fn a_deleted_entry_breaks_the_chain(engine: Engine) {
    let Some((app, acme)) = open_to_tampering(engine).await else {
        return;
    };
    // From the middle…
    app.exec(&format!(
        "DELETE FROM audit_log WHERE chain_key = '{acme}' AND seq = 3"
    ))
    .await;
    let report = audit::verify(&app.db).await.unwrap();
    assert_eq!(report.breaks[0].seq, 3);
    assert!(
        report.breaks[0].problem.contains("missing"),
        "{:?}",
        report.breaks
    );
    // …and from the end, which only the head can tell.
    let Some((app, acme)) = open_to_tampering(engine).await else {
        return;
    };
    app.exec(&format!(
        "DELETE FROM audit_log WHERE chain_key = '{acme}' AND seq = 4"
    ))
    .await;
    let report = audit::verify(&app.db).await.unwrap();
    assert_eq!(report.breaks.len(), 1, "{:?}", report.breaks);
    assert_eq!(report.breaks[0].seq, 4);
}

async fn re_ordered_entries_break_the_chain(engine: Engine) {
    let Some((app, acme)) = open_to_tampering(engine).await else {
        return;
    };
    // Swap entries 2 and 3 (their positions, hashes kept), as someone re-writing history would.
    for (from, to) in [(2, -2), (3, 2), (-2, 3)] {
        app.exec(&format!(
            "UPDATE audit_log SET seq = {to} WHERE chain_key = '{acme}' AND seq = {from}"
        ))
        .await;
    }
    let report = audit::verify(&app.db).await.unwrap();
    assert!(!report.breaks.is_empty());
    assert_eq!(report.breaks[0].chain_key, acme);
    assert_eq!(report.breaks[0].seq, 2, "{:?}", report.breaks);
    let (ok, _) = verify_audit_cli(&app);
    assert!(!ok);
}

async fn concurrent_events_keep_one_unbroken_chain(app: TestApp) {
    let mut tasks = Vec::new();
    // Five attempts per person, within the per-email limit: every one is recorded.
    for i in 0..15 {
        let url = app.url("/api/auth/sign_in");
        let email = [
            "user@acme.example",
            "admin@acme.example",
            "secondary@acme.example",
        ][i % 3];
        let password = if i % 2 == 0 {
            PASSWORD
        } else {
            "wrong password guess"
        };
        tasks.push(tokio::spawn(async move {
            client()
                .post(url)
                .form(&[("email", email), ("password", password)])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acme = format!("account:{}", acme_id(&app).await);
    assert_eq!(actions(&app, &acme).await.len(), 15);
    assert_eq!(
        app.scalar(&format!(
            "SELECT MAX(seq) FROM audit_log WHERE chain_key = '{acme}'"
        ))
        .await,
        15
    );
    assert_eq!(audit::verify(&app.db).await.unwrap().breaks, vec![]);
}

both_engines!(
    sign_in_events_are_recorded_in_the_accounts_chain,
    the_audit_log_refuses_updates_and_deletes,
    concurrent_events_keep_one_unbroken_chain
);
both_engines!(engine: an_edited_entry_breaks_the_chain_at_that_entry, a_deleted_entry_breaks_the_chain, re_ordered_entries_break_the_chain);
