//! Security notices: drafting one, reading it, sending it to the audience resolved at that
//! moment, and the notices a person received.

use super::*;
use crate::server::forms::{self, FormKind, Submission};

/// What staff wrote in a notice.
#[derive(Debug, Clone, Default)]
pub struct NoticeForm {
    pub subject: String,
    pub body: String,
    pub severity: String,
    pub include_admins: bool,
    pub audience: AudienceForm,
    /// The form's idempotency key (see `server::forms`).
    pub form_key: Option<String>,
}

/// Stores a notice as a draft; answers its id.
#[tracing::instrument(skip_all)]
pub async fn create_notice(
    db: &Db,
    actor: &Actor,
    form: &NoticeForm,
    now: i64,
) -> Result<i64, AppError> {
    let mut p = Problems::new();
    let subject = p.text(
        "subject",
        &form.subject,
        SUBJECT_MAX,
        "Enter the subject",
        format!("Keep the subject to {SUBJECT_MAX} characters or fewer"),
    );
    if crate::model::Severity::parse(&form.severity).is_none() {
        p.add("severity", "Choose the severity");
    }
    let body = form.body.trim();
    if body.is_empty() {
        p.add("body", "Write the notice");
    } else if body.len() > BODY_MAX {
        p.add("body", "Keep the notice under 20,000 characters");
    }
    let audience = check_audience(db, &form.audience, &mut p).await?;
    p.finish()?;
    let mut tx = db.begin().await?;
    let key = form.form_key.as_deref();
    if let Submission::Repeated(id) =
        forms::claim(&mut tx, actor.user_id, FormKind::Notice, key, now).await?
    {
        return Ok(id);
    }
    let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "INSERT INTO notices (subject, body, severity, audience, tier, include_admins, state, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8) RETURNING id"
    )
    .bind(&subject)
    .bind(body)
    .bind(&form.severity)
    .bind(audience.audience)
    .bind(&audience.tier)
    .bind(form.include_admins)
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(c)
    .await)?;
    store_accounts(&mut tx, Kind::Notice, id, &audience.accounts).await?;
    forms::record(&mut tx, actor.user_id, key, id).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    subject: String,
    body: String,
    severity: String,
    #[sqlx(try_from = "String")]
    state: SendState,
    created_by: String,
    created_at: i64,
    sent_by: Option<String>,
    sent_at: Option<i64>,
}

/// A notice for staff (`staff`) or for one of its recipients (`user_id`); anyone else gets
/// `NotFound`.
#[tracing::instrument(skip_all)]
pub async fn notice(db: &Db, id: i64, staff: bool, user_id: i64) -> Result<NoticeDetail, AppError> {
    if !staff {
        let received: Option<i64> = on_db!(db, |c| sqlx::query_scalar(
            "SELECT r.id FROM communication_recipients r JOIN notices n ON n.id = r.parent_id \
             WHERE r.kind = 'notice' AND r.parent_id = $1 AND r.user_id = $2 AND n.state = 'sent'"
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(c)
        .await)?;
        if received.is_none() {
            return Err(AppError::NotFound);
        }
    }
    let row: Option<NoticeRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT n.subject, n.body, n.severity, n.state, \
         c.first_name || ' ' || c.last_name AS created_by, n.created_at, \
         s.first_name || ' ' || s.last_name AS sent_by, n.sent_at \
         FROM notices n JOIN users c ON c.id = n.created_by LEFT JOIN users s ON s.id = n.sent_by \
         WHERE n.id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let row = row.ok_or(AppError::NotFound)?;
    let (recipients, gaps, audience, include_admins) = if staff {
        let mut tx = db.begin().await?;
        let d = draft(&mut tx, Kind::Notice, id).await?;
        let (recipients, gaps) = if d.state == SendState::Draft {
            resolve(&mut tx, Kind::Notice, id, &d).await?
        } else {
            recorded(db, Kind::Notice, id).await?
        };
        tx.commit().await?;
        let words = audience_words(db, Kind::Notice, id, &d).await?;
        (recipients, gaps, words, d.include_admins)
    } else {
        (Vec::new(), Vec::new(), String::new(), false)
    };
    Ok(NoticeDetail {
        id,
        subject: row.subject,
        body_html: markdown::render(&row.body),
        severity: row.severity,
        audience,
        include_admins,
        state: row.state,
        created_by: row.created_by,
        created_at: row.created_at,
        sent_by: row.sent_by,
        sent_at: row.sent_at,
        recipients,
        gaps,
        staff_view: staff,
    })
}

/// Sends draft notice `id` to its audience as resolved now, which must have `confirmed`
/// recipients: one mail each through the outbox, all recorded, in one transaction.
#[tracing::instrument(skip_all)]
pub async fn send_notice(
    db: &Db,
    settings: &Settings,
    actor: &Actor,
    id: i64,
    confirmed: i64,
    client_addr: &str,
    now: i64,
) -> Result<usize, AppError> {
    let mut tx = db.begin().await?;
    let (recipients, gaps) = confirm(&mut tx, Kind::Notice, id, confirmed).await?;
    let (subject, body, severity): (String, String, String) = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT subject, body, severity FROM notices WHERE id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await)?;
    let url = mail::portal_url(settings, &format!("/notices/{id}"));
    for r in &recipients {
        let text = format!(
            "Hello {},\n\nSecurity notice — severity: {severity}.\n\n{body}\n\n\
             You can also read this notice in the support portal: {url}\n\n\
             You receive it as {} of {}.\n",
            r.name, r.roles, r.account
        );
        let outbox_id = mail::enqueue(
            &mut tx,
            &Mail {
                kind: "security_notice",
                account_id: Some(r.account_id),
                to_address: &r.email,
                to_name: &r.name,
                subject: format!("[Security notice: {severity}] {subject}"),
                body: text,
                secret_link: None,
            },
            now,
        )
        .await?;
        insert_recipient(&mut tx, Kind::Notice, id, r, outbox_id, None).await?;
    }
    let sent = (recipients.as_slice(), gaps.as_slice());
    let action = ("notice.sent", subject.as_str());
    record_sending(tx, Kind::Notice, id, sent, actor, action, client_addr, now).await
}

/// The notices sent to user `user_id`, newest first.
#[tracing::instrument(skip_all)]
pub async fn received(db: &Db, user_id: i64) -> Result<Vec<CommunicationSummary>, AppError> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT n.id, n.subject AS title, n.severity AS detail, n.state, n.created_at, n.sent_at, \
         CAST(1 AS BIGINT) AS recipients FROM communication_recipients r JOIN notices n ON n.id = r.parent_id \
         WHERE r.kind = 'notice' AND r.user_id = $1 AND n.state = 'sent' \
         ORDER BY n.sent_at DESC, n.id DESC LIMIT 100"
    )
    .bind(user_id)
    .fetch_all(c)
    .await
    .map_err(AppError::from)
    })
}
