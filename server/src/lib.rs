#![recursion_limit = "512"]
//! The Portcullis server: configuration, router, HTTP hardening, telemetry and background work.

pub mod config;
pub mod export;
pub mod imports;
pub mod layers;
pub mod mailer;
pub mod seed;
pub mod seed_kb;
pub mod telemetry;

use app::server::db::Db;
use app::server::{AppState, Settings};
use app::{shell, App};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects to the database, applies migrations and builds the shared state.
pub async fn prepare(settings: Settings) -> Result<AppState, BoxError> {
    let db = Db::connect(
        settings.database_url.expose(),
        settings.database_max_connections,
    )
    .await?;
    db.migrate().await?;
    let leptos = LeptosOptions::builder()
        .output_name("portcullis")
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(
            settings
                .listen
                .parse::<SocketAddr>()
                .unwrap_or_else(|_| ([127, 0, 0, 1], 3000).into()),
        )
        .build();
    Ok(AppState {
        db,
        settings: Arc::new(settings),
        leptos,
    })
}

/// The whole HTTP surface: pages, server functions, assets, health and metrics.
pub fn router(state: AppState) -> Router {
    telemetry::prometheus();
    let routes = route_list();
    let leptos = state.leptos.clone();
    let error_state = state.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/export/users.csv", get(export::users_csv))
        .route("/export/audit.csv", get(export::audit_csv))
        .route("/staff/surveys/{id}/answers.csv", get(export::survey_csv))
        .route(
            "/staff/accounts/{id}/import",
            axum::routing::post(imports::upload).layer(axum::extract::DefaultBodyLimit::max(
                imports::MAX_UPLOAD_BYTES,
            )),
        )
        .leptos_routes_with_context(&state, routes, || (), {
            let leptos = leptos.clone();
            move || shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_context(error_state.clone()), shell
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::display_zone,
        ))
        .layer(axum::middleware::from_fn(layers::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.clone(),
            layers::refuse_cross_site,
        ))
        .layer(CompressionLayer::new())
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

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.db.ping().await {
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

/// Removes expired sessions and old sign-in failures now and then. Deleting is idempotent, so
/// several instances doing it at once is harmless.
pub fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
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
        }
    })
}

async fn housekeeping(state: &AppState) -> Result<(), sqlx::Error> {
    let now = app::server::now();
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
    });
    Ok(())
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
