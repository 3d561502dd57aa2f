//! Questions asked of the index: the words of a search (BM25, the word being typed as a prefix, a
//! misspelt longer word found by its near neighbours) and the filters that decide who may see a hit
//! (an article's audience and category, a case's account and queue), asked of the index together
//! (`rank.rs` checks the filters on each hit before it is kept), so a hit nobody may see is never
//! collected, placed on a page or counted.

use super::rank::{self, by_value, column_i64, column_u64, count_up_to};
use super::schema::{stem, ArticleFields, CaseFields, LONGEST_BEGINNING};
use std::cmp::Reverse;
use std::ops::Bound;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

/// A title word counts about this much more than a word of the body (the title is indexed twice);
/// a word being typed that begins a title word scores as a loose match of one.
const TITLE_BOOST: f32 = 2.0;
/// A prefix or near-neighbour match counts for this much of an exact one (and is not ranked by
/// frequency).
const LOOSE_BOOST: f32 = 0.5;

/// The hits of one page, best first, and how many there are in all.
#[derive(Debug, Default)]
pub struct Found {
    pub ids: Vec<i64>,
    pub total: usize,
}

/// How many letters a word needs before a misspelling of it is looked for, and how many edits
/// are allowed: one from five letters, two from eight.
fn edits_allowed(word: &str) -> Option<u8> {
    match word.chars().count() {
        0..=4 => None,
        5..=7 => Some(1),
        _ => Some(2),
    }
}

/// Where the words of a search are looked for: the field of the item's words, and the field of
/// the title words' beginnings, where a word being typed is looked up (articles; cases are
/// searched by whole words).
#[derive(Clone, Copy)]
struct Words {
    field: Field,
    beginnings: Option<Field>,
}

/// The words of a search: every word must occur (as its English stem); with `typing`, the last
/// word is the letters typed so far. A word the index does not know at all, of five letters or
/// more, is looked for among its near neighbours instead (typo tolerance only where it is needed,
/// so common words keep their exact, fast ranking).
fn words_query(
    searcher: &Searcher,
    words: Words,
    terms: &[String],
    typing: bool,
) -> tantivy::Result<Box<dyn Query>> {
    let last = terms.len().saturating_sub(1);
    let mut musts: Vec<Box<dyn Query>> = Vec::new();
    for (i, word) in terms.iter().enumerate() {
        let lower = word.to_lowercase();
        let stemmed = stem(&lower);
        let being_typed = typing && i == last;
        let term = Term::from_field_text(words.field, &stemmed);
        let known = searcher.doc_freq(&term)? > 0;
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Should,
            Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
        )];
        if let (true, Some(beginnings)) = (being_typed, words.beginnings) {
            // The word being typed begins a word of the title (suggestions name articles by
            // their titles; a beginning found in every body would match most of them).
            let typed: String = lower.chars().take(LONGEST_BEGINNING).collect();
            let term = Term::from_field_text(beginnings, &typed);
            alternatives.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    TITLE_BOOST * LOOSE_BOOST,
                )),
            ));
        }
        if let (false, false, Some(edits)) = (being_typed, known, edits_allowed(&lower)) {
            alternatives.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(FuzzyTermQuery::new(term, edits, true)),
                    LOOSE_BOOST,
                )),
            ));
        }
        musts.push(match alternatives.len() {
            // A word alone is its own term query, which tantivy ranks without scoring every
            // match (a boost around it would hide that).
            1 => alternatives.pop().expect("one alternative").1,
            _ => Box::new(BooleanQuery::new(alternatives)),
        });
    }
    // One word alone stays its own query (a term, or a disjunction of terms), which tantivy ranks
    // without scoring every match.
    Ok(if musts.len() == 1 {
        musts.pop().expect("one query")
    } else {
        Box::new(BooleanQuery::new(
            musts.into_iter().map(|q| (Occur::Must, q)).collect(),
        ))
    })
}

/// A search: the words, which rank, and the conditions, which only narrow.
struct Search {
    words: Box<dyn Query>,
    filters: Vec<(Occur, Box<dyn Query>)>,
}

impl Search {
    /// The words and every condition, in one query (counting, orders on stored values).
    fn joined(&self) -> Box<dyn Query> {
        if self.filters.is_empty() {
            return self.words.box_clone();
        }
        let mut clauses = vec![(Occur::Must, self.words.box_clone())];
        clauses.extend(self.filters.iter().map(|(o, q)| (*o, q.box_clone())));
        Box::new(BooleanQuery::new(clauses))
    }

