//! Vendor staff's view of every account's cases: the queues (`/staff/cases`), and the compatibility
//! matrix (`/catalog/matrix`) both sides consult.

use crate::api::cases::{case_queue, case_staff_options};
use crate::components::badges::{PriorityBadge, SlaBadge};
use crate::components::forms::pairs;
use crate::components::list::{owned, Column, FilterInput, FilterSelect, Loaded, PagedList};
use crate::model::case_flow::CaseState;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/staff/cases`: the staff queues.
#[component]
pub fn StaffQueuePage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with(|q| q.get_str(k).unwrap_or_default().to_string());
    let args = move || {
        (
            Some(if get("queue").is_empty() {
                "unassigned".to_string()
            } else {
                get("queue")
            }),
            Some(get("state")),
            get("priority").parse::<i32>().ok(),
            Some(get("account")),
            get("group").parse::<i64>().ok(),
            get("assignee").parse::<i64>().ok(),
            Some(get("q")),
            Some(get("sort")),
            get("page").parse::<i64>().ok(),
        )
    };
    let rows = Resource::new(
        args,
        |(queue, st, pr, account, group, assignee, q, sort, page)| {
            case_queue(queue, st, pr, account, group, assignee, q, sort, page)
        },
    );
    let people = Resource::new(|| (), |_| case_staff_options());
    let queues = [
        ("unassigned", "Unassigned"),
        ("mine", "Assigned to me"),
        ("groups", "My groups"),
        ("breaching", "Breaching or about to"),
        ("all", "All cases"),
    ];
    view! {
        <Title text="Case queues"/>
        <h1>"Case queues"</h1>
        <p><a href="/staff/mail">"Replies by mail held for review"</a></p>
        <nav class="toolbar" aria-label="Queues">
            {queues.into_iter().map(|(key, label)| view! {
                <a href=format!("/staff/cases?queue={key}")
                    aria-current=move || (args().0.as_deref() == Some(key)).then_some("page")>{label}</a>
            }).collect_view()}
        </nav>
        <form method="get" action="/staff/cases" class="search-form" role="search">
            <input type="hidden" name="queue" value=move || args().0.unwrap_or_default()/>
            <FilterInput name="q" label="Number or subject"/>
            <FilterSelect name="state" label="State" any="Any" choices=CaseState::choices()/>
            <FilterSelect name="priority" label="Priority" any="Any"
                choices=(1..=4).map(|p| (p.to_string(), format!("P{p}"))).collect()/>
            <FilterInput name="account" label="Account key" kind="text"/>
            <FilterSelect name="sort" label="Sort by" any="Best match or newest"
                choices=owned(&[("newest", "Newest first"), ("oldest", "Oldest first"), ("priority", "Priority (P1 first)"), ("due", "SLA due (soonest first)")])/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let (staff, groups) = people.await.unwrap_or_default();
                    view! {
                        <FilterSelect name="group" label="Assignment group" any="Any" choices=pairs(&groups)/>
                        <FilterSelect name="assignee" label="Assigned to" any="Anyone" choices=pairs(&staff)/>
                    }
                })}
            </Suspense>
            <button type="submit" class="button button--secondary">"Filter"</button>
        </form>
        <Loaded resource=rows view=move |page| {
            // Paging keeps every filter.
            let base = query.with(|q| {
                let kept: Vec<String> = ["queue", "state", "priority", "account", "group", "assignee", "q", "sort"]
                    .into_iter()
                    .filter_map(|k| q.get_str(k).filter(|v| !v.is_empty()).map(|v| format!("{k}={}", crate::model::text::encode(v))))
                    .collect();
                format!("/staff/cases?{}", kept.join("&"))
            });
            view! {
                <PagedList page base caption="Cases" noun="cases"
                    columns=Column::all(&["Number", "Account", "Subject", "State", "Priority", "Assigned to", "Resolution SLA"])
                    empty="No cases in this queue."
                    row=|c: crate::model::QueueRow| {
                        view! {
                            <tr>
                                <td data-label="Number"><a href=format!("/cases/{}", c.number)>{c.number.clone()}</a></td>
                                <td data-label="Account">{c.account}</td>
                                <td data-label="Subject">{c.subject}</td>
                                <td data-label="State">{c.state.label()}</td>
                                <td data-label="Priority"><PriorityBadge priority=c.priority/></td>
                                <td data-label="Assigned to">{c.assignee.unwrap_or_else(|| "—".into())}</td>
                                <td data-label="Resolution SLA"><SlaBadge left=c.resolution_left/></td>
                            </tr>
                        }
                    }/>
            }
        }/>
    }
}

/// `/catalog/matrix`: which features each version offers.
#[component]
pub fn MatrixPage() -> impl IntoView {
    let matrix = Resource::new(|| (), |_| crate::api::catalog::compatibility_matrix());
    view! {
        <Title text="Compatibility matrix"/>
        <h1>"Compatibility matrix"</h1>
        <p class="lead">"Which features each product version offers. Choose a feature your version has when you open a case."</p>
        <Loaded resource=matrix view=move |m| view! {
            <div class="table-wrap" role="region" aria-label="Features by version" tabindex="0">
                <table class="table">
                    <caption class="visually-hidden">"Features by version"</caption>
                    <thead><tr>
                        <th scope="col">"Feature"</th>
                        {m.versions.iter().map(|v| view! { <th scope="col">{v.name.clone()}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {m.features.into_iter().map(|(f, row)| view! {
                            <tr>
                                <th scope="row">{f.name}</th>
                                {row.into_iter().zip(m.versions.iter()).map(|(yes, v)| view! {
                                    <td data-label=v.name.clone()>{if yes { "✓ Available" } else { "— Not available" }}</td>
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }/>
    }
}
