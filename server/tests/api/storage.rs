//! Storage settings that the rest of the portal relies on.

use crate::both_engines;
use crate::helpers::*;
use app::server::db::{on_db, Db};

#[tokio::test]
async fn sqlite_uses_wal_foreign_keys_and_a_busy_timeout() {
    let (url, _dir) = fresh_database(Engine::Sqlite).await.unwrap();
    let db = Db::connect(&url, 2).await.unwrap();
    let Db::Sqlite(pool) = &db else {
        unreachable!()
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(busy >= 5000, "busy_timeout {busy} ms");
}

async fn a_user_cannot_point_at_a_missing_account(app: TestApp) {
    let inserted = on_db!(&app.db, |pool| {
        sqlx::query(
        "INSERT INTO users (account_id, email, first_name, last_name, kind, is_admin, status, created_at, updated_at) \
         VALUES (999999, 'orphan@nowhere.example', 'O', 'R', 'customer', FALSE, 'invited', 0, 0)"
    )
    .execute(pool)
    .await
    .map(|_| ())
    });
    assert!(inserted.is_err(), "foreign key not enforced");
    // Staff have no account, customers must have one.
    let staff_with_account = on_db!(&app.db, |pool| {
        sqlx::query(
        "INSERT INTO users (account_id, email, first_name, last_name, kind, is_admin, status, created_at, updated_at) \
         VALUES ((SELECT id FROM accounts WHERE account_key = 'ACME'), 'odd@vendor.example', 'O', 'D', 'agent', FALSE, 'active', 0, 0)"
    )
    .execute(pool)
    .await
    .map(|_| ())
    });
    assert!(
        staff_with_account.is_err(),
        "an agent must not belong to a customer account"
    );
}

async fn emails_are_unique_whatever_their_case(app: TestApp) {
    let email = app::model::domain::Email::parse("ADMIN@acme.EXAMPLE").unwrap();
    let mut tx = app.db.begin().await.unwrap();
    let dup = app::server::users::insert(
        &mut tx,
        &app::server::users::NewUser {
            account_id: None,
            email: &email,
            first_name: "Dup",
            last_name: "Licate",
            kind: "agent",
            is_admin: false,
            status: app::model::UserStatus::Active,
            password_hash: None,
            created_by: None,
        },
        0,
    )
    .await;
    assert_eq!(
        dup.unwrap_err().for_field("email"),
        ["A user with this email address already exists"]
    );
}

both_engines!(
    a_user_cannot_point_at_a_missing_account,
    emails_are_unique_whatever_their_case
);
