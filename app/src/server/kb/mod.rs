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
use super::search::{ArticleQuery, SearchIndex};
use super::search_text::{self, Matcher};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::kb::{KbState, KbVisibility};
use crate::model::Actor;
use crate::model::{KbArticle, KbCategory, KbEditor, KbHit, KbHome, KbLink, KbSummary, KbVersion};
use serde_json::json;

mod read;
mod staff;
mod write;
pub use read::*;
pub use staff::*;
pub use write::*;

pub const TITLE_MAX: usize = 160;
pub const BODY_MAX: usize = 100_000;
const CATEGORY_MAX: usize = 80;
/// Search results and category listings per page.
pub const PER_PAGE: i64 = 20;
/// Totals are counted up to this many (one more means "more").
const COUNT_CAP: i64 = 1000;
/// Words in a search result's snippet.
const SNIPPET_WORDS: usize = 32;

pub use crate::model::kb::Clearance;

impl Clearance {
    /// The SQL condition on article alias `a` (a constant: no input reaches it).
    fn condition(self) -> &'static str {
        match self {
            Clearance::Public => "a.visibility = 'public'",
            Clearance::Customers => "a.visibility IN ('public', 'customers')",
            Clearance::Internal => "a.visibility IN ('public', 'customers', 'internal')",
        }
    }

    /// The audiences this reader may see, as the search index holds them.
    fn visibilities(self) -> &'static [&'static str] {
        match self {
            Clearance::Public => &["public"],
            Clearance::Customers => &["public", "customers"],
            Clearance::Internal => &["public", "customers", "internal"],
        }
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

#[tracing::instrument(skip_all)]
pub async fn categories(db: &Db) -> Result<Vec<KbCategory>, AppError> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT id, name, description FROM kb_categories ORDER BY position, name, id"
    )
    .fetch_all(c)
    .await
    .map_err(AppError::from))
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
        assert_eq!(crate::policy::kb_clearance(None), Ok(Clearance::Public));
        assert_eq!(
            crate::policy::kb_clearance(Some(&actor(Role::CustomerUser))),
            Ok(Clearance::Customers)
        );
        assert_eq!(
            crate::policy::kb_clearance(Some(&actor(Role::CustomerAdmin))),
            Ok(Clearance::Customers)
        );
        assert_eq!(
            crate::policy::kb_clearance(Some(&actor(Role::Agent))),
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
