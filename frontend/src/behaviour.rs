//! Behaviour every page with a form shares once the bundle has loaded, written against the DOM
//! because it belongs to no component: a form being sent shows it and refuses a second submit; a
//! page restored from the browser's back-forward cache takes its forms out of "sending". (Links
//! within the page move focus through the page's loader script, which every page has.)

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, HtmlFormElement};

/// Installs the listeners, once, before hydration.
pub fn install() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(document) = window.document() else {
        return;
    };
    // Capture: seen before any form's own handler (an in-place form would send a second time).
    listen(&document, "submit", true, on_submit);
    listen(&window, "pageshow", false, |_| clear_pending());
    crate::uploads::install(&document);
}

fn listen(target: &web_sys::EventTarget, name: &str, capture: bool, handler: fn(Event)) {
    let callback = Closure::<dyn Fn(Event)>::new(handler);
    let _ = target.add_event_listener_with_callback_and_bool(
        name,
        callback.as_ref().unchecked_ref(),
        capture,
    );
    // Listeners of the whole page live as long as it does.
    callback.forget();
}

/// A form posting is marked `data-pending` (its submit buttons show it); a submit while it is
/// marked is refused. A plain post then leaves the page. A form that submits in place
/// (`data-in-place`) is marked by its own component while its request runs, and cleared when the
/// answer comes. Search forms (GET) are never held.
fn on_submit(event: Event) {
    let Some(form) = target_as::<HtmlFormElement>(&event) else {
        return;
    };
    if form.method().eq_ignore_ascii_case("get") {
        return;
    }
    // Files still uploading for it (`uploads`): sending now would leave them behind.
    if form.has_attribute("data-pending") || form.has_attribute("data-uploading") {
        event.prevent_default();
        event.stop_immediate_propagation();
        return;
    }
    if !form.has_attribute("data-in-place") {
        let _ = form.set_attribute("data-pending", "");
    }
}

/// The element an event happened on, as a `T` (a form, an input), if it is one.
pub(crate) fn target_as<T: JsCast>(event: &Event) -> Option<T> {
    event.target().and_then(|t| t.dyn_into::<T>().ok())
}

/// After the back button restores a page from the cache, its forms are no longer sending.
fn clear_pending() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(found) = document.query_selector_all("form[data-pending]:not([data-in-place])") {
        for i in 0..found.length() {
            if let Some(form) = found
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                let _ = form.remove_attribute("data-pending");
            }
        }
    }
}
