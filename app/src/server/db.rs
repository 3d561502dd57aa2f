//! Storage on SQLite or PostgreSQL through one code path.
//!
//! Why an enum over typed pools instead of sqlx's `Any` driver: `Any` cannot decode SQLite booleans,
//! has no time types and converts every row. With typed pools the same SQL text (`$1, $2 …`
//! placeholders) and the same `FromRow` structs work on both engines, with native types. The
//! `on_db!`/`on_tx!` macros expand one generic body once per engine; where the two dialects differ
//! the caller passes one SQL text per engine. Times are stored as Unix seconds (`i64`) everywhere.
//!
//! SQLite write transactions start with `BEGIN IMMEDIATE`: the busy handler does not cover a
//! read→write lock upgrade, so a deferred transaction could fail with "database is locked" under
//! concurrent writers. With the write lock taken up front, writers queue on `busy_timeout` instead.

use crate::error::AppError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the engine's pool.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($c) => $body,
            $crate::server::db::Db::Postgres($c) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to the transaction's connection.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::server::db::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Runs one statement on a transaction (`tx: …`) or the pool (`db: …`) and answers the number of
/// rows it changed; a failure is logged and becomes `AppError::Internal`.
#[macro_export]
macro_rules! execute {
    (tx: $tx:expr, $query:expr) => {
        $crate::on_tx!($tx, |c| $query
            .execute(c)
            .await
            .map(|r| r.rows_affected())
            .map_err($crate::error::AppError::from))
    };
    (db: $db:expr, $query:expr) => {
        $crate::on_db!($db, |c| $query
            .execute(c)
            .await
            .map(|r| r.rows_affected())
            .map_err($crate::error::AppError::from))
    };
}

/// A bound value of a query assembled from the filters in use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Arg {
    Int(i64),
    Text(String),
    /// A filter that may not be in use: `None` binds SQL NULL (`$n IS NULL OR …`).
    MaybeInt(Option<i64>),
    MaybeText(Option<String>),
}

/// Binds `$args` (a slice of [`Arg`]), in order, to query `$q`.
#[macro_export]
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::server::db::Arg::Int(v) => q.bind(*v),
                $crate::server::db::Arg::Text(v) => q.bind(v.clone()),
                $crate::server::db::Arg::MaybeInt(v) => q.bind(*v),
                $crate::server::db::Arg::MaybeText(v) => q.bind(v.clone()),
            };
        }
        q
    }};
}

pub use crate::{bind_args, execute, on_db, on_tx};

/// Whether a connection handed back to the pool may be used again. A transaction whose statements
/// or COMMIT failed is rolled back when dropped; when that rollback fails too (SQLite after "database
/// or disk is full" has already ended the transaction itself), the driver still counts the
/// connection as inside a transaction and every later `BEGIN` on it fails. Such a connection is
/// closed instead of reused. Only a connection still counted inside a transaction (one whose
/// transaction was dropped, its rollback queued) is pinged: the ping runs after the queued rollback,
/// so the second look sees its outcome. Every other release costs nothing.
async fn healthy<C: sqlx::Connection>(conn: &mut C) -> bool {
    if !conn.is_in_transaction() {
        return true;
    }
    let alive = conn.ping().await.is_ok();
    let clean = !conn.is_in_transaction();
    if !(alive && clean) {
        tracing::warn!(
            alive,
            clean,
            "closing a database connection left in a failed state"
        );
    }
    alive && clean
}

