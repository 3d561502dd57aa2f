//! Reading the knowledge base: the home page, search and suggestions, an article with its views
//! and votes, all within the reader's clearance.

use super::*;

/// The KB home for a reader: categories, the newest and the most read articles they may see,
/// and with `category` a page of that category's published articles, newest first.
#[tracing::instrument(skip_all)]
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
            let page = page.clamp(1, crate::model::MAX_PAGE);
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
    id: i64,
    number: String,
    title: String,
    plain: String,
    category: String,
    visibility: String,
}

/// Published articles the reader may see matching `query`, best first (BM25 over every match,
/// from the search index), with highlighted snippets. An article number finds that article.
/// `typing` treats the last word as the letters typed so far (suggestions while a subject is
/// typed).
#[tracing::instrument(skip_all)]
#[allow(clippy::too_many_arguments)]
pub async fn search(
    db: &Db,
    index: &SearchIndex,
    clearance: Clearance,
    query: &str,
    category: Option<i64>,
    page: i64,
    per_page: i64,
    typing: bool,
) -> Result<(Vec<KbHit>, i64), AppError> {
    let visible = format!("a.state = 'published' AND {}", clearance.condition());
    // Suggestions show titles alone: the texts snippets are cut from are not read for them.
    let plain = if typing {
        "'' AS plain"
    } else {
        "substr(a.plain, 1, 20000) AS plain"
    };
    let columns = format!("a.id, a.number, a.title, {plain}, c.name AS category, a.visibility");
    let from = "kb_articles a JOIN kb_categories c ON c.id = a.category_id";
    let (terms, rows, total) = if let Some(number) = parse_number(query) {
        let sql = format!("SELECT {columns} FROM {from} WHERE a.number = $1 AND {visible}");
        let rows: Vec<HitRow> = on_db!(db, |c| sqlx::query_as(&sql)
            .bind(&number)
            .fetch_all(c)
            .await)?;
        let total = rows.len() as i64;
        (Vec::new(), rows, total)
    } else {
        let terms = search_text::terms(query);
        if terms.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let found = index
            .articles(
                db,
                &ArticleQuery {
                    terms: &terms,
                    typing,
                    visibilities: clearance.visibilities(),
                    category,
                    offset: crate::server::db::offset(page, per_page) as usize,
                    limit: per_page as usize,
                    // Suggestions show no count.
                    count_cap: if typing { 0 } else { COUNT_CAP as usize },
                },
            )
            .await?;
        // The rows are read for what is shown, and the reader's clearance is checked on them
        // again: the index may be a moment behind an article just hidden.
        let rows = by_ids(
            db,
            &found.ids,
            &format!("SELECT {columns} FROM {from} WHERE {visible} AND a.id IN"),
        )
        .await?;
        let total = (found.total as i64).min(COUNT_CAP + 1);
        (terms, rows, total)
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

/// The rows `select` (ending in `… IN`) finds for `ids`, in the order of `ids`.
async fn by_ids(db: &Db, ids: &[i64], select: &str) -> Result<Vec<HitRow>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Bound, not written into the text: one statement per page size is prepared and kept,
    // instead of a new one for every search's ids.
    let sql = format!(
        "{select} ({})",
        crate::server::db::placeholders(1, ids.len())
    );
    let args: Vec<Arg> = ids.iter().copied().map(Arg::Int).collect();
    let mut rows: Vec<HitRow> = on_db!(db, |c| bind_args!(sqlx::query_as(&sql), &args)
        .fetch_all(c)
        .await)?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok(rows)
}

/// Up to five published articles whose words start like `query`: the suggestions shown while a
/// case's subject is typed.
#[tracing::instrument(skip_all)]
pub async fn suggest(
    db: &Db,
    index: &SearchIndex,
    clearance: Clearance,
    query: &str,
) -> Result<Vec<KbLink>, AppError> {
    if query.trim().chars().count() < 3 {
        return Ok(Vec::new());
    }
    let (hits, _) = search(db, index, clearance, query, None, 1, 5, true).await?;
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
    #[sqlx(try_from = "String")]
    state: KbState,
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
        Some(r)
            if clearance.allows(&r.visibility) && (r.state == KbState::Published || can_write) =>
        {
            Ok(r)
        }
        _ => Err(AppError::NotFound),
    }
}

/// The opening of `plain`, about 160 characters, cut at a word.
pub(super) fn description(plain: &str) -> String {
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
#[tracing::instrument(skip_all)]
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
    if row.state == KbState::Published
        && count_view(db, row.id, voter, crate::server::now()).await?
    {
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
        canonical_url: crate::server::mail::portal_url(
            &state.settings,
            &format!("/kb/{}", row.number),
        ),
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
        attachments: Vec::new(),
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
    let sql = format!(
        "SELECT a.number, a.title FROM kb_articles a WHERE a.number IN ({}) \
         AND a.state = 'published' AND {}",
        crate::server::db::placeholders(1, numbers.len()),
        clearance.condition()
    );
    let args: Vec<Arg> = numbers.iter().map(|n| Arg::Text(n.clone())).collect();
    let mut found: Vec<KbLink> = on_db!(db, |c| bind_args!(sqlx::query_as(&sql), &args)
        .fetch_all(c)
        .await)?;
    found.sort_by_key(|l| numbers.iter().position(|n| *n == l.number));
    Ok(found)
}

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

/// Records a reader's "was this helpful?" answer: one per reader and article; answering again
/// replaces the earlier answer. Counters and vote change in one transaction.
#[tracing::instrument(skip_all)]
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
