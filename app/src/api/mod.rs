//! Server functions, one file per area. Each is thin: who is asking → may they → parse input →
//! one call into `server` → map the result.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod catalog;
pub mod changes;
pub mod communications;
pub mod imports;
pub mod kb;
pub mod staff;
pub mod users;

/// Page size of every list.
pub const PER_PAGE: i64 = 50;

/// The last page any list shows (counts stop at 10,000 rows, 200 pages of 50): a page number beyond
/// it — or beyond what an integer holds — shows the last one instead of scanning ever deeper.
pub const MAX_PAGE: i64 = 200;

/// The page asked for, within 1..=[`MAX_PAGE`].
pub fn page_number(page: Option<i64>) -> i64 {
    page.unwrap_or(1).clamp(1, MAX_PAGE)
}

/// Finishes a server function: on failure, sets the HTTP status that matches the error (except for
/// plain HTML form posts, which are answered with a redirect carrying the error).
#[cfg(feature = "ssr")]
pub async fn respond<T>(
    work: impl std::future::Future<Output = Result<T, crate::error::AppError>>,
) -> Result<T, crate::error::AppError> {
    let result = work.await;
    if let Err(err) = &result {
        let form_post = crate::server::request::parts()
            .is_some_and(|p| crate::server::request::is_form_navigation(&p));
        if !form_post {
            if let (Some(options), Ok(status)) = (
                leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
                http::StatusCode::from_u16(err.status()),
            ) {
                options.set_status(status);
            }
        }
    }
    result
}
