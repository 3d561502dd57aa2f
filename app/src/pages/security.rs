//! Signing in with a second factor (`/sign-in/code`, `/sign-in/set-up`), a person's own security
//! page (`/account/security`: authenticator apps, recovery codes, sessions), the one-time page of
//! new recovery codes, and the vendor's staff sign-in rule (`/staff/sign-in`).

use crate::api::auth::SignOut;
use crate::api::security::{
    add_passkey, give_passkey, new_recovery_codes, passkey_options, second_step, security_page,
    setup_at_sign_in, sign_in_passkey_options, staff_sign_in_policy, AddApp, EndSession,
    FinishSignInSetup, GiveCode, RemoveApp, ReplaceRecoveryCodes, RequireForStaff,
};
use crate::components::forms::Done;
use crate::components::forms::{answer_of, form_answer, ErrorSummary, Field};
use crate::components::list::Loaded;
use crate::components::passkey;
use crate::components::time::format_time;
use crate::components::url::query_flag;
use crate::error::AppError;
use crate::model::security::{AppSetup, AuthenticatorApp, SecurityOverview, SessionLine};
use crate::pages::errors::ErrorPage;
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

/// "Start again": ends the half-way session and goes back to the sign-in form.
fn start_again() -> impl IntoView {
    view! {
        <form method="post" action=SignOut::PATH class="inline-form">
            <button type="submit" class="button button--secondary">"Start again"</button>
        </form>
    }
}

/// `/sign-in/code`: the second step of signing in — a passkey, a code from an authenticator app,
/// or a recovery code.
#[component]
pub fn SignInCodePage() -> impl IntoView {
    let error = form_answer(GiveCode::PATH);
    let step = Resource::new(|| (), |_| second_step());
    view! {
        <Title text="Confirm it is you"/>
        <div class="narrow">
            <h1>"Confirm it is you"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    // Whatever the step offers, a recovery code stays possible.
                    let (app, passkey) = step.await.unwrap_or((true, false));
                    view! {
                        <p class="lead">{match (app, passkey) {
                            (true, true) => "Your password was right. Use your passkey, or enter the six-digit code your authenticator app shows for this portal.",
                            (false, true) => "Your password was right. Use your passkey to finish signing in.",
                            _ => "Your password was right. Open your authenticator app and enter the six-digit code it shows for this portal.",
                        }}</p>
                        {passkey.then(|| view! { <PasskeySignIn/> })}
                        <ErrorSummary error/>
                        <form method="post" action=GiveCode::PATH class="form" novalidate>
                            <Field name="code" label=if app { "Code" } else { "Recovery code" } autocomplete="one-time-code"
                                hint=if app { "Lost your phone? Enter one of your recovery codes instead." } else { "No passkey at hand? Enter one of your recovery codes." } error/>
                            <button type="submit" class="button">"Continue"</button>
                        </form>
                    }
                })}
            </Suspense>
            <p class="link-line">"No code and no recovery codes? Ask your company's administrators to reset your second factor."</p>
            {start_again()}
        </div>
    }
}

/// "Use your passkey": the person's passkey answers the portal's challenge in the browser (an
/// island: this part of the page runs there).
#[island]
fn PasskeySignIn() -> impl IntoView {
    let problem = RwSignal::new(None::<AppError>);
    let error = answer_of(problem);
    let busy = RwSignal::new(false);
    let ready = passkey::interactive();
    let use_passkey = move |_| {
        passkey::run(problem, busy, async {
            let options = sign_in_passkey_options().await?;
            give_passkey(passkey::get(&options).await?).await
        });
    };
    view! {
        <section class="section" aria-labelledby="passkey-heading">
            <h2 id="passkey-heading">"Passkey"</h2>
            <ErrorSummary error/>
            <button type="button" id="credential" class="button" on:click=use_passkey
                disabled=move || !ready.get() || busy.get()>
                {move || if busy.get() { "Waiting for your passkey…" } else { "Use your passkey" }}
            </button>
            <noscript><p class="hint">"Passkeys need JavaScript, which is off in this browser. Enter a recovery code below instead."</p></noscript>
        </section>
        <h2>"Or enter a code"</h2>
    }
}

