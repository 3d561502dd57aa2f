//! Knowledge base (SPEC §9): numbered articles with a category, a visibility (public, customers,
//! internal) and a state (draft, published, retired); every saved edit is a version.
//!
//! Who sees what is decided once, by [`Clearance::of`] through the policy module, and every query
//! that reads articles for a reader carries the matching condition: a hidden article is neither
//! returned, nor counted, nor distinguishable from a number that does not exist.
//!
//! The article row holds what readers see. Saving a draft of a published article adds a version
//! and leaves the row alone until it is published, so readers never see half-finished edits.

use super::audit::{self, Event};
use super::db::{bind_args, execute, next_counter, on_db, on_tx, Arg, Db, Tx};
use super::markdown;
use super::search_text::{self, Matcher};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::domain::KB_VISIBILITIES;
use crate::model::{KbArticle, KbCategory, KbEditor, KbHit, KbHome, KbLink, KbSummary, KbVersion};
use crate::policy::{self, Action, Actor};
use serde_json::json;

pub const TITLE_MAX: usize = 160;
pub const BODY_MAX: usize = 100_000;
const CATEGORY_MAX: usize = 80;
/// Search results and category listings per page.
pub const PER_PAGE: i64 = 20;
/// Totals are counted up to this many (one more means "more").
const COUNT_CAP: i64 = 1000;
/// Words in a search result's snippet.
const SNIPPET_WORDS: usize = 32;

/// How far into the knowledge base a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Clearance {
    /// Anonymous visitors: public articles.
    Public,
    /// Signed-in customers: public and customer-only articles.
    Customers,
    /// Vendor staff: every article.
    Internal,
}

impl Clearance {
    /// The reader's clearance, from the policy matrix. Everyone may read public articles.
    pub fn of(actor: Option<&Actor>) -> Result<Clearance, AppError> {
        policy::can_maybe(actor, Action::ReadPublicKb)?;
        Ok(match actor {
            Some(a) if policy::can(a, Action::ReadInternalKb).is_ok() => Clearance::Internal,
            Some(a) if policy::can(a, Action::ReadCustomerKb).is_ok() => Clearance::Customers,
            _ => Clearance::Public,
        })
    }

    /// The SQL condition on article alias `a` (a constant: no input reaches it).
    fn condition(self) -> &'static str {
        match self {
            Clearance::Public => "a.visibility = 'public'",
            Clearance::Customers => "a.visibility IN ('public', 'customers')",
            Clearance::Internal => "a.visibility IN ('public', 'customers', 'internal')",
        }
    }

    /// The same condition as words of the SQLite search index's tags column (see migration 0009).
    fn tags(self) -> String {
        match self {
            Clearance::Public => "\"zzpubpublic\"",
            Clearance::Customers => "\"zzpubpublic\" OR \"zzpubcustomers\"",
            Clearance::Internal => "\"zzpubpublic\" OR \"zzpubcustomers\" OR \"zzpubinternal\"",
        }
        .to_string()
    }

    fn allows(self, visibility: &str) -> bool {
        match visibility {
            "public" => true,
            "customers" => self >= Clearance::Customers,
            "internal" => self >= Clearance::Internal,
            _ => false,
        }
    }
}

pub fn number(value: i64) -> String {
    format!("KB{value:07}")
}

/// `KB` and 7 digits, in upper case; anything else is no article number.
pub fn parse_number(text: &str) -> Option<String> {
    let text = text.trim().to_uppercase();
    (text.len() == 9 && text.starts_with("KB") && text[2..].chars().all(|c| c.is_ascii_digit()))
        .then_some(text)
}

const SUMMARY: &str =
    "a.number, a.title, c.name AS category, a.visibility, a.state, a.published_at, \
     a.updated_at, a.views, a.latest_version > a.version AS pending";

/// Articles chosen by `filter` (on `kb_articles a` alone, walking the index of `order`), then
/// joined to their category: choosing on the article table alone keeps SQLite from sorting every
/// match.
async fn summaries(
    db: &Db,
    filter: &str,
    order: &str,
    args: &[Arg],
    limit: i64,
    offset: i64,
) -> Result<Vec<KbSummary>, AppError> {
    let sql = format!(
        "SELECT {SUMMARY} FROM kb_articles a JOIN kb_categories c ON c.id = a.category_id \
         WHERE a.id IN (SELECT a.id FROM kb_articles a WHERE {filter} ORDER BY {order} \
         LIMIT {limit} OFFSET {offset}) ORDER BY {order}"
    );
    on_db!(db, |c| bind_args!(sqlx::query_as(&sql), args)
        .fetch_all(c)
        .await
        .map_err(AppError::from))
}

