//! The change sequence an index follows: how far it has read (kept in its commits), the feed's
//! state in the database, asking for a rebuild and pruning old changes.

use super::GAP_WAIT;
use crate::error::AppError;
use crate::server::db::{on_db, Db};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Instant;

/// How far an index has read the change sequence (kept in each commit of the index).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(super) struct Feed {
    pub(super) schema: i64,
    /// The database the index was built from.
    #[serde(default)]
    pub(super) database: String,
    pub(super) generation: i64,
    /// Every change up to this one is applied…
    pub(super) watermark: i64,
    /// …and these above it (a gap below them is still open).
    pub(super) above: BTreeSet<i64>,
    #[serde(skip)]
    pub(super) gap_since: Option<Instant>,
}

impl Feed {
    /// Moves the watermark over the applied changes right above it, and over a gap that has
    /// stayed open longer than [`GAP_WAIT`].
    pub(super) fn advance(&mut self, now: Instant) {
        loop {
            while self.above.remove(&(self.watermark + 1)) {
                self.watermark += 1;
            }
            let Some(&lowest) = self.above.iter().next() else {
                self.gap_since = None;
                return;
            };
            match self.gap_since {
                Some(since) if now.duration_since(since) >= GAP_WAIT => {
                    self.watermark = lowest - 1;
                    self.gap_since = None;
                }
                Some(_) => return,
                None => {
                    self.gap_since = Some(now);
                    return;
                }
            }
        }
    }
}

pub(super) struct FeedState {
    pub(super) database: String,
    pub(super) changes_above: i64,
    pub(super) generation: i64,
    pub(super) pruned_through: i64,
}

/// How many changes there are above `watermark`, and the feed's generation and pruning point.
pub(super) async fn feed_state(db: &Db, watermark: i64) -> Result<FeedState, AppError> {
    let (database, changes_above, generation, pruned_through): (String, i64, i64, i64) = on_db!(
        db,
        |c| {
            sqlx::query_as(
            "SELECT database_key, (SELECT COUNT(*) FROM search_changes WHERE seq > $1), generation, \
             pruned_through FROM search_feed WHERE id = 1",
        )
        .bind(watermark)
        .fetch_one(c)
        .await
        }
    )?;
    Ok(FeedState {
        database,
        changes_above,
        generation,
        pruned_through,
    })
}

/// Asks every instance's index to be rebuilt from the tables (`portcullis reindex`).
pub async fn request_rebuild(db: &Db) -> Result<i64, AppError> {
    Ok(on_db!(db, |c| sqlx::query_scalar(
        "UPDATE search_feed SET generation = generation + 1 WHERE id = 1 RETURNING generation"
    )
    .fetch_one(c)
    .await)?)
}

/// Deletes changes older than `keep_seconds` (every instance has long followed them; one that has
/// not is rebuilt). Answers how many were deleted.
pub async fn prune_changes(db: &Db, now: i64, keep_seconds: i64) -> Result<u64, AppError> {
    let mut tx = db.begin().await?;
    let through: Option<i64> = crate::server::db::on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT MAX(seq) FROM search_changes WHERE at < $1"
    )
    .bind(now - keep_seconds)
    .fetch_one(c)
    .await)?;
    let Some(through) = through else {
        return Ok(0);
    };
    let deleted = crate::server::db::execute!(tx: &mut tx, sqlx::query(
        "DELETE FROM search_changes WHERE seq <= $1"
    )
    .bind(through))?;
    crate::server::db::execute!(tx: &mut tx, sqlx::query(
        "UPDATE search_feed SET pruned_through = $1 WHERE id = 1 AND pruned_through < $1"
    )
    .bind(through))?;
    tx.commit().await?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::super::schema::SCHEMA_VERSION;
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_watermark_waits_for_a_gap_then_passes_it() {
        let start = Instant::now();
        let mut feed = Feed::default();
        feed.above.extend([1, 2, 4, 5]);
        feed.advance(start);
        assert_eq!(feed.watermark, 2);
        assert_eq!(feed.above, BTreeSet::from([4, 5]));
        // Change 3 commits late: the gap closes.
        feed.above.insert(3);
        feed.advance(start + Duration::from_secs(1));
        assert_eq!((feed.watermark, feed.above.len()), (5, 0));
        assert!(feed.gap_since.is_none());
        // Change 6 never commits (rolled back): 7 waits, then the gap is passed.
        feed.above.insert(7);
        feed.advance(start + Duration::from_secs(2));
        assert_eq!(feed.watermark, 5);
        feed.advance(start + Duration::from_secs(2) + GAP_WAIT / 2);
        assert_eq!(feed.watermark, 5);
        feed.advance(start + Duration::from_secs(3) + GAP_WAIT);
        assert_eq!((feed.watermark, feed.above.len()), (7, 0));
    }

    #[test]
    fn the_feed_state_survives_a_commit_payload() {
        let mut feed = Feed {
            schema: SCHEMA_VERSION,
            database: "d41d8cd98f00b204".into(),
            generation: 3,
            watermark: 10,
            above: BTreeSet::from([12]),
            gap_since: Some(Instant::now()),
        };
        let back: Feed = serde_json::from_str(&serde_json::to_string(&feed).unwrap()).unwrap();
        feed.gap_since = None;
        assert_eq!(back, feed);
    }
}
