//! Behaviour every page shares once the script has loaded, written against the DOM because it
//! belongs to no component: a form being sent shows it and refuses a second submit; links within
//! the page (the skip link, an error summary's links) move focus to what they point at; a page
//! restored from the browser's back-forward cache takes its forms out of "sending".

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, HtmlElement, HtmlFormElement, MouseEvent};

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
    listen(&document, "click", true, on_click);
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

/// A link to `#id` on this page focuses element `id` (made focusable for the moment if it is not
/// a control) instead of only scrolling to it, so keyboard and screen-reader users land there.
fn on_click(event: Event) {
    let Some(mouse) = event.dyn_ref::<MouseEvent>() else {
        return;
    };
    if mouse.button() != 0 || mouse.ctrl_key() || mouse.meta_key() || mouse.shift_key() {
        return;
    }
    let Some(link) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("a[href^='#']").ok().flatten())
    else {
        return;
    };
    let Some(id) = link
        .get_attribute("href")
        .and_then(|h| h.strip_prefix('#').map(str::to_string))
        .filter(|id| !id.is_empty())
    else {
        return;
    };
    let Some(target) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&id))
        .and_then(|el| el.dyn_into::<HtmlElement>().ok())
    else {
        return;
    };
    event.prevent_default();
    event.stop_propagation();
    if target.tab_index() < 0 && !target.has_attribute("tabindex") {
        let _ = target.set_attribute("tabindex", "-1");
    }
    target.scroll_into_view();
    let _ = target.focus();
}
