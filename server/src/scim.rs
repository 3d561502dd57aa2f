//! The SCIM 2.0 service at `/scim/v2` (RFC 7644): a customer's identity provider, with the bearer
//! token a customer administrator made, manages that account's users and its Administrators
//! group. The rules live in `app::server::scim`; this is the HTTP side: the token, the verbs, the
//! `application/scim+json` answers.

use app::server::scim::{self, discovery, groups, users, Provider, ScimError};
use app::server::{now, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

const CONTENT_TYPE: &str = "application/scim+json";

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn failure(e: ScimError) -> Response {
    if e.status >= 500 {
        tracing::error!(detail = %e.detail, "SCIM request failed");
    }
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = answer(status, e.body());
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    res
}

fn done(result: Result<Value, ScimError>, status: StatusCode) -> Response {
    match result {
        Ok(body) => answer(status, body),
        Err(e) => failure(e),
    }
}

async fn provider(state: &AppState, headers: &HeaderMap) -> Result<Provider, ScimError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    scim::authenticate(&state.db, authorization, now()).await
}

/// A JSON body, or SCIM's `invalidSyntax`.
fn body(bytes: &[u8]) -> Result<Value, ScimError> {
    serde_json::from_slice(bytes)
        .map_err(|_| ScimError::invalid("invalidSyntax", "The body is not valid JSON"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListQuery {
    /// `result` (a resource or a list of them) narrowed as the query asks.
    fn shape(&self, result: Result<Value, ScimError>) -> Result<Value, ScimError> {
        let (a, x) = (
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        );
        result.map(|mut v| match v.get_mut("Resources").map(Value::take) {
            Some(Value::Array(items)) => {
                v["Resources"] =
                    Value::Array(items.into_iter().map(|r| scim::project(r, a, x)).collect());
                v
            }
            _ => scim::project(v, a, x),
        })
    }
}

/// A `POST …/.search` body (RFC 7644 §3.4.3), as the list's query.
fn search_query(bytes: &[u8]) -> Result<ListQuery, ScimError> {
    let b = body(bytes)?;
    let list = |key: &str| -> Option<String> {
        b.get(key).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    Ok(ListQuery {
        filter: b.get("filter").and_then(Value::as_str).map(str::to_string),
        start_index: b.get("startIndex").and_then(Value::as_i64),
        count: b.get("count").and_then(Value::as_i64),
        attributes: list("attributes"),
        excluded_attributes: list("excludedAttributes"),
    })
}

/// Runs `work` for the provider the request's token names.
macro_rules! as_provider {
    ($state:expr, $headers:expr, |$p:ident| $work:expr) => {
        match provider(&$state, &$headers).await {
            Ok($p) => $work,
            Err(e) => failure(e),
        }
    };
}

/// One of the documents a provider reads to learn the service (RFC 7644 §4).
#[derive(Clone, Copy)]
enum Doc {
    Config,
    ResourceTypes,
    Schemas,
}

async fn document(kind: Doc, state: AppState, headers: HeaderMap, id: Option<String>) -> Response {
    as_provider!(state, headers, |_p| {
        let base = scim::base_url(&state.settings);
        let all = match kind {
            Doc::Config => {
                return answer(StatusCode::OK, discovery::service_provider_config(&base))
            }
            Doc::ResourceTypes => discovery::resource_types(&base),
            Doc::Schemas => discovery::schemas(&base),
        };
        match id {
            None => answer(StatusCode::OK, discovery::list(all)),
            Some(id) => done(
                discovery::find(all, &id).ok_or_else(ScimError::not_found),
                StatusCode::OK,
            ),
        }
    })
}

/// The handlers of document `kind`: all of them, and one by id.
macro_rules! documents {
    ($kind:expr) => {
        (
            |State(s): State<AppState>, h: HeaderMap| document($kind, s, h, None),
            |State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>| {
                document($kind, s, h, Some(id))
            },
        )
    };
}

async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    as_provider!(state, headers, |p| users_page(&state, &p, &q).await)
}

async fn search_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Response {
    as_provider!(state, headers, |p| match search_query(&bytes) {
        Ok(q) => users_page(&state, &p, &q).await,
        Err(e) => failure(e),
    })
}

/// The page of users a list or search query asks for, shaped as it asks.
async fn users_page(state: &AppState, p: &Provider, q: &ListQuery) -> Response {
    let found = users::list(
        state,
        p,
        q.filter.as_deref(),
        q.start_index.unwrap_or(1),
        q.count,
    );
    done(q.shape(found.await), StatusCode::OK)
}

/// A search across resource types at the root, which the portal does not offer (RFC 7644
/// §3.4.3 allows 501).
async fn search_everything(State(state): State<AppState>, headers: HeaderMap) -> Response {
    as_provider!(state, headers, |_p| failure(ScimError::new(
        501,
        None,
        "Search one resource type: POST /Users/.search"
    )))
}

async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Response {
    as_provider!(state, headers, |p| done(
        match body(&bytes) {
            Ok(b) => users::create(&state, &p, &b, now()).await,
            Err(e) => Err(e),
        },
        StatusCode::CREATED
    ))
}

async fn get_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    as_provider!(state, headers, |p| done(
        q.shape(users::get(&state, &p, &id).await),
        StatusCode::OK
    ))
}

/// The writes that take a resource id and a JSON body.
#[derive(Clone, Copy)]
enum Write {
    ReplaceUser,
    PatchUser,
    ReplaceGroup,
    PatchGroup,
}

async fn write(
    kind: Write,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    as_provider!(state, headers, |p| done(
        match body(&bytes) {
            Ok(b) => match kind {
                Write::ReplaceUser => users::replace(&state, &p, &id, &b, now()).await,
                Write::PatchUser => users::modify(&state, &p, &id, &b, now()).await,
                Write::ReplaceGroup => groups::replace(&state, &p, &id, &b, now()).await,
                Write::PatchGroup => groups::modify(&state, &p, &id, &b, now()).await,
            },
            Err(e) => Err(e),
        },
        StatusCode::OK
    ))
}

/// The handler of `kind` for the router.
macro_rules! writes {
    ($kind:expr) => {
        |s: State<AppState>, h: HeaderMap, id: Path<String>, b: axum::body::Bytes| {
            write($kind, s, h, id, b)
        }
    };
}

async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_provider!(
        state,
        headers,
        |p| match users::remove(&state, &p, &id, now()).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => failure(e),
        }
    )
}

