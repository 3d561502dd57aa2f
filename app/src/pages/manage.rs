//! `/manage`: the Manage Accounts page of a customer administrator (SPEC §3.1): who in the company
//! has access. Sorting and paging happen in the database.

use crate::api::accounts::my_account_users;
use crate::api::security::{account_second_factor_rule, RequireForAccount};
use crate::api::users::ChangeAccess;
use crate::components::badges::UserStatusBadge;
use crate::components::forms::Done;
use crate::components::forms::{form_answer, ErrorSummary};
use crate::components::list::{Column, FilterInput, FilterSelect, ListTable, Loaded, Pagination};
use crate::components::time::format_time;
use crate::components::url::query_flag;
use crate::components::users::{invitation_actions, AddUserForm};
use crate::me_resource;
use crate::model::text::encode;
use crate::model::{AccountUserRow, Page, UserStatus};
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

const SORTS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("email", "Email"),
    ("status", "Status"),
    ("last_sign_in", "Last sign-in"),
    ("created", "Created"),
];

#[component]
pub fn ManageAccountsPage() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        query.with(|q| ListQuery {
            search: q.get_str("q").unwrap_or_default().to_string(),
            status: q.get_str("status").unwrap_or_default().to_string(),
            sort: q.get_str("sort").unwrap_or("name").to_string(),
            page: q
                .get_str("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1_i64),
        })
    };
    let users = Resource::new(params, |q| {
        my_account_users(q.search, q.status, q.sort, q.page)
    });
    let error = form_answer(ChangeAccess::PATH);
    let invitation_error = form_answer(crate::api::users::ChangeInvitation::PATH);
    let invited = query_flag("invited");
    view! {
        <Title text="Manage Accounts"/>
        <Done when=invited
            text="The invitation is on its way. The new user is listed as Invited until they set their password."/>
        <ErrorSummary error/>
        <ErrorSummary error=invitation_error/>
        <Loaded resource=users view=move |page| view! { <UserTable page query=params()/> }/>
        <SecondFactorRule/>
    }
}

/// Whether everyone in the account must sign in with a second factor, and the switch.
#[component]
fn SecondFactorRule() -> impl IntoView {
    let rule = Resource::new(|| (), |_| account_second_factor_rule());
    let error = form_answer(RequireForAccount::PATH);
    let saved = query_flag("security");
    view! {
        <section aria-labelledby="second-factor-heading" class="section">
            <h2 id="second-factor-heading">"Second factor"</h2>
            <Done when=saved text="Saved. The change is in your account's access history."/>
            <ErrorSummary error/>
            <Loaded resource=rule view=move |required| view! {
                <p>{if required {
                    "Everyone in your company must sign in with an authenticator app as well as their password. People without one set it up at their next sign-in."
                } else {
                    "A second factor is optional: each person may add an authenticator app on their security page."
                }}</p>
                <form method="post" action=RequireForAccount::PATH class="inline-form">
                    <input type="hidden" name="required" value=if required { "false" } else { "true" }/>
                    <button type="submit" class="button button--secondary">{if required {
                        "Stop requiring a second factor"
                    } else {
                        "Require a second factor for everyone"
                    }}</button>
                </form>
            }/>
        </section>
    }
}

#[component]
fn UserTable(page: Page<AccountUserRow>, query: ListQuery) -> impl IntoView {
    let pages = page.pages();
    let current = page.page;
    let total = page.total;
    let sort = query.sort.clone();
    let filtered = !query.search.is_empty() || !query.status.is_empty();
    view! {
        <h1>"Manage Accounts"</h1>
        <p class="lead">"Everyone in your company who has, or was invited to, the portal. "
            {format!("{total} {}{}.", if total == 1 { "user" } else { "users" }, if filtered { " match" } else { "" })}</p>
        <div class="toolbar">
            <a class="button" href="/manage/new">"Add a user"</a>
            <a class="button button--secondary" href="/manage/history">"Access history"</a>
            <a class="button button--secondary" href="/manage/reviews">"Access reviews"</a>
            <a class="button button--secondary" href="/manage/provisioning">"Provisioning (SCIM)"</a>
            <a class="button button--secondary" href="/manage/sso">"Single sign-on"</a>
            <form class="inline-form" method="post" action="/export/users.csv">
                <button type="submit" class="button button--secondary">"Export users (CSV)"</button>
            </form>
        </div>
        <form method="get" action="/manage" class="search-form" role="search">
            <input type="hidden" name="sort" value=sort.clone()/>
            <FilterInput name="q" label="Search by name or email"/>
            <FilterSelect name="status" label="Status" any="All" choices=UserStatus::choices()/>
            <button type="submit" class="button button--secondary">"Search"</button>
        </form>
        {if page.rows.is_empty() {
            let message = if filtered {
                "No users match. Try another search, or clear the status filter."
            } else {
                "No users on this page. Go back to the first page."
            };
            view! { <p class="empty">{message}</p> }.into_any()
        } else {
            let columns: Vec<Column> = SORTS
                .iter()
                .map(|(key, label)| Column::sortable(label, query.href(key, 1), *key == sort))
                .chain(Column::all(&["Administrator", "Second factor", "Contact", "Created by", "Actions"]))
                .collect();
            view! {
                <ListTable caption="Users of your account" columns>
                    {page.rows.into_iter().map(|u| { let actions = row_actions(&u); view! {
                        <tr>
                            <td data-label="Name">{format!("{} {}", u.first_name, u.last_name)}</td>
                            <td data-label="Email">{u.email}</td>
                            <td data-label="Status"><UserStatusBadge status=u.status dormant=u.dormant/></td>
                            <td data-label="Last sign-in">{format_time(u.last_sign_in_at)}</td>
                            <td data-label="Created">{format_time(Some(u.created_at))}</td>
                            <td data-label="Administrator">{if u.is_admin { "Yes" } else { "No" }}</td>
                            <td data-label="Second factor">{if u.has_second_factor { "Yes" } else { "No" }}</td>
                            <td data-label="Contact">{u.contact_role.map(|r| if r == "primary" { "Primary" } else { "Secondary" }).unwrap_or("—")}</td>
                            <td data-label="Created by">{u.created_by.clone().unwrap_or_else(|| "—".into())}</td>
                            <td data-label="Actions" class="actions">{actions}</td>
                        </tr>
                    }}).collect_view()}
                </ListTable>
            }.into_any()
        }}
        <Pagination base=query.href(&query.sort, 0) current pages/>
    }
}

