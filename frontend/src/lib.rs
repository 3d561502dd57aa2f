#![recursion_limit = "512"]
//! The browser half: hydrates the server-rendered page.

mod behaviour;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    behaviour::install();
    leptos::mount::hydrate_body(app::App);
}
