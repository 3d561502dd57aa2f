//! Form pieces in the GOV.UK pattern: an error summary at the top linking to each field, and per
//! field: label → hint → error → input.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use server_fn::error::ServerFnUrlError;

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

/// A labelled input with optional hint and the field's own error messages.
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    error: Memo<Option<AppError>>,
) -> impl IntoView {
    let messages = move || error.get().map(|e| e.for_field(name)).unwrap_or_default();
    let invalid = move || !messages().is_empty();
    let hint_id = format!("{name}-hint");
    let error_id = format!("{name}-error");
    let described_by = {
        let hint_id = hint_id.clone();
        let error_id = error_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if invalid() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="form-group" class:form-group--error=invalid>
            <label class="label" for=name>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <Show when=invalid>
                <p class="field-error" id=error_id.clone()>
                    {move || messages().into_iter().map(|m| view! { <span>{m}</span> }).collect_view()}
                </p>
            </Show>
            <input
                class="input"
                id=name
                name=name
                type=kind
                autocomplete=autocomplete
                aria-invalid=move || invalid().to_string()
                aria-describedby=described_by
            />
        </div>
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
    let messages = move || error.get().map(|e| e.for_field(name)).unwrap_or_default();
    let invalid = move || !messages().is_empty();
    let hint_id = format!("{name}-hint");
    let error_id = format!("{name}-error");
    let described_by = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if invalid() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="form-group" class:form-group--error=invalid>
            <label class="label" for=name>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <Show when=invalid>
                <p class="field-error" id=error_id.clone()>
                    {move || messages().into_iter().map(|m| view! { <span>{m}</span> }).collect_view()}
                </p>
            </Show>
            <select class="input" id=name name=name aria-invalid=move || invalid().to_string()
                aria-describedby=described_by>
                {placeholder.map(|p| view! { <option value="" selected=selected.is_none()>{p}</option> })}
                {options.into_iter().map(|(value, text)| {
                    let chosen = selected.as_deref() == Some(value.as_str());
                    view! { <option value=value selected=chosen>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}
