//! The browser's half of a passkey ceremony: it hands the server's options to the person's
//! authenticator (`navigator.credentials`) and gives back the authenticator's answer as JSON for
//! the server. The options and the answer travel in the WebAuthn JSON forms browsers read and
//! write themselves (`PublicKeyCredential.parse…FromJSON`, `toJSON`), so no binary juggling is
//! done here. A ceremony needs script: the server-rendered page keeps its button disabled until
//! the page is interactive.

use crate::error::AppError;
use leptos::prelude::*;

/// Whether the page is interactive yet (always `false` on the server): passkey buttons wait for
/// it.
pub fn interactive() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    ready
}

/// Makes a new passkey with `options` (the server's JSON); answers the new credential's JSON.
pub async fn create(options: &str) -> Result<String, AppError> {
    ceremony(options, "parseCreationOptionsFromJSON", "create").await
}

/// Asks the person's passkey to sign `options` (the server's JSON); answers the assertion's JSON.
pub async fn get(options: &str) -> Result<String, AppError> {
    ceremony(options, "parseRequestOptionsFromJSON", "get").await
}

/// Runs the ceremony `steps` in the browser: `busy` meanwhile, then on to the page it answers, or
/// its problem shown through `problem`.
pub fn run(
    problem: RwSignal<Option<AppError>>,
    busy: RwSignal<bool>,
    steps: impl std::future::Future<Output = Result<String, AppError>> + 'static,
) {
    problem.set(None);
    busy.set(true);
    leptos::task::spawn_local(async move {
        let answer = steps.await;
        busy.set(false);
        match answer {
            Ok(next) => go_to(&next),
            Err(e) => problem.set(Some(e)),
        }
    });
}

/// Goes on to `path` with a full page load (the session may have just changed).
pub fn go_to(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// The values of fields `names` of the form `event` submits (in the browser only).
pub fn form_values<const N: usize>(
    event: &leptos::ev::SubmitEvent,
    names: [&str; N],
) -> Option<[String; N]> {
    #[cfg(feature = "hydrate")]
    {
        use web_sys::wasm_bindgen::JsCast;
        let form: web_sys::HtmlFormElement = event.target()?.dyn_into().ok()?;
        let data = web_sys::FormData::new_with_form(&form).ok()?;
        Some(names.map(|name| data.get(name).as_string().unwrap_or_default()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (event, names);
        None
    }
}

/// The problems of a passkey form's password and name, on its own fields (`passkey_password`,
/// `passkey_label`): the security page has an authenticator app's form with the same fields.
pub fn on_passkey_fields(error: AppError) -> AppError {
    match error {
        AppError::Validation(fields) => AppError::Validation(
            fields
                .into_iter()
                .map(|mut f| {
                    f.field = format!("passkey_{}", f.field);
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

fn unsupported() -> AppError {
    AppError::Conflict(
        "This browser cannot use passkeys here. Use an authenticator app or a recovery code instead."
            .into(),
    )
}

#[cfg(feature = "hydrate")]
async fn ceremony(options: &str, parse: &str, method: &str) -> Result<String, AppError> {
    use js_sys::{Function, Object, Promise, Reflect, JSON};
    use web_sys::wasm_bindgen::{JsCast, JsValue};

    fn member(of: &JsValue, name: &str) -> Result<JsValue, AppError> {
        Reflect::get(of, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
            .ok_or_else(unsupported)
    }
    fn function(of: &JsValue, name: &str) -> Result<Function, AppError> {
        member(of, name)?.dyn_into().map_err(|_| unsupported())
    }

    let window: JsValue = web_sys::window().ok_or_else(unsupported)?.into();
    let class = member(&window, "PublicKeyCredential")?;
    let options = JSON::parse(options).map_err(|_| unsupported())?;
    let public_key = function(&class, parse)?
        .call1(&class, &member(&options, "publicKey")?)
        .map_err(|_| unsupported())?;
    let credentials = member(&member(&window, "navigator")?, "credentials")?;
    let request = Object::new();
    Reflect::set(&request, &JsValue::from_str("publicKey"), &public_key)
        .map_err(|_| unsupported())?;
    let promise: Promise = function(&credentials, method)?
        .call1(&credentials, &request)
        .and_then(|p| p.dyn_into().map_err(JsValue::from))
        .map_err(|_| unsupported())?;
    let credential = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|_| {
            AppError::Conflict(
                "The passkey did not answer: it was cancelled or took too long. Try again.".into(),
            )
        })?;
    let json = function(&credential, "toJSON")?
        .call0(&credential)
        .map_err(|_| unsupported())?;
    JSON::stringify(&json)
        .map(String::from)
        .map_err(|_| unsupported())
}

#[cfg(not(feature = "hydrate"))]
async fn ceremony(_options: &str, _parse: &str, _method: &str) -> Result<String, AppError> {
    Err(unsupported())
}
