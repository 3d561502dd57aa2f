//! The knowledge base as readers see it: the home with categories, newest and most read articles
//! and search (`/kb`), and an article (`/kb/:number`). Open to anonymous visitors, who see public
//! articles only.

use crate::api::kb::{get_article, load_kb_home, search_kb, suggest_articles, VoteArticle};
use crate::components::attachments::FileList;
use crate::components::forms::debounced;
use crate::components::forms::Done;
use crate::components::list::{Loaded, Pagination};
use crate::components::time::format_time;
use crate::components::url::{path_value, query_flag};
use crate::model::kb::KbState;
use crate::model::text::encode;
use crate::model::{Fragment, KbArticle, KbHome, KbSummary};
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

/// Who may read an article, in the reader's words; `None` for public articles.
pub fn audience(visibility: &str) -> Option<&'static str> {
    match visibility {
        "customers" => Some("Customers only"),
        "internal" => Some("Internal"),
        _ => None,
    }
}

/// Text with the words that matched the search marked.
#[component]
pub fn Marked(fragments: Vec<Fragment>) -> impl IntoView {
    fragments
        .into_iter()
        .map(|f| {
            if f.marked {
                view! { <mark>{f.text}</mark> }.into_any()
            } else {
                f.text.into_any()
            }
        })
        .collect_view()
}

#[component]
fn SearchForm(q: String) -> impl IntoView {
    view! {
        <form method="get" action="/kb" class="search-form kb-search" role="search">
            <div class="form-group">
                <label class="label" for="kb-q">"Search the knowledge base"</label>
                <input class="input" id="kb-q" name="q" type="search" value=q
                    placeholder="Words, or an article number like KB0010001"/>
            </div>
            <button type="submit" class="button">"Search"</button>
        </form>
    }
}

/// `/kb`.
#[component]
pub fn KbHomePage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with(|q| q.get_str(k).unwrap_or_default().to_string());
    let q = move || get("q");
    view! {
        <Title text="Knowledge base"/>
        <Meta name="description" content="Answers, how-to guides and known issues from our support team."/>
        <h1>"Knowledge base"</h1>
        {move || view! { <SearchForm q=q()/> }}
        {move || if q().trim().is_empty() { view! { <Browse/> }.into_any() } else { view! { <Results/> }.into_any() }}
    }
}