    /// The conditions alone, if any.
    fn filter(&self) -> Option<Box<dyn Query>> {
        match self.filters.as_slice() {
            [] => None,
            [(_, one)] => Some(one.box_clone()),
            all => Some(Box::new(BooleanQuery::new(
                all.iter().map(|(o, q)| (*o, q.box_clone())).collect(),
            ))),
        }
    }

    /// Best match first.
    fn ranked(
        &self,
        searcher: &Searcher,
        id: Field,
        offset: usize,
        limit: usize,
    ) -> tantivy::Result<Found> {
        let filter = self.filter();
        rank::ranked(searcher, id, &*self.words, filter.as_deref(), offset, limit)
    }
}

/// A condition that narrows without changing the ranking.
fn filter(query: impl Query) -> (Occur, Box<dyn Query>) {
    (
        Occur::Must,
        Box::new(ConstScoreQuery::new(Box::new(query), 0.0)),
    )
}

fn one_of_texts(field: Field, values: &[&str]) -> (Occur, Box<dyn Query>) {
    one_of(values.iter().map(|v| Term::from_field_text(field, v)))
}

fn one_of_numbers(field: Field, values: &[i64]) -> (Occur, Box<dyn Query>) {
    one_of(
        values
            .iter()
            .map(|v| Term::from_field_u64(field, *v as u64)),
    )
}

/// A document holding any of `terms`. Each term is read as its own posting list, which the
/// words' matches seek into; tantivy's `TermSetQuery` would instead decode every posting of
/// every term into a bitset on each search (every open case, for a queue's states).
fn one_of(terms: impl Iterator<Item = Term>) -> (Occur, Box<dyn Query>) {
    let mut each: Vec<(Occur, Box<dyn Query>)> = terms
        .map(|term| {
            let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
            (Occur::Should, query)
        })
        .collect();
    match each.len() {
        1 => filter(each.pop().expect("one term").1),
        _ => filter(BooleanQuery::new(each)),
    }
}

/// What a reader asks of the knowledge base.
pub struct ArticleQuery<'a> {
    pub terms: &'a [String],
    pub typing: bool,
    /// The audiences the reader may see (`public`, `customers`, `internal`).
    pub visibilities: &'a [&'a str],
    pub category: Option<i64>,
    pub offset: usize,
    pub limit: usize,
    /// Counting stops past this many ("more than").
    pub count_cap: usize,
}

pub fn articles(
    searcher: &Searcher,
    f: &ArticleFields,
    q: &ArticleQuery<'_>,
) -> tantivy::Result<Found> {
    if q.terms.is_empty() || q.visibilities.is_empty() || q.limit == 0 {
        return Ok(Found::default());
    }
    let words = Words {
        field: f.words,
        beginnings: Some(f.beginnings),
    };
    let mut search = Search {
        words: words_query(searcher, words, q.terms, q.typing)?,
        filters: vec![one_of_texts(f.visibility, q.visibilities)],
    };
    if let Some(category) = q.category {
        search.filters.push(one_of_numbers(f.category, &[category]));
    }
    let mut found = search.ranked(searcher, f.id, q.offset, q.limit)?;
    found.total = match (q.count_cap, found.ids.is_empty()) {
        // Counting up to nothing (suggestions): whether anything matched, known from the page.
        (0, false) => 1,
        (0, true) if q.offset == 0 => 0,
        (cap, _) => count_up_to(searcher, &*search.joined(), cap + 1)?,
    };
    Ok(found)
}

/// The order of a case search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOrder {
    /// Best match first (BM25); equal scores in the index's own order (tantivy breaks ties by
    /// document address, not by date).
    Relevance,
    Newest,
    Oldest,
    /// P1 first, newest first within a priority.
    Priority,
    /// Soonest resolution deadline first.
    Due,
}

/// A search of cases: words, and the queue and filters it is narrowed by (each `None` when not in
/// use).
#[derive(Default)]
pub struct CaseQuery<'a> {
    pub terms: &'a [String],
    /// Only this account's cases (a customer's search, or a staff filter).
    pub account: Option<i64>,
    /// Only cases this person is the contact or the opener of.
    pub person: Option<i64>,
    /// Each set narrows further: the case's state is one of every set.
    pub states: Vec<&'a [&'a str]>,
    pub priority: Option<i64>,
    /// The assignee; 0 for nobody.
    pub assignee: Option<i64>,
    /// Any of these assignment groups.
    pub groups: Option<Vec<i64>>,
    /// A resolution deadline before this time.
    pub due_before: Option<i64>,
    pub order: Option<CaseOrder>,
    pub offset: usize,
    pub limit: usize,
    /// Counting stops past this many ("more than"); `None` counts every match.
    pub count_cap: Option<usize>,
}

