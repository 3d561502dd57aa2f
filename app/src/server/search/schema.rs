//! What the search index holds of a case and of an article, and reading them from the database.
//!
//! The database is the source of truth: a document is built from the item's current row whenever
//! the change feed names it, and the index keeps only what searching and filtering need (nothing is
//! stored to be shown; pages read the rows).

use crate::error::AppError;
use crate::server::db::{on_db, Db};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STRING,
};
use tantivy::TantivyDocument;

/// Bumped whenever the fields or their analysis change: an index of another version is rebuilt.
pub const SCHEMA_VERSION: i64 = 4;

/// The tokenizer of the text fields: words of letters and digits, lower case, English stems.
/// Queries are stemmed the same way ([`stem`]).
const TOKENIZER: &str = "en_stem";

/// A text field: stemmed words with their frequencies (BM25), no positions (no phrase queries).
fn text() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    )
}

/// An article's fields: only published articles are in the index.
#[derive(Clone, Copy)]
pub struct ArticleFields {
    pub id: Field,
    /// The title twice (so its words rank above the body's), the body and the number, in one
    /// field: a word is one posting list, which tantivy ranks skipping what cannot make the page
    /// (a title field and a body field would make every word a union of two, far slower).
    pub words: Field,
    /// How each word of the title begins (`sta`, `stal`, `stall` of "stall"), lower case and
    /// unstemmed: a word being typed is one term here, not a walk through every word it begins.
    pub beginnings: Field,
    pub visibility: Field,
    pub category: Field,
}

/// Beginnings longer than this are cut to it, in the index and in a query alike.
pub const LONGEST_BEGINNING: usize = 24;

/// The beginnings of the words of `title` (each once).
pub fn beginnings(title: &str) -> std::collections::BTreeSet<String> {
    let mut all = std::collections::BTreeSet::new();
    for word in title.split(|c: char| !c.is_alphanumeric()) {
        let word: Vec<char> = word.to_lowercase().chars().collect();
        for end in 1..=word.len().min(LONGEST_BEGINNING) {
            all.insert(word[..end].iter().collect());
        }
    }
    all
}

/// A case's fields: its words, and what the staff queues filter and sort on.
#[derive(Clone, Copy)]
pub struct CaseFields {
    pub id: Field,
    /// The subject twice (so its words rank above the description's), the description and the
    /// number, in one field: a word is one posting list, which tantivy ranks skipping what cannot
    /// make the page (two fields' union is far slower over a million cases).
    pub words: Field,
    pub account: Field,
    /// The contact and the opener (a person's own cases).
    pub people: Field,
    pub state: Field,
    pub priority: Field,
    /// 0 when nobody is assigned.
    pub assignee: Field,
    pub group: Field,
    pub created: Field,
    /// `i64::MAX` when no resolution clock runs.
    pub due: Field,
}

pub fn article_schema() -> (Schema, ArticleFields) {
    let mut b = Schema::builder();
    let fields = ArticleFields {
        id: b.add_u64_field("id", INDEXED | FAST),
        words: b.add_text_field("words", text()),
        beginnings: b.add_text_field("beginnings", STRING),
        visibility: b.add_text_field("visibility", STRING),
        category: b.add_u64_field("category", INDEXED),
    };
    (b.build(), fields)
}

pub fn case_schema() -> (Schema, CaseFields) {
    let mut b = Schema::builder();
    let fields = CaseFields {
        id: b.add_u64_field("id", INDEXED | FAST),
        words: b.add_text_field("words", text()),
        account: b.add_u64_field("account", INDEXED),
        people: b.add_u64_field("people", INDEXED),
        state: b.add_text_field("state", STRING),
        priority: b.add_u64_field("priority", INDEXED | FAST),
        assignee: b.add_u64_field("assignee", INDEXED),
        group: b.add_u64_field("group", INDEXED),
        created: b.add_i64_field("created", FAST),
        due: b.add_i64_field("due", FAST),
    };
    (b.build(), fields)
}

/// A word of a query as the index holds it: lower case, English stem.
pub fn stem(word: &str) -> String {
    use rust_stemmers::{Algorithm, Stemmer};
    thread_local! {
        static STEMMER: Stemmer = Stemmer::create(Algorithm::English);
    }
    let lower = word.to_lowercase();
    STEMMER.with(|s| s.stem(&lower).into_owned())
}

#[derive(sqlx::FromRow)]
pub struct ArticleRow {
    pub id: i64,
    number: String,
    category_id: i64,
    visibility: String,
    state: String,
    title: String,
    plain: String,
}

