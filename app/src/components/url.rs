//! What a page reads from its URL: path parameters, list filters kept in the query string, and
//! the `?saved=1`-style flags a form's redirect leaves so the page can say what just happened.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The query parameter `name`, "" when absent.
pub fn query_value(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.with(|q| q.get_str(name).unwrap_or_default().to_string())
}

/// Whether the query parameter `name` is `1`.
pub fn query_flag(name: &'static str) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.with(|q| q.get_str(name) == Some("1"))
}

/// The path parameter `name` (`/cases/:number`), "" when absent.
pub fn path_value(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.with(|p| p.get_str(name).unwrap_or_default().to_string())
}

/// The path parameter `name` as an id; 0 (which no row has) when absent or not a number.
pub fn path_id(name: &'static str) -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || {
        params.with(|p| {
            p.get_str(name)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        })
    }
}

/// The query parameter `name` as an id, `None` when absent or not a number.
pub fn query_id(name: &'static str) -> impl Fn() -> Option<i64> + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.with(|q| q.get_str(name).and_then(|v| v.parse::<i64>().ok()))
}
