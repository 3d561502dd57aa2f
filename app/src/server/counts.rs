//! Totals of long lists. A list's total is counted up to a cap ("more than 10,000" past it), and
//! counting to the cap reads that many index entries on every request: under load that was the
//! largest part of a big queue's page. So a list once found over its cap is taken to be over it for
//! a few seconds without counting again (a count under the cap is always counted, so a short list's
//! total is always exact: what a person acts on). The memory is per database and bounded.

use super::db::Db;
use crate::error::AppError;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a list found over its cap is believed to still be.
const BELIEVED_FOR: Duration = Duration::from_secs(10);
/// Lists remembered at most (the memory is cleared past this).
const REMEMBERED: usize = 4096;

static OVER_CAP: Mutex<Option<HashMap<u64, Instant>>> = Mutex::new(None);

/// The total `count` gives, capped at `cap + 1`; `cap + 1` without counting when the same list
/// (`db`, `key`) was over its cap within the last few seconds.
pub async fn capped<K, F>(db: &Db, key: K, cap: i64, count: F) -> Result<i64, AppError>
where
    K: Hash,
    F: Future<Output = Result<i64, AppError>>,
{
    let mut hasher = DefaultHasher::new();
    db.identity().hash(&mut hasher);
    key.hash(&mut hasher);
    let id = hasher.finish();
    let now = Instant::now();
    {
        let memory = OVER_CAP.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(seen) = memory.as_ref().and_then(|m| m.get(&id)) {
            if now.duration_since(*seen) < BELIEVED_FOR {
                return Ok(cap + 1);
            }
        }
    }
    let total = count.await?.min(cap + 1);
    let mut memory = OVER_CAP.lock().unwrap_or_else(|e| e.into_inner());
    let map = memory.get_or_insert_with(HashMap::new);
    if total > cap {
        if map.len() >= REMEMBERED {
            map.clear();
        }
        map.insert(id, now);
    } else {
        map.remove(&id);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_list_over_its_cap_is_not_counted_again_at_once_and_short_ones_always_are() {
        let dir = std::env::temp_dir().join(format!("portcullis-counts-{}", std::process::id()));
        let db = Db::connect(&format!("sqlite://{}", dir.join("c.db").display()), 1)
            .await
            .unwrap();
        let over = capped(&db, "big", 10, async { Ok(25) }).await.unwrap();
        assert_eq!(over, 11);
        let again = capped(&db, "big", 10, async { panic!("counted again") }).await;
        assert_eq!(again.unwrap(), 11);
        // A short list is counted every time, and a list that shrank under the cap is exact.
        for n in [3, 4] {
            assert_eq!(
                capped(&db, "short", 10, async move { Ok(n) })
                    .await
                    .unwrap(),
                n
            );
        }
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
