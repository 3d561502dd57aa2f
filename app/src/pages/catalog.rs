//! `/staff/catalog`: the catalog platform admins keep (SPEC §8) — one section a list, each entry
//! with its own small form, so every change works as a plain form post before the WASM loads.

use crate::api::catalog::{
    catalog_page_data, SaveCatalogEntry, SaveMatrix, SaveSlaTarget, SetGroupMember,
};
use crate::components::forms::{form_answer, ErrorSummary, FormAnswer};
use crate::components::list::Loaded;
use crate::error::AppError;
use crate::model::{CatalogAdmin, CatalogEntry, CatalogGroup, CatalogKind, SlaTarget};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[component]
pub fn CatalogPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| catalog_page_data());
    let query = use_query_map();
    let saved = move || query.with(|q| q.get_str("saved").map(str::to_string));
    let entry_error = form_answer(SaveCatalogEntry::PATH);
    let sla_error = form_answer(SaveSlaTarget::PATH);
    let matrix_error = form_answer(SaveMatrix::PATH);
    let member_error = form_answer(SetGroupMember::PATH);
    view! {
        <Title text="Catalog"/>
        <p><a href="/staff">"← Staff console"</a></p>
        <h1>"Catalog"</h1>
        <p class="lead">
            "What the case form offers. Retired entries stay on the cases that use them but are no "
            "longer offered for new ones; nothing is ever deleted. Every change is in the audit trail."
        </p>
        {move || saved().map(|_| view! {
            <div class="notice notice--success" role="status">"Saved."</div>
        })}
        <nav class="toolbar" aria-label="Sections">
            {CatalogKind::ALL.into_iter().map(|k| view! {
                <a href=format!("#{}", k.as_str())>{k.title()}</a>
            }).collect_view()}
            <a href="#sla">"SLA targets"</a>
            <a href="#matrix">"Compatibility matrix"</a>
        </nav>
        <Loaded resource=data view=move |data| view! {
            <CatalogSections data entry_error sla_error matrix_error member_error/>
        }/>
    }
}

#[component]
fn CatalogSections(
    data: CatalogAdmin,
    entry_error: FormAnswer,
    sla_error: FormAnswer,
    matrix_error: FormAnswer,
    member_error: FormAnswer,
) -> impl IntoView {
    let CatalogAdmin {
        versions,
        features,
        services,
        impacts,
        windows,
        groups,
        sla,
        matrix,
        staff,
    } = data;
    let matrix_view = view! {
        <MatrixForm versions=versions.clone() features=features.clone() pairs=matrix error=matrix_error/>
    };
    let lists = [
        (CatalogKind::Versions, versions),
        (CatalogKind::Features, features),
        (CatalogKind::Services, services),
        (CatalogKind::Impacts, impacts),
        (CatalogKind::Windows, windows),
    ];
    view! {
        {lists.into_iter().map(|(kind, entries)| view! {
            <EntryList kind entries error=entry_error/>
        }).collect_view()}
        <GroupList groups staff error=entry_error member_error/>
        <SlaSection targets=sla error=sla_error/>
        {matrix_view}
    }
}

/// The error messages the server gave for the field with id `id`.
fn field_messages(error: FormAnswer, id: &str) -> Vec<String> {
    error.get().map(|e| e.for_field(id)).unwrap_or_default()
}

/// The form that saves changes to `entry`.
#[component]
fn EditEntry(kind: CatalogKind, entry: CatalogEntry, error: FormAnswer) -> impl IntoView {
    view! {
        <form method="post" action=SaveCatalogEntry::PATH class="form" novalidate>
            <EntryFields kind entry=Some(entry) error/>
            <button type="submit" class="button button--secondary">"Save"</button>
        </form>
    }
}

