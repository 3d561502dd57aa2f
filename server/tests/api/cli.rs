//! The `portcullis` command line: bootstrap of the first platform admin and demo data.

use crate::both_engines;
use crate::helpers::*;
use std::process::Command;

fn portcullis(database_url: &str, args: &[&str]) -> (bool, String, String) {
    portcullis_with(database_url, args, &[])
}

fn portcullis_with(
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .envs(env.iter().copied())
        .env("PORTCULLIS_DATABASE_URL", database_url)
        .env("PORTCULLIS_LOG_LEVEL", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .output()
        .expect("run portcullis");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn create_admin_bootstraps_a_platform_admin_who_can_sign_in(engine: Engine) {
    let Some((url, _dir)) = fresh_database(engine).await else {
        return;
    };
    let (ok, stdout, stderr) = portcullis(
        &url,
        &[
            "create-admin",
            "--email",
            "Root@Vendor.example",
            "--generate-password",
        ],
    );
    assert!(ok, "{stdout}{stderr}");
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("the generated password is printed")
        .to_string();
    assert!(password.len() >= 20);
    // The same email cannot be created twice.
    let (ok, _, stderr) = portcullis(
        &url,
        &[
            "create-admin",
            "--email",
            "root@vendor.example",
            "--generate-password",
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("already exists"), "{stderr}");

    let app = spawn_on(&url, app::server::Settings::default()).await;
    let c = client();
    // A platform admin sets up a second factor at the first sign-in (the default).
    let next = app
        .post_then(
            &c,
            "/api/auth/sign_in",
            &[("email", "root@vendor.example"), ("password", &password)],
        )
        .await;
    assert_eq!(next, "/sign-in/set-up");
    assert_eq!(app.me(&c).await, None);
    let step = app.expect(&c, "auth/set_up", &[], 200).await;
    let code = app_code(step["setup"]["secret"].as_str().unwrap(), 0);
    app.post_then(&c, "/api/auth/set_up_done", &[("code", &code)])
        .await;
    let (_, me) = app.call(&c, "auth/me", &[]).await;
    assert_eq!(me["role"], "PlatformAdmin");
    assert_eq!(me["account_id"], serde_json::Value::Null);
}

async fn seed_demo_is_repeatable_and_scales(engine: Engine) {
    let Some((url, _dir)) = fresh_database(engine).await else {
        return;
    };
    let (ok, stdout, stderr) = portcullis(
        &url,
        &["seed-demo", "--accounts", "4", "--users-per-account", "5"],
    );
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("7 accounts and 29 users created"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Portcullis-Demo-2026"),
        "sign-in details are printed"
    );
    for role in [
        "platform admin",
        "agent",
        "customer administrator",
        "customer user",
    ] {
        assert!(stdout.contains(role), "{role} missing from {stdout}");
    }
    // Running it again creates nothing and fails nothing.
    let (ok, stdout, _) = portcullis(
        &url,
        &["seed-demo", "--accounts", "4", "--users-per-account", "5"],
    );
    assert!(ok);
    assert!(
        stdout.contains("0 accounts and 0 users created"),
        "{stdout}"
    );
    let app = spawn_on(&url, app::server::Settings::default()).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE account_id IS NOT NULL")
            .await,
        27
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE is_admin AND email LIKE '%@c0000%'")
            .await,
        4
    );
}

async fn weak_bootstrap_passwords_are_refused(engine: Engine) {
    let Some((url, _dir)) = fresh_database(engine).await else {
        return;
    };
    let db = app::server::db::Db::connect(&url, 1).await.unwrap();
    db.migrate().await.unwrap();
    for weak in ["password1234", "short", "root@vendor.example"] {
        let refused =
            server::seed::create_admin(&db, "root@vendor.example", "Root", "Admin", weak).await;
        assert!(refused.is_err(), "{weak} accepted");
    }
    assert_eq!(on_db_count(&db).await, 0, "nothing was created");
    assert!(server::seed::create_admin(
        &db,
        "root@vendor.example",
        "Root",
        "Admin",
        "Tangerine-Orbit-Castle-42"
    )
    .await
    .is_ok());
}

both_engines!(
    engine: create_admin_bootstraps_a_platform_admin_who_can_sign_in,
    seed_demo_is_repeatable_and_scales,
    weak_bootstrap_passwords_are_refused,
    reindex_rebuilds_the_index_here_and_asks_running_instances,
);

/// `portcullis reindex` rebuilds this instance's index when no portal holds it, and otherwise
/// asks the running portals (every instance on the database) to rebuild theirs.
async fn reindex_rebuilds_the_index_here_and_asks_running_instances(engine: Engine) {
    let Some((url, _dir)) = fresh_database(engine).await else {
        return;
    };
    let (ok, stdout, stderr) = portcullis(&url, &["seed-demo"]);
    assert!(ok, "{stdout}{stderr}");
    let index_dir = tempfile::tempdir().unwrap();
    let path = index_dir.path().join("search").display().to_string();
    let env = [("PORTCULLIS_SEARCH_INDEX_DIR", path.as_str())];
    let (ok, stdout, stderr) = portcullis_with(&url, &["reindex"], &env);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("rebuilt: 0 cases, 7 articles"), "{stdout}");
    let index = app::server::search::SearchIndex::open(&path).unwrap();
    assert!(index.ready());
    assert_eq!(index.documents(), (0, 7));
    // Held by a running portal: that portal is asked instead, and rebuilds.
    let (ok, stdout, stderr) = portcullis_with(&url, &["reindex"], &env);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("in use"), "{stdout}");
    let db = app::server::db::Db::connect(&url, 1).await.unwrap();
    assert!(index.catch_up(&db).await.unwrap().rebuilt);
    assert_eq!(index.documents(), (0, 7));
}

async fn on_db_count(db: &app::server::db::Db) -> i64 {
    app::server::db::on_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users"
    )
    .fetch_one(pool)
    .await
    .unwrap())
}
