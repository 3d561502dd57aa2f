//! The two engines' migrations describe one schema: the same tables, columns, nullability and
//! index names. Each engine keeps its own migration files (their SQL differs), so this is the check
//! that one was not changed without the other.

use crate::helpers::*;
use app::server::db::{on_db, Db};
use std::collections::BTreeSet;

/// What each engine has for full-text search, which the other does its own way: SQLite's FTS5
/// tables (and the shadow tables FTS5 keeps), PostgreSQL's tsvector columns and GIN indexes.
fn engine_specific(item: &str) -> bool {
    let name = item
        .trim_start_matches("table ")
        .trim_start_matches("index ");
    let table = name.split('.').next().unwrap_or_default();
    table.ends_with("_fts")
        || table.contains("_fts_")
        || item.ends_with(".search")
        || item.ends_with(".search not null")
        || item.starts_with("index ") && item.contains("_search")
}

async fn sqlite_schema(db: &Db) -> BTreeSet<String> {
    let Db::Sqlite(pool) = db else { unreachable!() };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = BTreeSet::new();
    for table in tables {
        schema.insert(format!("table {table}"));
        let columns: Vec<(String, bool, i64)> = sqlx::query_as(&format!(
            "SELECT name, \"notnull\", pk FROM pragma_table_info('{table}')"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        for (column, not_null, pk) in columns {
            let null = if not_null || pk > 0 { " not null" } else { "" };
            schema.insert(format!("{table}.{column}{null}"));
        }
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.extend(indexes.into_iter().map(|i| format!("index {i}")));
    schema
}

async fn postgres_schema(db: &Db) -> BTreeSet<String> {
    let Db::Postgres(pool) = db else {
        unreachable!()
    };
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.is_nullable::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = BTreeSet::new();
    for (table, column, nullable) in columns {
        schema.insert(format!("table {table}"));
        let null = if nullable == "NO" { " not null" } else { "" };
        schema.insert(format!("{table}.{column}{null}"));
    }
    // Indexes made for primary keys and UNIQUE constraints are named by each engine its own way.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT i.indexname::text FROM pg_indexes i WHERE i.schemaname = 'public' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.extend(indexes.into_iter().map(|i| format!("index {i}")));
    schema
}

#[tokio::test]
async fn both_engines_migrate_to_the_same_schema() {
    let Some((pg_url, _)) = fresh_database(Engine::Postgres).await else {
        return;
    };
    let (sqlite_url, _dir) = fresh_database(Engine::Sqlite).await.unwrap();
    let sqlite = Db::connect(&sqlite_url, 1).await.unwrap();
    sqlite.migrate().await.unwrap();
    let postgres = Db::connect(&pg_url, 1).await.unwrap();
    postgres.migrate().await.unwrap();
    let sqlite: BTreeSet<String> = sqlite_schema(&sqlite)
        .await
        .into_iter()
        .filter(|i| !engine_specific(i))
        .collect();
    let postgres: BTreeSet<String> = postgres_schema(&postgres)
        .await
        .into_iter()
        .filter(|i| !engine_specific(i))
        .collect();
    assert!(sqlite.len() > 100, "{sqlite:?}");
    let only_sqlite: Vec<&String> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<&String> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migrations differ:\n  only on SQLite: {only_sqlite:#?}\n  only on PostgreSQL: {only_postgres:#?}"
    );
}

/// Runs `sql` on `db`.
async fn run(db: &Db, sql: &str) {
    on_db!(db, |pool| sqlx::query(sql).execute(pool).await.map(|_| ())).unwrap();
}

/// Each account's kept user count, in account id order.
async fn kept_counts(db: &Db) -> Vec<(i64, i64)> {
    let sql = "SELECT account_id, people FROM account_user_counts ORDER BY account_id";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await).unwrap()
}

/// An installation that already has users gets their counts from migration 0028, and its
/// triggers follow every insert, move and delete of a user (on both engines' SQL).
async fn user_counts_are_filled_in_and_kept(engine: Engine) {
    let Some((url, _dir)) = fresh_database(engine).await else {
        return;
    };
    let db = Db::connect(&url, 1).await.unwrap();
    on_db!(&db, |pool| {
        let mut before = if engine == Engine::Sqlite {
            sqlx::migrate!("../migrations/sqlite")
        } else {
            sqlx::migrate!("../migrations/postgres")
        };
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version < 28)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(pool).await
    })
    .unwrap();
    run(
        &db,
        "INSERT INTO accounts (name, account_key, service_tier, created_at, updated_at) \
         VALUES ('Acme', 'ACME', 'managed', 0, 0), ('Globex', 'GLOBEX', 'managed', 0, 0), \
         ('Empty', 'EMPTY', 'managed', 0, 0)",
    )
    .await;
    let user = |account: &str, email: &str, kind: &str| {
        format!(
            "INSERT INTO users (account_id, email, first_name, last_name, kind, status, \
             created_at, updated_at) VALUES ({account}, '{email}', 'A', 'B', '{kind}', 'active', 0, 0)"
        )
    };
    for (account, email, kind) in [
        ("1", "a1@acme.example", "customer"),
        ("1", "a2@acme.example", "customer"),
        ("1", "a3@acme.example", "customer"),
        ("2", "g1@globex.example", "customer"),
        ("NULL", "agent@vendor.example", "agent"),
    ] {
        run(&db, &user(account, email, kind)).await;
    }
    db.migrate().await.unwrap();
    assert_eq!(kept_counts(&db).await, [(1, 3), (2, 1)], "{engine:?}");

    run(&db, &user("3", "e1@empty.example", "customer")).await;
    run(&db, &user("1", "a4@acme.example", "customer")).await;
    run(&db, &user("NULL", "agent2@vendor.example", "agent")).await;
    assert_eq!(kept_counts(&db).await, [(1, 4), (2, 1), (3, 1)]);
    run(
        &db,
        "UPDATE users SET account_id = 2 WHERE email = 'a1@acme.example'",
    )
    .await;
    run(
        &db,
        "UPDATE users SET status = 'disabled', first_name = 'C' WHERE account_id = 2",
    )
    .await;
    assert_eq!(kept_counts(&db).await, [(1, 3), (2, 2), (3, 1)]);
    run(
        &db,
        "DELETE FROM users WHERE email IN ('g1@globex.example', 'agent@vendor.example')",
    )
    .await;
    assert_eq!(kept_counts(&db).await, [(1, 3), (2, 1), (3, 1)]);
    db.close().await;
}

#[tokio::test]
async fn user_counts_are_filled_in_and_kept_on_sqlite() {
    user_counts_are_filled_in_and_kept(Engine::Sqlite).await;
}

#[tokio::test]
async fn user_counts_are_filled_in_and_kept_on_postgres() {
    user_counts_are_filled_in_and_kept(Engine::Postgres).await;
}

/// What SQLite's planner statistics say of the users table's indexes (none before the first
/// `ANALYZE` creates their table).
async fn user_statistics(db: &Db) -> Vec<(String, String)> {
    let Db::Sqlite(pool) = db else { unreachable!() };
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            .fetch_one(pool)
            .await
            .unwrap();
    if kept == 0 {
        return Vec::new();
    }
    sqlx::query_as("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'users' ORDER BY idx")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// At start the planner's statistics are gathered where they are missing, and left alone (no
/// write lock taken for seconds) while the tables are the size they were taken at; the six-hourly
/// refresh takes them anew.
#[tokio::test]
async fn statistics_are_gathered_when_missing_and_kept_while_right_on_sqlite() {
    let Some(app) = spawn(Engine::Sqlite).await else {
        return;
    };
    let db = Db::connect(app.settings.database_url.expose(), 1)
        .await
        .unwrap();
    assert!(user_statistics(&db).await.is_empty());
    db.analyze_stale().await.unwrap();
    let gathered = user_statistics(&db).await;
    assert!(
        gathered.iter().any(|(idx, _)| idx.starts_with("users_")),
        "{gathered:?}"
    );
    // A mark on the statistics shows whether they are taken again.
    run(
        &db,
        "UPDATE sqlite_stat1 SET stat = stat || ' unordered' WHERE tbl = 'users'",
    )
    .await;
    db.analyze_stale().await.unwrap();
    let kept = user_statistics(&db).await;
    assert!(
        kept.iter().all(|(_, stat)| stat.ends_with(" unordered")),
        "{kept:?}"
    );
    db.analyze().await.unwrap();
    assert_eq!(user_statistics(&db).await, gathered);
    db.close().await;
}

/// PostgreSQL's `ANALYZE` blocks no writer, so the start runs it in full.
#[tokio::test]
async fn statistics_are_gathered_at_start_on_postgres() {
    let Some(app) = spawn(Engine::Postgres).await else {
        return;
    };
    app.db.analyze_stale().await.unwrap();
    let analyzed = app
        .scalar("SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'cases' AND last_analyze IS NOT NULL")
        .await;
    assert_eq!(analyzed, 1);
}