/// The name, number and active fields of one entry (`entry` = `None`: a new one).
#[component]
fn EntryFields(kind: CatalogKind, entry: Option<CatalogEntry>, error: FormAnswer) -> impl IntoView {
    let prefix = match &entry {
        Some(e) => format!("{}-{}", kind.as_str(), e.id),
        None => format!("{}-new", kind.as_str()),
    };
    let name_id = format!("{prefix}-name");
    let extra_id = format!("{prefix}-extra");
    let active_id = format!("{prefix}-active");
    let name_messages = {
        let id = name_id.clone();
        move || field_messages(error, &id)
    };
    let extra_messages = {
        let id = extra_id.clone();
        move || field_messages(error, &id)
    };
    view! {
        {entry.as_ref().map(|e| view! { <input type="hidden" name="id" value=e.id.to_string()/> })}
        <input type="hidden" name="kind" value=kind.as_str()/>
        <div class="form-group">
            <label class="label" for=name_id.clone()>"Name"</label>
            <FieldMessages messages=name_messages/>
            <input class="input" id=name_id name="name" type="text" maxlength="80"
                value=entry.as_ref().map(|e| e.name.clone()).unwrap_or_default()/>
        </div>
        {kind.extra().map(|(label, hint)| view! {
            <div class="form-group">
                <label class="label" for=extra_id.clone()>{label}</label>
                <p class="hint">{hint}</p>
                <FieldMessages messages=extra_messages/>
                <input class="input input--short" id=extra_id.clone() name="extra" type="text" inputmode="numeric"
                    value=entry.as_ref().map(|e| e.extra.to_string()).unwrap_or_else(|| if kind == CatalogKind::Impacts { "3".into() } else { "0".into() })/>
            </div>
        })}
        {entry.as_ref().map(|e| view! {
            <div class="form-group">
                <input type="checkbox" id=active_id.clone() name="active" value="on" checked=e.active/>
                " "
                <label for=active_id>"Active (offered on the case form)"</label>
            </div>
        })}
    }
}

/// A field's error messages, shown right above its control.
#[component]
fn FieldMessages<F>(messages: F) -> impl IntoView
where
    F: Fn() -> Vec<String> + Send + Sync + 'static,
{
    move || {
        let messages = messages();
        (!messages.is_empty()).then(|| {
            view! {
                <p class="field-error">
                    {messages.into_iter().map(|m| view! { <span>{m}</span> }).collect_view()}
                </p>
            }
        })
    }
}

/// One catalog list: its entries, each editable, and a form to add one.
#[component]
fn EntryList(kind: CatalogKind, entries: Vec<CatalogEntry>, error: FormAnswer) -> impl IntoView {
    let heading = format!("{}-heading", kind.as_str());
    let labelled_by = heading.clone();
    view! {
        <section class="panel" id=kind.as_str() aria-labelledby=labelled_by>
            <h2 id=heading>{kind.title()}</h2>
            <Show when=move || {
                error.get().is_some_and(|e| matches!(&e, AppError::Validation(f) if f.iter().any(|f| f.field.starts_with(&format!("{}-", kind.as_str())))))
            }>
                <ErrorSummary error/>
            </Show>
            <EntryTable kind entries error/>
            <form method="post" action=SaveCatalogEntry::PATH class="form" novalidate>
                <h3>"Add to " {kind.title().to_lowercase()}</h3>
                <EntryFields kind entry=None error/>
                <button type="submit" class="button">"Add"</button>
            </form>
        </section>
    }
}

