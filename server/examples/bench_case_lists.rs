//! Benchmark of the case lists at scale (SPEC §4.2: "lists … stay fast at a million cases"):
//! p50/p99 latency of one page — rows and total count — of the customer lists and the staff
//! queues.
//!
//! cargo run --release -p server --example bench_case_lists -- [DATABASE_URL] [CASES] [ROUNDS]
//!
//! Without a URL a temporary SQLite file is used; a PostgreSQL URL must name an empty database.

use app::server::cases::{list, queue, CustomerList, QueueFilter};
use app::server::db::on_db;
use std::time::Instant;

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let common::Bench {
        db,
        dir,
        size: cases,
        rounds,
    } = common::start(1_000_000, 100).await?;
    let t = Instant::now();
    server::seed::seed_demo(&db, 200, 5).await?;
    server::seed::seed_cases(&db, cases).await?;
    on_db!(&db, |c| sqlx::query("ANALYZE").execute(c).await.map(|_| ()))?;
    eprintln!("seeded {cases} cases in {:.0} s", t.elapsed().as_secs_f64());
    let index =
        app::server::search::SearchIndex::open(&dir.path().join("index").display().to_string())?;
    let t = Instant::now();
    index.catch_up(&db).await?;
    eprintln!("search index built in {:.1} s", t.elapsed().as_secs_f64());
    let account: i64 = on_db!(&db, |c| sqlx::query_scalar(
        "SELECT account_id FROM cases GROUP BY account_id ORDER BY COUNT(*) DESC LIMIT 1"
    )
    .fetch_one(c)
    .await)?;
    let (contact, agent): (i64, i64) = on_db!(&db, |c| sqlx::query_as(
        "SELECT (SELECT MIN(contact_id) FROM cases WHERE account_id = $1), \
         (SELECT MIN(id) FROM users WHERE kind = 'agent')"
    )
    .bind(account)
    .fetch_one(c)
    .await)?;
    let per_account: i64 = on_db!(&db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE account_id = $1"
    )
    .bind(account)
    .fetch_one(c)
    .await)?;
    let now = app::server::now();
    let staff = |q: &str, search: &str, account_key: &str| {
        QueueFilter::parse(
            Some(q),
            None,
            None,
            Some(account_key),
            None,
            None,
            None,
            Some(search),
        )
    };
    println!(
        "| {cases} cases, {} ({per_account} in the customer's account) | p50 ms | p99 ms |",
        db.engine()
    );
    println!("|---|---|---|");
    macro_rules! bench {
        ($label:expr, $call:expr) => {{
            let (times, _) = common::time(rounds, || async { $call.await }).await?;
            let (p50, p99) = common::p50_p99(times);
            println!("| {} | {p50:.1} | {p99:.1} |", $label);
        }};
    }
    let (team, own) = (customer(account, None), customer(account, Some(contact)));
    bench!(
        "customer: my team's cases, page 1",
        list(&db, &index, &team, 1, 50, now)
    );
    bench!(
        "customer: my cases, page 1",
        list(&db, &index, &own, 1, 50, now)
    );
    bench!(
        "customer: my team's cases, page 20",
        list(&db, &index, &team, 20, 50, now)
    );
    let queues = [
        ("staff: unassigned", "unassigned", "", ""),
        ("staff: assigned to me", "mine", "", ""),
        ("staff: my groups", "groups", "", ""),
        ("staff: breaching or about to", "breaching", "", ""),
        ("staff: all cases", "all", "", ""),
        ("staff: all, one account", "all", "", "C000001"),
        ("staff: search by number", "all", "CS0500000", ""),
        (
            "staff: search subject words",
            "all",
            "pipeline 42 fails",
            "",
        ),
    ];
    for (label, q, search, account_key) in queues {
        let filter = staff(q, search, account_key);
        bench!(label, queue(&db, &index, agent, &filter, 1, 50, now));
    }
    db.close().await;
    Ok(())
}

/// A customer's list of account `account_id`'s cases: the team's, or person `mine`'s own.
fn customer(account_id: i64, mine: Option<i64>) -> CustomerList<'static> {
    CustomerList {
        account_id,
        mine,
        openness: None,
        words: None,
    }
}
