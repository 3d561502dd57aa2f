//! Totals of long lists. A list's total is counted up to a cap ("more than 10,000" past it), and
//! counting to the cap reads that many index entries on every request: under load that was the
//! largest part of a big queue's page. So a list once found over its cap is taken to be over it for
//! a few seconds without counting again, and while one request counts it again after that (a count
//! under the cap is always counted, so a short list's total is always exact: what a person acts
//! on). And one list is counted once at a time: requests for a list already being counted wait for
//! that count instead of each starting its own (32 pages of one big list asked at once each counted
//! 10,000 rows on two cores). The memory is per database and bounded.

use super::db::Db;
use crate::error::AppError;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a list found over its cap is believed to still be.
const BELIEVED_FOR: Duration = Duration::from_secs(10);
/// Lists remembered at most (the memory is cleared past this).
const REMEMBERED: usize = 4096;

#[derive(Default)]
struct Memory {
    /// Lists found over their cap, and when.
    over_cap: HashMap<u64, Instant>,
    /// Lists being counted now: the total, once known, is sent to whoever waits for it. Each
    /// entry is removed when its count ends, however it ends, so this holds at most one entry per
    /// request in flight.
    counting: HashMap<u64, watch::Receiver<Option<i64>>>,
}

static MEMORY: Mutex<Option<Memory>> = Mutex::new(None);

fn memory() -> std::sync::MutexGuard<'static, Option<Memory>> {
    MEMORY.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a request does about a list's total.
enum Turn {
    /// Known to be over the cap.
    Over,
    /// Another request is counting it: wait for its total.
    Wait(watch::Receiver<Option<i64>>),
    /// Count it, and send the total to those waiting.
    Count(Counting),
}

/// The count this request runs for everyone; its entry goes when it is dropped (the total sent, or
/// the request cancelled or failed: then those waiting count for themselves).
struct Counting {
    id: u64,
    total: watch::Sender<Option<i64>>,
}

impl Drop for Counting {
    fn drop(&mut self) {
        // The entry is this count's: a list has no other entry while one is in the memory.
        if let Some(memory) = memory().as_mut() {
            memory.counting.remove(&self.id);
        }
    }
}

fn turn(id: u64, now: Instant) -> Turn {
    let mut guard = memory();
    let memory = guard.get_or_insert_with(Memory::default);
    if let Some(seen) = memory.over_cap.get(&id) {
        // Known over its cap lately, or being counted again now: the others keep believing it
        // meanwhile rather than wait (every few seconds, each page of the moment waited for
        // the recount of 10,000 rows).
        if now.duration_since(*seen) < BELIEVED_FOR || memory.counting.contains_key(&id) {
            return Turn::Over;
        }
    }
    if let Some(total) = memory.counting.get(&id) {
        return Turn::Wait(total.clone());
    }
    let (total, waiting) = watch::channel(None);
    memory.counting.insert(id, waiting);
    Turn::Count(Counting { id, total })
}

/// The total `count` gives, capped at `cap + 1`; `cap + 1` without counting when the same list
/// (`db`, `key`) was over its cap within the last few seconds, or was over it before and is being
/// counted again for another request; the total of the count already running when the same list
/// is being counted for another request.
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
    let counting = match turn(id, now) {
        Turn::Over => return Ok(cap + 1),
        Turn::Wait(mut total) => {
            if let Ok(total) = total.wait_for(Option::is_some).await {
                if let Some(total) = *total {
                    return Ok(total.min(cap + 1));
                }
            }
            // The count waited for did not finish: count here, alone.
            None
        }
        Turn::Count(counting) => Some(counting),
    };
    let total = count.await?.min(cap + 1);
    {
        let mut guard = memory();
        let map = &mut guard.get_or_insert_with(Memory::default).over_cap;
        if total > cap {
            if map.len() >= REMEMBERED {
                map.clear();
            }
            map.insert(id, now);
        } else {
            map.remove(&id);
        }
    }
    if let Some(counting) = counting {
        let _ = counting.total.send(Some(total));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::scratch;

    #[tokio::test]
    async fn a_list_over_its_cap_is_not_counted_again_at_once_and_short_ones_always_are() {
        let (dir, db) = scratch("counts").await;
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

    #[test]
    fn a_list_over_its_cap_being_counted_again_is_not_waited_for() {
        let id = 0x5eed_0001;
        let long_ago = Instant::now() - BELIEVED_FOR * 2;
        memory()
            .get_or_insert_with(Memory::default)
            .over_cap
            .insert(id, long_ago);
        // Its memory ran out: one request counts it again…
        let Turn::Count(counting) = turn(id, Instant::now()) else {
            panic!("an old belief is counted again");
        };
        // …and the others meanwhile take it to be over its cap, without waiting.
        assert!(matches!(turn(id, Instant::now()), Turn::Over));
        // A list never found over its cap is waited for while it is counted.
        let other = 0x5eed_0002;
        let Turn::Count(_first) = turn(other, Instant::now()) else {
            panic!("the first request counts");
        };
        assert!(matches!(turn(other, Instant::now()), Turn::Wait(_)));
        drop(counting);
    }

    #[tokio::test]
    async fn a_list_asked_for_many_times_at_once_is_counted_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (dir, db) = scratch("once").await;
        let counted = AtomicUsize::new(0);
        let count = || async {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(7)
        };
        let asked = (0..16).map(|_| capped(&db, "short, asked at once", 10, count()));
        let totals = futures::future::join_all(asked).await;
        assert!(totals.iter().all(|t| t.as_ref() == Ok(&7)), "{totals:?}");
        assert_eq!(counted.load(Ordering::SeqCst), 1);
        // Asked again once that count is over, a short list is counted again.
        assert_eq!(
            capped(&db, "short, asked at once", 10, count()).await,
            Ok(7)
        );
        assert_eq!(counted.load(Ordering::SeqCst), 2);

        // A count whose request went away leaves those waiting to count for themselves.
        let (first, second) = tokio::join!(
            tokio::time::timeout(
                Duration::from_millis(10),
                capped(&db, "abandoned", 10, async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(1)
                })
            ),
            async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                capped(&db, "abandoned", 10, async { Ok(3) }).await
            }
        );
        assert!(first.is_err());
        assert_eq!(second, Ok(3));
        // A failed count likewise: the next request counts anew.
        let failed = capped(&db, "failed", 10, async { Err(AppError::Internal) }).await;
        assert_eq!(failed, Err(AppError::Internal));
        assert_eq!(capped(&db, "failed", 10, async { Ok(4) }).await, Ok(4));
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