#[component]
fn Results() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with(|q| q.get_str(k).unwrap_or_default().to_string());
    let args = move || {
        (
            get("q"),
            get("category").parse::<i64>().ok(),
            get("page").parse::<i64>().ok(),
        )
    };
    let hits = Resource::new(args, |(q, category, page)| {
        search_kb(Some(q), category, page)
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match hits.await {
                    Ok(page) => {
                        let q = get("q");
                        if page.rows.is_empty() {
                            return view! {
                                <p class="empty" role="status">{format!("No articles match “{q}”.")}</p>
                                <p>"Try fewer or other words. Still stuck? Signed-in customers can "
                                    <a href="/cases/new">"open a case"</a> "."</p>
                            }.into_any();
                        }
                        let total = if page.total > 1000 { "More than 1,000".to_string() } else { page.total.to_string() };
                        let noun = if page.total == 1 { "article" } else { "articles" };
                        // Only the best 1,000 are ranked and paged (see `server::kb::search`).
                        let pages = page.pages().min(50);
                        let current = page.page;
                        let base = format!("/kb?q={}", encode(&q));
                        view! {
                            <p class="meta" role="status">{format!("{total} {noun} match “{q}”, best first.")}</p>
                            <ol class="kb-results">
                                {page.rows.into_iter().map(|hit| view! {
                                    <li class="kb-result">
                                        <h2 class="kb-result__title">
                                            <a href=format!("/kb/{}", hit.number)><Marked fragments=hit.title/></a>
                                        </h2>
                                        <p class="meta">{hit.number.clone()} " · " {hit.category}
                                            {audience(&hit.visibility).map(|a| view! { " · " <span class="badge">{a}</span> })}</p>
                                        <p class="kb-result__snippet"><Marked fragments=hit.snippet/></p>
                                    </li>
                                }).collect_view()}
                            </ol>
                            <Pagination base current pages/>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ArticleList(rows: Vec<KbSummary>, #[prop(optional)] views: bool) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No articles yet."</p> }.into_any();
    }
    view! {
        <ul class="kb-list">
            {rows.into_iter().map(|r| view! {
                <li>
                    <a href=format!("/kb/{}", r.number)>{r.title}</a>
                    <span class="meta">" · " {r.category}
                        {audience(&r.visibility).map(|a| format!(" · {a}"))}
                        {views.then(|| format!(" · {} views", r.views))}</span>
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Browse() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with(|q| q.get_str(k).unwrap_or_default().to_string());
    let args = move || {
        (
            get("category").parse::<i64>().ok(),
            get("page").parse::<i64>().ok(),
        )
    };
    let home = Resource::new(args, |(category, page)| load_kb_home(category, page));
    view! {
        <Loaded resource=home view=move |home| view! { <HomeView home/> }/>
    }
}

#[component]
fn HomeView(home: KbHome) -> impl IntoView {
    let writer = home.can_write.then(|| {
        view! {
            <p class="toolbar">
                <a class="button" href="/staff/kb/new">"Write an article"</a>
                " "
                <a class="button button--secondary" href="/staff/kb">"All articles, drafts included"</a>
            </p>
        }
    });
    let categories = view! {
        <nav aria-labelledby="categories-heading" class="kb-categories">
            <h2 id="categories-heading">"Categories"</h2>
            <ul class="cards">
                {home.categories.iter().map(|c| {
                    let current = home.category.as_ref().is_some_and(|x| x.id == c.id);
                    view! {
                        <li class="card">
                            <h3 class="card__title">
                                <a href=format!("/kb?category={}", c.id) aria-current=current.then_some("page")>{c.name.clone()}</a>
                            </h3>
                            <p>{c.description.clone()}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    };
    match (home.category, home.listing) {
        (Some(category), Some(listing)) => {
            let pages = listing.pages();
            let current = listing.page;
            let base = format!("/kb?category={}", category.id);
            view! {
                {writer}
                <p><a href="/kb">"← Knowledge base"</a></p>
                <h2>{category.name.clone()}</h2>
                <p class="lead">{category.description.clone()}</p>
                <ArticleList rows=listing.rows/>
                <Pagination base current pages/>
                {categories}
            }
            .into_any()
        }
        _ => view! {
            {writer}
            {categories}
            <div class="kb-columns">
                <section aria-labelledby="recent-heading">
                    <h2 id="recent-heading">"Newest articles"</h2>
                    <ArticleList rows=home.recent/>
                </section>
                <section aria-labelledby="popular-heading">
                    <h2 id="popular-heading">"Most read"</h2>
                    <ArticleList rows=home.popular views=true/>
                </section>
            </div>
        }
        .into_any(),
    }
}

/// `/kb/:number`.
#[component]
pub fn ArticlePage() -> impl IntoView {
    let number = path_value("number");
    let article = Resource::new(number, get_article);
    view! {
        <Loaded resource=article view=move |article| view! { <ArticleView article/> }/>
    }
}

#[component]
fn ArticleView(article: KbArticle) -> impl IntoView {
    let voted = query_flag("voted");
    // Only a published public article is for search engines.
    let indexable = article.visibility == "public" && article.state == KbState::Published;
    let number = article.number.clone();
    let votes = article.helpful + article.unhelpful;
    view! {
        <Title text=article.title.clone()/>
        <Meta name="description" content=article.description.clone()/>
        <Link rel="canonical" href=article.canonical_url.clone()/>
        {(!indexable).then(|| view! { <Meta name="robots" content="noindex"/> })}
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/kb">"Knowledge base"</a> " › "
            <a href=format!("/kb?category={}", article.category_id)>{article.category.clone()}</a>
        </nav>
        <article class="kb-article">
            <h1>{article.title.clone()}</h1>
            <p class="meta">
                {article.number.clone()} " · " {article.category.clone()}
                " · Updated " {format_time(Some(article.updated_at))}
                " · " {article.views} " views"
                {audience(&article.visibility).map(|a| view! { " " <span class="badge">{a}</span> })}
                {(article.state != KbState::Published).then(|| view! { " " <span class="badge badge--warning">{article.state.label()}</span> })}
            </p>
            {article.can_write.then(|| view! {
                <p class="toolbar"><a class="button button--secondary" href=format!("/staff/kb/{}", article.number)>"Edit"</a></p>
            })}
            <div class="kb-body" inner_html=article.body_html.clone()></div>
            {(!article.attachments.is_empty()).then(|| view! {
                <section aria-labelledby="files-heading">
                    <h2 id="files-heading">"Files"</h2>
                    <FileList files=article.attachments.clone() staff=false/>
                </section>
            })}
        </article>
        {(!article.related.is_empty()).then(|| view! {
            <section aria-labelledby="related-heading">
                <h2 id="related-heading">"Related articles"</h2>
                <ul class="kb-list">
                    {article.related.iter().map(|l| view! {
                        <li><a href=format!("/kb/{}", l.number)>{l.title.clone()}</a> <span class="meta">{l.number.clone()}</span></li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        {(article.state == KbState::Published).then(|| view! {
            <section class="panel kb-helpful" aria-labelledby="helpful-heading">
                <h2 id="helpful-heading">"Was this helpful?"</h2>
                <Done when=voted text="Thank you for your answer."/>
                {article.my_vote.map(|v| view! {
                    <p class="meta">{if v { "You found this helpful." } else { "You found this not helpful." }} " You can change your answer."</p>
                })}
                <form method="post" action=VoteArticle::PATH class="inline-form">
                    <input type="hidden" name="number" value=number.clone()/>
                    <button type="submit" name="helpful" value="yes" class="button button--secondary"
                        aria-pressed=(article.my_vote == Some(true)).to_string()>"Yes"</button>
                    " "
                    <button type="submit" name="helpful" value="no" class="button button--secondary"
                        aria-pressed=(article.my_vote == Some(false)).to_string()>"No"</button>
                </form>
                {(votes > 0).then(|| view! {
                    <p class="meta">{format!("{} of {} readers found this helpful.", article.helpful, votes)}</p>
                })}
            </section>
        })}
    }
}

/// Articles that may answer what `text` asks, looked up once typing pauses: shown under a case's
/// subject so a customer can find the answer before opening a case.
#[component]
pub fn KbSuggestions(text: Signal<String>) -> impl IntoView {
    let settled = debounced(text, std::time::Duration::from_millis(300));
    let found = Resource::new(
        move || settled.get(),
        |q| async move {
            if q.trim().chars().count() < 3 {
                Ok(Vec::new())
            } else {
                suggest_articles(q).await
            }
        },
    );
    view! {
        <div class="kb-suggestions" aria-live="polite">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = found.await.unwrap_or_default();
                    (!list.is_empty()).then(|| view! {
                        <h2 class="kb-suggestions__title">"These articles may answer your question"</h2>
                        <ul class="kb-list">
                            {list.into_iter().map(|l| view! {
                                <li><a href=format!("/kb/{}", l.number) target="_blank" rel="noopener">{l.title}</a>
                                    <span class="meta">" · " {l.number}</span></li>
                            }).collect_view()}
                        </ul>
                    })
                })}
            </Transition>
        </div>
    }
}
