//! Benchmark of knowledge-base search at scale (SPEC §9: "100,000 articles must search in
//! milliseconds"): p50/p99 latency of one page of results — ranked, visibility-filtered, with
//! snippets and the total — for an anonymous visitor, a customer and staff, and of the
//! suggestions shown while a case's subject is typed.
//!
//! cargo run --release -p server --example bench_kb_search -- [DATABASE_URL] [ARTICLES] [ROUNDS]
//!
//! Without a URL a temporary SQLite file is used; a PostgreSQL URL must name an empty database.

use app::server::db::on_db;
use app::server::kb::{search, suggest, Clearance, PER_PAGE};
use app::server::search::SearchIndex;
use std::time::Instant;

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let common::Bench {
        db,
        dir,
        size: articles,
        rounds,
    } = common::start(100_000, 100).await?;
    let t = Instant::now();
    server::seed::seed_demo(&db, 0, 0).await?;
    let author = server::seed::platform_admin(&db).await?;
    server::seed_kb::seed_kb_articles(&db, articles, author).await?;
    on_db!(&db, |c| sqlx::query("ANALYZE").execute(c).await.map(|_| ()))?;
    eprintln!(
        "seeded {articles} articles in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let index = SearchIndex::open(&dir.path().join("index").display().to_string())?;
    let t = Instant::now();
    let built = index.catch_up(&db).await?;
    eprintln!(
        "search index built ({} articles) in {:.1} s",
        built.articles,
        t.elapsed().as_secs_f64()
    );

    println!(
        "| {articles} articles, {} | matches | p50 ms | p99 ms |",
        db.engine()
    );
    println!("|---|---|---|---|");
    let measure = |label: String, total: usize, times: Vec<f64>| {
        let (p50, p99) = common::p50_p99(times);
        let total = if total > 1000 {
            "1000+".to_string()
        } else {
            total.to_string()
        };
        println!("| {label} | {total} | {p50:.1} | {p99:.1} |");
    };
    let queries = [
        ("common word", "pipeline"),
        ("two words", "canary rollback"),
        ("three words", "stage timeout failover"),
        ("rarer words", "maintenance window"),
        ("rare word", "quota"),
        ("no match", "zeppelin"),
        ("article number", "KB0060003"),
    ];
    for (who, clearance) in [
        ("visitor", Clearance::Public),
        ("customer", Clearance::Customers),
        ("staff", Clearance::Internal),
    ] {
        for (label, q) in queries {
            let (times, (_, total)) = common::time(rounds, || {
                search(&db, &index, clearance, q, None, 1, PER_PAGE, false)
            })
            .await?;
            measure(format!("{who}: {label} “{q}”"), total as usize, times);
        }
    }
    for q in ["pip", "pipeline sta", "canary analy"] {
        let (times, found) =
            common::time(rounds, || suggest(&db, &index, Clearance::Customers, q)).await?;
        measure(
            format!("customer: suggestions for “{q}”"),
            found.len(),
            times,
        );
    }
    db.close().await;
    Ok(())
}
