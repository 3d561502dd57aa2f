//! Benchmark of the Manage Accounts list (SPEC §3.1: "sorting, filtering and search work at
//! thousands of users"): p50/p99 latency of one page — rows and total count — for each sort, a
//! deep page, a search and a status filter, on an account with N users.
//!
//! cargo run --release -p server --example bench_user_list -- [DATABASE_URL] [USERS] [ROUNDS]
//!
//! Without a URL a temporary SQLite file is used; a PostgreSQL URL must name an empty database.

use app::server::users::{list_account_users, UserFilter};
use std::time::Instant;

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let common::Bench {
        db,
        dir: _dir,
        size: users,
        rounds,
    } = common::start(10_000, 200).await?;
    let seeded = Instant::now();
    server::seed::seed_demo(&db, 1, users).await?;
    eprintln!(
        "seeded {users} users in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let account: i64 = app::server::db::on_db!(&db, |c| sqlx::query_scalar(
        "SELECT id FROM accounts WHERE account_key = 'C000001'"
    )
    .fetch_one(c)
    .await)?;
    let viewer: i64 = app::server::db::on_db!(&db, |c| sqlx::query_scalar(
        "SELECT MIN(id) FROM users WHERE account_id = $1"
    )
    .bind(account)
    .fetch_one(c)
    .await)?;

    let last_page = (users as i64 + 49) / 50;
    let shapes: Vec<(String, UserFilter, &str, i64)> = vec![
        (
            "sort by name, page 1".into(),
            UserFilter::default(),
            "name",
            1,
        ),
        (
            "sort by email, page 1".into(),
            UserFilter::default(),
            "email",
            1,
        ),
        (
            "sort by last sign-in, page 1".into(),
            UserFilter::default(),
            "last_sign_in",
            1,
        ),
        (
            "sort by created, page 1".into(),
            UserFilter::default(),
            "created",
            1,
        ),
        (
            format!("sort by name, last page ({last_page})"),
            UserFilter::default(),
            "name",
            last_page,
        ),
        (
            "search \"0042\"".into(),
            UserFilter::new("0042", ""),
            "name",
            1,
        ),
        (
            "status = invited (none)".into(),
            UserFilter::new("", "invited"),
            "name",
            1,
        ),
    ];
    println!("| {} users, {} | p50 ms | p99 ms |", users, db.engine());
    println!("|---|---|---|");
    for (label, filter, sort, page) in shapes {
        let (times, _) = common::time(rounds, || {
            list_account_users(
                &db,
                viewer,
                account,
                &filter,
                sort,
                page,
                50,
                app::server::now(),
            )
        })
        .await?;
        let (p50, p99) = common::p50_p99(times);
        println!("| {label} | {p50:.2} | {p99:.2} |");
    }
    db.close().await;
    Ok(())
}