async fn count(db: &Db, from_where: &str, args: &[Arg]) -> Result<i64, AppError> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {from_where} LIMIT {}) capped",
        COUNT_CAP + 1
    );
    on_db!(db, |c| bind_args!(sqlx::query_scalar(&sql), args)
        .fetch_one(c)
        .await
        .map_err(AppError::from))
}

pub async fn categories(db: &Db) -> Result<Vec<KbCategory>, AppError> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT id, name, description FROM kb_categories ORDER BY position, name, id"
    )
    .fetch_all(c)
    .await
    .map_err(AppError::from))
}

/// The KB home for a reader: categories, the newest and the most read articles they may see,
/// and with `category` a page of that category's published articles, newest first.
pub async fn home(
    db: &Db,
    clearance: Clearance,
    can_write: bool,
    category: Option<i64>,
    page: i64,
) -> Result<KbHome, AppError> {
    let visible = format!("a.state = 'published' AND {}", clearance.condition());
    // Readers see a category only when it holds an article they may read: a category's name can
    // itself tell something (an internal one's especially). Authors see every category.
    let categories = if can_write {
        categories(db).await?
    } else {
        let sql = format!(
            "SELECT k.id, k.name, k.description FROM kb_categories k WHERE EXISTS \
             (SELECT 1 FROM kb_articles a WHERE a.category_id = k.id AND {visible}) \
             ORDER BY k.position, k.name, k.id"
        );
        on_db!(db, |c| sqlx::query_as(&sql).fetch_all(c).await)?
    };
    let recent = summaries(db, &visible, "a.published_at DESC, a.id DESC", &[], 8, 0).await?;
    let popular = summaries(db, &visible, "a.views DESC, a.id DESC", &[], 8, 0).await?;
    let chosen = category.and_then(|id| categories.iter().find(|c| c.id == id).cloned());
    let listing = match &chosen {
        Some(cat) => {
            let filter = format!("{visible} AND a.category_id = $1");
            let args = [Arg::Int(cat.id)];
            let page = page.clamp(1, crate::api::MAX_PAGE);
            let rows = summaries(
                db,
                &filter,
                "a.published_at DESC, a.id DESC",
                &args,
                PER_PAGE,
                (page - 1) * PER_PAGE,
            )
            .await?;
            let total = count(db, &format!("kb_articles a WHERE {filter}"), &args).await?;
            Some(crate::model::Page {
                rows,
                total,
                page,
                per_page: PER_PAGE,
            })
        }
        None => None,
    };
    Ok(KbHome {
        categories,
        recent,
        popular,
        category: chosen,
        listing,
        can_write,
    })
}

#[derive(sqlx::FromRow)]
struct HitRow {
    number: String,
    title: String,
    plain: String,
    category: String,
    visibility: String,
}

/// How many of the newest matches are ranked when a query matches more: ranking every match of
/// a word found in most articles (bm25, `ts_rank`) costs time proportional to the matches, so
/// relevance is decided among the newest of them, and the total still counts them all (capped).
const RANKED: i64 = 1000;