async fn list_groups(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    as_provider!(state, headers, |p| done(
        groups::list(&state, &p, q.filter.as_deref()).await,
        StatusCode::OK
    ))
}

async fn no_new_groups(State(state): State<AppState>, headers: HeaderMap) -> Response {
    as_provider!(state, headers, |_p| failure(ScimError::new(
        403,
        None,
        "This account has one group, Administrators; others cannot be made or removed"
    )))
}

async fn get_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_provider!(state, headers, |p| done(
        groups::get(&state, &p, &id).await,
        StatusCode::OK
    ))
}

async fn unknown(State(state): State<AppState>, headers: HeaderMap) -> Response {
    as_provider!(state, headers, |_p| failure(ScimError::not_found()))
}

/// The routes under `/scim/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(documents!(Doc::Config).0))
        .route("/ResourceTypes", get(documents!(Doc::ResourceTypes).0))
        .route("/ResourceTypes/{id}", get(documents!(Doc::ResourceTypes).1))
        .route("/Schemas", get(documents!(Doc::Schemas).0))
        .route("/Schemas/{id}", get(documents!(Doc::Schemas).1))
        .route("/.search", axum::routing::post(search_everything))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", axum::routing::post(search_users))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(writes!(Write::ReplaceUser))
                .patch(writes!(Write::PatchUser))
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(no_new_groups))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(writes!(Write::ReplaceGroup))
                .patch(writes!(Write::PatchGroup))
                .delete(no_new_groups),
        )
        .fallback(unknown)
}
