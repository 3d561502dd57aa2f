//! Collecting a page of hits: best match first, or by a stored value, and counting up to a cap.
//!
//! Best-match pages are collected here rather than by tantivy's `TopDocs`, for two reasons that
//! matter at a million cases:
//! - **Ties stop the search.** `TopDocs` lets a hit that only equals the page's last score through
//!   to the scorer, so a block of postings whose best equals it is decoded and scored again and
//!   again; a word found in every case, each scoring alike, was scored a million times a search.
//!   A later hit of equal score can never make the page (ties go to the earlier document, as with
//!   `TopDocs`), so the threshold asked for is just above the page's last score, and tantivy's
//!   block-max pruning skips every block that cannot beat it.
//! - **Filters are checked per hit.** Joining the words with a filter (an audience, a queue's
//!   states) in one boolean query scores every document of the join: tantivy prunes only a word's
//!   own postings. So the words are ranked alone, with pruning, and each hit that could make the
//!   page is checked against the filter's postings (seeking forward, as hits come in document
//!   order). Where the filter keeps few documents (one account's cases) or turns away too many
//!   hits (the best matches lie outside it), its own documents are walked instead, scoring the
//!   words at each.

use super::query::Found;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{LazyLock, Mutex, PoisonError};
use tantivy::collector::TopDocs;
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::schema::Field;
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED};

/// A filter keeping at least one in this many documents of a segment is first tried per hit.
const TRY_PER_HIT_FROM: u32 = 64;
/// Hits the filter may turn away before its own documents are walked instead.
const TURNED_AWAY_MOST: u32 = 4096;

/// A hit, better when greater: a higher score, then the earlier document.
#[derive(Clone, Copy)]
struct Hit {
    score: Score,
    address: DocAddress,
}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.address.cmp(&self.address))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Hit {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Hit {}

/// The best `size` hits so far; segments and their documents come in address order, so a new
/// hit must score strictly more than the worst kept one to enter.
struct Best {
    size: usize,
    /// The worst kept hit on top.
    kept: BinaryHeap<Reverse<Hit>>,
}

impl Best {
    fn new(size: usize) -> Best {
        Best {
            size,
            kept: BinaryHeap::with_capacity(size + 1),
        }
    }

    /// The score a hit must exceed to be worth offering.
    fn threshold(&self) -> Score {
        match self.kept.peek() {
            Some(Reverse(worst)) if self.kept.len() >= self.size => worst.score.next_up(),
            _ => Score::MIN,
        }
    }

    /// Keeps `hit` if it makes the best; returns the new threshold.
    fn offer(&mut self, hit: Hit) -> Score {
        if self.kept.len() < self.size {
            self.kept.push(Reverse(hit));
        } else if self.kept.peek().is_some_and(|Reverse(worst)| hit > *worst) {
            self.kept.pop();
            self.kept.push(Reverse(hit));
        }
        self.threshold()
    }

    /// Lets go of the hits of segment `ord` (to collect them again another way).
    fn forget(&mut self, ord: u32) {
        self.kept.retain(|Reverse(h)| h.address.segment_ord != ord);
    }

    /// Best first.
    fn into_sorted(self) -> Vec<DocAddress> {
        let mut hits: Vec<Hit> = self.kept.into_iter().map(|Reverse(h)| h).collect();
        hits.sort_unstable_by(|a, b| b.cmp(a));
        hits.into_iter().map(|h| h.address).collect()
    }
}

/// Best match first: the documents matching `words` (ranked by them) and `filter` (which does
/// not change the ranking), from `offset`, at most `limit`.
pub fn ranked(
    searcher: &Searcher,
    id: Field,
    words: &dyn Query,
    filter: Option<&dyn Query>,
    offset: usize,
    limit: usize,
) -> tantivy::Result<Found> {
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let words_weight = words.weight(scoring)?;
    let filter_weight = match filter {
        Some(f) => Some(f.weight(EnableScoring::disabled_from_searcher(searcher))?),
        None => None,
    };
    let mut best = Best::new(offset + limit);
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let ord = ord as u32;
        let alive = segment.alive_bitset();
        let offer = |best: &mut Best, doc: DocId, score: Score| {
            if alive.is_some_and(|a| a.is_deleted(doc)) {
                return best.threshold();
            }
            best.offer(Hit {
                score,
                address: DocAddress::new(ord, doc),
            })
        };
        let Some(filter_weight) = &filter_weight else {
            words_weight.for_each_pruning(best.threshold(), segment, &mut |doc, score| {
                offer(&mut best, doc, score)
            })?;
            continue;
        };
        let mut kept = filter_weight.scorer(segment, 1.0)?;
        if kept.doc() == TERMINATED {
            continue;
        }
        if kept.size_hint().saturating_mul(TRY_PER_HIT_FROM) >= segment.max_doc() {
            // Rank the words with pruning and check each hit that could make the page, unless
            // the filter turns away too many of them (the best matches lie outside it).
            let mut turned_away = 0;
            words_weight.for_each_pruning(best.threshold(), segment, &mut |doc, score| {
                if kept.doc() < doc {
                    kept.seek(doc);
                }
                if kept.doc() == doc {
                    return offer(&mut best, doc, score);
                }
                turned_away += 1;
                if kept.doc() == TERMINATED || turned_away > TURNED_AWAY_MOST {
                    // Nothing further passes the filter, or walking it is cheaper: no score is
                    // worth offering.
                    return Score::MAX;
                }
                best.threshold()
            })?;
            if turned_away <= TURNED_AWAY_MOST {
                continue;
            }
            best.forget(ord);
            kept = filter_weight.scorer(segment, 1.0)?;
        }
        // Walk the documents the filter keeps, scoring the words there.
        let mut words = words_weight.scorer(segment, 1.0)?;
        let mut doc = kept.doc();
        while doc != TERMINATED {
            if words.doc() < doc && words.seek(doc) == TERMINATED {
                break;
            }
            if words.doc() == doc {
                let score = words.score();
                if score >= best.threshold() {
                    offer(&mut best, doc, score);
                }
                doc = kept.advance();
            } else {
                doc = kept.seek(words.doc());
            }
        }
    }
    let addresses: Vec<DocAddress> = best.into_sorted().into_iter().skip(offset).collect();
    found(searcher, id, &addresses)
}