/// Published articles the reader may see matching `query`, best first, with highlighted
/// snippets. An article number finds that article. `typing` treats the last word as the letters
/// typed so far (suggestions while a subject is typed).
pub async fn search(
    db: &Db,
    clearance: Clearance,
    query: &str,
    category: Option<i64>,
    page: i64,
    per_page: i64,
    typing: bool,
) -> Result<(Vec<KbHit>, i64), AppError> {
    let visible = format!("a.state = 'published' AND {}", clearance.condition());
    let offset = super::db::offset(page, per_page);
    let columns = "a.number, a.title, substr(a.plain, 1, 20000) AS plain, c.name AS category, \
                   a.visibility";
    let (terms, rows, count_sql, count_args): (Vec<String>, Vec<HitRow>, String, Vec<Arg>) =
        if let Some(number) = parse_number(query) {
            let filter = format!("a.number = $1 AND {visible}");
            let sql = format!(
                "SELECT {columns} FROM kb_articles a JOIN kb_categories c ON c.id = a.category_id \
                 WHERE {filter}"
            );
            let rows = on_db!(db, |c| sqlx::query_as(&sql)
                .bind(&number)
                .fetch_all(c)
                .await)?;
            let count = format!("kb_articles a WHERE {filter}");
            (Vec::new(), rows, count, vec![Arg::Text(number)])
        } else {
            let terms = search_text::terms(query);
            if terms.is_empty() {
                return Ok((Vec::new(), 0));
            }
            match db {
                Db::Sqlite(_) => {
                    // Visibility and category are words of the index's tags column, so the index
                    // alone finds, ranks and counts only what the reader may see.
                    let mut tags = clearance.tags();
                    if let Some(cat) = category {
                        tags = format!("({tags}) AND \"zzcat{cat}\"");
                    }
                    let matched = search_text::fts5_query(&terms, typing, Some(&tags));
                    let sql = format!(
                        "WITH lo AS MATERIALIZED (SELECT MIN(id) AS m FROM (SELECT rowid AS id FROM kb_fts \
                         WHERE kb_fts MATCH $1 ORDER BY rowid DESC LIMIT {RANKED})), \
                         m AS MATERIALIZED (SELECT rowid AS id, rank FROM kb_fts WHERE kb_fts MATCH $1 \
                         AND rowid >= (SELECT COALESCE(m, 0) FROM lo) ORDER BY rank LIMIT {per_page} OFFSET {offset}) \
                         SELECT {columns} FROM m JOIN kb_articles a ON a.id = m.id \
                         JOIN kb_categories c ON c.id = a.category_id WHERE {visible} ORDER BY m.rank, a.id"
                    );
                    let rows = on_db!(db, |c| sqlx::query_as(&sql)
                        .bind(&matched)
                        .fetch_all(c)
                        .await)?;
                    let count = "kb_fts WHERE kb_fts MATCH $1".to_string();
                    (terms, rows, count, vec![Arg::Text(matched)])
                }
                Db::Postgres(_) => {
                    // The complete words stemmed like the index; the word being typed, a prefix.
                    let (english, simple) = search_text::tsqueries(&terms, typing);
                    let query = "(to_tsquery('english', $1) && to_tsquery('simple', $2))";
                    let filter = format!(
                        "a.search @@ {query} AND {visible} AND ($3 = 0 OR a.category_id = $3)"
                    );
                    let sql = format!(
                        "WITH cand AS MATERIALIZED (SELECT a.id FROM kb_articles a WHERE {filter} \
                         ORDER BY a.id DESC LIMIT {RANKED}) \
                         SELECT {columns} FROM cand JOIN kb_articles a ON a.id = cand.id \
                         JOIN kb_categories c ON c.id = a.category_id \
                         ORDER BY ts_rank(a.search, {query}) DESC, a.id DESC \
                         LIMIT {per_page} OFFSET {offset}"
                    );
                    let args = vec![
                        Arg::Text(english),
                        Arg::Text(simple),
                        Arg::Int(category.unwrap_or(0)),
                    ];
                    let rows = on_db!(db, |c| bind_args!(sqlx::query_as(&sql), &args)
                        .fetch_all(c)
                        .await)?;
                    let count = format!("kb_articles a WHERE {filter}");
                    (terms, rows, count, args)
                }
            }
        };
    let total = if page <= 1 && (rows.len() as i64) < per_page {
        rows.len() as i64
    } else {
        count(db, &count_sql, &count_args).await?
    };
    let matcher = Matcher::new(&terms, typing);
    let hits = rows
        .into_iter()
        .map(|r| KbHit {
            title: matcher.mark(&r.title),
            snippet: matcher.snippet(&r.plain, SNIPPET_WORDS),
            number: r.number,
            category: r.category,
            visibility: r.visibility,
        })
        .collect();
    Ok((hits, total))
}

