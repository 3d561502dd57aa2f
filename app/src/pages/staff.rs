//! `/staff`: the vendor staff console: every customer account at a glance.

use crate::api::accounts::list_accounts;
use crate::pages::errors::ErrorPage;
use crate::pages::manage::Pagination;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn StaffConsolePage() -> impl IntoView {
    let query = use_query_map();
    let page = move || {
        query.with(|q| {
            q.get_str("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1_i64)
        })
    };
    let accounts = Resource::new(page, list_accounts);
    view! {
        <Title text="Staff console"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Ok(page) => {
                        let pages = page.pages();
                        let current = page.page;
                        view! {
                            <h1>"Staff console"</h1>
                            <p class="lead">{page.total} " customer accounts."</p>
                            <div class="table-wrap">
                                <table class="table">
                                    <caption class="visually-hidden">"Customer accounts"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Account"</th>
                                            <th scope="col">"Key"</th>
                                            <th scope="col">"Service tier"</th>
                                            <th scope="col" class="num">"Users"</th>
                                            <th scope="col" class="num">"Active administrators"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|a| view! {
                                            <tr>
                                                <td>{a.name}</td>
                                                <td><code>{a.account_key}</code></td>
                                                <td><span class="badge">{if a.service_tier == "managed" { "Managed" } else { "Self-hosted" }}</span></td>
                                                <td class="num">{a.users}</td>
                                                <td class="num">{a.administrators}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination base="/staff".to_string() current pages/>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
