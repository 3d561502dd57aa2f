//! Knowledge base (SPEC §9): reading, search and votes for everyone within their clearance
//! (anonymous visitors included); authoring for vendor staff.

use crate::error::AppError;
use crate::model::{KbArticle, KbEditor, KbHit, KbHome, KbLink, KbSummary, Page};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{anyone, permitted},
    crate::policy::{self, Action, Actor},
    crate::server::kb::{self, ArticleForm, Clearance, Intent},
    crate::server::{now, request},
};

/// How far the reader sees, and whether they may write.
#[cfg(feature = "ssr")]
fn reader(actor: Option<&Actor>) -> Result<(Clearance, bool), AppError> {
    let clearance = policy::kb_clearance(actor)?;
    let can_write = actor.is_some_and(|a| policy::permits(a.role, Action::WriteKb));
    Ok((clearance, can_write))
}

/// The KB home: categories, newest and most read articles; with `category`, that category's
/// articles.
#[server(endpoint = "kb/home")]
pub async fn load_kb_home(category: Option<i64>, page: Option<i64>) -> Result<KbHome, AppError> {
    anyone(|state, actor| async move {
        let (clearance, can_write) = reader(actor.as_ref())?;
        kb::home(&state.db, clearance, can_write, category, page.unwrap_or(1)).await
    })
    .await
}

/// Full-text search over the published articles the reader may see, best first.
#[server(endpoint = "kb/search")]
pub async fn search_kb(
    q: Option<String>,
    category: Option<i64>,
    page: Option<i64>,
) -> Result<Page<KbHit>, AppError> {
    anyone(|state, actor| async move {
        let (clearance, _) = reader(actor.as_ref())?;
        let (q, category) = (q.unwrap_or_default(), category.filter(|c| *c > 0));
        Page::fetch(page, kb::PER_PAGE, |page| {
            let (db, index) = (&state.db, &state.search);
            kb::search(
                db,
                index,
                clearance,
                &q,
                category,
                page,
                kb::PER_PAGE,
                false,
            )
        })
        .await
    })
    .await
}

/// Articles whose words start like `q`, for suggestions while a case's subject is typed.
#[server(endpoint = "kb/suggest")]
pub async fn suggest_articles(q: String) -> Result<Vec<KbLink>, AppError> {
    anyone(|state, actor| async move {
        let (clearance, _) = reader(actor.as_ref())?;
        kb::suggest(&state.db, &state.search, clearance, &q).await
    })
    .await
}

/// The vote key of a reader: the signed-in user, or (hashed) the visitor's client address.
#[cfg(feature = "ssr")]
fn voter(actor: Option<&Actor>, state: &crate::server::AppState) -> Result<String, AppError> {
    use sha2::{Digest, Sha256};
    Ok(match actor {
        Some(a) => format!("user:{}", a.user_id),
        None => {
            let addr = request::current_client_addr(state)?;
            format!(
                "addr:{}",
                &hex::encode(Sha256::digest(addr.as_bytes()))[..32]
            )
        }
    })
}

/// One article, if the reader may see it; otherwise the same not-found as a missing number.
#[server(endpoint = "kb/article")]
pub async fn get_article(number: String) -> Result<KbArticle, AppError> {
    anyone(|state, actor| async move {
        let (clearance, can_write) = reader(actor.as_ref())?;
        let voter = voter(actor.as_ref(), &state)?;
        let mut article = kb::read(&state, clearance, can_write, &number, &voter).await?;
        let id = kb::article_id(&state.db, &article.number).await?;
        article.attachments =
            crate::server::attachments::for_article(&state.db, id, actor.as_ref()).await?;
        Ok(article)
    })
    .await
}

/// "Was this helpful?" — yes or no; answering again replaces the earlier answer.
#[server(endpoint = "kb/vote")]
pub async fn vote_article(number: String, helpful: String) -> Result<(), AppError> {
    anyone(|state, actor| async move {
        let (clearance, _) = reader(actor.as_ref())?;
        let helpful = match helpful.as_str() {
            "yes" => true,
            "no" => false,
            _ => return Err(AppError::field("helpful", "Answer yes or no")),
        };
        let voter = voter(actor.as_ref(), &state)?;
        kb::vote(&state.db, clearance, &number, &voter, helpful, now()).await?;
        let number = number.trim().to_uppercase();
        leptos_axum::redirect(&format!("/kb/{number}?voted=1"));
        Ok(())
    })
    .await
}