/// Up to five published articles whose words start like `query`: the suggestions shown while a
/// case's subject is typed.
pub async fn suggest(db: &Db, clearance: Clearance, query: &str) -> Result<Vec<KbLink>, AppError> {
    if query.trim().chars().count() < 3 {
        return Ok(Vec::new());
    }
    let (hits, _) = search(db, clearance, query, None, 1, 5, true).await?;
    Ok(hits
        .into_iter()
        .map(|h| KbLink {
            number: h.number,
            title: h.title.into_iter().map(|f| f.text).collect(),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ArticleRow {
    id: i64,
    number: String,
    title: String,
    body: String,
    plain: String,
    category_id: i64,
    category: String,
    visibility: String,
    state: String,
    version: i64,
    author: String,
    published_at: Option<i64>,
    updated_at: i64,
    views: i64,
    helpful: i64,
    unhelpful: i64,
}

/// The article `number` if the reader may see it: published and within their clearance, or any
/// state for staff who write the KB. Anything else is `NotFound`, exactly like a missing number.
async fn visible_article(
    db: &Db,
    clearance: Clearance,
    can_write: bool,
    number: &str,
) -> Result<ArticleRow, AppError> {
    let number = parse_number(number).ok_or(AppError::NotFound)?;
    let row: Option<ArticleRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT a.id, a.number, a.title, a.body, a.plain, a.category_id, c.name AS category, \
         a.visibility, a.state, a.version, u.first_name || ' ' || u.last_name AS author, \
         a.published_at, a.updated_at, a.views, a.helpful, a.unhelpful \
         FROM kb_articles a JOIN kb_categories c ON c.id = a.category_id \
         JOIN users u ON u.id = a.author_id WHERE a.number = $1"
    )
    .bind(&number)
    .fetch_optional(c)
    .await)?;
    match row {
        Some(r) if clearance.allows(&r.visibility) && (r.state == "published" || can_write) => {
            Ok(r)
        }
        _ => Err(AppError::NotFound),
    }
}

/// The opening of `plain`, about 160 characters, cut at a word.
fn description(plain: &str) -> String {
    let flat = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 160 {
        return flat;
    }
    let cut: String = flat.chars().take(157).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// Reads an article: counts the view (of a published one, once per reader per day) and answers it
/// rendered, with the reader's vote and the linked articles they may see.
pub async fn read(
    state: &AppState,
    clearance: Clearance,
    can_write: bool,
    number: &str,
    voter: &str,
) -> Result<KbArticle, AppError> {
    let db = &state.db;
    let row = visible_article(db, clearance, can_write, number).await?;
    let mut views = row.views;
    if row.state == "published" && count_view(db, row.id, voter, super::now()).await? {
        views += 1;
    }
    let my_vote: Option<bool> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT helpful FROM kb_votes WHERE article_id = $1 AND voter = $2"
    )
    .bind(row.id)
    .bind(voter)
    .fetch_optional(c)
    .await)?;
    let mentioned: Vec<String> = markdown::article_numbers(&row.body)
        .into_iter()
        .filter(|n| *n != row.number)
        .take(20)
        .collect();
    let related = linked(db, clearance, &mentioned).await?;
    Ok(KbArticle {
        body_html: markdown::render(&row.body),
        description: description(&row.plain),
        canonical_url: super::mail::portal_url(&state.settings, &format!("/kb/{}", row.number)),
        number: row.number,
        title: row.title,
        category_id: row.category_id,
        category: row.category,
        visibility: row.visibility,
        state: row.state,
        version: row.version,
        author: row.author,
        published_at: row.published_at,
        updated_at: row.updated_at,
        views,
        helpful: row.helpful,
        unhelpful: row.unhelpful,
        related,
        can_write,
        my_vote,
    })
}

/// The published articles among `numbers` that the reader may see, in the order given.
async fn linked(
    db: &Db,
    clearance: Clearance,
    numbers: &[String],
) -> Result<Vec<KbLink>, AppError> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=numbers.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT a.number, a.title FROM kb_articles a WHERE a.number IN ({}) \
         AND a.state = 'published' AND {}",
        marks.join(", "),
        clearance.condition()
    );
    let args: Vec<Arg> = numbers.iter().map(|n| Arg::Text(n.clone())).collect();
    let mut found: Vec<KbLink> = on_db!(db, |c| bind_args!(sqlx::query_as(&sql), &args)
        .fetch_all(c)
        .await)?;
    found.sort_by_key(|l| numbers.iter().position(|n| *n == l.number));
    Ok(found)
}

/// Records a reader's "was this helpful?" answer: one per reader and article; answering again
/// replaces the earlier answer. Counters and vote change in one transaction.
/// Counts a view of article `article_id` by `reader` unless they were already counted today;
/// answers whether it counted. Most reads find today's row and write nothing.
async fn count_view(db: &Db, article_id: i64, reader: &str, now: i64) -> Result<bool, AppError> {
    let day = now.div_euclid(86_400);
    let seen: Option<i64> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT day FROM kb_views WHERE article_id = $1 AND reader = $2 AND day = $3"
    )
    .bind(article_id)
    .bind(reader)
    .bind(day)
    .fetch_optional(c)
    .await)?;
    if seen.is_some() {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    let inserted = execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO kb_views (article_id, reader, day) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    )
    .bind(article_id)
    .bind(reader)
    .bind(day))?;
    if inserted == 1 {
        execute!(tx: &mut tx, sqlx::query("UPDATE kb_articles SET views = views + 1 WHERE id = $1")
            .bind(article_id))?;
    }
    tx.commit().await?;
    Ok(inserted == 1)
}

