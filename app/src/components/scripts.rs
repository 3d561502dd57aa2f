//! The one script tag of a page: it loads the browser half (WASM) only where the page has
//! something interactive, and then hydrates the page's islands — the only components that run in
//! the browser (`#[island]`); everything else is HTML from the server.
//!
//! Leptos's own `HydrationScripts` loads the bundle on every page; this is its islands loader
//! with that one decision added, so a page of text and links costs no script.

use leptos::prelude::*;

/// The loader, in `<head>`, under the page's script nonce.
#[component]
pub fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    // Outside islands nothing is hydrated, so the server writes no hydration markers.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let (js, wasm) = bundle_names(&options);
    let pkg = options.site_pkg_dir.to_string();
    let script = format!(
        "{}({:?}, {:?});",
        include_str!("islands.js"),
        format!("/{pkg}/{js}"),
        format!("/{pkg}/{wasm}")
    );
    let nonce = leptos::nonce::use_nonce();
    view! { <script type="module" nonce=nonce>{script}</script> }
}

/// The bundle's file names: fingerprinted in a built site, else as `cargo leptos` names them.
fn bundle_names(options: &LeptosOptions) -> (String, String) {
    let name = options.output_name.to_string();
    #[cfg(feature = "ssr")]
    if let Some((js, wasm)) = crate::server::assets::fingerprints().bundle() {
        return (format!("{name}.{js}.js"), format!("{name}.{wasm}.wasm"));
    }
    let wasm = if option_env!("LEPTOS_OUTPUT_NAME").is_some() {
        format!("{name}.wasm")
    } else {
        format!("{name}_bg.wasm")
    };
    (format!("{name}.js"), wasm)
}