/// The QR code and the secret of an app being set up, with what to do with them.
#[component]
fn AppSetupSteps(setup: AppSetup) -> impl IntoView {
    view! {
        <ol class="steps">
            <li>"Install an authenticator app on your phone if you have none (any app for one-time codes works)."</li>
            <li>
                "In the app, add an account and scan this code:"
                <div class="qr" role="img" aria-label="QR code with the secret for your authenticator app" inner_html=setup.qr_svg></div>
                <p class="hint">"Cannot scan? Enter this key in the app instead: "
                    <code class="secret" data-secret=setup.secret>{setup.secret_grouped}</code></p>
            </li>
            <li>"Enter the six-digit code the app now shows."</li>
        </ol>
    }
}

/// `/sign-in/set-up`: a person whose account requires a second factor sets one up before going
/// further.
#[component]
pub fn SignInSetUpPage() -> impl IntoView {
    let setup = Resource::new(|| (), |_| setup_at_sign_in());
    let error = form_answer(FinishSignInSetup::PATH);
    view! {
        <Title text="Set up your second factor"/>
        <div class="narrow">
            <h1>"Set up your second factor"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match setup.await {
                        Ok(step) => view! {
                            <p class="lead">{format!("Welcome, {}. Your company requires a second factor: besides your password, a code from an app on your phone.", step.name)}</p>
                            <AppSetupSteps setup=step.setup/>
                            <ErrorSummary error/>
                            <form method="post" action=FinishSignInSetup::PATH class="form" novalidate>
                                <Field name="code" label="Code from the app" autocomplete="one-time-code" error/>
                                <button type="submit" class="button">"Turn on and continue"</button>
                            </form>
                            {start_again()}
                        }.into_any(),
                        Err(AppError::Unauthorized) | Err(AppError::Conflict(_)) => view! {
                            <p>"Signing in took too long, or you have not given your password yet."</p>
                            <p><a class="button" href="/">"Sign in"</a></p>
                        }.into_any(),
                        Err(error) => view! { <ErrorPage error/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// `/account/recovery-codes`: new recovery codes, shown once.
#[component]
pub fn RecoveryCodesPage() -> impl IntoView {
    let codes = Resource::new(|| (), |_| new_recovery_codes());
    view! {
        <Title text="Your recovery codes"/>
        <div class="narrow">
            <h1>"Your recovery codes"</h1>
            <Loaded resource=codes view=move |codes| match codes {
                Some(codes) => view! {
                    <div class="notice notice--success" role="status">"Your second factor is set up."</div>
                    <p class="lead">"If you lose your phone or your security key, each of these codes signs you in once in its place. "
                        "Keep them somewhere safe, such as your password manager. They are shown only now."</p>
                    <ul class="recovery-codes" aria-label="Recovery codes">
                        {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
                    </ul>
                    <p><a class="button" href="/account/security">"I have saved them"</a></p>
                }.into_any(),
                None => view! {
                    <p>"Recovery codes are shown only once, right after they are made. You can make new ones on your security page."</p>
                    <p><a class="button" href="/account/security">"Your security page"</a></p>
                }.into_any(),
            }/>
        </div>
    }
}

/// `/account/security`: the person's authenticator apps, recovery codes and sessions.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| security_page());
    let added = query_flag("added");
    let passkey_added = query_flag("passkey");
    let removed = query_flag("removed");
    let ended = query_flag("ended");
    view! {
        <Title text="Security"/>
        <h1>"Security"</h1>
        <p class="link-line"><a href="/account/password">"Change your password or time zone"</a></p>
        <Done when=added text="The authenticator app was added."/>
        <Done when=passkey_added text="The passkey was added."/>
        <Done when=removed text="The second factor was removed."/>
        <Done when=ended text="Signed out."/>
        <Loaded resource=overview view=move |o: SecurityOverview| view! {
            <SecondFactors apps=o.apps.clone() codes_left=o.recovery_codes_left required=o.required/>
            <AddAppSection setup=o.setup.clone() first=o.apps.is_empty()/>
            <AddPasskeySection/>
            <Sessions sessions=o.sessions.clone()/>
        }/>
    }
}

#[component]
fn SecondFactors(apps: Vec<AuthenticatorApp>, codes_left: i64, required: bool) -> impl IntoView {
    let remove_error = form_answer(RemoveApp::PATH);
    let codes_error = form_answer(ReplaceRecoveryCodes::PATH);
    let has_apps = !apps.is_empty();
    view! {
        <section class="section" aria-labelledby="factors-heading">
            <h2 id="factors-heading">"Second factor"</h2>
            <p>{match (has_apps, required) {
                (true, _) => "You sign in with your password and a second factor: a code from an authenticator app, or a passkey.",
                (false, true) => "Your account requires a second factor: add an authenticator app or a passkey below.",
                (false, false) => "You sign in with your password only. Add an authenticator app or a passkey to protect your account even if your password is stolen.",
            }}</p>
            <ErrorSummary error=remove_error/>
            {has_apps.then(|| view! {
                <table class="table">
                    <caption class="visually-hidden">"Your second factors"</caption>
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Kind"</th><th scope="col">"Added"</th><th scope="col">"Last used"</th><th scope="col">"Actions"</th></tr></thead>
                    <tbody>
                        {apps.into_iter().map(|a| {
                            let input_id = format!("remove-{}", a.id);
                            view! {
                                <tr>
                                    <td data-label="Name">{a.label.clone()}</td>
                                    <td data-label="Kind">{if a.passkey { "Passkey or security key" } else { "Authenticator app" }}</td>
                                    <td data-label="Added">{format_time(Some(a.created_at))}</td>
                                    <td data-label="Last used">{format_time(a.last_used_at)}</td>
                                    <td data-label="Actions">
                                        <details class="confirm">
                                            <summary>{format!("Remove {}", a.label)}</summary>
                                            <form method="post" action=RemoveApp::PATH class="inline-form" novalidate>
                                                <input type="hidden" name="id" value=a.id.to_string()/>
                                                <label class="label" for=input_id.clone()>"Your password"</label>
                                                <input class="input" id=input_id type="password" name="password" autocomplete="current-password"/>
                                                <button type="submit" class="button button--secondary button--small">{if a.passkey { "Remove passkey" } else { "Remove app" }}</button>
                                            </form>
                                        </details>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <h3 id="codes-heading">"Recovery codes"</h3>
                <p>{format!("{codes_left} of 10 unused. Each signs you in once if you lose your phone.")}</p>
                <ErrorSummary error=codes_error/>
                <form method="post" action=ReplaceRecoveryCodes::PATH class="inline-form" novalidate aria-labelledby="codes-heading">
                    <label class="label" for="codes-password">"Your password"</label>
                    <input class="input" id="codes-password" type="password" name="password" autocomplete="current-password"/>
                    <button type="submit" class="button button--secondary">"Make new recovery codes"</button>
                </form>
            })}
        </section>
    }
}

#[component]
fn AddAppSection(setup: AppSetup, first: bool) -> impl IntoView {
    let error = form_answer(AddApp::PATH);
    view! {
        <section class="section" aria-labelledby="add-app-heading">
            <h2 id="add-app-heading">{if first { "Add an authenticator app" } else { "Add another authenticator app" }}</h2>
            <AppSetupSteps setup/>
            <ErrorSummary error/>
            <form method="post" action=AddApp::PATH class="form" novalidate>
                <Field name="code" label="Code from the app" autocomplete="one-time-code" error/>
                <Field name="label" label="Name (optional)" hint="To tell your apps apart, such as \"Work phone\"." error/>
                <Field name="password" label="Your password" kind="password" autocomplete="current-password" error/>
                <button type="submit" class="button">"Add app"</button>
            </form>
        </section>
    }
}

/// Adding a passkey or security key: the password again and a name, then the browser asks the
/// authenticator to make one (an island: this part of the page runs in the browser).
#[island]
fn AddPasskeySection() -> impl IntoView {
    let problem = RwSignal::new(None::<AppError>);
    let error = answer_of(problem);
    let busy = RwSignal::new(false);
    let ready = passkey::interactive();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let fields = ["passkey_password", "passkey_label"];
        let Some([password, label]) = passkey::form_values(&ev, fields) else {
            return;
        };
        passkey::run(problem, busy, async move {
            let options = passkey_options(password, label)
                .await
                .map_err(passkey::on_passkey_fields)?;
            add_passkey(passkey::create(&options).await?).await
        });
    };
    view! {
        <section class="section" aria-labelledby="add-passkey-heading">
            <h2 id="add-passkey-heading">"Add a passkey or security key"</h2>
            <p>"A passkey is kept by your phone, your computer or a security key, and signs you in after your password with a touch or your fingerprint instead of a code."</p>
            <ErrorSummary error/>
            <form class="form" novalidate data-in-place="" data-pending=move || busy.get().then_some("") on:submit=add>
                <Field name="passkey_label" label="Name (optional)" hint="To tell your passkeys apart, such as \"Office laptop\"." error/>
                <Field name="passkey_password" label="Your password" kind="password" autocomplete="current-password" error/>
                <button type="submit" id="credential" class="button" disabled=move || !ready.get()>"Add passkey"</button>
            </form>
            <noscript><p class="hint">"Adding a passkey needs JavaScript, which is off in this browser."</p></noscript>
        </section>
    }
}

#[component]
fn Sessions(sessions: Vec<SessionLine>) -> impl IntoView {
    let error = form_answer(EndSession::PATH);
    let others = sessions.iter().filter(|s| !s.current).count();
    view! {
        <section class="section" aria-labelledby="sessions">
            <h2 id="sessions">"Where you are signed in"</h2>
            <ErrorSummary error/>
            <table class="table">
                <caption class="visually-hidden">"Your sessions"</caption>
                <thead><tr><th scope="col">"Device"</th><th scope="col">"Address"</th><th scope="col">"Signed in"</th><th scope="col">"Last used"</th><th scope="col">"Actions"</th></tr></thead>
                <tbody>
                    {sessions.into_iter().map(|s| view! {
                        <tr>
                            <td data-label="Device">{s.device.clone()}
                                {s.current.then(|| view! { " " <span class="badge">"This browser"</span> })}
                                {s.staff_name.clone().map(|n| view! { <span class="meta">{format!(" (vendor staff {n} viewing as you)")}</span> })}
                            </td>
                            <td data-label="Address">{s.client_addr.clone()}</td>
                            <td data-label="Signed in">{format_time(Some(s.created_at))}</td>
                            <td data-label="Last used">{format_time(Some(s.last_seen_at))}</td>
                            <td data-label="Actions">{if s.current {
                                // This browser signs out as everywhere else: session and cookie.
                                view! {
                                    <form method="post" action=SignOut::PATH class="inline-form">
                                        <button type="submit" class="button button--secondary button--small"
                                            aria-label="Sign out of this browser">"Sign out"</button>
                                    </form>
                                }.into_any()
                            } else {
                                view! {
                                    <form method="post" action=EndSession::PATH class="inline-form">
                                        <input type="hidden" name="id" value=s.id.clone()/>
                                        <button type="submit" class="button button--secondary button--small"
                                            aria-label=format!("Sign out {} ({})", s.device, s.client_addr)>"Sign out"</button>
                                    </form>
                                }.into_any()
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {(others > 0).then(|| view! {
                <form method="post" action=EndSession::PATH class="inline-form">
                    <button type="submit" class="button button--secondary">"Sign out everywhere else"</button>
                </form>
            })}
        </section>
    }
}

/// `/staff/sign-in`: whether all vendor staff must sign in with a second factor.
#[component]
pub fn StaffSignInPage() -> impl IntoView {
    let policy = Resource::new(|| (), |_| staff_sign_in_policy());
    let error = form_answer(RequireForStaff::PATH);
    let saved = query_flag("saved");
    view! {
        <Title text="Staff sign-in"/>
        <div class="narrow">
            <h1>"Staff sign-in"</h1>
            <Done when=saved text="Saved. The change is in the audit trail."/>
            <ErrorSummary error/>
            <Loaded resource=policy view=move |(staff, admins): (bool, bool)| view! {
                <p>{if staff {
                    "All vendor staff must sign in with an authenticator app as well as their password."
                } else {
                    "Agents may add an authenticator app, but are not required to."
                }}</p>
                <p class="hint">{if admins {
                    "Platform admins always need one (setting second_factor_platform_admins)."
                } else {
                    "Platform admins are not required to have one: the server's setting second_factor_platform_admins is off."
                }}</p>
                <form method="post" action=RequireForStaff::PATH class="inline-form">
                    <input type="hidden" name="required" value=if staff { "false" } else { "true" }/>
                    <button type="submit" class="button button--secondary">{if staff {
                        "Stop requiring a second factor of staff"
                    } else {
                        "Require a second factor of all staff"
                    }}</button>
                </form>
            }/>
        </div>
    }
}