/// Highest value of `score` first.
pub fn by_value<S, F, G>(
    searcher: &Searcher,
    id: Field,
    query: &dyn Query,
    offset: usize,
    limit: usize,
    score: F,
) -> tantivy::Result<Found>
where
    S: 'static + Send + Sync + Clone + PartialOrd,
    F: 'static + Send + Sync + Fn(&SegmentReader) -> G,
    G: 'static + FnMut(DocId) -> S,
{
    let collector = TopDocs::with_limit(limit)
        .and_offset(offset)
        .custom_score(score);
    let top = searcher.search(query, &collector)?;
    let addresses: Vec<DocAddress> = top.into_iter().map(|(_, a)| a).collect();
    found(searcher, id, &addresses)
}

/// The row ids of `addresses`; the total is left to the caller.
fn found(searcher: &Searcher, id: Field, addresses: &[DocAddress]) -> tantivy::Result<Found> {
    let name = searcher.schema().get_field_name(id);
    let ids = addresses
        .iter()
        .map(|a| column_u64(searcher.segment_reader(a.segment_ord), name).get_val(a.doc_id) as i64)
        .collect();
    Ok(Found { ids, total: 0 })
}

/// How many live documents match `query`, counting no further than `most` (tantivy's own count
/// visits every match).
pub fn count_up_to(searcher: &Searcher, query: &dyn Query, most: usize) -> tantivy::Result<usize> {
    let weight: Box<dyn Weight> = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut counted = 0;
    for segment in searcher.segment_readers() {
        let mut scorer = weight.scorer(segment, 1.0)?;
        let alive = segment.alive_bitset();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                counted += 1;
                if counted >= most {
                    return Ok(counted);
                }
            }
            doc = scorer.advance();
        }
    }
    Ok(counted)
}

pub type Column<T> = std::sync::Arc<dyn tantivy::columnar::ColumnValues<T>>;

/// Fast-field columns already opened, by segment and field name. Opening a column reads its
/// whole block table (for a million cases, thousands of blocks, allocated and copied): done for
/// every hit of every search, that cost more than the search itself. A segment never changes once
/// written and its id is unique, so a column stays good for as long as its segment is searched.
type Opened<T> = LazyLock<Mutex<HashMap<(SegmentId, String), Column<T>>>>;
static OPENED_U64: Opened<u64> = LazyLock::new(Default::default);
static OPENED_I64: Opened<i64> = LazyLock::new(Default::default);
/// Past this many columns the lot is forgotten (a few generations of segments need far fewer),
/// so the segments that merges replaced let go of their files.
const OPENED_MOST: usize = 256;

fn opened<T: 'static>(
    cache: &Opened<T>,
    segment: &SegmentReader,
    name: &str,
    open: impl FnOnce() -> Column<T>,
) -> Column<T> {
    let key = (segment.segment_id(), name.to_string());
    if let Some(column) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return column.clone();
    }
    let column = open();
    let mut all = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if all.len() >= OPENED_MOST {
        all.clear();
    }
    all.insert(key, column.clone());
    column
}

// The schema is built by this module's parent and checked by version when an index is opened, so
// every fast field asked for here exists.
pub fn column_i64(segment: &SegmentReader, name: &str) -> Column<i64> {
    opened(&OPENED_I64, segment, name, || {
        segment
            .fast_fields()
            .i64(name)
            .expect("a fast field of the search schema")
            .first_or_default_col(0)
    })
}

pub fn column_u64(segment: &SegmentReader, name: &str) -> Column<u64> {
    opened(&OPENED_U64, segment, name, || {
        segment
            .fast_fields()
            .u64(name)
            .expect("a fast field of the search schema")
            .first_or_default_col(0)
    })
}