pub fn cases(searcher: &Searcher, f: &CaseFields, q: &CaseQuery<'_>) -> tantivy::Result<Found> {
    if q.terms.is_empty() || q.limit == 0 {
        return Ok(Found::default());
    }
    let words = Words {
        field: f.words,
        beginnings: None,
    };
    let mut clauses = Vec::new();
    if let Some(account) = q.account {
        clauses.push(one_of_numbers(f.account, &[account]));
    }
    if let Some(person) = q.person {
        clauses.push(one_of_numbers(f.people, &[person]));
    }
    for states in &q.states {
        clauses.push(one_of_texts(f.state, states));
    }
    if let Some(priority) = q.priority {
        clauses.push(one_of_numbers(f.priority, &[priority]));
    }
    if let Some(assignee) = q.assignee {
        clauses.push(one_of_numbers(f.assignee, &[assignee]));
    }
    if let Some(groups) = &q.groups {
        clauses.push(one_of_numbers(f.group, groups));
    }
    if let Some(before) = q.due_before {
        clauses.push(filter(RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_i64(f.due, before)),
        )));
    }
    let search = Search {
        words: words_query(searcher, words, q.terms, false)?,
        filters: clauses,
    };
    let order = q.order.unwrap_or(CaseOrder::Relevance);
    let query = &*search.joined();
    let mut found = in_order(searcher, &search, order, query, f.id, (q.offset, q.limit))?;
    if let (true, Some(cap), [word]) = (search.filters.is_empty(), q.count_cap, q.terms) {
        // A word found in more cases than the cap is "more than" without counting them all.
        if matches_at_least(searcher, f.words, word)? > cap as u64 {
            found.total = cap + 1;
            return Ok(found);
        }
    }
    found.total = match q.count_cap {
        Some(cap) => count_up_to(searcher, query, cap + 1)?,
        None => query.count(searcher)?,
    };
    Ok(found)
}

/// How many live documents surely hold `word` (in `field`): per segment, those holding it less
/// the segment's deleted documents.
fn matches_at_least(searcher: &Searcher, field: Field, word: &str) -> tantivy::Result<u64> {
    let term = Term::from_field_text(field, &stem(word));
    let mut sure = 0u64;
    for segment in searcher.segment_readers() {
        let holding = segment.inverted_index(field)?.doc_freq(&term)?;
        sure += u64::from(holding.saturating_sub(segment.num_deleted_docs()));
    }
    Ok(sure)
}

