//! Writing the knowledge base: saving versions, publishing, retiring and restoring, the editor,
//! the staff list of every article, categories.

use super::*;

/// What an author sent.
#[derive(Debug, Clone, Default)]
pub struct ArticleForm {
    pub title: String,
    pub body: String,
    pub category_id: String,
    pub visibility: String,
    /// Tokens of the files uploaded for it (see `server::attachments`).
    pub files: Vec<String>,
}

/// Save as a draft, or save and publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Draft,
    Publish,
}

impl Intent {
    /// What a version records it was saved for.
    fn as_str(self) -> &'static str {
        match self {
            Intent::Draft => "draft",
            Intent::Publish => "publish",
        }
    }
}

struct Content {
    title: String,
    body: String,
    category_id: i64,
    visibility: KbVisibility,
}

impl Content {
    /// Parses the article editor's form: a title and body within their limits, a known category
    /// and a reading audience.
    async fn parse(db: &Db, form: &ArticleForm) -> Result<Content, AppError> {
        let mut p = Problems::new();
        let title = p.text(
            "title",
            &form.title,
            TITLE_MAX,
            "Enter a title",
            format!("Keep the title to {TITLE_MAX} characters or fewer"),
        );
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
        let visibility = KbVisibility::parse(form.visibility.trim());
        if visibility.is_none() {
            p.add("visibility", "Choose who may read the article");
        }
        p.finish()?;
        Ok(Content {
            title,
            body,
            category_id: category_id.unwrap_or_default(),
            visibility: visibility.unwrap_or(KbVisibility::Customers),
        })
    }
}

#[derive(sqlx::FromRow)]
struct Locked {
    id: i64,
    number: String,
    #[sqlx(try_from = "String")]
    state: KbState,
    version: i64,
    latest_version: i64,
    #[sqlx(try_from = "String")]
    visibility: KbVisibility,
}

async fn lock(tx: &mut Tx, number: &str) -> Result<Locked, AppError> {
    let number = parse_number(number).ok_or(AppError::NotFound)?;
    let sql = format!(
        "SELECT id, number, state, version, latest_version, visibility \
         FROM kb_articles WHERE number = $1 {}",
        tx.for_update()
    );
    let row: Option<Locked> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(&number)
        .fetch_optional(c)
        .await)?;
    row.ok_or(AppError::NotFound)
}

#[derive(sqlx::FromRow)]
pub(super) struct VersionRow {
    pub(super) title: String,
    pub(super) body: String,
    pub(super) category_id: i64,
    #[sqlx(try_from = "String")]
    pub(super) visibility: KbVisibility,
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

/// Makes `version` the article's latest; `shown` also makes it what readers see (a draft, or a
/// publish), otherwise the published text stays until the next publish.
async fn make_latest(
    tx: &mut Tx,
    article: i64,
    version: i64,
    content: &Content,
    shown: bool,
    now: i64,
) -> Result<(), AppError> {
    if shown {
        return apply(tx, article, version, content, now).await;
    }
    execute!(tx: tx, sqlx::query(
        "UPDATE kb_articles SET latest_version = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(version)
    .bind(now)
    .bind(article))?;
    Ok(())
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
    .bind(content.visibility.as_str())
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
    .bind(content.visibility.as_str())
    .bind(version)
    .bind(now)
    .bind(article))?;
    Ok(())
}

pub(super) fn event<'a>(
    actor: &Actor,
    action: &'a str,
    number: &str,
    client_addr: &'a str,
) -> Event<'a> {
    Event {
        target: Some(number.to_string()),
        ..Event::by(actor, action, client_addr)
    }
}

/// Saves an article (a new one when `number` is `None`) as a new version; with
/// [`Intent::Publish`] it is published at once. A draft of a published article waits for
/// publishing. Answers the article's number.
#[tracing::instrument(skip_all)]
pub async fn save(
    db: &Db,
    actor: &Actor,
    number: Option<&str>,
    form: &ArticleForm,
    intent: Intent,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let content = Content::parse(db, form).await?;
    let mut tx = db.begin().await?;
    // Which article, the version readers get, what it was, and whether these words are new.
    let (article, number, version, before, new_words) = match number {
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
            .bind(content.visibility.as_str())
            .bind(&content.title)
            .bind(&content.body)
            .bind(markdown::plain_text(&content.body))
            .bind(actor.user_id)
            .bind(now)
            .fetch_one(c)
            .await
            .map_err(AppError::from)
            })?;
            (id, number, 1, None, true)
        }
        Some(number) => {
            let row = lock(&mut tx, number).await?;
            let latest = version_content(&mut tx, row.id, row.latest_version).await?;
            let unchanged = latest.title == content.title
                && latest.body == content.body
                && latest.category_id == content.category_id
                && latest.visibility == content.visibility;
            if unchanged
                && form.files.is_empty()
                && (intent == Intent::Draft
                    || row.state == KbState::Published && row.version == row.latest_version)
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
            let shown = row.state == KbState::Draft || intent == Intent::Publish;
            make_latest(&mut tx, row.id, version, &content, shown, now).await?;
            (row.id, row.number, version, before, !unchanged)
        }
    };
    if new_words {
        let (action, editor) = (intent.as_str(), actor.user_id);
        insert_version(
            &mut tx, article, version, &content, action, None, editor, now,
        )
        .await?;
    }
    let owner = crate::server::attachments::Owner::Article {
        id: article,
        number: &number,
    };
    // Files are the article's own, whichever version is shown (a file belongs with its words).
    crate::server::attachments::claim(
        &mut tx,
        actor,
        &form.files,
        owner,
        u64::MAX,
        client_addr,
        now,
    )
    .await?;
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

/// The row id of article `number`.
pub async fn article_id(db: &Db, number: &str) -> Result<i64, AppError> {
    let id: Option<i64> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT id FROM kb_articles WHERE number = $1"
    )
    .bind(number)
    .fetch_optional(c)
    .await)?;
    id.ok_or(AppError::NotFound)
}

/// Takes a published article out of reading; it stays for staff and can be published again.
#[tracing::instrument(skip_all)]
pub async fn retire(
    db: &Db,
    actor: &Actor,
    number: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let row = lock(&mut tx, number).await?;
    if row.state != KbState::Published {
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
#[tracing::instrument(skip_all)]
pub async fn restore(
    db: &Db,
    actor: &Actor,
    number: &str,
    version: i64,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
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
    let shown = row.state == KbState::Draft;
    make_latest(&mut tx, row.id, new_version, &content, shown, now).await?;
    let mut e = event(actor, "kb.version_restored", &row.number, client_addr);
    e.before = Some(json!({ "latest_version": row.latest_version }));
    e.after = Some(json!({ "latest_version": new_version, "restored_from": version }));
    audit::append(&mut tx, &e, now).await?;
    tx.commit().await?;
    Ok(new_version)
}
