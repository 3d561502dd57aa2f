//! What the per-query benchmarks share: their command line and database, and how a query is timed.

use app::server::db::Db;
use std::error::Error;
use std::future::Future;
use std::time::Instant;

/// A benchmark's database and its two numbers.
pub struct Bench {
    pub db: Db,
    /// Holds the temporary SQLite file (and any index) while the benchmark runs.
    pub dir: tempfile::TempDir,
    /// How much data to seed.
    pub size: usize,
    /// How many times each query runs.
    pub rounds: usize,
}

/// `[DATABASE_URL] [SIZE] [ROUNDS]` from the command line, with `size` and `rounds` as defaults:
/// without a URL a temporary SQLite file; the database migrated.
pub async fn start(size: usize, rounds: usize) -> Result<Bench, Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let size = args.next().and_then(|v| v.parse().ok()).unwrap_or(size);
    let rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds);
    let db = Db::connect(&url, 4).await?;
    db.migrate().await?;
    Ok(Bench {
        db,
        dir,
        size,
        rounds,
    })
}

/// Runs `query` `rounds` times: the milliseconds of each run and the last answer.
pub async fn time<T, E, F, Fut>(rounds: usize, mut query: F) -> Result<(Vec<f64>, T), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut times = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        let out = query().await?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        last = Some(std::hint::black_box(out));
    }
    Ok((times, last.expect("at least one round")))
}

/// The median and 99th percentile of `times`.
pub fn p50_p99(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (pick(0.5), pick(0.99))
}
