#![recursion_limit = "512"]
//! The Portcullis server: configuration, router, HTTP hardening, telemetry and background work.

pub mod anchor;
pub mod attachments;
pub mod config;
pub mod export;
pub mod imap;
pub mod imports;
pub mod layers;
pub mod mailer;
pub mod memory;
pub mod scim;
pub mod seed;
pub mod seed_kb;
pub mod sso;
pub mod telemetry;
pub mod unsubscribe;

use app::server::db::Db;
use app::server::search::SearchIndex;
use app::server::{AppState, Settings};
use app::{shell, App};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects to the database, applies migrations and builds the shared state, with this instance's
/// search index opened (its directory is locked while the portal runs).
pub async fn prepare(settings: Settings) -> Result<AppState, BoxError> {
    let search = SearchIndex::open(&settings.search_index_dir)?;
    prepare_with(settings, search).await
}

/// The same for administration commands: the search index directory is left to the portal that
/// may be running (an index in memory stands in).
pub async fn prepare_for_command(settings: Settings) -> Result<AppState, BoxError> {
    prepare_with(settings, SearchIndex::in_memory()).await
}

async fn prepare_with(settings: Settings, search: SearchIndex) -> Result<AppState, BoxError> {
    app::server::password::configure(
        settings.password_hashing_threads,
        settings.password_queue_seconds,
    );
    let statement_timeout = (settings.statement_timeout_seconds > 0)
        .then(|| Duration::from_secs(settings.statement_timeout_seconds));
    let db = Db::connect_with(
        settings.database_url.expose(),
        settings.database_max_connections,
        statement_timeout,
    )
    .await?;
    db.migrate().await?;
    let leptos = LeptosOptions::builder()
        .output_name("portcullis")
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .hash_files(app::server::assets::fingerprints().present())
        .site_addr(
            settings
                .listen
                .parse::<SocketAddr>()
                .unwrap_or_else(|_| ([127, 0, 0, 1], 3000).into()),
        )
        .build();
    let files = app::server::attachments::FileStore::from_settings(&settings)?;
    Ok(AppState {
        db,
        search,
        files,
        settings: Arc::new(settings),
        leptos,
    })
}

/// The whole HTTP surface: pages, server functions, assets, health and metrics.
pub fn router(state: AppState) -> Router {
    telemetry::prometheus();
    let routes = route_list();
    let leptos = state.leptos.clone();
    let mut router = Router::new();
    // With a listen address of its own, `/metrics` is not on the public one.
    if state.settings.metrics_listen.is_empty() {
        router = router.route("/metrics", get(metrics));
    }
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/export/users.csv", post(export::users_csv))
        .route("/export/audit.csv", post(export::audit_csv))
        .route("/export/access-review.csv", post(export::access_review_csv))
        .route("/export/access-review.pdf", post(export::access_review_pdf))
        .route("/staff/surveys/{id}/answers.csv", post(export::survey_csv))
        .nest("/scim/v2", scim::routes())
        .leptos_routes_with_context(&state, routes, || (), {
            let leptos = leptos.clone();
            move || shell(leptos.clone())
        })
        // A body over the limit is answered 413 before anything reads it.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            layers::MAX_BODY_BYTES,
        ))
        .route(
            "/staff/accounts/{id}/import",
            post(imports::upload).layer(axum::extract::DefaultBodyLimit::max(
                imports::MAX_UPLOAD_BYTES,
            )),
        )
        // Uploads stream to the file store and stop themselves at the configured limits.
        .route(
            "/attachments",
            post(attachments::stage).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/cases/{number}/attachments",
            post(attachments::attach).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/changes/{number}/attachments",
            post(attachments::attach_change).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/mail/unsubscribe/{token}",
            get(unsubscribe::confirm).post(unsubscribe::stop),
        )
        .route("/sso/callback", get(sso::callback))
        .route("/sso/go", get(sso::go))
        .route("/attachments/{token}", get(attachments::download))
        .route("/attachments/{token}/{name}", get(attachments::download))
        .fallback(static_or_not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::resolve_session,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.clone(),
            layers::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.clone(),
            layers::refuse_cross_site,
        ))
        .layer(axum::middleware::from_fn(layers::server_fn_error_status))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::keep_refused_forms,
        ))
        // Files are sent as they are: images and archives are compressed already, and a log of a
        // gigabyte is not worth a core.
        .layer(
            CompressionLayer::new().compress_when(
                DefaultPredicate::new()
                    .and(NotForContentType::const_new("application/octet-stream"))
                    .and(NotForContentType::IMAGES),
            ),
        )
        // A request still unanswered after this long gets 503 and its work is dropped (its
        // database statements end with it, or at the statement timeout). File transfers take as
        // long as the connection needs.
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(state.settings.request_timeout_seconds.max(1)),
            layers::deadline,
        ))
        .layer(axum::middleware::from_fn(layers::record_metrics))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The app's routes, generated once per process. Generating them renders the app with resource
