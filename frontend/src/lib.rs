#![recursion_limit = "512"]
//! The browser half: the page's islands (`#[island]` components of the `app` crate, hydrated by
//! the page's loader script) and files uploaded ahead of a form. (What every page with a form
//! shares — a form being sent is held — is in the loader itself, so those pages need no WASM.)

mod uploads;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The loader hydrates each island after this; they share the reactive owner made here.
    leptos::mount::hydrate_islands();
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        uploads::install(&document);
        uploads::reveal(&document);
    }
}