/// `/manage/new`: add a user to one's own account.
#[component]
pub fn AddUserPage() -> impl IntoView {
    let me = me_resource();
    view! {
        <Title text="Add a user"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) if crate::policy::permits(me.role, crate::policy::Action::ManageOwnAccountUsers) => view! {
                        <div class="narrow">
                            <p><a href="/manage">"← Manage Accounts"</a></p>
                            <h1>"Add a user"</h1>
                            <p class="lead">
                                "They get an invitation mail with a link to choose their password. The link works once, for a limited time."
                            </p>
                            <AddUserForm/>
                        </div>
                    }.into_any(),
                    Ok(Some(_)) => view! { <ErrorPage error=crate::error::AppError::Forbidden/> }.into_any(),
                    Ok(None) => view! { <ErrorPage error=crate::error::AppError::Unauthorized/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The list's state, as carried in the URL so that every view can be linked and reloaded.
#[derive(Debug, Clone, PartialEq)]
struct ListQuery {
    search: String,
    status: String,
    sort: String,
    page: i64,
}

impl ListQuery {
    /// The URL of this list sorted by `sort`, at `page` (0: no page parameter).
    fn href(&self, sort: &str, page: i64) -> String {
        let mut url = format!("/manage?sort={}", encode(sort));
        if !self.search.is_empty() {
            url.push_str(&format!("&q={}", encode(&self.search)));
        }
        if !self.status.is_empty() {
            url.push_str(&format!("&status={}", encode(&self.status)));
        }
        if page > 0 {
            url.push_str(&format!("&page={page}"));
        }
        url
    }
}

/// The access changes offered for one user. Disabling and removing administrator rights ask for
/// confirmation in a sentence naming the person; all are plain forms, so they work without WASM.
fn row_actions(u: &AccountUserRow) -> impl IntoView {
    let name = format!("{} {}", u.first_name, u.last_name);
    let mut actions: Vec<AnyView> = Vec::new();
    if u.is_self {
        return view! { <span class="meta">"You"</span> }.into_any();
    }
    if u.status == UserStatus::Invited {
        actions.push(invitation_actions(u.id, &name, false).into_any());
    }
    if u.status == UserStatus::Disabled {
        actions.push(access_form(u.id, "enable", format!("Re-enable {name}"), None).into_any());
    } else {
        actions.push(
            access_form(
                u.id,
                "disable",
                format!("Disable {name}"),
                Some(format!(
                    "Disable {name}? They are signed out at once and can no longer sign in."
                )),
            )
            .into_any(),
        );
    }
    if u.is_admin {
        actions.push(access_form(
            u.id,
            "revoke_admin",
            format!("Remove administrator: {name}"),
            Some(format!("Remove administrator rights from {name}? They can no longer manage your company's users.")),
        ).into_any());
    } else if u.status != UserStatus::Disabled {
        actions.push(
            access_form(
                u.id,
                "grant_admin",
                format!("Make {name} an administrator"),
                None,
            )
            .into_any(),
        );
    }
    if u.has_second_factor {
        actions.push(access_form(
            u.id,
            "reset_second_factor",
            format!("Reset second factor: {name}"),
            Some(format!("Remove {name}'s authenticator apps and recovery codes? They are signed out, told by mail, and set up a new one at their next sign-in if your account requires it.")),
        ).into_any());
    }
    if u.status == UserStatus::Active {
        actions.push(
            access_form(
                u.id,
                "sign_out_everywhere",
                format!("Sign {name} out everywhere"),
                Some(format!(
                    "End every session of {name}? They stay active and can sign in again."
                )),
            )
            .into_any(),
        );
    }
    actions.into_iter().collect_view().into_any()
}

fn access_form(
    user_id: i64,
    change: &'static str,
    label: String,
    confirm: Option<String>,
) -> impl IntoView {
    let form = |label: String, extra: Option<String>| {
        view! {
            <form method="post" action=ChangeAccess::PATH class="inline-form">
                <input type="hidden" name="user_id" value=user_id.to_string()/>
                <input type="hidden" name="change" value=change/>
                {extra.map(|text| view! { <p>{text}</p> })}
                <button type="submit" class="button button--secondary button--small">{label}</button>
            </form>
        }
    };
    match confirm {
        None => form(label, None).into_any(),
        Some(question) => view! {
            <details class="confirm">
                <summary>{label.clone()}</summary>
                {form(format!("Yes, {}", lowercase_first(&label)), Some(question))}
            </details>
        }
        .into_any(),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_keep_the_search_and_encode_it() {
        let q = ListQuery {
            search: "ada & co/x".into(),
            status: "active".into(),
            sort: "name".into(),
            page: 3,
        };
        assert_eq!(
            q.href("email", 1),
            "/manage?sort=email&q=ada%20%26%20co%2Fx&status=active&page=1"
        );
        assert_eq!(
            q.href("name", 0),
            "/manage?sort=name&q=ada%20%26%20co%2Fx&status=active"
        );
        assert_eq!(encode("é"), "%C3%A9");
    }
}