/// The editor's live preview: the body rendered and sanitized exactly as readers get it.
#[server(endpoint = "kb/preview")]
pub async fn preview_article(body: String) -> Result<String, AppError> {
    permitted(Action::WriteKb, |_, _| async move {
        if body.len() > kb::BODY_MAX {
            return Err(AppError::field(
                "body",
                "The article is too long to preview",
            ));
        }
        Ok(crate::server::markdown::render(&body))
    })
    .await
}

/// What the editor opens with: a new article, or the newest version of `number` with its history
/// (and old version `version` rendered, when asked for).
#[server(endpoint = "kb/editor")]
pub async fn load_article_editor(
    number: Option<String>,
    version: Option<i64>,
) -> Result<KbEditor, AppError> {
    permitted(Action::WriteKb, |state, actor| async move {
        let mut editor = kb::editor(
            &state.db,
            number.as_deref().filter(|n| !n.is_empty()),
            version,
        )
        .await?;
        if let Some(number) = &editor.number {
            let id = kb::article_id(&state.db, number).await?;
            editor.attachments =
                crate::server::attachments::for_article(&state.db, id, Some(&actor)).await?;
        }
        editor.file_limit = state.settings.max_file_bytes() as i64;
        Ok(editor)
    })
    .await
}

/// Saves an article as a new version: a draft, or published at once (`intent=publish`).
#[server(endpoint = "kb/save")]
pub async fn save_article(
    number: Option<String>,
    title: Option<String>,
    body: Option<String>,
    category_id: Option<String>,
    visibility: Option<String>,
    intent: Option<String>,
    attachments: Option<String>,
) -> Result<String, AppError> {
    permitted(Action::WriteKb, |state, actor| async move {
        let files =
            crate::server::attachments::parse_tokens(attachments.as_deref().unwrap_or_default())?;
        let intent = match intent.as_deref() {
            Some("publish") => Intent::Publish,
            _ => Intent::Draft,
        };
        let form = ArticleForm {
            title: title.unwrap_or_default(),
            body: body.unwrap_or_default(),
            category_id: category_id.unwrap_or_default(),
            visibility: visibility.unwrap_or_default(),
            files,
        };
        let client_addr = request::current_client_addr(&state)?;
        let number = number.filter(|n| !n.trim().is_empty());
        let number = kb::save(
            &state.db,
            &actor,
            number.as_deref(),
            &form,
            intent,
            &client_addr,
            now(),
        )
        .await?;
        let done = match intent {
            Intent::Publish => "published",
            Intent::Draft => "saved",
        };
        leptos_axum::redirect(&format!("/staff/kb/{number}?{done}=1"));
        Ok(number)
    })
    .await
}

/// Retires a published article: readers no longer find it.
#[server(endpoint = "kb/retire")]
pub async fn retire_article(number: String) -> Result<(), AppError> {
    permitted(Action::WriteKb, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        kb::retire(&state.db, &actor, &number, &client_addr, now()).await?;
        let number = number.trim().to_uppercase();
        leptos_axum::redirect(&format!("/staff/kb/{number}?retired=1"));
        Ok(())
    })
    .await
}

/// Makes an old version the newest again (published articles: when next published).
#[server(endpoint = "kb/restore")]
pub async fn restore_article_version(number: String, version: i64) -> Result<i64, AppError> {
    permitted(Action::WriteKb, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let new_version =
            kb::restore(&state.db, &actor, &number, version, &client_addr, now()).await?;
        let number = number.trim().to_uppercase();
        leptos_axum::redirect(&format!("/staff/kb/{number}?restored={version}"));
        Ok(new_version)
    })
    .await
}

/// Every article in any state, for staff.
#[server(endpoint = "kb/list")]
pub async fn list_articles(
    state_filter: Option<String>,
    visibility: Option<String>,
    q: Option<String>,
    page: Option<i64>,
) -> Result<Page<KbSummary>, AppError> {
    permitted(Action::WriteKb, |state, _| async move {
        let per_page = crate::api::PER_PAGE;
        let state_filter = state_filter.unwrap_or_default();
        let (visibility, q) = (visibility.unwrap_or_default(), q.unwrap_or_default());
        Page::fetch(page, per_page, |page| {
            kb::list_all(&state.db, &state_filter, &visibility, &q, page, per_page)
        })
        .await
    })
    .await
}

/// Adds a category.
#[server(endpoint = "kb/category")]
pub async fn add_kb_category(
    name: Option<String>,
    description: Option<String>,
) -> Result<i64, AppError> {
    permitted(Action::WriteKb, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let id = kb::add_category(
            &state.db,
            &actor,
            name.as_deref().unwrap_or(""),
            description.as_deref().unwrap_or(""),
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect("/staff/kb?category_added=1");
        Ok(id)
    })
    .await
}