impl Db {
    /// Connects to the URL's engine: `sqlite://path` (the file and its folder are created) or
    /// `postgres://…`, with no statement timeout (tools, tests, benchmarks).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        Db::connect_with(url, max_connections, None).await
    }

    /// Connects as `connect`, cancelling any statement that runs longer than `statement_timeout`
    /// (PostgreSQL's own `statement_timeout`; on SQLite, `statement_clock`).
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        statement_timeout: Option<Duration>,
    ) -> Result<Db, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = PgConnectOptions::from_str(url)?;
            if let Some(limit) = statement_timeout {
                options =
                    options.options([("statement_timeout", format!("{}ms", limit.as_millis()))]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .after_release(|conn, _| Box::pin(async move { Ok(healthy(conn).await) }))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
                }
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if let Some(limit) = statement_timeout {
                            super::statement_clock::install(conn, limit).await?;
                        }
                        Ok(())
                    })
                })
                .after_release(|conn, _| Box::pin(async move { Ok(healthy(conn).await) }))
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        } else {
            Err(sqlx::Error::Configuration(
                "database_url must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    /// Which database this is (its file, or server and name), to tell apart what is remembered
    /// about several databases in one process.
    pub fn identity(&self) -> String {
        match self {
            Db::Sqlite(pool) => pool.connect_options().get_filename().display().to_string(),
            Db::Postgres(pool) => {
                let o = pool.connect_options();
                format!(
                    "{}:{}/{}",
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or_default()
                )
            }
        }
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Applies the engine's migrations (embedded in the binary) on a connection of its own,
    /// outside the pool and without the statement timeout: building an index over a large table
    /// may take longer than any request.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        use sqlx::{ConnectOptions, Connection};
        match self {
            Db::Sqlite(pool) => {
                let mut conn = pool.connect_options().connect().await?;
                sqlx::migrate!("../migrations/sqlite")
                    .run(&mut conn)
                    .await?;
                conn.close().await?;
            }
            Db::Postgres(pool) => {
                let options = (*pool.connect_options())
                    .clone()
                    .options([("statement_timeout", "0")]);
                let mut conn = options.connect().await?;
                sqlx::migrate!("../migrations/postgres")
                    .run(&mut conn)
                    .await?;
                conn.close().await?;
            }
        }
        Ok(())
    }

    /// Refreshes the statistics the query planner chooses indexes by. Without them SQLite takes
    /// an equality on an indexed column as selective, so it would read every unassigned case
    /// through `assigned_to IS NULL` and sort them rather than walk the queue's own index in page
    /// order. A full `ANALYZE` of a million cases takes about a second; it only reads.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()),
            Db::Postgres(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()),
        }
    }

    /// `analyze`, but on SQLite only the tables whose statistics are missing (a new table or
    /// index) or were taken at a tenth or ten times the table's size now (`PRAGMA optimize`
    /// checking every table, with no analysis limit, so what it gathers is as exact as `ANALYZE`).
    /// For the start of a server: SQLite's `ANALYZE` holds the write lock while it reads every
    /// index (seconds on a million cases, longer on a busy machine), so running it on each start
    /// kept sign-ins and every other write waiting while the statistics were already right.
    /// PostgreSQL's `ANALYZE` samples and blocks no writer, so it runs as is.
    pub async fn analyze_stale(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(pool) => sqlx::query("PRAGMA optimize = 0x10002")
                .execute(pool)
                .await
                .map(|_| ()),
            Db::Postgres(_) => self.analyze().await,
        }
    }

    /// After a bulk load: `analyze`, and on PostgreSQL a `VACUUM` too, which marks the new rows
    /// visible to all in the visibility map so that counts and lists can be answered from their
    /// indexes alone (autovacuum does the same later; this is for the first page after seeding).
    pub async fn settle(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(_) => self.analyze().await,
            Db::Postgres(pool) => sqlx::query("VACUUM (ANALYZE)")
                .execute(pool)
                .await
                .map(|_| ()),
        }
    }

    /// Starts a write transaction (see the module note on `BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> Result<Tx, AppError> {
        match self {
            Db::Sqlite(pool) => Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }

    /// Answers whether the database takes a query (for readiness checks).
    pub async fn ping(&self) -> bool {
        on_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
            .is_ok())
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }

    /// `columns` of the row of `table` numbered `number` (a case, a change request) within
    /// account `account_id` when one is given; not found when there is none (or it is another
    /// account's).
    pub async fn numbered<T: EitherRow>(
        &self,
        table: &str,
        columns: &str,
        number: &str,
        account_id: Option<i64>,
    ) -> Result<T, AppError> {
        let sql = numbered_sql(table, columns, "");
        let row: Option<T> = on_db!(self, |c| sqlx::query_as(&sql)
            .bind(number)
            .bind(account_id)
            .fetch_optional(c)
            .await)?;
        row.ok_or(AppError::NotFound)
    }
}

