//! `/account/password`: change one's own password.

use crate::api::auth::{ChangePassword, SetTimeZone};
use crate::components::forms::Done;
use crate::components::forms::{form_answer, ErrorSummary, Field, NewPasswordFields};
use crate::components::time::TimeZoneSelect;
use crate::components::url::query_flag;
use crate::error::AppError;
use crate::me_resource;
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let me = me_resource();
    let error = form_answer(ChangePassword::PATH);
    let changed = query_flag("changed");
    let zone_saved = query_flag("zone");
    let zone_error = form_answer(SetTimeZone::PATH);
    view! {
        <Title text="Change your password"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! {
                        <div class="narrow">
                            <p><a href="/account/security">"← Security"</a></p>
                            <h1>"Change your password"</h1>
                            <Done when=changed
                                text="Your password was changed. Your other sessions have been signed out."/>
                            <ErrorSummary error/>
                            <form method="post" action=ChangePassword::PATH class="form" novalidate>
                                <Field name="current_password" label="Current password" kind="password"
                                    autocomplete="current-password" error/>
                                <NewPasswordFields error/>
                                <button type="submit" class="button">"Change password"</button>
                            </form>
                            <h2 id="zone-heading">"Your time zone"</h2>
                            <Done when=zone_saved text="Times are now shown in your new time zone."/>
                            <ErrorSummary error=zone_error/>
                            {(me.impersonated_by.is_none()).then(|| view! {
                                <form method="post" action=SetTimeZone::PATH class="form" novalidate aria-labelledby="zone-heading">
                                    <div class="form-group">
                                        <label class="label" for="time_zone">"Show times in"</label>
                                        <p class="hint">{format!("Currently {}.", me.time_zone)}</p>
                                        <TimeZoneSelect name="time_zone" selected=me.time_zone.clone()/>
                                    </div>
                                    <button type="submit" class="button button--secondary">"Save time zone"</button>
                                </form>
                            })}
                        </div>
                    }.into_any(),
                    Ok(None) => view! { <ErrorPage error=AppError::Unauthorized/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
