#![recursion_limit = "512"]
//! The browser half: the page's islands (`#[island]` components of the `app` crate, hydrated by
//! the page's loader script) and the behaviour every page with a form shares.

mod behaviour;
mod uploads;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    behaviour::install();
    // The loader hydrates each island after this; they share the reactive owner made here.
    leptos::mount::hydrate_islands();
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        uploads::reveal(&document);
    }
}
