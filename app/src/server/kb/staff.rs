//! What staff who write the knowledge base work with: the editor, the list of every article in any
//! state, categories.

use super::write::{event, VersionRow};
use super::*;

/// What the editor opens with, for staff who write the KB.
#[tracing::instrument(skip_all)]
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
            state: KbState::Draft,
            version: 0,
            latest_version: 0,
            categories,
            versions: Vec::new(),
            shown: None,
            attachments: Vec::new(),
            file_limit: 0,
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
        visibility: latest.visibility.as_str().to_string(),
        state: KbState::parse(&state).ok_or(AppError::Internal)?,
        version,
        latest_version,
        categories,
        versions,
        shown,
        attachments: Vec::new(),
        file_limit: 0,
    })
}

/// Every article, any state, for staff: filtered by state, visibility and words, most recently
/// changed first.
#[tracing::instrument(skip_all)]
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
    if KbState::parse(state_filter).is_some() {
        args.push(Arg::Text(state_filter.into()));
        conditions.push(format!("a.state = ${}", args.len()));
    }
    if KbVisibility::parse(visibility).is_some() {
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
    let page = page.clamp(1, crate::model::MAX_PAGE);
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
#[tracing::instrument(skip_all)]
pub async fn add_category(
    db: &Db,
    actor: &Actor,
    name: &str,
    description: &str,
    client_addr: &str,
    now: i64,
) -> Result<i64, AppError> {
    let name = name.trim();
    let description = description.trim();
    let mut p = Problems::new();
    p.text(
        "name",
        name,
        CATEGORY_MAX,
        "Enter the category's name",
        format!("Keep the name to {CATEGORY_MAX} characters or fewer"),
    );
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
