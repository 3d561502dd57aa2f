//! Writing the knowledge base, for vendor staff: every article in any state (`/staff/kb`) with
//! the categories, and the editor (`/staff/kb/new`, `/staff/kb/:number`) with a live preview made
//! by the same sanitizer readers get, the versions and restoring one, publishing and retiring.

use crate::api::kb::{
    list_articles, load_article_editor, preview_article, AddKbCategory, RestoreArticleVersion,
    RetireArticle, SaveArticle,
};
use crate::components::attachments::{AttachRefusal, FileList, StageFiles};
use crate::components::forms::Done;
use crate::components::forms::{debounced, form_answer, ErrorSummary, Field, SelectField};
use crate::components::list::{Column, FilterInput, FilterSelect, ListTable, Loaded, PagedList};
use crate::components::time::format_time;
use crate::model::kb::{KbState, KbVisibility};
use crate::model::text::encode;
use crate::model::KbEditor;
use crate::pages::kb::audience;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

/// `/staff/kb`.
#[component]
pub fn KbArticlesPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with(|q| q.get_str(k).unwrap_or_default().to_string());
    let args = move || {
        (
            get("state"),
            get("visibility"),
            get("q"),
            get("page").parse::<i64>().ok(),
        )
    };
    let rows = Resource::new(args, |(s, v, q, page)| {
        list_articles(Some(s), Some(v), Some(q), page)
    });
    let category_error = form_answer(AddKbCategory::PATH);
    let added = move || get("category_added") == "1";
    view! {
        <Title text="Knowledge base articles"/>
        <h1>"Knowledge base articles"</h1>
        <p class="toolbar">
            <a class="button" href="/staff/kb/new">"Write an article"</a>
            " "
            <a class="button button--secondary" href="/kb">"Read the knowledge base"</a>
        </p>
        <form method="get" action="/staff/kb" class="search-form" role="search">
            <FilterInput name="q" label="Number or words"/>
            <FilterSelect name="state" label="State" any="Any" choices=KbState::choices()/>
            <FilterSelect name="visibility" label="Readers" any="Any" choices=KbVisibility::choices()/>
            <button type="submit" class="button button--secondary">"Filter"</button>
        </form>
        <Loaded resource=rows view=move |page| view! {
            <PagedList page base=format!("/staff/kb?state={}&visibility={}&q={}", encode(&get("state")), encode(&get("visibility")), encode(&get("q"))) caption="Articles, most recently changed first"
                columns=Column::all(&["Number", "Title", "Category", "Readers", "State", "Changed"])
                empty="No articles here."
                row=|r: crate::model::KbSummary| view! {
                    <tr>
                        <td data-label="Number"><a href=format!("/staff/kb/{}", r.number)>{r.number.clone()}</a></td>
                        <td data-label="Title">{r.title}</td>
                        <td data-label="Category">{r.category}</td>
                        <td data-label="Readers">{audience(&r.visibility).unwrap_or("Public")}</td>
                        <td data-label="State">{r.state.label()}
                            {r.pending.then(|| view! { " " <span class="badge badge--warning">"Unpublished changes"</span> })}</td>
                        <td data-label="Changed">{format_time(Some(r.updated_at))}</td>
                    </tr>
                }/>
        }/>
        <section class="panel" aria-labelledby="category-heading">
            <h2 id="category-heading">"Add a category"</h2>
            <Done when=added text="The category was added."/>
            <ErrorSummary error=category_error/>
            <form method="post" action=AddKbCategory::PATH class="form" novalidate>
                <Field name="name" label="Name" error=category_error/>
                <Field name="description" label="Description" hint="One line readers see under the name" error=category_error/>
                <button type="submit" class="button button--secondary">"Add category"</button>
            </form>
        </section>
    }
}

