//! The two engines' migrations describe one schema: the same tables, columns, nullability and
//! index names. Each engine keeps its own migration files (their SQL differs), so this is the check
//! that one was not changed without the other.

use crate::helpers::*;
use app::server::db::Db;
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