/// loading suppressed process-wide, so doing it while another server in the same process renders a
/// page could stall that render (leptos issue 4773); once, before any server starts, is safe.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Built assets (`/pkg/…`, `/favicon.svg`) from the site root, or the "page not found" page.
///
/// Files are served by tower-http, outside Leptos: leptos_axum's own file handler builds its
/// reactive owner under whichever owner the worker thread last had current, so under concurrent
/// load a static file found a page's `ResponseOptions` and took that page's headers and status.
async fn static_or_not_found(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use tower::ServiceExt;
    if matches!(*req.method(), http::Method::GET | http::Method::HEAD) {
        let mut probe = axum::extract::Request::new(axum::body::Body::empty());
        *probe.method_mut() = req.method().clone();
        *probe.uri_mut() = req.uri().clone();
        *probe.headers_mut() = req.headers().clone();
        // The build leaves `.br` and `.gz` copies of the bundle, compressed at the formats'
        // highest levels: a quarter smaller than compressing on the fly, and no CPU per request.
        let files = tower_http::services::ServeDir::new(state.leptos.site_root.as_ref())
            .append_index_html_on_directories(false)
            .precompressed_br()
            .precompressed_gzip();
        let Ok(res) = files.oneshot(probe).await;
        if res.status() != StatusCode::NOT_FOUND {
            return res.map(axum::body::Body::new);
        }
    }
    let leptos = state.leptos.clone();
    let context_state = state.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(context_state.clone()),
        move || shell(leptos.clone()),
    );
    let mut res = render(req).await;
    if res.status() == StatusCode::OK {
        *res.status_mut() = StatusCode::NOT_FOUND;
    }
    res
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers within a second (a load balancer's probe must not hang while
/// the database is down).
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let answered = tokio::time::timeout(Duration::from_secs(1), state.db.ping()).await;
    if answered == Ok(true) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        telemetry::prometheus().render(),
    )
}

/// Serves `/metrics` alone on its own listener (`metrics_listen`).
pub async fn serve_metrics(listener: TcpListener) -> std::io::Result<()> {
    telemetry::prometheus();
    axum::serve(listener, Router::new().route("/metrics", get(metrics))).await
}

/// Removes expired sessions and old sign-in failures now and then, closes resolved cases and runs
/// the access reviews' schedule (starts, reminders, dormant access); and refreshes the query
/// planner's statistics every six hours, as the data grows (at start only those gone stale). Both are idempotent, so
/// several instances doing them at once is harmless.
pub fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        for round in 0u64.. {
            tick.tick().await;
            if round % 36 == 0 {
                let refreshed = if round == 0 {
                    state.db.analyze_stale().await
                } else {
                    state.db.analyze().await
                };
                if let Err(e) = refreshed {
                    tracing::warn!(error = %e, "refreshing the planner's statistics failed");
                }
            }
            if let Err(e) = housekeeping(&state).await {
                tracing::warn!(error = %e, "housekeeping failed");
            }
            match app::server::cases::auto_close(
                &state,
                state.settings.case_auto_close_days,
                app::server::now(),
            )
            .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "resolved cases closed automatically"),
                Err(e) => tracing::warn!(error = %e, "closing resolved cases failed"),
            }
            match app::server::reviews::schedule::run(&state, app::server::now()).await {
                Ok(round) if round == Default::default() => {}
                Ok(round) => tracing::info!(?round, "access reviews: scheduled work done"),
                Err(e) => tracing::warn!(error = %e, "the access reviews' scheduled work failed"),
            }
        }
    })
}