pub async fn vote(
    db: &Db,
    clearance: Clearance,
    number: &str,
    voter: &str,
    helpful: bool,
    now: i64,
) -> Result<(), AppError> {
    let row = visible_article(db, clearance, false, number).await?;
    let mut tx = db.begin().await?;
    let before: Option<bool> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT helpful FROM kb_votes WHERE article_id = $1 AND voter = $2"
    )
    .bind(row.id)
    .bind(voter)
    .fetch_optional(c)
    .await)?;
    if before == Some(helpful) {
        return Ok(());
    }
    let (yes, no) = match (before, helpful) {
        (None, true) => (1, 0),
        (None, false) => (0, 1),
        (Some(_), true) => (1, -1),
        (Some(_), false) => (-1, 1),
    };
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO kb_votes (article_id, voter, helpful, at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (article_id, voter) DO UPDATE SET helpful = excluded.helpful, at = excluded.at"
    )
    .bind(row.id)
    .bind(voter)
    .bind(helpful)
    .bind(now))?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE kb_articles SET helpful = helpful + $1, unhelpful = unhelpful + $2 WHERE id = $3"
    )
    .bind(yes as i64)
    .bind(no as i64)
    .bind(row.id))?;
    tx.commit().await
}

/// What an author sent.
#[derive(Debug, Clone, Default)]
pub struct ArticleForm {
    pub title: String,
    pub body: String,
    pub category_id: String,
    pub visibility: String,
}

/// Save as a draft, or save and publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Draft,
    Publish,
}

struct Content {
    title: String,
    body: String,
    category_id: i64,
    visibility: String,
}

async fn validate(db: &Db, form: &ArticleForm) -> Result<Content, AppError> {
    let mut p = Problems::new();
    let title = form.title.trim().to_string();
    if title.is_empty() {
        p.add("title", "Enter a title");
    } else if title.chars().count() > TITLE_MAX {
        p.add(
            "title",
            format!("Keep the title to {TITLE_MAX} characters or fewer"),
        );
    }
    let body = form.body.trim_end().to_string();
    if body.trim().is_empty() {
        p.add("body", "Write the article");
    } else if body.len() > BODY_MAX {
        p.add(
            "body",
            "The article is too long: keep it under 100,000 characters",
        );
    }
    let category_id = form.category_id.trim().parse::<i64>().ok();
    let known = match category_id {
        Some(id) => categories(db).await?.iter().any(|c| c.id == id),
        None => false,
    };
    if !known {
        p.add("category_id", "Choose a category");
    }
    let visibility = form.visibility.trim().to_string();
    if !KB_VISIBILITIES.iter().any(|(v, _)| *v == visibility) {
        p.add("visibility", "Choose who may read the article");
    }
    p.finish()?;
    Ok(Content {
        title,
        body,
        category_id: category_id.unwrap_or_default(),
        visibility,
    })
}

#[derive(sqlx::FromRow)]
struct Locked {
    id: i64,
    number: String,
    state: String,
    version: i64,
    latest_version: i64,
    visibility: String,
}

async fn lock(tx: &mut Tx, number: &str) -> Result<Locked, AppError> {
    let number = parse_number(number).ok_or(AppError::NotFound)?;
    let sql = match tx {
        Tx::Postgres(_) => {
            "SELECT id, number, state, version, latest_version, visibility \
             FROM kb_articles WHERE number = $1 FOR UPDATE"
        }
        Tx::Sqlite(_) => {
            "SELECT id, number, state, version, latest_version, visibility \
             FROM kb_articles WHERE number = $1"
        }
    };
    let row: Option<Locked> = on_tx!(tx, |c| sqlx::query_as(sql)
        .bind(&number)
        .fetch_optional(c)
        .await)?;
    row.ok_or(AppError::NotFound)
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    title: String,
    body: String,
    category_id: i64,
    visibility: String,
}

async fn version_content(tx: &mut Tx, article: i64, version: i64) -> Result<Content, AppError> {
    let row: Option<VersionRow> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT title, body, category_id, visibility FROM kb_versions \
         WHERE article_id = $1 AND version = $2"
    )
    .bind(article)
    .bind(version)
    .fetch_optional(c)
    .await)?;
    let row = row.ok_or(AppError::NotFound)?;
    Ok(Content {
        title: row.title,
        body: row.body,
        category_id: row.category_id,
        visibility: row.visibility,
    })
}

async fn insert_version(
    tx: &mut Tx,
    article: i64,
    version: i64,
    content: &Content,
    action: &str,
    restored_from: Option<i64>,
    editor: i64,
    now: i64,
) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "INSERT INTO kb_versions (article_id, version, title, body, category_id, visibility, action, \
         restored_from, edited_by, edited_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(article)
    .bind(version)
    .bind(&content.title)
    .bind(&content.body)
    .bind(content.category_id)
    .bind(&content.visibility)
    .bind(action)
    .bind(restored_from)
    .bind(editor)
    .bind(now))?;
    Ok(())
}

