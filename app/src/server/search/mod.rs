//! The embedded search index (tantivy) over knowledge-base articles and cases.
//!
//! The database stays the source of truth. Every change of a case or an article adds a row to
//! `search_changes` in the same transaction (triggers, migration 0014), and each portal instance
//! keeps its own index directory that follows that sequence: before a search it catches up with
//! what was committed since (so a person finds what they have just written), and a background
//! task does the same every few seconds (so several instances on one PostgreSQL all follow each
//! other's changes). The index records in its own commits how far it has read, so a restart
//! carries on where it stopped; an index that is missing, of another schema version, behind the
//! changes already pruned, or asked to be rebuilt (`portcullis reindex` raises the feed's
//! generation) is rebuilt from the tables, while the previous one, if any, keeps answering.
//!
//! On PostgreSQL sequence numbers are taken before their transactions commit, so a lower number
//! may appear after a higher one: the index remembers which numbers above its watermark it has
//! applied and waits for a gap to fill (a rolled-back transaction leaves one for good: after
//! [`GAP_WAIT`] it is passed).

mod feed;
mod query;
mod rank;
mod schema;

pub use feed::{prune_changes, request_rebuild};
pub use query::{ArticleQuery, CaseOrder, CaseQuery, Found};

use feed::{feed_state, Feed};

use crate::error::AppError;
use crate::server::db::{on_db, Db};
use schema::{ArticleFields, CaseFields, SCHEMA_VERSION};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tantivy::schema::Field;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, Term};

/// A gap in the change sequence older than this is a rolled-back transaction's.
const GAP_WAIT: Duration = Duration::from_secs(120);
/// Changes read at a time while catching up.
const BATCH: i64 = 2000;
/// With more changes than this waiting, rebuilding is quicker than following them.
const REBUILD_OVER: i64 = 50_000;
/// Rows read at a time while rebuilding.
const REBUILD_BATCH: i64 = 5000;
/// After a rebuild the last changes before it are applied again: a transaction still open while
/// the tables were read (PostgreSQL) is then seen once it commits.
const REBUILD_TAIL: i64 = 1000;
/// How long a search waits for the index to catch up before answering from what it has.
const CATCH_UP_WAIT: Duration = Duration::from_secs(10);
/// The most changes not yet in the index that a search waits for: a person's own edits (a case
/// just opened is found at once). More at once (cases closed in bulk, an import) are applied in
/// the background while searches answer from the index as it is: waiting, every search of the
/// moment stood still for the whole catch-up and its commit (p99 1.8 s under load).
const WAITED_FOR: i64 = 100;

/// One index: its reader, its writer and its fields.
struct Part<F> {
    /// The row id: the term that names a document.
    id: Field,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: F,
}

impl<F> Part<F> {
    fn open(
        dir: Option<&Path>,
        (schema, fields): (tantivy::schema::Schema, F),
        memory: usize,
    ) -> Result<(Part<F>, Option<Feed>), String> {
        let id = schema
            .get_field("id")
            .map_err(|e| format!("the search schema has no id: {e}"))?;
        let (index, feed) = match dir {
            None => (Index::create_in_ram(schema), None),
            Some(dir) => {
                let existing = Index::open_in_dir(dir)
                    .ok()
                    .filter(|index| index.schema() == schema);
                match existing {
                    // Built before (or begun: without a feed state it is rebuilt in place).
                    Some(index) => {
                        let feed = index
                            .load_metas()
                            .ok()
                            .and_then(|m| m.payload)
                            .and_then(|p| serde_json::from_str::<Feed>(&p).ok())
                            .filter(|f| f.schema == SCHEMA_VERSION);
                        (index, feed)
                    }
                    None => {
                        // Missing, damaged or of other fields: started afresh (and rebuilt).
                        if dir.exists() {
                            std::fs::remove_dir_all(dir).map_err(|e| {
                                format!("clearing the search index at {}: {e}", dir.display())
                            })?;
                        }
                        std::fs::create_dir_all(dir).map_err(|e| {
                            format!("creating the search index at {}: {e}", dir.display())
                        })?;
                        let index = Index::create_in_dir(dir, schema).map_err(|e| {
                            format!("creating the search index at {}: {e}", dir.display())
                        })?;
                        (index, None)
                    }
                }
            }
        };
        let writer = index.writer_with_num_threads(1, memory).map_err(|e| {
            format!("opening the search index for writing (is another portal using it?): {e}")
        })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| format!("opening the search index for reading: {e}"))?;
        Ok((
            Part {
                id,
                reader,
                writer: Mutex::new(writer),
                fields,
            },
            feed,
        ))
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes what was written visible, recording how far the feed was read.
    fn commit(&self, feed: &Feed) -> tantivy::Result<()> {
        let payload = serde_json::to_string(feed).expect("feed state serializes");
        let mut writer = self.writer();
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        drop(writer);
        self.reader.reload()
    }

    fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }
}

struct Inner {
    articles: Part<ArticleFields>,
    cases: Part<CaseFields>,
    /// Held while the index catches up or is rebuilt.
    feed: tokio::sync::Mutex<Feed>,
    /// The feed as of the last commit, for the check a search makes without the lock.
    seen: Mutex<Feed>,
    /// The index has been built once (it may be behind, never wrong in what it holds).
    ready: AtomicBool,
    rebuilding: AtomicBool,
    /// The follower (the task that catches up for searches) is running…
    following: AtomicBool,
    /// …and a search has asked it for a catch-up it has not begun yet.
    wanted: AtomicBool,
    /// Catch-ups begun, each numbered once it holds the feed, and the highest number finished:
    /// a search waits for one begun after it, shared with every search of that moment.
    begun: AtomicU64,
    finished: tokio::sync::watch::Sender<u64>,
}

/// The search index of this portal instance (cheap to clone).
#[derive(Clone)]
pub struct SearchIndex(Arc<Inner>);

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchIndex")
    }
}

/// What a rebuild or catch-up did: the documents written by a rebuild, the items looked at again
/// by a catch-up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub rebuilt: bool,
    pub cases: usize,
    pub articles: usize,
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`; an empty `dir` keeps it in memory (for commands that
    /// never search). Taking the directory's writer lock fails while another process uses it.
    pub fn open(dir: &str) -> Result<SearchIndex, String> {
        let dir = (!dir.is_empty()).then(|| PathBuf::from(dir));
        let (articles, article_feed) = Part::open(
            dir.as_ref().map(|d| d.join("articles")).as_deref(),
            schema::article_schema(),
            15_000_000,
        )?;
        let (cases, case_feed) = Part::open(
            dir.as_ref().map(|d| d.join("cases")).as_deref(),
            schema::case_schema(),
            40_000_000,
        )?;
        // Both parts go on from the one that has read less (applying a change again is harmless);
        // parts of different generations are rebuilt.
        let feed = match (article_feed, case_feed) {
            (Some(a), Some(c)) if a.generation == c.generation => {
                if a.watermark <= c.watermark {
                    a
                } else {
                    c
                }
            }
            _ => Feed::default(),
        };
        let ready = feed.schema == SCHEMA_VERSION;
        Ok(SearchIndex(Arc::new(Inner {
            articles,
            cases,
            seen: Mutex::new(feed.clone()),
            feed: tokio::sync::Mutex::new(feed),
            ready: AtomicBool::new(ready),
            rebuilding: AtomicBool::new(false),
            following: AtomicBool::new(false),
            wanted: AtomicBool::new(false),
            begun: AtomicU64::new(0),
            finished: tokio::sync::watch::Sender::new(0),
        })))
    }

    /// An index in memory, built on first use and never kept: for administration commands, which
    /// must not take the directory of a portal that may be running.
    pub fn in_memory() -> SearchIndex {
        SearchIndex::open("").expect("an index in memory opens")
    }

    /// Published articles matching `q`, best first.
    pub async fn articles(&self, db: &Db, q: &ArticleQuery<'_>) -> Result<Found, AppError> {
        self.refresh(db).await?;
        query::articles(&self.0.articles.searcher(), &self.0.articles.fields, q).map_err(failed)
    }

    /// Cases matching `q`, in its order.
    pub async fn cases(&self, db: &Db, q: &CaseQuery<'_>) -> Result<Found, AppError> {
        self.refresh(db).await?;
        query::cases(&self.0.cases.searcher(), &self.0.cases.fields, q).map_err(failed)
    }

    /// Catches up before a search: nothing to do (one small query) when no change has been
    /// committed since; otherwise the index follows, and the search waits for a catch-up begun
    /// after it (one serves every search waiting at that moment: each search used to run its own,
    /// so under a stream of changes, such as resolved cases closed one by one, the searches stood
    /// in line, one index commit each). Not waited for: many changes at once, applied behind the
    /// searches, and a rebuild, while the previous index answers (or, when there is none yet, the
    /// search is refused for now).
    async fn refresh(&self, db: &Db) -> Result<(), AppError> {
        let ready = self.0.ready.load(Ordering::Acquire);
        if self.0.rebuilding.load(Ordering::Acquire) {
            return if ready {
                Ok(())
            } else {
                Err(AppError::Preparing)
            };
        }
        // A catch-up numbered above this begins after this point, so it reads every change
        // committed before the search.
        let begun = self.0.begun.load(Ordering::SeqCst);
        if ready {
            let seen = self
                .0
                .seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let state = feed_state(db, seen.watermark).await?;
            if state.database == seen.database
                && state.generation == seen.generation
                && state.pruned_through <= seen.watermark
            {
                let behind = state.changes_above - seen.above.len() as i64;
                if behind == 0 {
                    return Ok(());
                }
                if behind > WAITED_FOR {
                    self.follow(db);
                    return Ok(());
                }
            }
        }
        let mut finished = self.0.finished.subscribe();
        self.follow(db);
        // Caught up, or the catch-up failed (the follower logs why) or takes long: the index
        // answers as it is. The rows shown are read again, and checked, from the tables.
        let _ = tokio::time::timeout(CATCH_UP_WAIT, finished.wait_for(|f| *f > begun)).await;
        if self.0.ready.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(AppError::Preparing)
        }
    }

    /// Has the follower catch up soon: started unless it runs; if it is in the middle of a
    /// catch-up, it begins another after that one. At most one follower runs.
    fn follow(&self, db: &Db) {
        self.0.wanted.store(true, Ordering::SeqCst);
        if self.0.following.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        let db = db.clone();
        tokio::spawn(async move {
            loop {
                while this.0.wanted.swap(false, Ordering::SeqCst) {
                    if let Err(e) = this.catch_up(&db).await {
                        tracing::warn!(error = %e, "the search index could not catch up");
                    }
                }
                this.0.following.store(false, Ordering::SeqCst);
                // A search may have asked between the last look and the flag going down.
                if !this.0.wanted.load(Ordering::SeqCst)
                    || this.0.following.swap(true, Ordering::SeqCst)
                {
                    break;
                }
            }
        });
    }

    /// Applies the changes committed since the last catch-up, or rebuilds the index when it must.
    #[tracing::instrument(skip_all)]
    pub async fn catch_up(&self, db: &Db) -> Result<Progress, AppError> {
        let mut feed = self.0.feed.lock().await;
        let number = self.0.begun.fetch_add(1, Ordering::SeqCst) + 1;
        let _finished = Finished(&self.0.finished, number);
        let state = feed_state(db, feed.watermark).await?;
        if feed.schema != SCHEMA_VERSION
            || feed.database != state.database
            || feed.generation != state.generation
            || feed.watermark < state.pruned_through
            || state.changes_above - feed.above.len() as i64 > REBUILD_OVER
        {
            return self
                .rebuild(db, &mut feed, state.database, state.generation)
                .await;
        }
        let mut progress = Progress::default();
        let mut changed = false;
        loop {
            let limit = feed.above.len() as i64 + BATCH;
            let rows: Vec<(i64, String, i64)> = on_db!(db, |c| {
                sqlx::query_as(
                "SELECT seq, kind, item_id FROM search_changes WHERE seq > $1 ORDER BY seq LIMIT $2"
            )
            .bind(feed.watermark)
            .bind(limit)
            .fetch_all(c)
            .await
            })?;
            let fresh: Vec<&(i64, String, i64)> = rows
                .iter()
                .filter(|(seq, ..)| !feed.above.contains(seq))
                .collect();
            if fresh.is_empty() {
                break;
            }
            let mut cases = BTreeSet::new();
            let mut articles = BTreeSet::new();
            for (_, kind, id) in &fresh {
                if kind == "case" {
                    cases.insert(*id);
                } else {
                    articles.insert(*id);
                }
            }
            if !cases.is_empty() {
                let rows = schema::cases(db, &cases.iter().copied().collect::<Vec<_>>()).await?;
                progress.cases += replace(
                    &self.0.cases,
                    &cases,
                    rows,
                    |r| r.id,
                    |r, f| Some(r.document(f)),
                )?;
            }
            if !articles.is_empty() {
                let ids: Vec<i64> = articles.iter().copied().collect();
                let rows = schema::articles(db, &ids).await?;
                progress.articles += replace(
                    &self.0.articles,
                    &articles,
                    rows,
                    |r| r.id,
                    |r, f| r.document(f),
                )?;
            }
            feed.above.extend(fresh.iter().map(|(seq, ..)| *seq));
            feed.advance(Instant::now());
            changed = true;
            if (rows.len() as i64) < limit {
                break;
            }
        }
        // A gap may have been waited out without any new change.
        let before = feed.watermark;
        feed.advance(Instant::now());
        if changed || feed.watermark != before {
            self.commit(&feed).await?;
        }
        Ok(progress)
    }

    /// Builds the index anew from the tables. Until it commits, searches see the previous index.
    async fn rebuild(
        &self,
        db: &Db,
        feed: &mut Feed,
        database: String,
        generation: i64,
    ) -> Result<Progress, AppError> {
        self.0.rebuilding.store(true, Ordering::Release);
        let started = Instant::now();
        let result = self.rebuild_from_tables(db).await;
        let progress = match result {
            Ok((last_change, progress)) => {
                *feed = Feed {
                    schema: SCHEMA_VERSION,
                    database,
                    generation,
                    watermark: (last_change - REBUILD_TAIL).max(0),
                    above: BTreeSet::new(),
                    gap_since: None,
                };
                let committed = self.commit(feed).await;
                self.0.rebuilding.store(false, Ordering::Release);
                committed?;
                self.0.ready.store(true, Ordering::Release);
                progress
            }
            Err(e) => {
                // What was written is thrown away; the previous index stays as it was.
                for rolled in [
                    self.0.articles.writer().rollback(),
                    self.0.cases.writer().rollback(),
                ] {
                    if let Err(e) = rolled {
                        tracing::error!(error = %e, "discarding a failed search index rebuild");
                    }
                }
                self.0.rebuilding.store(false, Ordering::Release);
                return Err(e);
            }
        };
        tracing::info!(
            cases = progress.cases,
            articles = progress.articles,
            seconds = started.elapsed().as_secs_f64(),
            "search index rebuilt"
        );
        Ok(progress)
    }

    /// Writes every case and article into emptied indexes; answers the last change number seen
    /// before reading (every change up to it is in what was read).
    async fn rebuild_from_tables(&self, db: &Db) -> Result<(i64, Progress), AppError> {
        let last_change: i64 = on_db!(db, |c| sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) FROM search_changes"
        )
        .fetch_one(c)
        .await)?;
        self.0
            .cases
            .writer()
            .delete_all_documents()
            .map_err(failed)?;
        self.0
            .articles
            .writer()
            .delete_all_documents()
            .map_err(failed)?;
        let mut progress = Progress {
            rebuilt: true,
            ..Progress::default()
        };
        let mut after = 0;
        loop {
            let rows = schema::cases_after(db, after, REBUILD_BATCH).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let part = &self.0.cases;
            let writer = part.writer();
            for row in &rows {
                writer
                    .add_document(row.document(&part.fields))
                    .map_err(failed)?;
            }
            progress.cases += rows.len();
        }
        let mut after = 0;
        loop {
            let rows = schema::articles_after(db, after, REBUILD_BATCH).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let part = &self.0.articles;
            let writer = part.writer();
            for doc in rows.iter().filter_map(|r| r.document(&part.fields)) {
                writer.add_document(doc).map_err(failed)?;
                progress.articles += 1;
            }
        }
        Ok((last_change, progress))
    }

    /// Commits both parts (off the async threads: a commit writes and syncs files).
    async fn commit(&self, feed: &Feed) -> Result<(), AppError> {
        let this = self.clone();
        let committed = feed.clone();
        tokio::task::spawn_blocking(move || {
            this.0.cases.commit(&committed)?;
            this.0.articles.commit(&committed)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "committing the search index stopped");
            AppError::Internal
        })?
        .map_err(failed)?;
        *self.0.seen.lock().unwrap_or_else(|e| e.into_inner()) = feed.clone();
        Ok(())
    }

    /// How many catch-ups have begun since the index was opened.
    pub fn catch_ups(&self) -> u64 {
        self.0.begun.load(Ordering::SeqCst)
    }

    /// Whether the index has been built (it may still be catching up).
    pub fn ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    /// How many documents each part holds (cases, articles), as the last commit left them.
    pub fn documents(&self) -> (u64, u64) {
        (
            self.0.cases.searcher().num_docs(),
            self.0.articles.searcher().num_docs(),
        )
    }
}

/// Marks a catch-up finished, however it ends, for the searches waiting for it.
struct Finished<'a>(&'a tokio::sync::watch::Sender<u64>, u64);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        let number = self.1;
        self.0.send_if_modified(|f| {
            let later = *f < number;
            if later {
                *f = number;
            }
            later
        });
    }
}

/// Replaces the documents of `ids` in `part` with those of their rows as read now: an id without
/// a row (deleted), or whose row makes no document (an unpublished article), is taken out.
fn replace<F, R>(
    part: &Part<F>,
    ids: &BTreeSet<i64>,
    rows: Vec<R>,
    id: fn(&R) -> i64,
    document: impl Fn(&R, &F) -> Option<tantivy::TantivyDocument>,
) -> Result<usize, AppError> {
    let rows: BTreeMap<i64, R> = rows.into_iter().map(|r| (id(&r), r)).collect();
    let writer = part.writer();
    for item in ids {
        writer.delete_term(Term::from_field_u64(part.id, *item as u64));
        if let Some(doc) = rows.get(item).and_then(|r| document(r, &part.fields)) {
            writer.add_document(doc).map_err(failed)?;
        }
    }
    Ok(ids.len())
}

/// A failure inside the index: logged, and an internal error to the person.
fn failed(e: tantivy::TantivyError) -> AppError {
    tracing::error!(error = %e, "search index failure");
    AppError::Internal
}
