//! Knowledge-base articles, categories, search hits and the editor.

use super::Page;
use serde::{Deserialize, Serialize};

text_enum! {
    /// Who may read a knowledge-base article (SPEC §9), in the words the editor shows.
    #[serde(rename_all = "snake_case")]
    pub enum KbVisibility {
        Public => ("public", "Public — anyone, no sign-in"),
        Customers => ("customers", "Customers — signed-in customer users"),
        Internal => ("internal", "Internal — vendor staff only"),
    }
}

text_enum! {
    /// Where an article is in its life: readers see only published ones.
    #[serde(rename_all = "snake_case")]
    pub enum KbState {
        Draft => ("draft", "Draft"),
        Published => ("published", "Published"),
        Retired => ("retired", "Retired"),
    }
}

/// A knowledge-base category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbCategory {
    pub id: i64,
    pub name: String,
    pub description: String,
}

/// An article in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbSummary {
    pub number: String,
    pub title: String,
    pub category: String,
    pub visibility: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub state: KbState,
    pub published_at: Option<i64>,
    pub updated_at: i64,
    pub views: i64,
    /// Newer saved versions than the one readers see (staff lists).
    pub pending: bool,
}

/// A piece of a search snippet; `marked` pieces matched the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fragment {
    pub text: String,
    pub marked: bool,
}

/// A search result: the article and where its text matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbHit {
    pub number: String,
    pub title: Vec<Fragment>,
    pub category: String,
    pub visibility: String,
    pub snippet: Vec<Fragment>,
}

/// The KB home: categories, and the newest and most read articles the reader may see; with a
/// category chosen, a page of that category's articles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbHome {
    pub categories: Vec<KbCategory>,
    pub recent: Vec<KbSummary>,
    pub popular: Vec<KbSummary>,
    pub category: Option<KbCategory>,
    pub listing: Option<Page<KbSummary>>,
    pub can_write: bool,
}

/// An article linked from another, as far as the reader may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbLink {
    pub number: String,
    pub title: String,
}

/// An article as a reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbArticle {
    pub number: String,
    pub title: String,
    /// Rendered and sanitized on the server.
    pub body_html: String,
    pub category_id: i64,
    pub category: String,
    pub visibility: String,
    pub state: KbState,
    pub version: i64,
    pub author: String,
    pub published_at: Option<i64>,
    pub updated_at: i64,
    pub views: i64,
    pub helpful: i64,
    pub unhelpful: i64,
    /// For search engines and link previews: the opening of the text.
    pub description: String,
    pub canonical_url: String,
    pub related: Vec<KbLink>,
    pub can_write: bool,
    /// The reader's own vote, if they gave one.
    pub my_vote: Option<bool>,
    /// The article's files (readers of the article may download them).
    #[serde(default)]
    pub attachments: Vec<crate::model::attachments::Attachment>,
}

/// One saved version of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct KbVersion {
    pub version: i64,
    pub title: String,
    pub action: String,
    pub restored_from: Option<i64>,
    pub edited_by: String,
    pub edited_at: i64,
}

/// What the editor opens with: the newest version of an article (or nothing, for a new one), its
/// history, and one old version to look at when asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbEditor {
    pub number: Option<String>,
    pub title: String,
    pub body: String,
    pub category_id: Option<i64>,
    pub visibility: String,
    pub state: KbState,
    /// The version readers see, and the newest saved one.
    pub version: i64,
    pub latest_version: i64,
    pub categories: Vec<KbCategory>,
    pub versions: Vec<KbVersion>,
    /// Version asked for with `?version=`, rendered.
    pub shown: Option<(KbVersion, String)>,
    /// The article's files.
    #[serde(default)]
    pub attachments: Vec<crate::model::attachments::Attachment>,
    /// The largest file one may attach, in bytes.
    #[serde(default)]
    pub file_limit: i64,
}

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