/// Puts `content` (version `version`) on the article row, where readers see it.
async fn apply(
    tx: &mut Tx,
    article: i64,
    version: i64,
    content: &Content,
    now: i64,
) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "UPDATE kb_articles SET title = $1, body = $2, plain = $3, category_id = $4, visibility = $5, \
         version = $6, latest_version = $6, updated_at = $7 WHERE id = $8"
    )
    .bind(&content.title)
    .bind(&content.body)
    .bind(markdown::plain_text(&content.body))
    .bind(content.category_id)
    .bind(&content.visibility)
    .bind(version)
    .bind(now)
    .bind(article))?;
    Ok(())
}

fn event<'a>(actor: &Actor, action: &'a str, number: &str, client_addr: &'a str) -> Event<'a> {
    Event {
        action,
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        target: Some(number.to_string()),
        client_addr: Some(client_addr),
        ..Default::default()
    }
}

/// Saves an article (a new one when `number` is `None`) as a new version; with
/// [`Intent::Publish`] it is published at once. A draft of a published article waits for
/// publishing. Answers the article's number.
pub async fn save(
    db: &Db,
    actor: &Actor,
    number: Option<&str>,
    form: &ArticleForm,
    intent: Intent,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    policy::can(actor, Action::WriteKb)?;
    let content = validate(db, form).await?;
    let mut tx = db.begin().await?;
    let (article, number, version, before) = match number {
        None => {
            let number = self::number(next_counter(&mut tx, "kb").await?);
            let id: i64 = on_tx!(&mut tx, |c| {
                sqlx::query_scalar(
                "INSERT INTO kb_articles (number, category_id, visibility, state, title, body, plain, \
                 version, latest_version, author_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'draft', $4, $5, $6, 1, 1, $7, $8, $8) RETURNING id"
            )
            .bind(&number)
            .bind(content.category_id)
            .bind(&content.visibility)
            .bind(&content.title)
            .bind(&content.body)
            .bind(markdown::plain_text(&content.body))
            .bind(actor.user_id)
            .bind(now)
            .fetch_one(c)
            .await
            .map_err(AppError::from)
            })?;
            (id, number, 1, None)
        }
        Some(number) => {
            let row = lock(&mut tx, number).await?;
            let latest = version_content(&mut tx, row.id, row.latest_version).await?;
            let unchanged = latest.title == content.title
                && latest.body == content.body
                && latest.category_id == content.category_id
                && latest.visibility == content.visibility;
            if unchanged
                && (intent == Intent::Draft
                    || row.state == "published" && row.version == row.latest_version)
            {
                // Nothing new to keep or to publish.
                tx.commit().await?;
                return Ok(row.number);
            }
            let version = if unchanged {
                row.latest_version
            } else {
                row.latest_version + 1
            };
            let before = Some(
                json!({ "state": row.state, "version": row.version, "visibility": row.visibility }),
            );
            if !unchanged {
                let action = match intent {
                    Intent::Draft => "draft",
                    Intent::Publish => "publish",
                };
                insert_version(
                    &mut tx,
                    row.id,
                    version,
                    &content,
                    action,
                    None,
                    actor.user_id,
                    now,
                )
                .await?;
            }
            if row.state == "draft" || intent == Intent::Publish {
                apply(&mut tx, row.id, version, &content, now).await?;
            } else {
                execute!(tx: &mut tx, sqlx::query(
                    "UPDATE kb_articles SET latest_version = $1, updated_at = $2 WHERE id = $3"
                )
                .bind(version)
                .bind(now)
                .bind(row.id))?;
            }
            (row.id, row.number, version, before)
        }
    };
    if before.is_none() {
        let action = match intent {
            Intent::Draft => "draft",
            Intent::Publish => "publish",
        };
        insert_version(
            &mut tx,
            article,
            1,
            &content,
            action,
            None,
            actor.user_id,
            now,
        )
        .await?;
    }
    if intent == Intent::Publish {
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE kb_articles SET state = 'published', published_at = COALESCE(published_at, $1) \
             WHERE id = $2"
        )
        .bind(now)
        .bind(article))?;
        let mut e = event(actor, "kb.article_published", &number, client_addr);
        e.before = before;
        e.after = Some(json!({
            "state": "published", "version": version, "visibility": content.visibility,
            "title": content.title,
        }));
        audit::append(&mut tx, &e, now).await?;
    }
    tx.commit().await?;
    Ok(number)
}