/// A row type that either engine's rows read into (a `sqlx::FromRow` struct or a tuple), so one
/// generic query serves both.
pub trait EitherRow:
    Send
    + Unpin
    + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}

impl<T> EitherRow for T where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}

/// The query of [`Db::numbered`]: `$1` the number, `$2` the account or NULL, then `lock`.
fn numbered_sql(table: &str, columns: &str, lock: &str) -> String {
    format!(
        "SELECT {columns} FROM {table} WHERE number = $1 AND ($2 IS NULL OR account_id = $2) {lock}"
    )
}

impl Tx {
    /// The clause that locks the rows a SELECT reads until the transaction ends: PostgreSQL's
    /// `FOR UPDATE`; nothing on SQLite, whose write transactions are exclusive already.
    pub fn for_update(&self) -> &'static str {
        match self {
            Tx::Postgres(_) => "FOR UPDATE",
            Tx::Sqlite(_) => "",
        }
    }

    /// [`Db::numbered`] inside this transaction, the row locked until it ends.
    pub async fn numbered<T: EitherRow>(
        &mut self,
        table: &str,
        columns: &str,
        number: &str,
        account_id: Option<i64>,
    ) -> Result<T, AppError> {
        let sql = numbered_sql(table, columns, self.for_update());
        let row: Option<T> = on_tx!(self, |c| sqlx::query_as(&sql)
            .bind(number)
            .bind(account_id)
            .fetch_optional(c)
            .await)?;
        row.ok_or(AppError::NotFound)
    }

    pub async fn commit(self) -> Result<(), AppError> {
        match self {
            Tx::Sqlite(t) => t.commit().await.map_err(AppError::from),
            Tx::Postgres(t) => t.commit().await.map_err(AppError::from),
        }
    }
}

/// `count` numbered parameters from `$first` on (`$2, $3, $4`), for one row of a multi-row
/// `VALUES` list.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows to skip for page `page` (clamped to the pages a list has) of `per_page` rows.
pub fn offset(page: i64, per_page: i64) -> i64 {
    (page.clamp(1, crate::model::MAX_PAGE) - 1) * per_page.clamp(1, 1000)
}

/// The next value of counter `name` (case and change-request numbers), taken inside the caller's
/// transaction: the row stays locked until it ends, so concurrent takers queue and no value is
/// handed out twice or reused.
pub async fn next_counter(tx: &mut Tx, name: &str) -> Result<i64, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value"
    )
    .bind(name)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// Whether an error is a unique-constraint violation (same meaning on both engines).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// A migrated SQLite database of its own for one unit test, in a folder the test removes at its
/// end (`std::fs::remove_dir_all` on the path answered).
#[cfg(test)]
pub(crate) async fn scratch(name: &str) -> (std::path::PathBuf, Db) {
    let dir = std::env::temp_dir().join(format!("portcullis-{name}-{}", std::process::id()));
    let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()), 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    (dir, db)
}

/// The steps of SQLite's plan for `sql` with the integer `args`, in a scratch database of its own
/// (`name`): for tests that a query reads the index meant for it.
#[cfg(test)]
pub(crate) async fn sqlite_plan(name: &str, sql: &str, args: &[i64]) -> Vec<String> {
    let (dir, db) = scratch(name).await;
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let args: Vec<Arg> = args.iter().copied().map(Arg::Int).collect();
    let plan: Vec<(i64, i64, i64, String)> =
        on_db!(&db, |c| bind_args!(sqlx::query_as(&explain), &args)
            .fetch_all(c)
            .await)
        .unwrap();
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
    plan.into_iter().map(|(_, _, _, step)| step).collect()
}
