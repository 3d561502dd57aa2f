//! The vendor staff console: every customer account (`/staff`), a new account
//! (`/staff/accounts/new`) and one account with its contacts and users (`/staff/accounts/:id`).

use crate::api::accounts::{account_page, list_accounts, SaveAccount, SetContact};
use crate::api::staff::Impersonate;
use crate::api::users::ChangeAccess;
use crate::components::badges::UserStatusBadge;
use crate::components::forms::Done;
use crate::components::forms::{form_answer, ErrorSummary, FormAnswer};
use crate::components::list::{Column, FilterInput, ListTable, Loaded, Pagination};
use crate::components::time::{format_time, TimeZoneSelect};
use crate::components::url::query_flag;
use crate::components::users::{invitation_actions, AddUserForm, StaffReasonFields};
use crate::me_resource;
use crate::model::business_hours::format_clock;
use crate::model::text::encode;
use crate::model::{
    AccountDetail, AccountUserRow, AccountView, PersonRef, StaffMember, UserStatus,
};
use crate::pages::errors::ErrorPage;
use crate::policy::{permits, Action};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

fn tier_label(tier: &str) -> &'static str {
    if tier == "managed" {
        "Managed"
    } else {
        "Self-hosted"
    }
}

#[component]
pub fn StaffConsolePage() -> impl IntoView {
    let query = use_query_map();
    let args = move || {
        query.with(|q| {
            (
                q.get_str("page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1_i64),
                q.get_str("q").unwrap_or_default().to_string(),
            )
        })
    };
    let accounts = Resource::new(args, |(page, search)| list_accounts(page, Some(search)));
    let me = me_resource();
    view! {
        <Title text="Staff console"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let can_create = matches!(me.await, Ok(Some(m)) if permits(m.role, Action::ManageCustomerAccounts));
                match accounts.await {
                    Ok(page) => {
                        let pages = page.pages();
                        let current = page.page;
                        let search = args().1;
                        let base = if search.is_empty() { "/staff".to_string() } else { format!("/staff?q={}", encode(&search)) };
                        view! {
                            <h1>"Staff console"</h1>
                            <p class="lead">{page.total} " customer accounts" {(!search.is_empty()).then(|| " match")} "."</p>
                            <p class="toolbar">
                                {can_create.then(|| view! { <a class="button" href="/staff/accounts/new">"New account"</a> })}
                                <a class="button button--secondary" href="/staff/audit">"Audit trail"</a>
                                <a class="button button--secondary" href="/staff/access-reviews">"Access reviews"</a>
                                {can_create.then(|| view! { <a class="button button--secondary" href="/staff/catalog">"Catalog"</a> })}
                                {can_create.then(|| view! { <a class="button button--secondary" href="/staff/sign-in">"Staff sign-in"</a> })}
                            </p>
                            <form method="get" action="/staff" class="search-form" role="search">
                                <FilterInput name="q" label="Search by name or key"/>
                                <button type="submit" class="button button--secondary">"Search"</button>
                            </form>
                            <ListTable caption="Customer accounts"
                                columns=vec![Column::new("Account"), Column::new("Key"), Column::new("Service tier"), Column::num("Users"), Column::num("Active administrators")]>
                                {page.rows.into_iter().map(|a| view! {
                                    <tr>
                                        <td data-label="Account"><a href=format!("/staff/accounts/{}", a.id)>{a.name}</a></td>
                                        <td data-label="Key"><code>{a.account_key}</code></td>
                                        <td data-label="Service tier"><span class="badge">{tier_label(&a.service_tier)}</span></td>
                                        <td data-label="Users" class="num">{a.users}</td>
                                        <td data-label="Active administrators" class="num">{a.administrators}</td>
                                    </tr>
                                }).collect_view()}
                            </ListTable>
                            <Pagination base current pages/>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The account fields: name, key, tier, environments, TAM and CSM.
#[component]
fn AccountFields(
    account: Option<AccountDetail>,
    staff: Vec<StaffMember>,
    error: FormAnswer,
) -> impl IntoView {
    // After a refused save, every field shows what was sent; else what the account has.
    let typed = |name: &str, stored: String| error.kept(name).unwrap_or(stored);
    let typed_id = |name: &str, stored: Option<i64>| match error.kept(name) {
        Some(sent) => sent.parse().ok(),
        None => stored,
    };
    let name = typed(
        "name",
        account.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
    );
    let key = typed(
        "account_key",
        account
            .as_ref()
            .map(|a| a.account_key.clone())
            .unwrap_or_default(),
    );
    let tier = typed(
        "service_tier",
        account
            .as_ref()
            .map(|a| a.service_tier.clone())
            .unwrap_or_default(),
    );
    let environments = typed(
        "environments",
        account
            .as_ref()
            .map(|a| a.environments.join("\n"))
            .unwrap_or_else(|| "Production\nStaging\nDevelopment".into()),
    );
    let tam = typed_id(
        "tam_user_id",
        account.as_ref().and_then(|a| a.tam.as_ref().map(|p| p.id)),
    );
    let csm = typed_id(
        "csm_user_id",
        account.as_ref().and_then(|a| a.csm.as_ref().map(|p| p.id)),
    );
    let zone = typed(
        "time_zone",
        account
            .as_ref()
            .map(|a| a.time_zone.clone())
            .unwrap_or_else(|| "UTC".into()),
    );
    let opens = typed(
        "business_start",
        format_clock(account.as_ref().map(|a| a.business_start).unwrap_or(540)),
    );
    let closes = typed(
        "business_end",
        format_clock(account.as_ref().map(|a| a.business_end).unwrap_or(1020)),
    );
    let field_error = move |name: &'static str| {
        move || {
            error
                .get()
                .map(|e| e.for_field(name).join(" "))
                .filter(|m| !m.is_empty())
                .map(|m| view! { <p class="field-error">{m}</p> })
        }
    };
    let staff_select = move |name: &'static str, label: &'static str, chosen: Option<i64>| {
        let staff = staff.clone();
        view! {
            <div class="form-group">
                <label class="label" for=name>{label}</label>
                {field_error(name)}
                <select class="input" id=name name=name>
                    <option value="">"None"</option>
                    {staff.into_iter().map(|s| view! {
                        <option value=s.id.to_string() selected=chosen == Some(s.id)>{s.name}</option>
                    }).collect_view()}
                </select>
            </div>
        }
    };
    view! {
        {account.as_ref().map(|a| view! { <input type="hidden" name="account_id" value=a.id.to_string()/> })}
        <div class="form-group">
            <label class="label" for="name">"Name"</label>
            {field_error("name")}
            <input class="input" id="name" name="name" type="text" value=name/>
        </div>
        <div class="form-group">
            <label class="label" for="account_key">"Key"</label>
            <p class="hint">"A short unique code, like ACME"</p>
            {field_error("account_key")}
            <input class="input" id="account_key" name="account_key" type="text" value=key/>
        </div>
        <div class="form-group">
            <label class="label" for="service_tier">"Service tier"</label>
            <p class="hint">"Managed: the vendor runs the customer's environment, and change requests apply."</p>
            {field_error("service_tier")}
            <select class="input" id="service_tier" name="service_tier">
                <option value="" selected=tier.is_empty()>"Choose…"</option>
                <option value="managed" selected=tier == "managed">"Managed"</option>
                <option value="self-hosted" selected=tier == "self-hosted">"Self-hosted"</option>
            </select>
        </div>
        <div class="form-group">
            <label class="label" for="environments">"Environments"</label>
            <p class="hint">"One per line"</p>
            {field_error("environments")}
            <textarea class="input" id="environments" name="environments" rows="4"
                inner_html=crate::components::forms::textarea_html(&environments)></textarea>
        </div>
        {staff_select("tam_user_id", "Technical account manager (TAM)", tam)}
        {staff_select("csm_user_id", "Customer success manager (CSM)", csm)}
        <fieldset class="fieldset">
            <legend>"Business hours"</legend>
            <p class="hint">"Monday to Friday. SLA targets in business hours count only this time."</p>
            <div class="form-group">
                <label class="label" for="time_zone">"Time zone"</label>
                {field_error("time_zone")}
                <TimeZoneSelect name="time_zone" selected=zone/>
            </div>
            <div class="form-group">
                <label class="label" for="business_start">"Opens at"</label>
                {field_error("business_start")}
                <input class="input input--short" id="business_start" name="business_start" type="time" value=opens/>
            </div>
            <div class="form-group">
                <label class="label" for="business_end">"Closes at"</label>
                {field_error("business_end")}
                <input class="input input--short" id="business_end" name="business_end" type="time" value=closes/>
            </div>
        </fieldset>
    }
}

/// `/staff/accounts/new`: a new customer account (platform admins).
#[component]
pub fn NewAccountPage() -> impl IntoView {
    let view_data = Resource::new(|| (), |_| crate::api::accounts::staff_list());
    let error = form_answer(SaveAccount::PATH);
    view! {
        <Title text="New account"/>
        <div class="narrow">
            <p><a href="/staff">"← Staff console"</a></p>
            <h1>"New customer account"</h1>
            <ErrorSummary error/>
            <Loaded resource=view_data view=move |staff| view! {
                <form method="post" action=SaveAccount::PATH class="form" novalidate>
                    <AccountFields account=None staff error/>
                    <button type="submit" class="button">"Create account"</button>
                </form>
            }/>
        </div>
    }
}

/// `/staff/accounts/:id`: one account, its contacts and its users.
#[component]
pub fn StaffAccountPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let args = move || {
        let id = params.with(|p| {
            p.get_str("id")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        });
        query.with(|q| {
            (
                id,
                q.get_str("q").unwrap_or_default().to_string(),
                q.get_str("status").unwrap_or_default().to_string(),
                q.get_str("sort").unwrap_or("name").to_string(),
                q.get_str("page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1_i64),
            )
        })
    };
    let data = Resource::new(args, |(id, search, status, sort, page)| {
        account_page(id, search, status, sort, page)
    });
    let done = move || query.with(|q| q.get_str("done").map(str::to_string));
    let saved = query_flag("saved");
    let errors = [
        form_answer(ChangeAccess::PATH),
        form_answer(crate::api::users::ChangeInvitation::PATH),
        form_answer(SetContact::PATH),
        form_answer(Impersonate::PATH),
    ];
    let save_error = form_answer(SaveAccount::PATH);
    view! {
        <Title text="Customer account"/>
        <p><a href="/staff">"← Staff console"</a></p>
        {move || done().map(|text| view! { <div class="notice notice--success" role="status">{text}</div> })}
        <Done when=saved text="The account was saved."/>
        {errors.into_iter().map(|error| view! { <ErrorSummary error/> }).collect_view()}
        <ErrorSummary error=save_error/>
        <Loaded resource=data view=move |view_data| view! { <AccountBody data=view_data save_error/> }/>
    }
}

fn person_line(person: &Option<PersonRef>) -> String {
    match person {
        Some(p) => format!("{} <{}>", p.name, p.email),
        None => "None".into(),
    }
}

#[component]
fn AccountBody(data: AccountView, save_error: FormAnswer) -> impl IntoView {
    let AccountView {
        account,
        staff,
        users,
        can_manage,
    } = data;
    let id = account.id;
    let here = format!("/staff/accounts/{id}");
    let pages = users.pages();
    let current = users.page;
    view! {
        <h1>{account.name.clone()} " " <code>{account.account_key.clone()}</code></h1>
        <p class="lead"><span class="badge">{tier_label(&account.service_tier)}</span> " · " {users.total} " users"</p>
        <dl class="facts">
            <dt>"Environments"</dt><dd>{account.environments.join(", ")}</dd>
            <dt>"Business hours"</dt><dd>{format!("Monday to Friday, {}–{} ({})", format_clock(account.business_start), format_clock(account.business_end), account.time_zone)}</dd>
            <dt>"TAM"</dt><dd>{person_line(&account.tam)}</dd>
            <dt>"CSM"</dt><dd>{person_line(&account.csm)}</dd>
            <dt>"Created"</dt><dd>{format_time(Some(account.created_at))}</dd>
            <dt>"Updated"</dt><dd>{format_time(Some(account.updated_at))}</dd>
        </dl>
        <div class="toolbar">
            <a class="button button--secondary" href=format!("/staff/audit?account_id={id}")>"Access history"</a>
            <a class="button button--secondary" href=format!("/staff/accounts/{id}/sso")>"Single sign-on"</a>
            <a class="button button--secondary" href=format!("/staff/accounts/{id}/reviews")>"Access reviews"</a>
            <a class="button button--secondary" href=format!("/cases/new?account_id={id}")>"Open a case on their behalf"</a>
            {(can_manage && account.service_tier == "managed").then(|| view! {
                <a class="button button--secondary" href=format!("/changes/new?account_id={id}")>"Raise a change request on their behalf"</a>
            })}
            <form class="inline-form" method="post" action=format!("/export/users.csv?account_id={id}")>
                <button type="submit" class="button button--secondary">"Export users (CSV)"</button>
            </form>
        </div>
        {can_manage.then(|| view! {
            <details class="panel">
                <summary>"Edit account details"</summary>
                <form method="post" action=SaveAccount::PATH class="form" novalidate>
                    <AccountFields account=Some(account.clone()) staff=staff.clone() error=save_error/>
                    <button type="submit" class="button">"Save account"</button>
                </form>
            </details>
        })}
        <section aria-labelledby="contacts-heading">
            <h2 id="contacts-heading">"Contacts"</h2>
            <p class="hint">"The primary and secondary contacts receive security notices and surveys. Setting a contact makes them an administrator."</p>
            <dl class="facts">
                <dt>"Primary contact"</dt>
                <dd>{person_line(&account.primary_contact)} {can_manage.then(|| clear_contact_form(id, "primary", &account.primary_contact))}</dd>
                <dt>"Secondary contact"</dt>
                <dd>{person_line(&account.secondary_contact)} {can_manage.then(|| clear_contact_form(id, "secondary", &account.secondary_contact))}</dd>
            </dl>
        </section>
        <section aria-labelledby="users-heading">
            <h2 id="users-heading">"Users"</h2>
            {can_manage.then(|| view! {
                <p><a class="button button--secondary" href=format!("/staff/accounts/{id}/import")>"Bulk add users (CSV)"</a></p>
                <details class="panel">
                    <summary>"Add a user"</summary>
                    <AddUserForm account_id=id return_to=format!("{here}?done=Invitation%20sent.")/>
                </details>
            })}
            <form method="get" action=here.clone() class="search-form" role="search">
                <div class="form-group">
                    <label class="label" for="q">"Search by name or email"</label>
                    <input class="input" id="q" name="q" type="search"/>
                </div>
                <button type="submit" class="button button--secondary">"Search"</button>
            </form>
            <ListTable caption="Users of this account" columns=Column::all(&["Name", "Email", "Status", "Administrator", "Contact", "Last sign-in", "Actions"])>
                        {users.rows.into_iter().map(|u| {
                            let actions = can_manage.then(|| staff_row_actions(id, &u, &account));
                            view! {
                                <tr>
                                    <td data-label="Name">{format!("{} {}", u.first_name, u.last_name)}</td>
                                    <td data-label="Email">{u.email.clone()}</td>
                                    <td data-label="Status"><UserStatusBadge status=u.status dormant=u.dormant/></td>
                                    <td data-label="Administrator">{if u.is_admin { "Yes" } else { "No" }}</td>
                                    <td data-label="Contact">{u.contact_role.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td data-label="Last sign-in">{format_time(u.last_sign_in_at)}</td>
                                    <td data-label="Actions" class="actions">{actions}</td>
                                </tr>
                            }
                        }).collect_view()}
            </ListTable>
            <Pagination base=here current pages/>
        </section>
    }
}

/// Everything a platform admin can do to one user of the account, each with a reason.
fn staff_row_actions(
    account_id: i64,
    u: &AccountUserRow,
    account: &AccountDetail,
) -> impl IntoView {
    let name = format!("{} {}", u.first_name, u.last_name);
    let mut actions: Vec<AnyView> = Vec::new();
    let access = |change: &'static str, label: String| {
        view! {
            <details class="confirm">
                <summary>{label.clone()}</summary>
                <form method="post" action=ChangeAccess::PATH class="inline-form" novalidate>
                    <input type="hidden" name="user_id" value=u.id.to_string()/>
                    <input type="hidden" name="change" value=change/>
                    <StaffReasonFields/>
                    <button type="submit" class="button button--secondary button--small">{format!("Yes, {}", label.to_lowercase())}</button>
                </form>
            </details>
        }
        .into_any()
    };
    if u.status == UserStatus::Invited {
        actions.push(invitation_actions(u.id, &name, true).into_any());
    }
    if u.status == UserStatus::Disabled {
        actions.push(access("enable", format!("Re-enable {name}")));
    } else {
        actions.push(access("disable", format!("Disable {name}")));
    }
    if u.is_admin {
        actions.push(access(
            "revoke_admin",
            format!("Remove administrator: {name}"),
        ));
    } else if u.status != UserStatus::Disabled {
        actions.push(access(
            "grant_admin",
            format!("Make {name} an administrator"),
        ));
    }
    if u.has_second_factor {
        actions.push(access(
            "reset_second_factor",
            format!("Reset second factor: {name}"),
        ));
    }
    if u.status == UserStatus::Active {
        actions.push(access(
            "sign_out_everywhere",
            format!("Sign {name} out everywhere"),
        ));
    }
    if u.status != UserStatus::Disabled {
        for (role, current) in [
            ("primary", &account.primary_contact),
            ("secondary", &account.secondary_contact),
        ] {
            if current.as_ref().map(|p| p.id) == Some(u.id) || u.contact_role.is_some() {
                continue;
            }
            actions.push(contact_form(account_id, role, Some(u.id), &name, current).into_any());
        }
    }
    if u.status == UserStatus::Active {
        actions.push(view! {
            <details class="confirm">
                <summary>{format!("Impersonate {name}")}</summary>
                <form method="post" action=Impersonate::PATH class="inline-form" novalidate>
                    <input type="hidden" name="user_id" value=u.id.to_string()/>
                    <p>{format!("See the portal exactly as {name} does. Everything you do is recorded with both your names.")}</p>
                    <StaffReasonFields/>
                    <button type="submit" class="button button--secondary button--small">{format!("Yes, impersonate {name}")}</button>
                </form>
            </details>
        }.into_any());
    }
    actions.into_iter().collect_view()
}

/// Set (`user_id`) or clear a contact; asks whether the person replaced stays an administrator.
fn contact_form(
    account_id: i64,
    role: &'static str,
    user_id: Option<i64>,
    name: &str,
    current: &Option<PersonRef>,
) -> impl IntoView {
    let label = match user_id {
        Some(_) => format!("Make {name} the {role} contact"),
        None => format!("Clear the {role} contact"),
    };
    let made_admin = user_id
        .map(|_| format!("{name} becomes an administrator of the account if not one already."));
    let ask = current.as_ref().map(|p| {
        let p_name = p.name.clone();
        view! {
            <fieldset class="form-group">
                <legend>{format!("Should {p_name}, the current {role} contact, stay an administrator?")}</legend>
                <label><input type="radio" name="previous_stays_admin" value="yes" checked/>" Yes, keep administrator rights"</label>
                <label><input type="radio" name="previous_stays_admin" value="no"/>" No, remove administrator rights"</label>
            </fieldset>
        }
    });
    view! {
        <details class="confirm">
            <summary>{label.clone()}</summary>
            <form method="post" action=SetContact::PATH class="inline-form" novalidate>
                <input type="hidden" name="account_id" value=account_id.to_string()/>
                <input type="hidden" name="role" value=role/>
                <input type="hidden" name="user_id" value=user_id.map(|id| id.to_string()).unwrap_or_default()/>
                {made_admin.map(|text| view! { <p>{text}</p> })}
                {ask}
                <StaffReasonFields/>
                <button type="submit" class="button button--secondary button--small">{format!("Yes, {}", label.to_lowercase())}</button>
            </form>
        </details>
    }
}

fn clear_contact_form(
    account_id: i64,
    role: &'static str,
    current: &Option<PersonRef>,
) -> Option<AnyView> {
    current
        .as_ref()
        .map(|p| contact_form(account_id, role, None, &p.name, current).into_any())
}
