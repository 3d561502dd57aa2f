//! CSV exports (SPEC §3.1, §6): an account's users and its audit trail. File downloads, so they
//! are axum handlers rather than server functions; they decide who is asking and whether they may
//! through the same session and policy code as everything else, and are audited.
//!
//! Each export is a POST from a button: it writes to the audit trail, so nothing a page can make a
//! browser fetch by itself (an image, a link preview) may start one, and the cross-site check on
//! state-changing requests applies.

use app::api::audit::scope;
use app::error::AppError;
use app::model::AuditQuery;
use app::server::audit::{self, Event};
use app::server::audit_view;
use app::server::session::{self, COOKIE_NAME};
use app::server::users::{self, UserFilter};
use app::server::{now, AppState};
use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;

/// Rows fetched per query while writing a file.
const BATCH: i64 = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    account_id: Option<i64>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// A cell a spreadsheet will not run as a formula (OWASP "CSV injection").
use app::server::reviews::report::spreadsheet_safe as cell;

pub fn error_response(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, err.to_string()).into_response()
}

fn csv_response(name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn internal(err: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "export failed");
    AppError::Internal
}

/// Who is asking, from the session cookie.
pub async fn actor(state: &AppState, parts: &Parts) -> Result<app::policy::Actor, AppError> {
    let token =
        app::server::request::cookie(&parts.headers, COOKIE_NAME).ok_or(AppError::Unauthorized)?;
    session::resolve(&state.db, &state.settings, &token, now())
        .await?
        .ok_or(AppError::Unauthorized)
}

/// Who asks for a file and from where: the session's person, resolved before a handler runs (a
/// request without one is answered 401 and reaches no handler).
pub struct Asker {
    state: AppState,
    actor: app::policy::Actor,
    client: SocketAddr,
}

impl FromRequestParts<AppState> for Asker {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ConnectInfo(client) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let actor = actor(state, parts).await.map_err(error_response)?;
        Ok(Asker {
            state: state.clone(),
            actor,
            client,
        })
    }
}

impl Asker {
    /// Records in the audit trail that `rows` rows of `account_id` were exported as `action`.
    async fn record(
        &self,
        action: &str,
        account_id: Option<i64>,
        rows: usize,
    ) -> Result<(), AppError> {
        let after = serde_json::json!({ "rows": rows });
        self.record_with(action, account_id, after).await
    }

    /// Records the export `action` of `account_id` with `after` as what was exported.
    async fn record_with(
        &self,
        action: &str,
        account_id: Option<i64>,
        after: serde_json::Value,
    ) -> Result<(), AppError> {
        let mut tx = self.state.db.begin().await?;
        let addr = self.client.ip().to_string();
        let event = Event {
            account_id,
            after: Some(after),
            ..Event::by(&self.actor, action, &addr)
        };
        audit::append(&mut tx, &event, now()).await?;
        tx.commit().await
    }
}

/// `/export/users.csv[?account_id=N]`: the account's users.
pub async fn users_csv(asker: Asker, Query(q): Query<ExportQuery>) -> Response {
    let Asker { state, actor, .. } = &asker;
    let result = async {
        let account_id = scope(&actor, q.account_id)?.ok_or(AppError::NotFound)?;
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record([
            "first_name",
            "last_name",
            "email",
            "status",
            "administrator",
            "contact",
            "last_sign_in_utc",
            "created_utc",
            "created_by",
        ])
        .map_err(internal)?;
        let mut page = 1;
        let mut count = 0;
        loop {
            let (rows, _) = users::list_account_users(
                &state.db,
                actor.user_id,
                account_id,
                &UserFilter::default(),
                "name",
                page,
                BATCH,
                now(),
            )
            .await?;
            if rows.is_empty() {
                break;
            }
            for u in &rows {
                out.write_record([
                    cell(&u.first_name),
                    cell(&u.last_name),
                    cell(&u.email),
                    u.status.as_str().to_string(),
                    if u.is_admin { "yes" } else { "no" }.to_string(),
                    u.contact_role.clone().unwrap_or_default(),
                    app::components::time::format_time(u.last_sign_in_at),
                    app::components::time::format_time(Some(u.created_at)),
                    cell(u.created_by.as_deref().unwrap_or("")),
                ])
                .map_err(internal)?;
            }
            count += rows.len();
            // A short batch is the last (pages are clamped, so asking past the end would repeat).
            if (rows.len() as i64) < BATCH || page >= app::api::MAX_PAGE {
                break;
            }
            page += 1;
        }
        let body = out.into_inner().map_err(internal)?;
        asker
            .record("export.users", Some(account_id), count)
            .await?;
        Ok::<_, AppError>(csv_response(
            &format!("account-{account_id}-users.csv"),
            body,
        ))
    }
    .await;
    result.unwrap_or_else(error_response)
}

