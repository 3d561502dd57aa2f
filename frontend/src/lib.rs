#![recursion_limit = "512"]
//! The browser half: hydrates the server-rendered page.

mod behaviour;
mod uploads;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    behaviour::install();
    leptos::mount::hydrate_body(app::App);
    // Interactive from here: what tests and the time-to-interactive measurement wait for.
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        if let Some(document) = root.owner_document() {
            uploads::reveal(&document);
        }
        let _ = root.set_attribute("data-hydrated", "");
    }
}
