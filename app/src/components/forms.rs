//! Form pieces in the GOV.UK pattern: an error summary at the top linking to each field, and per
//! field: label → hint → error → input.

use crate::error::AppError;
use crate::model::forms::RefusedForm;
use leptos::prelude::*;
use std::sync::Arc;

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

/// The refused form the page was loaded with (see [`crate::model::forms::RefusedForm`]). Pages
/// are rendered on the server alone (only islands run in the browser), so it is read there, from
/// the request.
#[derive(Clone)]
pub struct Refused(pub Option<Arc<RefusedForm>>);

/// Provides [`Refused`] for the page being rendered.
pub fn provide_refused() {
    #[cfg(feature = "ssr")]
    let loaded =
        crate::server::request::parts().and_then(|p| p.extensions.get::<RefusedForm>().cloned());
    #[cfg(not(feature = "ssr"))]
    let loaded = None::<RefusedForm>;
    provide_context(Refused(loaded.map(Arc::new)));
}

/// What the server answered a form: its problems, and after a refused plain post, what was typed
/// (so the form comes back as it was sent). Fields read both from it.
#[derive(Clone, Copy)]
pub struct FormAnswer {
    error: Memo<Option<AppError>>,
    kept: Memo<Option<Arc<RefusedForm>>>,
}

impl FormAnswer {
    /// The problems, if any (reactive).
    pub fn get(&self) -> Option<AppError> {
        self.error.get()
    }

    /// What was typed in field `name` when this form was refused.
    pub fn kept(&self, name: &str) -> Option<String> {
        self.kept
            .get_untracked()
            .and_then(|form| form.value(name).map(str::to_string))
    }

    /// Whether the refused form had `name` sent as `value` (a ticked box, a chosen radio button).
    pub fn chosen(&self, name: &str, value: &str) -> bool {
        self.kept
            .get_untracked()
            .is_some_and(|form| form.sent(name, value))
    }

    /// The same answer for the one form among several of one server function on a page whose
    /// hidden fields are `hidden` (a step form per step, an entry form per entry).
    pub fn of_form(self, hidden: Vec<(&'static str, String)>) -> FormAnswer {
        let kept = self.kept;
        let kept = Memo::new(move |_| {
            kept.get()
                .filter(|form| hidden.iter().all(|(name, value)| form.sent(name, value)))
        });
        let error = self.error;
        FormAnswer {
            error: Memo::new(move |_| kept.with(Option::is_some).then(|| error.get()).flatten()),
            kept,
        }
    }
}

/// The answer of a form whose component sends it itself (in the browser, as a passkey form
/// does): the problems it last set in `problem`. Nothing typed is kept for it.
pub fn answer_of(problem: RwSignal<Option<AppError>>) -> FormAnswer {
    FormAnswer {
        error: Memo::new(move |_| problem.get()),
        kept: Memo::new(|_| None),
    }
}

/// The refused form of server function `path`, when the page was loaded with one.
fn refused_form(path: &'static str) -> Memo<Option<Arc<RefusedForm>>> {
    let refused = use_context::<Refused>().and_then(|r| r.0);
    Memo::new(move |_| refused.clone().filter(|form| form.server_fn == path))
}

/// The contents of a `<textarea>` as HTML, for its `inner_html`. Leptos writes a textarea's text
/// children into the server-rendered page unescaped, so `</textarea>` in stored text would end the
/// element and entities would be decoded on the way back; escaped, the browser shows — and submits
/// — exactly the stored text.
pub fn textarea_html(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// The answer to a plain HTML form post of server function `path`: the server keeps a refused
/// post's problems and fields for the page it sends the browser back to (never in the URL), so
/// forms report errors and keep what was typed without WASM.
pub fn form_answer(path: &'static str) -> FormAnswer {
    let kept = refused_form(path);
    FormAnswer {
        error: Memo::new(move |_| kept.with(|k| k.as_ref().map(|form| form.error.clone()))),
        kept,
    }
}

/// The notice that what someone just did worked (a status screen readers announce), shown while
/// `when` holds: usually a flag the form's redirect put in the URL.
#[component]
pub fn Done(when: impl Fn() -> bool + Send + Sync + 'static, text: &'static str) -> impl IntoView {
    view! {
        <Show when=when>
            <div class="notice notice--success" role="status">{text}</div>
        </Show>
    }
}

/// "There is a problem" box at the top of a form. Focused when it appears — on arrival (a plain
/// post came back) and when a form submitted in place is answered — so screen readers announce
/// it and the person sees it, wherever the button they pressed was.
#[component]
pub fn ErrorSummary(error: FormAnswer) -> impl IntoView {
    let summary = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if error.get().is_some() {
            if let Some(el) = summary.get() {
                let _ = el.focus();
            }
        }
    });
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
                <div class="error-summary" role="alert" tabindex="-1" autofocus node_ref=summary>
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
    error: FormAnswer,
) -> impl Fn() -> Vec<String> + Copy + Send + Sync + 'static {
    move || error.get().map(|e| e.for_field(name)).unwrap_or_default()
}

/// A field's `aria-describedby`: its hint, if it has one, and its error while one is shown.
fn described_by(
    name: &'static str,
    has_hint: bool,
    error: FormAnswer,
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
    error: FormAnswer,
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
    error: FormAnswer,
) -> impl IntoView {
    let messages = messages_for(name, error);
    let value = error.kept(name).or(value);
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
pub fn NewPasswordFields(error: FormAnswer) -> impl IntoView {
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
    /// What the field starts with (editing something that exists).
    #[prop(optional, into)]
    value: Option<String>,
    error: FormAnswer,
) -> impl IntoView {
    let messages = messages_for(name, error);
    let text = textarea_html(&error.kept(name).or(value).unwrap_or_default());
    view! {
        <FieldGroup name label hint error>
            <textarea class="input" id=name name=name rows=rows.to_string()
                aria-invalid=move || (!messages().is_empty()).to_string()
                aria-describedby=described_by(name, hint.is_some(), error)
                inner_html=text></textarea>
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
    error: FormAnswer,
) -> impl IntoView {
    let messages = messages_for(name, error);
    let selected = error.kept(name).filter(|v| !v.is_empty()).or(selected);
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

/// A fresh idempotency key for a create form's hidden `form_key` field: the server makes one
/// record per key, so a double click or a resent request files nothing twice. Forms are rendered
/// on the server, which makes the key.
pub fn new_form_key() -> String {
    #[cfg(feature = "ssr")]
    {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}