#[component]
fn EntryTable(kind: CatalogKind, entries: Vec<CatalogEntry>, error: FormAnswer) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="empty">"Nothing here yet."</p> }.into_any();
    }
    view! {
        <ul class="catalog-list">
            {entries.into_iter().map(|e| {
                let retired = !e.active;
                let label = match kind.extra() {
                    Some((what, _)) => format!("{} ({what} {})", e.name, e.extra),
                    None => e.name.clone(),
                };
                view! {
                    <li class="catalog-list__entry" class:catalog-list__entry--retired=retired>
                        <details>
                            <summary>{label} {retired.then(|| view! { " " <span class="badge">"Retired"</span> })}</summary>
                            <EditEntry kind entry=e error/>
                        </details>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// Assignment groups: entries like the other lists, plus who works each group.
#[component]
fn GroupList(
    groups: Vec<CatalogGroup>,
    staff: Vec<crate::model::Choice>,
    error: FormAnswer,
    member_error: FormAnswer,
) -> impl IntoView {
    let kind = CatalogKind::Groups;
    view! {
        <section class="panel" id="groups" aria-labelledby="groups-heading">
            <h2 id="groups-heading">{kind.title()}</h2>
            <p class="hint">"Members see the group's open cases in their “My groups” queue."</p>
            <Show when=move || {
                error.get().is_some_and(|e| matches!(&e, AppError::Validation(f) if f.iter().any(|f| f.field.starts_with("groups-"))))
            }>
                <ErrorSummary error/>
            </Show>
            <ErrorSummary error=member_error/>
            <ul class="catalog-list">
                {groups.into_iter().map(|g| {
                    let group_id = g.entry.id;
                    let member_field = format!("groups-{group_id}-member");
                    let messages = {
                        let id = member_field.clone();
                        move || field_messages(member_error, &id)
                    };
                    let candidates: Vec<_> = staff.iter().filter(|s| !g.members.iter().any(|m| m.id == s.id)).cloned().collect();
                    view! {
                        <li class="catalog-list__entry" class:catalog-list__entry--retired=!g.entry.active>
                            <h3>{g.entry.name.clone()}
                                {g.is_default.then(|| view! { " " <span class="badge">"New cases"</span> })}
                                {(!g.entry.active).then(|| view! { " " <span class="badge">"Retired"</span> })}
                            </h3>
                            {if g.members.is_empty() {
                                view! { <p class="meta">"No members yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="members">
                                        {g.members.iter().map(|m| view! {
                                            <li>
                                                {m.name.clone()} " "
                                                <form method="post" action=SetGroupMember::PATH class="inline-form">
                                                    <input type="hidden" name="group_id" value=group_id.to_string()/>
                                                    <input type="hidden" name="user_id" value=m.id.to_string()/>
                                                    <input type="hidden" name="member" value="remove"/>
                                                    <button type="submit" class="button button--small button--secondary">
                                                        "Remove" <span class="visually-hidden">{format!(" {} from {}", m.name, g.entry.name)}</span>
                                                    </button>
                                                </form>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                            <form method="post" action=SetGroupMember::PATH class="form form--inline" novalidate>
                                <input type="hidden" name="group_id" value=group_id.to_string()/>
                                <input type="hidden" name="member" value="add"/>
                                <div class="form-group">
                                    <label class="label" for=member_field.clone()>"Add a member"</label>
                                    <FieldMessages messages/>
                                    <select class="input" id=member_field name="user_id">
                                        <option value="">"Choose a person"</option>
                                        {candidates.into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                                    </select>
                                </div>
                                <button type="submit" class="button button--secondary">"Add member"</button>
                            </form>
                            <details>
                                <summary>"Rename or retire"</summary>
                                <EditEntry kind entry=g.entry.clone() error/>
                            </details>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form method="post" action=SaveCatalogEntry::PATH class="form" novalidate>
                <h3>"Add an assignment group"</h3>
                <EntryFields kind entry=None error/>
                <button type="submit" class="button">"Add"</button>
            </form>
        </section>
    }
}

/// The SLA targets, one form a priority.
#[component]
fn SlaSection(targets: Vec<SlaTarget>, error: FormAnswer) -> impl IntoView {
    view! {
        <section class="panel" id="sla" aria-labelledby="sla-heading">
            <h2 id="sla-heading">"SLA targets"</h2>
            <p class="hint">
                "Minutes to the first response and to resolution, per priority. Cases whose clock is "
                "running are measured against a changed target at once. A target in business hours "
                "counts only the account's working time (Monday to Friday, its opening hours, its time zone)."
            </p>
            <ErrorSummary error/>
            {targets.into_iter().map(|t| {
                let p = t.priority;
                let first_id = format!("sla-{p}-first");
                let resolution_id = format!("sla-{p}-resolution");
                let business_id = format!("sla-{p}-business");
                let resolution_business_id = format!("sla-{p}-resolution-business");
                let first_messages = { let id = first_id.clone(); move || field_messages(error, &id) };
                let resolution_messages = { let id = resolution_id.clone(); move || field_messages(error, &id) };
                view! {
                    <form method="post" action=SaveSlaTarget::PATH class="form form--inline" novalidate>
                        <h3>{format!("P{p}")}</h3>
                        <input type="hidden" name="priority" value=p.to_string()/>
                        <div class="form-group">
                            <label class="label" for=first_id.clone()>"First response (minutes)"</label>
                            <FieldMessages messages=first_messages/>
                            <input class="input input--short" id=first_id name="first_response_minutes" inputmode="numeric"
                                value=t.first_response_minutes.to_string()/>
                        </div>
                        <div class="form-group">
                            <label class="label" for=resolution_id.clone()>"Resolution (minutes)"</label>
                            <FieldMessages messages=resolution_messages/>
                            <input class="input input--short" id=resolution_id name="resolution_minutes" inputmode="numeric"
                                value=t.resolution_minutes.to_string()/>
                        </div>
                        <div class="form-group">
                            <input type="checkbox" id=business_id.clone() name="business_hours" value="on" checked=t.business_hours/>
                            " "
                            <label for=business_id>"First response in business hours"</label>
                        </div>
                        <div class="form-group">
                            <input type="checkbox" id=resolution_business_id.clone() name="resolution_business_hours" value="on" checked=t.resolution_business_hours/>
                            " "
                            <label for=resolution_business_id>"Resolution in business hours"</label>
                        </div>
                        <button type="submit" class="button button--secondary">{format!("Save P{p}")}</button>
                    </form>
                }
            }).collect_view()}
        </section>
    }
}

/// The compatibility matrix as one form of check boxes, saved as a whole.
#[component]
fn MatrixForm(
    versions: Vec<CatalogEntry>,
    features: Vec<CatalogEntry>,
    pairs: Vec<(i64, i64)>,
    error: FormAnswer,
) -> impl IntoView {
    let columns = versions.len();
    view! {
        <section class="panel" id="matrix" aria-labelledby="matrix-heading">
            <h2 id="matrix-heading">"Compatibility matrix"</h2>
            <p class="hint">"Tick the versions that offer each feature. Customers see this at "
                <a href="/catalog/matrix">"the compatibility matrix"</a> "."</p>
            <ErrorSummary error/>
            <form method="post" action=SaveMatrix::PATH class="form" novalidate id="matrix-form">
                <div class="table-wrap" role="region" aria-label="Features by version" tabindex="0">
                    <table class="table">
                        <caption class="visually-hidden">"Features by version"</caption>
                        <thead><tr>
                            <th scope="col">"Feature"</th>
                            {versions.iter().map(|v| view! { <th scope="col">{v.name.clone()}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {features.iter().enumerate().map(|(fi, f)| view! {
                                <tr>
                                    <th scope="row">{f.name.clone()}</th>
                                    {versions.iter().enumerate().map(|(vi, v)| {
                                        let on = pairs.contains(&(f.id, v.id));
                                        // Indexed names: the form decoder reads `pairs[n]` as a list.
                                        let name = format!("pairs[{}]", fi * columns + vi);
                                        let label = format!("{} in {}", f.name, v.name);
                                        view! {
                                            <td data-label=v.name.clone()>
                                                <input type="checkbox" name=name value=format!("{}:{}", f.id, v.id)
                                                    checked=on aria-label=label/>
                                            </td>
                                        }
                                    }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <button type="submit" class="button">"Save matrix"</button>
            </form>
        </section>
    }
}