/// Takes a published article out of reading; it stays for staff and can be published again.
pub async fn retire(
    db: &Db,
    actor: &Actor,
    number: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    policy::can(actor, Action::WriteKb)?;
    let mut tx = db.begin().await?;
    let row = lock(&mut tx, number).await?;
    if row.state != "published" {
        return Err(AppError::Conflict(
            "Only a published article can be retired.".into(),
        ));
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE kb_articles SET state = 'retired', updated_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(row.id))?;
    let mut e = event(actor, "kb.article_retired", &row.number, client_addr);
    e.before = Some(json!({ "state": "published" }));
    e.after = Some(json!({ "state": "retired" }));
    audit::append(&mut tx, &e, now).await?;
    tx.commit().await
}

/// Makes old version `version` the newest again, as a new version: on a draft at once, on a
/// published or retired article when it is next published.
pub async fn restore(
    db: &Db,
    actor: &Actor,
    number: &str,
    version: i64,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
    policy::can(actor, Action::WriteKb)?;
    let mut tx = db.begin().await?;
    let row = lock(&mut tx, number).await?;
    let content = version_content(&mut tx, row.id, version).await?;
    let new_version = row.latest_version + 1;
    insert_version(
        &mut tx,
        row.id,
        new_version,
        &content,
        "restore",
        Some(version),
        actor.user_id,
        now,
    )
    .await?;
    if row.state == "draft" {
        apply(&mut tx, row.id, new_version, &content, now).await?;
    } else {
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE kb_articles SET latest_version = $1, updated_at = $2 WHERE id = $3"
        )
        .bind(new_version)
        .bind(now)
        .bind(row.id))?;
    }
    let mut e = event(actor, "kb.version_restored", &row.number, client_addr);
    e.before = Some(json!({ "latest_version": row.latest_version }));
    e.after = Some(json!({ "latest_version": new_version, "restored_from": version }));
    audit::append(&mut tx, &e, now).await?;
    tx.commit().await?;
    Ok(new_version)
}

/// What the editor opens with, for staff who write the KB.
pub async fn editor(
    db: &Db,
    number: Option<&str>,
    shown: Option<i64>,
) -> Result<KbEditor, AppError> {
    let categories = categories(db).await?;
    let Some(number) = number else {
        return Ok(KbEditor {
            number: None,
            title: String::new(),
            body: String::new(),
            category_id: None,
            visibility: "customers".into(),
            state: "draft".into(),
            version: 0,
            latest_version: 0,
            categories,
            versions: Vec::new(),
            shown: None,
        });
    };
    let number = parse_number(number).ok_or(AppError::NotFound)?;
    let row: Option<(i64, String, i64, i64)> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, state, version, latest_version FROM kb_articles WHERE number = $1"
    )
    .bind(&number)
    .fetch_optional(c)
    .await)?;
    let (id, state, version, latest_version) = row.ok_or(AppError::NotFound)?;
    let versions: Vec<KbVersion> = on_db!(db, |c| sqlx::query_as(
        "SELECT v.version, v.title, v.action, v.restored_from, \
         u.first_name || ' ' || u.last_name AS edited_by, v.edited_at \
         FROM kb_versions v JOIN users u ON u.id = v.edited_by WHERE v.article_id = $1 \
         ORDER BY v.version DESC LIMIT 200"
    )
    .bind(id)
    .fetch_all(c)
    .await)?;
    let latest: VersionRow = on_db!(db, |c| sqlx::query_as(
        "SELECT title, body, category_id, visibility FROM kb_versions \
         WHERE article_id = $1 AND version = $2"
    )
    .bind(id)
    .bind(latest_version)
    .fetch_one(c)
    .await)?;
    let shown = match shown {
        Some(v) => {
            let body: Option<String> = on_db!(db, |c| sqlx::query_scalar(
                "SELECT body FROM kb_versions WHERE article_id = $1 AND version = $2"
            )
            .bind(id)
            .bind(v)
            .fetch_optional(c)
            .await)?;
            match (body, versions.iter().find(|x| x.version == v)) {
                (Some(body), Some(meta)) => Some((meta.clone(), markdown::render(&body))),
                _ => return Err(AppError::NotFound),
            }
        }
        None => None,
    };
    Ok(KbEditor {
        number: Some(number),
        title: latest.title,
        body: latest.body,
        category_id: Some(latest.category_id),
        visibility: latest.visibility,
        state,
        version,
        latest_version,
        categories,
        versions,
        shown,
    })
}