impl ArticleRow {
    /// The article's document, or `None` when readers cannot find it (not published).
    pub fn document(&self, f: &ArticleFields) -> Option<TantivyDocument> {
        if self.state != "published" {
            return None;
        }
        let mut doc = TantivyDocument::new();
        doc.add_u64(f.id, self.id as u64);
        doc.add_text(f.words, &self.title);
        doc.add_text(f.words, &self.title);
        doc.add_text(f.words, &self.plain);
        doc.add_text(f.words, &self.number);
        for beginning in beginnings(&self.title) {
            doc.add_text(f.beginnings, beginning);
        }
        doc.add_text(f.visibility, &self.visibility);
        doc.add_u64(f.category, self.category_id as u64);
        Some(doc)
    }
}

#[derive(sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    number: String,
    account_id: i64,
    contact_id: i64,
    created_by: i64,
    subject: String,
    description: String,
    state: String,
    priority: i32,
    assignment_group_id: i64,
    assigned_to: Option<i64>,
    created_at: i64,
    due_at: Option<i64>,
}

impl CaseRow {
    pub fn document(&self, f: &CaseFields) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_u64(f.id, self.id as u64);
        doc.add_text(f.words, &self.subject);
        doc.add_text(f.words, &self.subject);
        doc.add_text(f.words, &self.description);
        doc.add_text(f.words, &self.number);
        doc.add_u64(f.account, self.account_id as u64);
        doc.add_u64(f.people, self.contact_id as u64);
        doc.add_u64(f.people, self.created_by as u64);
        doc.add_text(f.state, &self.state);
        doc.add_u64(f.priority, self.priority as u64);
        doc.add_u64(f.assignee, self.assigned_to.unwrap_or(0) as u64);
        doc.add_u64(f.group, self.assignment_group_id as u64);
        doc.add_i64(f.created, self.created_at);
        doc.add_i64(f.due, self.due_at.unwrap_or(i64::MAX));
        doc
    }
}

const ARTICLE_COLUMNS: &str = "id, number, category_id, visibility, state, title, plain";
const CASE_COLUMNS: &str =
    "id, number, account_id, contact_id, created_by, subject, description, state, priority, \
                            assignment_group_id, assigned_to, created_at, due_at";

/// The rows of articles `ids` that still exist.
pub async fn articles(db: &Db, ids: &[i64]) -> Result<Vec<ArticleRow>, AppError> {
    rows_by_id(db, "kb_articles", ARTICLE_COLUMNS, ids).await
}

/// The rows of cases `ids` that still exist.
pub async fn cases(db: &Db, ids: &[i64]) -> Result<Vec<CaseRow>, AppError> {
    rows_by_id(db, "cases", CASE_COLUMNS, ids).await
}

/// Up to `limit` articles after id `after`, in id order (a rebuild reads them all this way).
pub async fn articles_after(db: &Db, after: i64, limit: i64) -> Result<Vec<ArticleRow>, AppError> {
    rows_after(db, "kb_articles", ARTICLE_COLUMNS, after, limit).await
}

/// Up to `limit` cases after id `after`, in id order.
pub async fn cases_after(db: &Db, after: i64, limit: i64) -> Result<Vec<CaseRow>, AppError> {
    rows_after(db, "cases", CASE_COLUMNS, after, limit).await
}

async fn rows_by_id<R>(db: &Db, table: &str, columns: &str, ids: &[i64]) -> Result<Vec<R>, AppError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        // Ids are numbers the feed produced, never input: listing them inline is safe.
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {columns} FROM {table} WHERE id IN ({list})");
        let rows: Vec<R> = on_db!(db, |c| sqlx::query_as(&sql).fetch_all(c).await)?;
        out.extend(rows);
    }
    Ok(out)
}

async fn rows_after<R>(
    db: &Db,
    table: &str,
    columns: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<R>, AppError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let sql = format!("SELECT {columns} FROM {table} WHERE id > $1 ORDER BY id LIMIT $2");
    Ok(on_db!(db, |c| sqlx::query_as(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_gives_how_each_word_begins() {
        let all = beginnings("Stall: Ünïcode pipeline-stall");
        for b in ["s", "st", "stall", "ü", "ünïcode", "pipeline", "pip"] {
            assert!(all.contains(b), "{b} in {all:?}");
        }
        assert!(!all.contains("stall:") && !all.contains("pipeline-"));
        assert_eq!(all.iter().filter(|b| b.starts_with('s')).count(), 5);
        let long = "x".repeat(40);
        assert_eq!(
            beginnings(&long).iter().map(String::len).max(),
            Some(LONGEST_BEGINNING)
        );
    }
}
