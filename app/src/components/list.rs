//! The one shape of every list page: data loading (a "Loading…" line, then the list or the error
//! page), a table with a caption for screen readers and sortable headers, the empty state, the
//! total and the pagination links.

use crate::error::AppError;
use crate::model::Page;
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// Shows what `resource` loads through `view`, "Loading…" until then, and the error page (with its
/// HTTP status) when loading fails.
#[component]
pub fn Loaded<T, F, V>(resource: Resource<Result<T, AppError>>, view: F) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {
                let view = view.clone();
                move || {
                    let view = view.clone();
                    Suspend::new(async move {
                        match resource.await {
                            Ok(value) => view(value).into_any(),
                            Err(error) => view! { <ErrorPage error/> }.into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
}

/// A header cell of a list: its label and, for a column the list can be sorted by, the link that
/// sorts by it and whether the list is sorted by it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub label: &'static str,
    pub sort: Option<(String, bool)>,
    /// `num` for a right-aligned column of numbers.
    pub class: Option<&'static str>,
}

impl Column {
    pub fn new(label: &'static str) -> Self {
        Column {
            label,
            sort: None,
            class: None,
        }
    }

    /// A right-aligned column of numbers.
    pub fn num(label: &'static str) -> Self {
        Column {
            class: Some("num"),
            ..Column::new(label)
        }
    }

    pub fn sortable(label: &'static str, href: String, active: bool) -> Self {
        Column {
            sort: Some((href, active)),
            ..Column::new(label)
        }
    }

    /// The plain columns `labels`, in order.
    pub fn all(labels: &[&'static str]) -> Vec<Column> {
        labels.iter().map(|l| Column::new(l)).collect()
    }

    fn header(&self) -> AnyView {
        match &self.sort {
            None => view! { <th scope="col" class=self.class>{self.label}</th> }.into_any(),
            Some((href, active)) => view! {
                <th scope="col" class=self.class aria-sort=if *active { "ascending" } else { "none" }>
                    <a href=href.clone()>{self.label}</a>
                </th>
            }
            .into_any(),
        }
    }
}

/// A table: `caption` for screen readers, the header of `columns`, and `children` as its rows.
/// The region around it scrolls sideways when the table is wider than the screen, and takes
/// keyboard focus so it can be scrolled without a mouse.
#[component]
pub fn ListTable(caption: &'static str, columns: Vec<Column>, children: Children) -> impl IntoView {
    view! {
        <div class="table-wrap" role="region" aria-label=caption tabindex="0">
            <table class="table">
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr>{columns.iter().map(Column::header).collect_view()}</tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// "1,234 cases." — or "More than 10,000 cases." once counting stopped (counts stop there).
pub fn total_line(total: i64, noun: &str) -> String {
    if total > 10_000 {
        format!("More than 10,000 {noun}.")
    } else {
        format!("{total} {noun}.")
    }
}

/// One page of a list: the total when `noun` is given, the rows in a [`ListTable`] (or `empty`
/// when there are none) and the links to the other pages; `base` is the list's link with every
/// filter but the page.
#[component]
pub fn PagedList<T, R, V>(
    page: Page<T>,
    base: String,
    caption: &'static str,
    columns: Vec<Column>,
    #[prop(into)] empty: String,
    #[prop(optional)] noun: Option<&'static str>,
    row: R,
) -> impl IntoView
where
    T: 'static,
    R: Fn(T) -> V + 'static,
    V: IntoView + 'static,
{
    let pages = page.pages();
    let current = page.page;
    let total = noun.map(|noun| view! { <p>{total_line(page.total, noun)}</p> });
    if page.rows.is_empty() {
        return view! { {total} <p class="empty">{empty}</p> }.into_any();
    }
    let rows = page.rows.into_iter().map(row).collect_view();
    view! {
        {total}
        <ListTable caption columns>{rows}</ListTable>
        <Pagination base current pages/>
    }
    .into_any()
}

/// Previous/next links with the page position; `base` already carries the other query parameters.
#[component]
pub fn Pagination(base: String, current: i64, pages: i64) -> impl IntoView {
    let sep = if base.contains('?') { '&' } else { '?' };
    let prev = (current > 1).then(|| format!("{base}{sep}page={}", current - 1));
    let next = (current < pages).then(|| format!("{base}{sep}page={}", current + 1));
    view! {
        <nav class="pagination" aria-label="Pages">
            {prev.map(|href| view! { <a href=href rel="prev">"Previous"</a> })}
            <span>"Page " {current} " of " {pages}</span>
            {next.map(|href| view! { <a href=href rel="next">"Next"</a> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_stop_counting_at_ten_thousand() {
        assert_eq!(total_line(3, "cases"), "3 cases.");
        assert_eq!(total_line(10_000, "entries"), "10000 entries.");
        assert_eq!(total_line(10_001, "entries"), "More than 10,000 entries.");
    }
}

/// A select of a list's filter form, kept in the URL as parameter `name` so that a filtered list
/// can be linked and reloaded: `any` (such as "Any") first when given, then `choices` as
/// (value, label) pairs, with the one in the URL selected.
#[component]
pub fn FilterSelect(
    name: &'static str,
    label: &'static str,
    choices: Vec<(String, String)>,
    #[prop(optional)] any: Option<&'static str>,
) -> impl IntoView {
    let current = crate::components::url::query_value(name);
    view! {
        <div class="form-group">
            <label class="label" for=name>{label}</label>
            <select class="input" id=name name=name>
                {any.map(|text| view! { <option value="">{text}</option> })}
                {choices.into_iter().map(|(value, text)| {
                    let current = current.clone();
                    let chosen = value.clone();
                    view! { <option value=value selected=move || current() == chosen>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

/// A text field of a list's filter form (a search, an account key, an email or a date), kept in
/// the URL as parameter `name`.
#[component]
pub fn FilterInput(
    name: &'static str,
    label: &'static str,
    #[prop(default = "search")] kind: &'static str,
) -> impl IntoView {
    let current = crate::components::url::query_value(name);
    view! {
        <div class="form-group">
            <label class="label" for=name>{label}</label>
            <input class="input" id=name name=name type=kind value=current/>
        </div>
    }
}

/// A list's (value, label) pairs as owned strings, for [`FilterSelect`].
pub fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(value, label)| (value.to_string(), label.to_string()))
        .collect()
}
