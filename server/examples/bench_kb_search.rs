//! Benchmark of knowledge-base search at scale (SPEC §9: "100,000 articles must search in
//! milliseconds"): p50/p99 latency of one page of results — ranked, visibility-filtered, with
//! snippets and the total — for an anonymous visitor, a customer and staff, and of the
//! suggestions shown while a case's subject is typed.
//!
//! cargo run --release -p server --example bench_kb_search -- [DATABASE_URL] [ARTICLES] [ROUNDS]
//!
//! Without a URL a temporary SQLite file is used; a PostgreSQL URL must name an empty database.

use app::server::db::{on_db, Db};
use app::server::kb::{search, suggest, Clearance, PER_PAGE};
use app::server::search::SearchIndex;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let articles: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rounds: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(100);

    let db = Db::connect(&url, 4).await?;
    db.migrate().await?;
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
    let measure = |label: String, total: i64, times: Vec<f64>| {
        let mut times = times;
        times.sort_by(|a, b| a.total_cmp(b));
        let pick = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        let total = if total > 1000 {
            "1000+".to_string()
        } else {
            total.to_string()
        };
        println!(
            "| {label} | {total} | {:.1} | {:.1} |",
            pick(0.5),
            pick(0.99)
        );
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
            let mut times = Vec::with_capacity(rounds);
            let mut total = 0;
            for _ in 0..rounds {
                let start = Instant::now();
                let (hits, n) = search(&db, &index, clearance, q, None, 1, PER_PAGE, false).await?;
                times.push(start.elapsed().as_secs_f64() * 1000.0);
                total = n;
                std::hint::black_box(hits);
            }
            measure(format!("{who}: {label} “{q}”"), total, times);
        }
    }
    for q in ["pip", "pipeline sta", "canary analy"] {
        let mut times = Vec::with_capacity(rounds);
        let mut total = 0;
        for _ in 0..rounds {
            let start = Instant::now();
            let found = suggest(&db, &index, Clearance::Customers, q).await?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            total = found.len() as i64;
        }
        measure(format!("customer: suggestions for “{q}”"), total, times);
    }
    db.close().await;
    Ok(())
}