/// `/export/audit.csv?…`: the audit entries the same filter shows on the page, streamed in batches
/// read by keyset (time and id of the last row sent), so a trail of any length costs one batch of
/// memory and no deep OFFSET scans. The export is recorded before the first byte is sent.
pub async fn audit_csv(asker: Asker, Query(q): Query<ExportQuery>) -> Response {
    let result = async {
        let account_id = scope(&asker.actor, q.account_id)?;
        let query = AuditQuery {
            account_id,
            actor: q.actor.unwrap_or_default(),
            action: q.action.unwrap_or_default(),
            from: q.from.unwrap_or_default(),
            to: q.to.unwrap_or_default(),
        };
        let filter = audit_view::Filter::parse(&query)?;
        let filter_json = serde_json::json!({
            "actor": query.actor, "action": query.action, "from": query.from, "to": query.to,
        });
        asker
            .record_with("export.audit", account_id, filter_json)
            .await?;
        let header = csv_line(&[
            "id",
            "time_utc",
            "account",
            "actor",
            "impersonator",
            "action",
            "target",
            "target_email",
            "reason",
            "reference",
            "before",
            "after",
            "client_address",
        ])?;
        let db = asker.state.db.clone();
        let batches = futures::stream::unfold(
            (Some(header), Some(None::<(i64, i64)>)),
            move |(header, next)| {
                let db = db.clone();
                let filter = filter.clone();
                async move {
                    if let Some(header) = header {
                        return Some((Ok(header), (None, next)));
                    }
                    let after = next?;
                    let rows = match audit_view::rows(&db, &filter, after, 0, BATCH).await {
                        Ok(rows) => rows,
                        Err(_) => {
                            return Some((
                                Err(std::io::Error::other("export interrupted")),
                                (None, None),
                            ))
                        }
                    };
                    if rows.is_empty() {
                        return None;
                    }
                    let last = rows.last().map(|r| (r.at, r.id));
                    let mut chunk = Vec::new();
                    for r in &rows {
                        let text = |v: &Option<String>| cell(v.as_deref().unwrap_or(""));
                        match csv_line(&[
                            &r.id.to_string(),
                            &app::components::time::format_time(Some(r.at)),
                            &text(&r.account),
                            &text(&r.actor),
                            &text(&r.impersonator),
                            &r.action,
                            &text(&r.target),
                            &text(&r.target_email),
                            &text(&r.reason),
                            &text(&r.reference),
                            &text(&r.before_state),
                            &text(&r.after_state),
                            &text(&r.client_addr),
                        ]) {
                            Ok(line) => chunk.extend_from_slice(&line),
                            Err(_) => {
                                return Some((
                                    Err(std::io::Error::other("export interrupted")),
                                    (None, None),
                                ))
                            }
                        }
                    }
                    let more = rows.len() as i64 == BATCH;
                    Some((Ok(chunk), (None, more.then_some(last))))
                }
            },
        );
        let name = match account_id {
            Some(id) => format!("account-{id}-audit.csv"),
            None => "audit.csv".to_string(),
        };
        Ok::<_, AppError>(csv_stream_response(
            &name,
            axum::body::Body::from_stream(batches),
        ))
    }
    .await;
    result.unwrap_or_else(error_response)
}

/// One CSV record, as the csv crate writes it.
fn csv_line(fields: &[&str]) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(fields).map_err(internal)?;
    out.into_inner().map_err(internal)
}

fn csv_stream_response(name: &str, body: axum::body::Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("Ada"), "Ada");
    }
}

/// `/staff/surveys/{id}/answers.csv`: every contact asked in a survey round with their answer.
/// Vendor staff only; audited.
pub async fn survey_csv(
    asker: Asker,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let result = async {
        app::policy::can(&asker.actor, app::policy::Action::SendCommunications)?;
        let rows = app::server::communications::answers(&asker.state.db, id).await?;
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record([
            "account",
            "name",
            "email",
            "asked_as",
            "score",
            "comment",
            "answered_utc",
        ])
        .map_err(internal)?;
        for r in &rows {
            out.write_record([
                cell(&r.account),
                cell(&r.name),
                cell(&r.email),
                r.roles.clone(),
                r.score.map(|s| s.to_string()).unwrap_or_default(),
                cell(r.comment.as_deref().unwrap_or("")),
                r.answered_at
                    .map(|t| app::components::time::format_time(Some(t)))
                    .unwrap_or_default(),
            ])
            .map_err(internal)?;
        }
        let body = out.into_inner().map_err(internal)?;
        asker
            .record("export.survey_answers", None, rows.len())
            .await?;
        Ok::<_, AppError>(csv_response(&format!("survey-{id}-answers.csv"), body))
    }
    .await;
    result.unwrap_or_else(error_response)
}

#[derive(Debug, Deserialize)]
pub struct ReviewQuery {
    review_id: i64,
}

/// `/export/access-review.csv?review_id=N` and `.pdf`: a completed access review's evidence,
/// exactly as written when it completed (its SHA-256 is in the audit trail). An account's
/// administrators get their own account's; vendor staff any. Each download is audited.
async fn review_file(asker: Asker, review_id: i64, kind: &'static str) -> Response {
    let result = async {
        let scope = app::policy::review_scope(&asker.actor)?;
        let (account_id, body) =
            app::server::reviews::evidence(&asker.state.db, scope, review_id, kind).await?;
        let after = serde_json::json!({
            "access_review": review_id,
            "file": kind,
            "sha256": app::server::reviews::report::sha256(&body),
        });
        asker
            .record_with("export.access_review", Some(account_id), after)
            .await?;
        let content_type = if kind == "pdf" {
            "application/pdf"
        } else {
            "text/csv; charset=utf-8"
        };
        Ok::<_, AppError>(
            (
                [
                    (header::CONTENT_TYPE, content_type.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"access-review-{review_id}.{kind}\""),
                    ),
                ],
                body,
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(error_response)
}

pub async fn access_review_csv(asker: Asker, Query(q): Query<ReviewQuery>) -> Response {
    review_file(asker, q.review_id, "csv").await
}

pub async fn access_review_pdf(asker: Asker, Query(q): Query<ReviewQuery>) -> Response {
    review_file(asker, q.review_id, "pdf").await
}