/// Keeps this instance's search index following the database: changes made through other
/// instances, gaps of the change sequence that filled, rebuilds asked for by `portcullis reindex`
/// (and the first build, at start). A search catches up by itself too; this keeps it ready.
pub fn spawn_search_feed(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state.search.catch_up(&state.db).await {
                tracing::warn!(error = %e, "the search index could not catch up");
            }
        }
    })
}

/// Has new attachments scanned by clamd (when `clamd_address` is set), every few seconds, in
/// every instance (a file two instances scan at once is simply marked twice alike).
pub fn spawn_scanner(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if !state.settings.scanning() {
        return None;
    }
    let state = state.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let address = state.settings.clamd_address.clone();
            match app::server::attachments::scan_pending(
                &state.db,
                &state.files,
                &address,
                app::server::now(),
            )
            .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(scanned = n, "attachments scanned for malware"),
                Err(e) => tracing::warn!(error = %e, "scanning attachments failed"),
            }
        }
    }))
}

/// Changes of the search feed are kept this long: an instance stopped for longer rebuilds its
/// index when it starts.
const SEARCH_CHANGES_KEPT_SECONDS: i64 = 7 * 86_400;

async fn housekeeping(state: &AppState) -> Result<(), sqlx::Error> {
    if let Err(e) = app::server::search::prune_changes(
        &state.db,
        app::server::now(),
        SEARCH_CHANGES_KEPT_SECONDS,
    )
    .await
    {
        tracing::warn!(error = %e, "pruning the search feed failed");
    }
    let now = app::server::now();
    if let Err(e) = app::server::forms::prune(&state.db, now).await {
        tracing::warn!(error = %e, "pruning refused forms and form keys failed");
    }
    match app::server::attachments::sweep(&state.db, &state.files, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(blobs = n, "files nothing refers to were deleted"),
        Err(e) => tracing::warn!(error = %e, "sweeping the file store failed"),
    }
    let idle_cutoff = now - state.settings.session_idle_minutes * 60;
    let failure_cutoff = now - state.settings.throttle_window_minutes * 60;
    app::server::db::on_db!(&state.db, |pool| {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(now)
            .bind(idle_cutoff)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE at <= $1")
            .bind(failure_cutoff)
            .execute(pool)
            .await?;
        // Yesterday's rows still decide today's first view near midnight; older ones are spent.
        sqlx::query("DELETE FROM kb_views WHERE day < $1")
            .bind(now.div_euclid(86_400) - 1)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// The portal's work in the background while it serves. It is stopped, and waited for, before
/// the database pool closes, so that no round starts on a closed pool. Stopping cuts a round short
/// where it waits, as the end of the process would a moment later: each round's changes are one
/// transaction, or taken up again by the next start.
#[derive(Default)]
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    pub fn add(&mut self, task: impl Into<Option<tokio::task::JoinHandle<()>>>) {
        self.0.extend(task.into());
    }

    /// Stops every task and returns once none is running.
    pub async fn stop(self) {
        for task in &self.0 {
            task.abort();
        }
        for task in self.0 {
            let _ = task.await;
        }
    }
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::Background;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopping_the_background_work_returns_once_no_task_holds_anything() {
        let held = Arc::new(());
        let mut background = Background::default();
        for _ in 0..3 {
            let mine = held.clone();
            background.add(tokio::spawn(async move {
                let _mine = mine;
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }));
        }
        background.add(None);
        assert_eq!(Arc::strong_count(&held), 4);
        background.stop().await;
        assert_eq!(Arc::strong_count(&held), 1);
    }
}