/// Every article, any state, for staff: filtered by state, visibility and words, most recently
/// changed first.
pub async fn list_all(
    db: &Db,
    state_filter: &str,
    visibility: &str,
    query: &str,
    page: i64,
    per_page: i64,
) -> Result<(Vec<KbSummary>, i64), AppError> {
    let mut args: Vec<Arg> = Vec::new();
    let mut conditions: Vec<String> = vec!["TRUE".into()];
    if ["draft", "published", "retired"].contains(&state_filter) {
        args.push(Arg::Text(state_filter.into()));
        conditions.push(format!("a.state = ${}", args.len()));
    }
    if KB_VISIBILITIES.iter().any(|(v, _)| *v == visibility) {
        args.push(Arg::Text(visibility.into()));
        conditions.push(format!("a.visibility = ${}", args.len()));
    }
    if let Some(number) = parse_number(query) {
        args.push(Arg::Text(number));
        conditions.push(format!("a.number = ${}", args.len()));
    } else {
        let terms = search_text::terms(query);
        if !terms.is_empty() {
            let (text, condition) = match db {
                Db::Sqlite(_) => (
                    search_text::fts5_query(&terms, false, None),
                    "a.id IN (SELECT rowid FROM kb_fts WHERE kb_fts MATCH $N)",
                ),
                Db::Postgres(_) => (
                    search_text::tsqueries(&terms, false).0,
                    "a.search @@ to_tsquery('english', $N)",
                ),
            };
            args.push(Arg::Text(text));
            conditions.push(condition.replace("$N", &format!("${}", args.len())));
        }
    }
    let filter = conditions.join(" AND ");
    let page = page.clamp(1, crate::api::MAX_PAGE);
    let rows = summaries(
        db,
        &filter,
        "a.updated_at DESC, a.id DESC",
        &args,
        per_page,
        (page - 1) * per_page,
    )
    .await?;
    let total = count(db, &format!("kb_articles a WHERE {filter}"), &args).await?;
    Ok((rows, total))
}

/// Adds a category.
pub async fn add_category(
    db: &Db,
    actor: &Actor,
    name: &str,
    description: &str,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
    policy::can(actor, Action::WriteKb)?;
    let name = name.trim();
    let description = description.trim();
    let mut p = Problems::new();
    if name.is_empty() {
        p.add("name", "Enter the category's name");
    } else if name.chars().count() > CATEGORY_MAX {
        p.add(
            "name",
            format!("Keep the name to {CATEGORY_MAX} characters or fewer"),
        );
    }
    if description.chars().count() > 300 {
        p.add(
            "description",
            "Keep the description to 300 characters or fewer",
        );
    }
    p.finish()?;
    let mut tx = db.begin().await?;
    let taken: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT id FROM kb_categories WHERE lower(name) = lower($1)"
    )
    .bind(name)
    .fetch_optional(c)
    .await)?;
    if taken.is_some() {
        return Err(AppError::field(
            "name",
            "There is already a category of that name",
        ));
    }
    let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "INSERT INTO kb_categories (name, description, position) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM kb_categories)) RETURNING id"
    )
    .bind(name)
    .bind(description)
    .fetch_one(c)
    .await)?;
    let mut e = event(actor, "kb.category_added", name, client_addr);
    e.after = Some(json!({ "name": name, "description": description }));
    audit::append(&mut tx, &e, now).await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_kb_and_seven_digits() {
        assert_eq!(number(10_001), "KB0010001");
        assert_eq!(parse_number(" kb0010240 "), Some("KB0010240".into()));
        assert_eq!(parse_number("KB001024"), None);
        assert_eq!(parse_number("KB00102401"), None);
        assert_eq!(parse_number("CS0010240"), None);
    }

    #[test]
    fn clearance_follows_the_policy_matrix() {
        use crate::model::Role;
        let actor = |role| Actor {
            user_id: 1,
            role,
            account_id: None,
            impersonator_id: None,
        };
        assert_eq!(Clearance::of(None), Ok(Clearance::Public));
        assert_eq!(
            Clearance::of(Some(&actor(Role::CustomerUser))),
            Ok(Clearance::Customers)
        );
        assert_eq!(
            Clearance::of(Some(&actor(Role::CustomerAdmin))),
            Ok(Clearance::Customers)
        );
        assert_eq!(
            Clearance::of(Some(&actor(Role::Agent))),
            Ok(Clearance::Internal)
        );
        assert!(Clearance::Public.allows("public"));
        assert!(!Clearance::Public.allows("customers"));
        assert!(Clearance::Customers.allows("customers"));
        assert!(!Clearance::Customers.allows("internal"));
        assert!(!Clearance::Internal.allows("secret"));
    }

    #[test]
    fn descriptions_are_cut_at_a_word() {
        assert_eq!(description("Short\ntext"), "Short text");
        let long = "word ".repeat(60);
        let d = description(&long);
        assert!(d.ends_with("word…") && d.chars().count() <= 160, "{d}");
    }
}
