//! Form pieces in the GOV.UK pattern: an error summary at the top linking to each field, and per
//! field: label → hint → error → input.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use server_fn::error::ServerFnUrlError;
use server_fn::ServerFn;

/// The entries of a pick list as a select field's (value, label) options.
pub fn pairs(list: &[crate::model::Choice]) -> Vec<(String, String)> {
    list.iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect()
}

/// Texts that are their own labels (an account's environments) as a select field's options.
pub fn same_pairs(list: &[String]) -> Vec<(String, String)> {
    list.iter().map(|e| (e.clone(), e.clone())).collect()
}

/// The error a form built on `action` shows: the action's last answer when it submitted in place
/// (with WASM), else the one a plain post brought back in the URL (see [`url_error`]).
pub fn action_error<S>(action: ServerAction<S>) -> Memo<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + 'static,
{
    let from_url = url_error(S::PATH);
    Memo::new(move |_| {
        action
            .value()
            .with(|answer| match answer {
                Some(Err(e)) => Some(e.clone()),
                _ => None,
            })
            .or_else(|| from_url.get())
    })
}

/// The contents of a `<textarea>` as HTML, for its `inner_html`. Leptos writes a textarea's text
/// children into the server-rendered page unescaped, so `</textarea>` in stored text would end the
/// element and entities would be decoded on the way back; escaped, the browser shows — and submits
/// — exactly the stored text, on the server-rendered page and after hydration alike.
pub fn textarea_html(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// The error a plain HTML form post of server function `path` came back with: the server encodes
/// it in the URL it redirects to (`__path`, `__err`), so forms report errors without WASM.
pub fn url_error(path: &'static str) -> Memo<Option<AppError>> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            if q.get_str("__path") != Some(path) {
                return None;
            }
            q.get_str("__err")
                .map(|err| ServerFnUrlError::<AppError>::decode_err(err))
        })
    })
}

/// "There is a problem" box at the top of a form. Focused on arrival so screen readers announce it.
#[component]
pub fn ErrorSummary(error: Memo<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|err| {
            let items = match &err {
                AppError::Validation(fields) => fields
                    .iter()
                    .map(|f| {
                        let href = format!("#{}", f.field);
                        view! { <li><a href=href>{f.message.clone()}</a></li> }
                    })
                    .collect_view()
                    .into_any(),
                other => view! { <li>{other.to_string()}</li> }.into_any(),
            };
            view! {
                <div class="error-summary" role="alert" tabindex="-1" autofocus>
                    <h2 class="error-summary__title">"There is a problem"</h2>
                    <ul>{items}</ul>
                </div>
            }
        })
    }
}

/// The messages the server gave for field `name`.
fn messages_for(
    name: &'static str,
    error: Memo<Option<AppError>>,
) -> impl Fn() -> Vec<String> + Copy + Send + Sync + 'static {
    move || error.get().map(|e| e.for_field(name)).unwrap_or_default()
}

/// A field's `aria-describedby`: its hint, if it has one, and its error while one is shown.
fn described_by(
    name: &'static str,
    has_hint: bool,
    error: Memo<Option<AppError>>,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    let messages = messages_for(name, error);
    move || {
        let mut ids = Vec::new();
        if has_hint {
            ids.push(format!("{name}-hint"));
        }
        if !messages().is_empty() {
            ids.push(format!("{name}-error"));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// The frame of one field: label → hint → the field's own error messages → the control.
#[component]
fn FieldGroup(
    name: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    error: Memo<Option<AppError>>,
    children: Children,
) -> impl IntoView {
    let messages = messages_for(name, error);
    let invalid = move || !messages().is_empty();
    view! {
        <div class="form-group" class:form-group--error=invalid>
            <label class="label" for=name>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=format!("{name}-hint")>{h}</p> })}
            <Show when=invalid>
                <p class="field-error" id=format!("{name}-error")>
                    {move || messages().into_iter().map(|m| view! { <span>{m}</span> }).collect_view()}
                </p>
            </Show>
            {children()}
        </div>
    }
}

/// A labelled input with optional hint and the field's own error messages.
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    /// What the field starts with (editing something that exists).
    #[prop(optional, into)]
    value: Option<String>,
    error: Memo<Option<AppError>>,
) -> impl IntoView {
    let messages = messages_for(name, error);
    view! {
        <FieldGroup name label hint error>
            <input
                class="input"
                id=name
                name=name
                type=kind
                value=value
                autocomplete=autocomplete
                aria-invalid=move || (!messages().is_empty()).to_string()
                aria-describedby=described_by(name, hint.is_some(), error)
            />
        </FieldGroup>
    }
}

/// The new password and its confirmation, as every form that sets a password asks for them.
#[component]
pub fn NewPasswordFields(error: Memo<Option<AppError>>) -> impl IntoView {
    view! {
        <Field name="new_password" label="New password" kind="password"
            autocomplete="new-password"
            hint="At least 12 characters. Common or easily guessed passwords are refused."
            error/>
        <Field name="confirm_password" label="Confirm new password" kind="password"
            autocomplete="new-password" error/>
    }
}

/// A labelled multi-line text field with optional hint and the field's own error messages.
#[component]
pub fn TextAreaField(
    name: &'static str,
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 4)] rows: u32,
    error: Memo<Option<AppError>>,
) -> impl IntoView {
    let messages = messages_for(name, error);
    view! {
        <FieldGroup name label hint error>
            <textarea class="input" id=name name=name rows=rows.to_string()
                aria-invalid=move || (!messages().is_empty()).to_string()
                aria-describedby=described_by(name, hint.is_some(), error)></textarea>
        </FieldGroup>
    }
}

/// A labelled select with optional hint, an optional empty first choice (`placeholder`) and the
/// field's own error messages.
#[component]
pub fn SelectField(
    name: &'static str,
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    options: Vec<(String, String)>,
    #[prop(optional)] selected: Option<String>,
    error: Memo<Option<AppError>>,
) -> impl IntoView {
    let messages = messages_for(name, error);
    view! {
        <FieldGroup name label hint error>
            <select class="input" id=name name=name
                aria-invalid=move || (!messages().is_empty()).to_string()
                aria-describedby=described_by(name, hint.is_some(), error)>
                {placeholder.map(|p| view! { <option value="" selected=selected.is_none()>{p}</option> })}
                {options.into_iter().map(|(value, text)| {
                    let chosen = selected.as_deref() == Some(value.as_str());
                    view! { <option value=value selected=chosen>{text}</option> }
                }).collect_view()}
            </select>
        </FieldGroup>
    }
}

/// A copy of `source` that follows it only after it has been still for `delay`: what a search
/// while typing or a live preview listens to, so each keystroke does not become a request. On
/// the server (no effects run) it keeps the first value.
pub fn debounced(source: Signal<String>, delay: std::time::Duration) -> ReadSignal<String> {
    let (out, set_out) = signal(source.get_untracked());
    let pending: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);
    Effect::new(move |_| {
        let value = source.get();
        if let Some(handle) = pending.try_get_value().flatten() {
            handle.clear();
        }
        // The page may be gone when the timer fires: `try_` leaves a disposed signal alone.
        let handle = set_timeout_with_handle(
            move || {
                if out
                    .try_get_untracked()
                    .is_some_and(|current| current != value)
                {
                    set_out.try_set(value);
                }
            },
            delay,
        )
        .ok();
        pending.try_set_value(handle);
    });
    on_cleanup(move || {
        if let Some(handle) = pending.try_get_value().flatten() {
            handle.clear();
        }
    });
    out
}