/// The page of `search` (`query`: its words and filters joined) from `offset`, at most `limit`, in
/// `order`. Orders on stored values: the value, then the id, so equal values keep one order.
fn in_order(
    searcher: &Searcher,
    search: &Search,
    order: CaseOrder,
    query: &dyn Query,
    id: Field,
    (offset, limit): (usize, usize),
) -> tantivy::Result<Found> {
    match order {
        CaseOrder::Relevance => search.ranked(searcher, id, offset, limit),
        CaseOrder::Newest => by_value(searcher, id, query, offset, limit, |s| {
            let (created, ids) = (column_i64(s, "created"), column_u64(s, "id"));
            move |doc| (created.get_val(doc), ids.get_val(doc))
        }),
        CaseOrder::Oldest => by_value(searcher, id, query, offset, limit, |s| {
            let (created, ids) = (column_i64(s, "created"), column_u64(s, "id"));
            move |doc| (Reverse(created.get_val(doc)), Reverse(ids.get_val(doc)))
        }),
        CaseOrder::Priority => by_value(searcher, id, query, offset, limit, |s| {
            let (priority, created) = (column_u64(s, "priority"), column_i64(s, "created"));
            let ids = column_u64(s, "id");
            move |doc| {
                (
                    Reverse(priority.get_val(doc)),
                    created.get_val(doc),
                    ids.get_val(doc),
                )
            }
        }),
        CaseOrder::Due => by_value(searcher, id, query, offset, limit, |s| {
            let (due, ids) = (column_i64(s, "due"), column_u64(s, "id"));
            move |doc| (Reverse(due.get_val(doc)), Reverse(ids.get_val(doc)))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::case_schema;
    use super::*;
    use tantivy::{doc, Index, IndexWriter};

    /// An index in memory of cases 1 to `n`, each the document `case` makes of its number.
    fn index_with(
        n: u64,
        case: impl Fn(&CaseFields, u64) -> tantivy::TantivyDocument,
    ) -> (Index, CaseFields) {
        let (schema, f) = case_schema();
        let index = Index::create_in_ram(schema);
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 1..=n {
            writer.add_document(case(&f, i)).unwrap();
        }
        writer.commit().unwrap();
        (index, f)
    }

    /// `n` cases "Pipeline stall N", the even ones in account 2.
    fn index_of(n: u64) -> (Index, CaseFields) {
        index_with(n, |f, i| {
            doc!(
                f.id => i,
                f.words => format!("Pipeline stall {i}"),
                f.account => 1 + (i % 2 == 0) as u64,
                f.created => i as i64,
                f.priority => 1 + i % 4,
                f.due => i64::MAX,
            )
        })
    }

    #[test]
    fn counting_stops_past_the_cap_and_orders_hold() {
        let (index, f) = index_of(40);
        let searcher = index.reader().unwrap().searcher();
        let words = ["pipelines".to_string()];
        let mut q = CaseQuery {
            terms: &words,
            limit: 5,
            count_cap: Some(10),
            order: Some(CaseOrder::Newest),
            ..CaseQuery::default()
        };
        let found = cases(&searcher, &f, &q).unwrap();
        assert_eq!(found.ids, vec![40, 39, 38, 37, 36]);
        assert_eq!(found.total, 11, "more than the cap");
        q.count_cap = None;
        assert_eq!(cases(&searcher, &f, &q).unwrap().total, 40);
        // With a filter the count is exact up to the cap.
        q.account = Some(2);
        q.count_cap = Some(100);
        q.order = Some(CaseOrder::Oldest);
        let found = cases(&searcher, &f, &q).unwrap();
        assert_eq!((found.ids[0], found.total), (2, 20));
        // Past the cap, a filtered search stops counting too, and still ranks every match.
        q.count_cap = Some(5);
        let found = cases(&searcher, &f, &q).unwrap();
        assert_eq!((found.ids[0], found.total), (2, 6));
        q.count_cap = Some(100);
        q.order = Some(CaseOrder::Priority);
        let found = cases(&searcher, &f, &q).unwrap();
        assert!(found.ids.iter().all(|id| 1 + id % 4 == 1), "{found:?}");
        q.offset = 5;
        q.order = Some(CaseOrder::Newest);
        assert_eq!(
            cases(&searcher, &f, &q).unwrap().ids,
            vec![30, 28, 26, 24, 22]
        );
    }

    #[test]
    fn filters_take_one_value_several_or_none() {
        let states = ["new", "in_progress", "closed"];
        let (index, f) = index_with(30, |f, i| {
            doc!(
                f.id => i,
                f.words => format!("Pipeline stall {i}"),
                f.state => states[(i % 3) as usize],
                f.group => i % 5,
                f.assignee => i % 2,
                f.created => i as i64,
                f.due => i64::MAX,
            )
        });
        let searcher = index.reader().unwrap().searcher();
        let words = ["pipeline".to_string()];
        let open: &[&str] = &["new", "in_progress"];
        let closed: &[&str] = &["closed"];
        let mut q = CaseQuery {
            terms: &words,
            limit: 50,
            order: Some(CaseOrder::Newest),
            states: vec![open],
            ..CaseQuery::default()
        };
        let found = cases(&searcher, &f, &q).unwrap();
        assert_eq!(found.total, 20);
        assert!(found.ids.iter().all(|id| id % 3 != 2), "{found:?}");
        // Each set narrows further; a single value and a list of values alike.
        q.states.push(closed);
        assert_eq!(cases(&searcher, &f, &q).unwrap().total, 0);
        q.states = vec![closed];
        q.assignee = Some(0);
        q.groups = Some(vec![1, 3]);
        let found = cases(&searcher, &f, &q).unwrap();
        // Closed (i % 3 == 2), unassigned (even), in group 1 or 3: 8 and 26.
        assert_eq!(found.ids, vec![26, 8]);
        // Nobody's groups: nothing, not everything.
        q.groups = Some(vec![]);
        assert_eq!(cases(&searcher, &f, &q).unwrap().total, 0);
    }

    #[test]
    fn misspellings_need_five_letters_and_an_unknown_word() {
        assert_eq!(edits_allowed("stal"), None);
        assert_eq!(edits_allowed("stall"), Some(1));
        assert_eq!(edits_allowed("pipeline"), Some(2));
        let (index, f) = index_of(3);
        let searcher = index.reader().unwrap().searcher();
        for (word, hits) in [("pipelnie", 3), ("stal", 0), ("stalls", 3), ("zzzzzz", 0)] {
            let words = [word.to_string()];
            let q = CaseQuery {
                terms: &words,
                limit: 10,
                ..CaseQuery::default()
            };
            assert_eq!(cases(&searcher, &f, &q).unwrap().total, hits, "{word}");
        }
    }
}