/// `/staff/kb/new` and `/staff/kb/:number`.
#[component]
pub fn KbEditorPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let args = move || {
        (
            params.with(|p| p.get_str("number").map(str::to_string)),
            query.with(|q| q.get_str("version").and_then(|v| v.parse::<i64>().ok())),
        )
    };
    let editor = Resource::new(args, |(number, version)| {
        load_article_editor(number, version)
    });
    view! {
        <Loaded resource=editor view=move |editor| view! { <Editor editor/> }/>
    }
}

#[component]
fn Editor(editor: KbEditor) -> impl IntoView {
    let query = use_query_map();
    let flag = move |k: &'static str| query.with(|q| q.get_str(k).is_some());
    let error = form_answer(SaveArticle::PATH);
    let side_error = form_answer(RetireArticle::PATH);
    let restore_error = form_answer(RestoreArticleVersion::PATH);
    let body = error.kept("body").unwrap_or_else(|| editor.body.clone());
    let body_messages = move || {
        error
            .get()
            .map(|e| e.for_field("body").join(" "))
            .unwrap_or_default()
    };
    let categories: Vec<(String, String)> = editor
        .categories
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect();
    let visibilities = KbVisibility::choices();
    let heading = match &editor.number {
        Some(n) => format!("{n} · {}", editor.title),
        None => "Write an article".to_string(),
    };
    let number = editor.number.clone().unwrap_or_default();
    let pending = editor.latest_version > editor.version;
    let (retire_number, restore_number, versions_number) =
        (number.clone(), number.clone(), number.clone());
    view! {
        <Title text=heading.clone()/>
        <p><a href="/staff/kb">"← Knowledge base articles"</a></p>
        <h1>{heading}</h1>
        {editor.number.clone().map(|n| view! {
            <p class="lead">
                <span class="badge">{editor.state.label()}</span>
                " Readers see version " {editor.version} "."
                {pending.then(|| view! { " " <strong>{format!("Version {} is not published yet.", editor.latest_version)}</strong> })}
                " " {(editor.state != KbState::Draft).then(|| view! { <a href=format!("/kb/{n}")>"Open as readers see it"</a> })}
            </p>
        })}
        <Done when=move || flag("saved") text="Saved as a draft. Readers see it once it is published."/>
        <Done when=move || flag("published") text="Published."/>
        <Done when=move || flag("retired") text="Retired: readers no longer find it."/>
        <Done when=move || flag("restored") text="The old version is the newest again; publish it to show it to readers."/>
        <ErrorSummary error/>
        <ErrorSummary error=side_error/>
        <ErrorSummary error=restore_error/>
        <EditorPreview body=body.clone()>
            <form method="post" action=SaveArticle::PATH class="form kb-editor__form" novalidate>
                <input type="hidden" name="number" value=number/>
                <Field name="title" label="Title" hint="Up to 160 characters" value=editor.title.clone() error/>
                <SelectField name="category_id" label="Category" placeholder="Choose…" options=categories
                    selected=editor.category_id.map(|c| c.to_string()).unwrap_or_default() error/>
                <SelectField name="visibility" label="Who may read it" options=visibilities
                    selected=editor.visibility.clone() error/>
                <div class="form-group" class:form-group--error=move || !body_messages().is_empty()>
                    <label class="label" for="body">"Article"</label>
                    <p class="hint" id="body-hint">"Markdown: **bold**, `code`, lists, tables, links. Write another article's number (KB0010001) to link to it."</p>
                    <Show when=move || !body_messages().is_empty()>
                        <p class="field-error" id="body-error">{body_messages}</p>
                    </Show>
                    <textarea class="input kb-editor__body" id="body" name="body" rows="18" aria-describedby="body-hint"
                        inner_html=crate::components::forms::textarea_html(&body)></textarea>
                </div>
                <StageFiles limit=editor.file_limit kept=error/>
                <div class="button-row">
                    <button type="submit" name="intent" value="draft" class="button button--secondary">"Save draft"</button>
                    " "
                    <button type="submit" name="intent" value="publish" class="button">"Publish"</button>
                </div>
            </form>
            {(!editor.attachments.is_empty()).then(|| view! {
                <section id="files" aria-labelledby="files-heading">
                    <h2 id="files-heading">"Files"</h2>
                    <p class="hint">"Readers of the article may download them. Link one in the text with its address, or paste a screenshot into the text to add it there."</p>
                    <AttachRefusal/>
                    <FileList files=editor.attachments.clone() staff=true/>
                </section>
            })}
        </EditorPreview>
        {(editor.state == KbState::Published).then(|| view! {
            <details class="confirm">
                <summary>"Retire this article"</summary>
                <p class="hint">"Readers will no longer find it; you can publish it again later."</p>
                <form method="post" action=RetireArticle::PATH class="inline-form">
                    <input type="hidden" name="number" value=retire_number/>
                    <button type="submit" class="button button--warning">"Retire"</button>
                </form>
            </details>
        })}
        {editor.shown.clone().map(|(v, html)| view! {
            <section class="panel" aria-labelledby="shown-heading">
                <h2 id="shown-heading">{format!("Version {}: {}", v.version, v.title)}</h2>
                <p class="meta">{v.edited_by.clone()} " · " {format_time(Some(v.edited_at))}</p>
                <div class="kb-body" inner_html=html></div>
                <form method="post" action=RestoreArticleVersion::PATH class="inline-form">
                    <input type="hidden" name="number" value=restore_number/>
                    <input type="hidden" name="version" value=v.version.to_string()/>
                    <button type="submit" class="button button--secondary">{format!("Restore version {}", v.version)}</button>
                </form>
            </section>
        })}
        {(!editor.versions.is_empty()).then(|| {
            let number = versions_number;
            view! {
                <section aria-labelledby="versions-heading">
                    <h2 id="versions-heading">"Versions"</h2>
                    <ListTable caption="Saved versions, newest first" columns=Column::all(&["Version", "Title", "Saved as", "By", "When"])>
                                {editor.versions.iter().map(|v| {
                                    let saved_as = match (v.action.as_str(), v.restored_from) {
                                        ("publish", _) => "Published".to_string(),
                                        ("restore", Some(from)) => format!("Restored from version {from}"),
                                        _ => "Draft".to_string(),
                                    };
                                    view! {
                                        <tr>
                                            <td data-label="Version"><a href=format!("/staff/kb/{}?version={}", number, v.version)>{v.version}</a></td>
                                            <td data-label="Title">{v.title.clone()}</td>
                                            <td data-label="Saved as">{saved_as}</td>
                                            <td data-label="By">{v.edited_by.clone()}</td>
                                            <td data-label="When">{format_time(Some(v.edited_at))}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                    </ListTable>
                </section>
            }
        })}
    }
}

/// The part of the editor that runs in the browser: the preview beside the form it wraps (rendered
/// by the server) follows what is typed in the article's text, once typing pauses. `body` is the
/// text the page came with.
#[island]
fn EditorPreview(body: String, children: Children) -> impl IntoView {
    let body = RwSignal::new(body);
    let settled = debounced(body.into(), std::time::Duration::from_millis(300));
    let preview = Resource::new(
        move || settled.get(),
        |text| async move {
            if text.trim().is_empty() {
                Ok(String::new())
            } else {
                preview_article(text).await
            }
        },
    );
    let typed = move |ev: leptos::ev::Event| {
        if event_target::<leptos::web_sys::Element>(&ev).id() == "body" {
            body.set(event_target_value(&ev));
        }
    };
    view! {
        <div class="kb-editor" on:input=typed>
            {children()}
            <section class="kb-editor__preview" aria-labelledby="preview-heading">
                <h2 id="preview-heading">"Preview"</h2>
                <p class="hint">"Exactly as readers will see it; it follows your typing."</p>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Ok(html) => view! { <div class="kb-body" id="preview" inner_html=html></div> }.into_any(),
                            Err(e) => view! { <p class="field-error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}
