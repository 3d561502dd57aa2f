//! Server functions, one file per area. Each is thin: who is asking → may they → parse input →
//! one call into `server` → map the result.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod catalog;
pub mod changes;
pub mod communications;
pub mod home;
pub mod imports;
pub mod kb;
pub mod mail;
pub mod provisioning;
pub mod reviews;
pub mod security;
pub mod sso;
pub mod staff;
pub mod users;

pub use crate::model::{page_number, MAX_PAGE, PER_PAGE};

/// Finishes a server function: on failure, sets the HTTP status that matches the error (except for
/// plain HTML form posts, which are answered with a redirect carrying the error). The work runs in a
/// `server_fn` span naming the endpoint (and, once known, the user), so a slow request can be
/// followed through every operation it calls.
#[cfg(feature = "ssr")]
pub async fn respond<T>(
    work: impl std::future::Future<Output = Result<T, crate::error::AppError>>,
) -> Result<T, crate::error::AppError> {
    use tracing::Instrument;
    let parts = crate::server::request::parts();
    let endpoint = parts
        .as_ref()
        .and_then(crate::server::request::server_fn_endpoint)
        .unwrap_or_default();
    let span = tracing::info_span!("server_fn", %endpoint, user_id = tracing::field::Empty);
    let result = work.instrument(span).await;
    if let Err(err) = &result {
        let form_post = parts
            .as_ref()
            .is_some_and(crate::server::request::is_form_navigation);
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

/// Opens a server function anyone may call: the portal's state, and who is asking if anybody is
/// (an impersonation only where the policy module lets it read).
#[cfg(feature = "ssr")]
pub async fn anyone<T, F, Fut>(work: F) -> Result<T, crate::error::AppError>
where
    F: FnOnce(crate::server::AppState, Option<crate::model::Actor>) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::error::AppError>>,
{
    respond(async move {
        let state = crate::server::state::state()?;
        let actor = crate::server::session::maybe_actor().await?;
        if let Some(actor) = &actor {
            tracing::Span::current().record("user_id", actor.user_id);
            // Impersonation is view-only: a server function that changes something is refused
            // before it touches data.
            if actor.impersonator_id.is_some() {
                if let Some(endpoint) = crate::server::request::parts()
                    .and_then(|p| crate::server::request::server_fn_endpoint(&p))
                {
                    crate::policy::allowed_while_impersonating(&endpoint)?;
                }
            }
        }
        work(state, actor).await
    })
    .await
}

/// Opens a server function for a signed-in person (401 for nobody): the state and who is asking,
/// as the session says. What they may do is the policy module's to decide, inside `work`.
#[cfg(feature = "ssr")]
pub async fn signed_in<T, F, Fut>(work: F) -> Result<T, crate::error::AppError>
where
    F: FnOnce(crate::server::AppState, crate::model::Actor) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::error::AppError>>,
{
    anyone(|state, actor| async move {
        let actor = actor.ok_or(crate::error::AppError::Unauthorized)?;
        work(state, actor).await
    })
    .await
}

/// Opens a server function for a signed-in person the policy module permits `action` (401 for
/// nobody, 403 for anyone else).
#[cfg(feature = "ssr")]
pub async fn permitted<T, F, Fut>(
    action: crate::policy::Action,
    work: F,
) -> Result<T, crate::error::AppError>
where
    F: FnOnce(crate::server::AppState, crate::model::Actor) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::error::AppError>>,
{
    signed_in(|state, actor| async move {
        crate::policy::can(&actor, action)?;
        work(state, actor).await
    })
    .await
}