#[cfg(test)]
mod tests {
    use super::super::schema::{case_schema, CaseFields};
    use super::*;
    use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, TermQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::{doc, Index, IndexWriter, Term};

    /// Cases 0..n, `words(i)` each, in account `account(i)`, person `i % 97`; a commit every
    /// `per_segment`.
    fn index_of(
        n: u64,
        per_segment: u64,
        words: impl Fn(u64) -> String,
        account: impl Fn(u64) -> u64,
    ) -> (Index, CaseFields) {
        let (schema, f) = case_schema();
        let index = Index::create_in_ram(schema);
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..n {
            let case =
                doc!(f.id => i, f.words => words(i), f.account => account(i), f.people => i % 97);
            writer.add_document(case).unwrap();
            if i % per_segment == per_segment - 1 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        (index, f)
    }

    fn term(field: Field, value: u64) -> Box<dyn Query> {
        let term = Term::from_field_u64(field, value);
        Box::new(TermQuery::new(term, IndexRecordOption::Basic))
    }

    /// Every page of `ranked` is the page tantivy's own collector gives for the words and the
    /// filter joined in one query: the same hits in the same order, ties to the earlier document.
    fn same_pages(index: &Index, f: &CaseFields, filters: Vec<Option<Box<dyn Query>>>) {
        let searcher = index.reader().unwrap().searcher();
        let words = TermQuery::new(
            Term::from_field_text(f.words, "pipelin"),
            IndexRecordOption::WithFreqs,
        );
        for filter in filters {
            for (offset, limit) in [(0, 10), (0, 1), (25, 25), (2990, 25)] {
                let joined: Box<dyn Query> = match &filter {
                    None => Box::new(words.clone()),
                    Some(filter) => Box::new(BooleanQuery::new(vec![
                        (Occur::Must, Box::new(words.clone()) as Box<dyn Query>),
                        (
                            Occur::Must,
                            Box::new(ConstScoreQuery::new(filter.box_clone(), 0.0)),
                        ),
                    ])),
                };
                let expected: Vec<DocAddress> = searcher
                    .search(&*joined, &TopDocs::with_limit(limit).and_offset(offset))
                    .unwrap()
                    .into_iter()
                    .map(|(_, a)| a)
                    .collect();
                let expected = found(&searcher, f.id, &expected).unwrap().ids;
                let got =
                    ranked(&searcher, f.id, &words, filter.as_deref(), offset, limit).unwrap();
                assert_eq!(
                    got.ids, expected,
                    "{filter:?}, offset {offset}, limit {limit}"
                );
            }
        }
    }

    #[test]
    fn pages_are_those_of_the_joined_query() {
        // Lengths and repeats vary the scores, and many cases score alike; several segments.
        let (index, f) = index_of(
            3000,
            1000,
            |i| {
                let pipeline = "pipeline ".repeat(1 + (i % 3) as usize);
                format!("{pipeline} {}", "filler ".repeat((i % 7) as usize))
            },
            |i| i % 3,
        );
        assert!(index.reader().unwrap().searcher().segment_readers().len() > 1);
        let wide = BooleanQuery::new(vec![
            (Occur::Should, term(f.account, 0)),
            (Occur::Should, term(f.account, 2)),
        ]);
        // Checked per hit; walked (one case in 97).
        same_pages(
            &index,
            &f,
            vec![None, Some(Box::new(wide)), Some(term(f.people, 5))],
        );
        // One case in fifty, each scoring below every other (and unlike each other): the hits
        // it turns away outnumber what checking per hit may take, and its cases are walked
        // instead, the hits found so far forgotten.
        let (index, f) = index_of(
            10_000,
            10_000,
            |i| match i % 50 {
                0 => format!("pipeline {}", "filler ".repeat(20 + (i / 50 % 5) as usize)),
                _ => "pipeline pipeline".to_string(),
            },
            |i| u64::from(i % 50 == 0),
        );
        same_pages(&index, &f, vec![Some(term(f.account, 1))]);
    }

    fn hit(score: Score, segment: u32, doc: DocId) -> Hit {
        Hit {
            score,
            address: DocAddress::new(segment, doc),
        }
    }

    #[test]
    fn ties_go_to_the_earlier_document_and_raise_the_threshold() {
        let mut best = Best::new(2);
        assert_eq!(best.threshold(), Score::MIN);
        best.offer(hit(1.0, 0, 5));
        assert_eq!(best.offer(hit(2.0, 0, 7)), 1.0f32.next_up());
        // Equal to the worst kept: not better, later in the index.
        best.offer(hit(1.0, 0, 9));
        best.offer(hit(3.0, 1, 0));
        assert_eq!(best.threshold(), 2.0f32.next_up());
        let order: Vec<(u32, DocId)> = best
            .into_sorted()
            .iter()
            .map(|a| (a.segment_ord, a.doc_id))
            .collect();
        assert_eq!(order, vec![(1, 0), (0, 7)]);
    }
}
