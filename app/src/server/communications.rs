//! Communications to account contacts (SPEC §7): security notices and NPS survey rounds.
//!
//! Both start as a draft naming an audience (every account, a service tier, or picked accounts).
//! The draft's page shows who it would reach — each account's current primary and secondary
//! contacts (and for notices, optionally every administrator) — and the accounts with no contact
//! to write to. Sending resolves the audience again in the sending transaction, refuses if it is
//! not the one confirmed, records it person by person with the mail queued for each, records the
//! gaps, and appends one audit entry naming who sent what to whom: later changes of contacts do
//! not change what was recorded.
//!
//! A survey mail carries a personal link: an unguessable 256-bit token of which only the SHA-256
//! is stored (like invitation links), so a link cannot be forged or altered into another one; it
//! works until the round expires and for one answer.

use super::audit::{self, Event};
use super::db::{bind_args, execute, internal, on_db, on_tx, Arg, Db, Tx};
use super::mail::{self, Mail, LINK_PLACEHOLDER};
use super::markdown;
use super::session;
use super::state::Settings;
use crate::api::types::{
    CommunicationSummary, Communications, Gap, NoticeDetail, Recipient, Score, SurveyDetail,
    SurveyLink,
};
use crate::error::{AppError, Problems};
use crate::policy::Actor;
use serde_json::json;

pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];
const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 20_000;
const COMMENT_MAX: usize = 2_000;

/// A notice or a survey round: the rows of both share the audience tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Notice,
    Survey,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Notice => "notice",
            Kind::Survey => "survey",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Kind::Notice => "notices",
            Kind::Survey => "nps_rounds",
        }
    }
}

/// Who a draft is for, as the form sent it.
#[derive(Debug, Clone, Default)]
pub struct AudienceForm {
    pub audience: String,
    pub tier: String,
    pub account_ids: Vec<String>,
}

struct Audience {
    audience: &'static str,
    tier: Option<String>,
    accounts: Vec<i64>,
}

async fn check_audience(
    db: &Db,
    form: &AudienceForm,
    p: &mut Problems,
) -> Result<Audience, AppError> {
    let mut out = Audience {
        audience: "all",
        tier: None,
        accounts: Vec::new(),
    };
    match form.audience.as_str() {
        "all" => {}
        "tier" => {
            out.audience = "tier";
            if ["managed", "self-hosted"].contains(&form.tier.as_str()) {
                out.tier = Some(form.tier.clone());
            } else {
                p.add("tier", "Choose the service tier");
            }
        }
        "accounts" => {
            out.audience = "accounts";
            let mut ids: Vec<i64> = form
                .account_ids
                .iter()
                .filter_map(|v| v.trim().parse().ok())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let known: Vec<i64> = on_db!(db, |c| sqlx::query_scalar("SELECT id FROM accounts")
                .fetch_all(c)
                .await
                .map_err(internal))?;
            if ids.is_empty() || ids.len() != form.account_ids.len() {
                p.add("account_ids", "Choose at least one account");
            } else if ids.iter().any(|id| !known.contains(id)) {
                p.add("account_ids", "Choose accounts from the list");
            }
            out.accounts = ids;
        }
        _ => p.add("audience", "Choose who it is for"),
    }
    Ok(out)
}

async fn store_accounts(
    tx: &mut Tx,
    kind: Kind,
    id: i64,
    accounts: &[i64],
) -> Result<(), AppError> {
    for account in accounts {
        execute!(tx: tx, sqlx::query(
            "INSERT INTO communication_accounts (kind, parent_id, account_id) VALUES ($1, $2, $3)"
        )
        .bind(kind.as_str())
        .bind(id)
        .bind(*account))?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Draft {
    audience: String,
    tier: Option<String>,
    include_admins: bool,
    state: String,
}

async fn draft(tx_or_db: &mut Tx, kind: Kind, id: i64) -> Result<Draft, AppError> {
    let lock = match tx_or_db {
        Tx::Postgres(_) => "FOR UPDATE",
        Tx::Sqlite(_) => "",
    };
    let admins = match kind {
        Kind::Notice => "include_admins",
        Kind::Survey => "FALSE AS include_admins",
    };
    let sql = format!(
        "SELECT audience, tier, {admins}, state FROM {} WHERE id = $1 {lock}",
        kind.table()
    );
    let row: Option<Draft> = on_tx!(tx_or_db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(internal))?;
    row.ok_or(AppError::NotFound)
}

/// The condition choosing the audience's accounts (alias `a`), and its arguments from `$2` on.
fn accounts_filter(kind: Kind, id: i64, d: &Draft) -> (String, Vec<Arg>) {
    match d.audience.as_str() {
        "tier" => (
            "a.service_tier = $2".into(),
            vec![Arg::Text(d.tier.clone().unwrap_or_default())],
        ),
        "accounts" => (
            "a.id IN (SELECT account_id FROM communication_accounts WHERE kind = $2 AND parent_id = $3)"
                .into(),
            vec![Arg::Text(kind.as_str().into()), Arg::Int(id)],
        ),
        _ => ("TRUE".into(), Vec::new()),
    }
}

/// The audience of draft `id` as it stands now: each person once, with the roles that put them
/// there, and the accounts with no active primary or secondary contact.
async fn resolve(
    tx: &mut Tx,
    kind: Kind,
    id: i64,
    d: &Draft,
) -> Result<(Vec<Recipient>, Vec<Gap>), AppError> {
    let (filter, args) = accounts_filter(kind, id, d);
    let mut all_args = vec![Arg::Int(i64::from(d.include_admins))];
    all_args.extend(args);
    let sql = format!(
        "SELECT a.id AS account_id, a.name AS account, u.id AS user_id, u.email, \
         u.first_name || ' ' || u.last_name AS name, \
         CASE WHEN u.id = a.primary_contact_id THEN 'primary contact' \
              WHEN u.id = a.secondary_contact_id THEN 'secondary contact' ELSE '' END \
         || CASE WHEN u.is_admin AND $1 = 1 THEN \
              CASE WHEN u.id = a.primary_contact_id OR u.id = a.secondary_contact_id \
              THEN ', administrator' ELSE 'administrator' END ELSE '' END AS roles, \
         '' AS delivery \
         FROM accounts a JOIN users u ON u.account_id = a.id AND u.status = 'active' \
         WHERE {filter} AND (u.id = a.primary_contact_id OR u.id = a.secondary_contact_id \
               OR (u.is_admin AND $1 = 1)) \
         ORDER BY a.name, a.id, CASE WHEN u.id = a.primary_contact_id THEN 0 \
                  WHEN u.id = a.secondary_contact_id THEN 1 ELSE 2 END, u.last_name, u.first_name, u.id"
    );
    let recipients: Vec<Recipient> = on_tx!(tx, |c| bind_args!(sqlx::query_as(&sql), &all_args)
        .fetch_all(c)
        .await
        .map_err(internal))?;
    let gap_sql = format!(
        "SELECT a.id AS account_id, a.name AS account FROM accounts a WHERE ($1 = $1) AND {filter} \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.status = 'active' \
         AND (u.id = a.primary_contact_id OR u.id = a.secondary_contact_id)) ORDER BY a.name, a.id"
    );
    let gaps: Vec<Gap> = on_tx!(tx, |c| bind_args!(sqlx::query_as(&gap_sql), &all_args)
        .fetch_all(c)
        .await
        .map_err(internal))?;
    Ok((recipients, gaps))
}

/// The audience as recorded when sent, with each mail's delivery state.
async fn recorded(db: &Db, kind: Kind, id: i64) -> Result<(Vec<Recipient>, Vec<Gap>), AppError> {
    let recipients: Vec<Recipient> = on_db!(db, |c| sqlx::query_as(
        "SELECT r.account_id, a.name AS account, r.user_id, r.email, r.name, r.roles, \
         CASE WHEN o.sent_at IS NOT NULL THEN 'sent' WHEN o.failed_at IS NOT NULL THEN 'failed' \
              ELSE 'queued' END AS delivery \
         FROM communication_recipients r JOIN accounts a ON a.id = r.account_id \
         LEFT JOIN mail_outbox o ON o.id = r.outbox_id \
         WHERE r.kind = $1 AND r.parent_id = $2 ORDER BY r.id"
    )
    .bind(kind.as_str())
    .bind(id)
    .fetch_all(c)
    .await
    .map_err(internal))?;
    let gaps: Vec<Gap> = on_db!(db, |c| sqlx::query_as(
        "SELECT g.account_id, a.name AS account FROM communication_gaps g \
         JOIN accounts a ON a.id = g.account_id WHERE g.kind = $1 AND g.parent_id = $2 \
         ORDER BY a.name, a.id"
    )
    .bind(kind.as_str())
    .bind(id)
    .fetch_all(c)
    .await
    .map_err(internal))?;
    Ok((recipients, gaps))
}

/// The words for an audience.
async fn audience_words(db: &Db, kind: Kind, id: i64, d: &Draft) -> Result<String, AppError> {
    Ok(match d.audience.as_str() {
        "tier" => format!("Every {} account", d.tier.as_deref().unwrap_or_default()),
        "accounts" => {
            let names: Vec<String> = on_db!(db, |c| {
                sqlx::query_scalar(
                "SELECT a.name FROM communication_accounts ca JOIN accounts a ON a.id = ca.account_id \
                 WHERE ca.kind = $1 AND ca.parent_id = $2 ORDER BY a.name"
            )
            .bind(kind.as_str())
            .bind(id)
            .fetch_all(c)
            .await
            .map_err(internal)
            })?;
            names.join(", ")
        }
        _ => "Every account".into(),
    })
}

/// Accounts staff can address, and the recent notices and rounds.
pub async fn overview(db: &Db) -> Result<Communications, AppError> {
    let accounts: Vec<(i64, String, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, name, service_tier FROM accounts ORDER BY name, id"
    )
    .fetch_all(c)
    .await
    .map_err(internal))?;
    let summary = |table: &str, title: &str, detail: &str, kind: Kind| {
        format!(
            "SELECT t.id, {title} AS title, {detail} AS detail, t.state, t.created_at, t.sent_at, \
             (SELECT COUNT(*) FROM communication_recipients r WHERE r.kind = '{}' AND r.parent_id = t.id) \
             AS recipients FROM {table} t ORDER BY t.created_at DESC, t.id DESC LIMIT 50",
            kind.as_str()
        )
    };
    let notices_sql = summary("notices", "t.subject", "t.severity", Kind::Notice);
    let surveys_sql = summary(
        "nps_rounds",
        "t.name",
        "(SELECT COUNT(*) FROM communication_recipients r WHERE r.kind = 'survey' \
          AND r.parent_id = t.id AND r.answered_at IS NOT NULL) || ' answers'",
        Kind::Survey,
    );
    let notices: Vec<CommunicationSummary> = on_db!(db, |c| sqlx::query_as(&notices_sql)
        .fetch_all(c)
        .await
        .map_err(internal))?;
    let surveys: Vec<CommunicationSummary> = on_db!(db, |c| sqlx::query_as(&surveys_sql)
        .fetch_all(c)
        .await
        .map_err(internal))?;
    Ok(Communications {
        notices,
        surveys,
        accounts,
    })
}

/// What staff wrote in a notice.
#[derive(Debug, Clone, Default)]
pub struct NoticeForm {
    pub subject: String,
    pub body: String,
    pub severity: String,
    pub include_admins: bool,
    pub audience: AudienceForm,
}

fn event<'a>(actor: &Actor, action: &'a str, target: String, client_addr: &'a str) -> Event<'a> {
    Event {
        action,
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        target: Some(target),
        client_addr: Some(client_addr),
        ..Default::default()
    }
}

/// Stores a notice as a draft; answers its id.
pub async fn create_notice(
    db: &Db,
    actor: &Actor,
    form: &NoticeForm,
    now: i64,
) -> Result<i64, AppError> {
    let mut p = Problems::new();
    let subject = form.subject.trim();
    if subject.is_empty() {
        p.add("subject", "Enter the subject");
    } else if subject.chars().count() > SUBJECT_MAX {
        p.add(
            "subject",
            format!("Keep the subject to {SUBJECT_MAX} characters or fewer"),
        );
    }
    if !SEVERITIES.contains(&form.severity.as_str()) {
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
    let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "INSERT INTO notices (subject, body, severity, audience, tier, include_admins, state, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8) RETURNING id"
    )
    .bind(subject)
    .bind(body)
    .bind(&form.severity)
    .bind(audience.audience)
    .bind(&audience.tier)
    .bind(form.include_admins)
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(c)
    .await
    .map_err(internal))?;
    store_accounts(&mut tx, Kind::Notice, id, &audience.accounts).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    subject: String,
    body: String,
    severity: String,
    state: String,
    created_by: String,
    created_at: i64,
    sent_by: Option<String>,
    sent_at: Option<i64>,
}

/// A notice for staff (`staff`) or for one of its recipients (`user_id`); anyone else gets
/// `NotFound`.
pub async fn notice(db: &Db, id: i64, staff: bool, user_id: i64) -> Result<NoticeDetail, AppError> {
    if !staff {
        let received: Option<i64> = on_db!(db, |c| sqlx::query_scalar(
            "SELECT r.id FROM communication_recipients r JOIN notices n ON n.id = r.parent_id \
             WHERE r.kind = 'notice' AND r.parent_id = $1 AND r.user_id = $2 AND n.state = 'sent'"
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(c)
        .await
        .map_err(internal))?;
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
    .await
    .map_err(internal))?;
    let row = row.ok_or(AppError::NotFound)?;
    let (recipients, gaps, audience, include_admins) = if staff {
        let mut tx = db.begin().await?;
        let d = draft(&mut tx, Kind::Notice, id).await?;
        let (recipients, gaps) = if d.state == "draft" {
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

/// Records the gaps of a sending.
async fn store_gaps(tx: &mut Tx, kind: Kind, id: i64, gaps: &[Gap]) -> Result<(), AppError> {
    for gap in gaps {
        execute!(tx: tx, sqlx::query(
            "INSERT INTO communication_gaps (kind, parent_id, account_id) VALUES ($1, $2, $3)"
        )
        .bind(kind.as_str())
        .bind(id)
        .bind(gap.account_id))?;
    }
    Ok(())
}

/// Resolves draft `id` in a sending transaction and checks it against what staff confirmed.
async fn confirm(
    tx: &mut Tx,
    kind: Kind,
    id: i64,
    confirmed: i64,
) -> Result<(Vec<Recipient>, Vec<Gap>), AppError> {
    let d = draft(tx, kind, id).await?;
    if d.state != "draft" {
        return Err(AppError::Conflict("This has been sent already.".into()));
    }
    let (recipients, gaps) = resolve(tx, kind, id, &d).await?;
    if recipients.is_empty() {
        return Err(AppError::Conflict(
            "Nobody to send to: no account of the audience has a contact.".into(),
        ));
    }
    if recipients.len() as i64 != confirmed {
        return Err(AppError::Conflict(
            "The audience changed since you checked it: check the recipients again before sending."
                .into(),
        ));
    }
    Ok((recipients, gaps))
}

fn audit_after(recipients: &[Recipient], gaps: &[Gap]) -> serde_json::Value {
    json!({
        "recipients": recipients.iter().map(|r| json!({
            "account": r.account, "email": r.email, "roles": r.roles,
        })).collect::<Vec<_>>(),
        "accounts_without_contact": gaps.iter().map(|g| g.account.clone()).collect::<Vec<_>>(),
    })
}

async fn insert_recipient(
    tx: &mut Tx,
    kind: Kind,
    id: i64,
    r: &Recipient,
    outbox_id: i64,
    token_hash: Option<String>,
) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "INSERT INTO communication_recipients (kind, parent_id, account_id, user_id, email, name, \
         roles, outbox_id, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(r.account_id)
    .bind(r.user_id)
    .bind(&r.email)
    .bind(&r.name)
    .bind(&r.roles)
    .bind(outbox_id)
    .bind(token_hash))?;
    Ok(())
}

/// Sends draft notice `id` to its audience as resolved now, which must have `confirmed`
/// recipients: one mail each through the outbox, all recorded, in one transaction.
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
    .await
    .map_err(internal))?;
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
    store_gaps(&mut tx, Kind::Notice, id, &gaps).await?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE notices SET state = 'sent', sent_by = $1, sent_at = $2 WHERE id = $3"
    )
    .bind(actor.user_id)
    .bind(now)
    .bind(id))?;
    let mut e = event(actor, "notice.sent", format!("notice {id}"), client_addr);
    e.reference = Some(&subject);
    e.after = Some(audit_after(&recipients, &gaps));
    audit::append(&mut tx, &e, now).await?;
    tx.commit().await?;
    Ok(recipients.len())
}

/// The notices sent to user `user_id`, newest first.
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
    .map_err(internal)
    })
}

/// What staff set up for a survey round.
#[derive(Debug, Clone, Default)]
pub struct SurveyForm {
    pub name: String,
    pub expires_days: String,
    pub audience: AudienceForm,
}

/// Stores a survey round as a draft; answers its id.
pub async fn create_survey(
    db: &Db,
    actor: &Actor,
    form: &SurveyForm,
    now: i64,
) -> Result<i64, AppError> {
    let mut p = Problems::new();
    let name = form.name.trim();
    if name.is_empty() {
        p.add("name", "Name the survey round, for example “NPS Q4 2026”");
    } else if name.chars().count() > SUBJECT_MAX {
        p.add(
            "name",
            format!("Keep the name to {SUBJECT_MAX} characters or fewer"),
        );
    }
    let days = form
        .expires_days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=90).contains(d));
    if days.is_none() {
        p.add(
            "expires_days",
            "Links work for 1 to 90 days: enter a number of days",
        );
    }
    let audience = check_audience(db, &form.audience, &mut p).await?;
    p.finish()?;
    let mut tx = db.begin().await?;
    let id: i64 = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO nps_rounds (name, audience, tier, state, expires_days, created_by, created_at) \
         VALUES ($1, $2, $3, 'draft', $4, $5, $6) RETURNING id"
    )
    .bind(name)
    .bind(audience.audience)
    .bind(&audience.tier)
    .bind(days.unwrap_or(14))
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(c)
    .await
    .map_err(internal)
    })?;
    store_accounts(&mut tx, Kind::Survey, id, &audience.accounts).await?;
    tx.commit().await?;
    Ok(id)
}

/// Starts draft round `id`: each contact of its audience (which must have `confirmed` people) is
/// mailed a personal link.
pub async fn start_survey(
    db: &Db,
    settings: &Settings,
    actor: &Actor,
    id: i64,
    confirmed: i64,
    client_addr: &str,
    now: i64,
) -> Result<usize, AppError> {
    let mut tx = db.begin().await?;
    let (recipients, gaps) = confirm(&mut tx, Kind::Survey, id, confirmed).await?;
    let (name, days): (String, i64) = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT name, expires_days FROM nps_rounds WHERE id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await
    .map_err(internal))?;
    let expires_at = now + days * 86_400;
    for r in &recipients {
        let token = session::new_token();
        let text = format!(
            "Hello {},\n\nHow likely are you to recommend us to a friend or colleague? \
             It takes ten seconds: one click on a scale from 0 to 10, and a comment if you like.\n\n\
             {LINK_PLACEHOLDER}\n\nThe link is personal, needs no sign-in, works once and until {}.\n\n\
             You receive this as {} of {}.\n",
            r.name,
            jiff::Timestamp::from_second(expires_at)
                .map(|t| t.strftime("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            r.roles,
            r.account
        );
        let outbox_id = mail::enqueue(
            &mut tx,
            &Mail {
                kind: "nps_survey",
                account_id: Some(r.account_id),
                to_address: &r.email,
                to_name: &r.name,
                subject: "A quick question about our support".into(),
                body: text,
                secret_link: Some(mail::portal_url(settings, &format!("/nps?t={token}"))),
            },
            now,
        )
        .await?;
        insert_recipient(
            &mut tx,
            Kind::Survey,
            id,
            r,
            outbox_id,
            Some(session::token_hash(&token)),
        )
        .await?;
    }
    store_gaps(&mut tx, Kind::Survey, id, &gaps).await?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE nps_rounds SET state = 'sent', sent_by = $1, sent_at = $2, expires_at = $3 WHERE id = $4"
    )
    .bind(actor.user_id)
    .bind(now)
    .bind(expires_at)
    .bind(id))?;
    let mut e = event(actor, "survey.started", format!("survey {id}"), client_addr);
    e.reference = Some(&name);
    e.after = Some(audit_after(&recipients, &gaps));
    audit::append(&mut tx, &e, now).await?;
    tx.commit().await?;
    Ok(recipients.len())
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    answered_at: Option<i64>,
    expires_at: Option<i64>,
    name: String,
    account: String,
}

async fn find_link(db: &Db, token: &str) -> Result<LinkRow, AppError> {
    let row: Option<LinkRow> = on_db!(db, |c| sqlx::query_as(
        "SELECT r.id, r.answered_at, n.expires_at, r.name, a.name AS account \
         FROM communication_recipients r JOIN nps_rounds n ON n.id = r.parent_id \
         JOIN accounts a ON a.id = r.account_id \
         WHERE r.kind = 'survey' AND r.token_hash = $1"
    )
    .bind(session::token_hash(token.trim()))
    .fetch_optional(c)
    .await
    .map_err(internal))?;
    row.ok_or(AppError::NotFound)
}

/// What personal link `token` leads to; an unknown or altered one is `NotFound`.
pub async fn link(db: &Db, token: &str, now: i64) -> Result<SurveyLink, AppError> {
    let row = find_link(db, token).await?;
    let state = if row.answered_at.is_some() {
        "answered"
    } else if row.expires_at.is_none_or(|at| at <= now) {
        "expired"
    } else {
        "open"
    };
    Ok(SurveyLink {
        state: state.into(),
        first_name: row.name.split(' ').next().unwrap_or_default().to_string(),
        account: row.account,
    })
}

/// Records the answer given through personal link `token`: once, before the round expires.
pub async fn answer(
    db: &Db,
    token: &str,
    score: &str,
    comment: &str,
    now: i64,
) -> Result<(), AppError> {
    let row = find_link(db, token).await?;
    let mut p = Problems::new();
    let score = score
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| (0..=10).contains(s));
    if score.is_none() {
        p.add("score", "Choose a score from 0 to 10");
    }
    let comment = comment.trim();
    if comment.chars().count() > COMMENT_MAX {
        p.add(
            "comment",
            format!("Keep the comment to {COMMENT_MAX} characters or fewer"),
        );
    }
    p.finish()?;
    if row.answered_at.is_some() {
        return Err(AppError::Conflict(
            "You have already answered this survey. Thank you!".into(),
        ));
    }
    if row.expires_at.is_none_or(|at| at <= now) {
        return Err(AppError::Conflict(
            "This survey has closed: its link has expired. Thank you all the same.".into(),
        ));
    }
    // Only the first answer through the link counts, even when two arrive at once.
    let done = execute!(db: db, sqlx::query(
        "UPDATE communication_recipients SET score = $1, comment = $2, answered_at = $3 \
         WHERE id = $4 AND answered_at IS NULL"
    )
    .bind(score)
    .bind((!comment.is_empty()).then_some(comment))
    .bind(now)
    .bind(row.id))?;
    if done == 0 {
        return Err(AppError::Conflict(
            "You have already answered this survey. Thank you!".into(),
        ));
    }
    Ok(())
}

/// The Net Promoter Score of `scores`: % promoters (9–10) − % detractors (0–6), rounded to a
/// whole number; `None` without answers.
pub fn score_of(label: &str, invited: i64, scores: &[i64]) -> Score {
    let promoters = scores.iter().filter(|s| **s >= 9).count() as i64;
    let detractors = scores.iter().filter(|s| **s <= 6).count() as i64;
    let answered = scores.len() as i64;
    Score {
        label: label.into(),
        invited,
        answered,
        promoters,
        passives: answered - promoters - detractors,
        detractors,
        nps: (answered > 0)
            .then(|| ((promoters - detractors) as f64 * 100.0 / answered as f64).round() as i64),
    }
}

#[derive(sqlx::FromRow)]
struct RoundRow {
    name: String,
    state: String,
    expires_days: i64,
    created_by: String,
    sent_at: Option<i64>,
    expires_at: Option<i64>,
}

/// A survey round for staff: a draft's audience, or a sent round's report per account.
pub async fn survey(db: &Db, id: i64) -> Result<SurveyDetail, AppError> {
    let row: Option<RoundRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT n.name, n.state, n.expires_days, u.first_name || ' ' || u.last_name AS created_by, \
         n.sent_at, n.expires_at FROM nps_rounds n JOIN users u ON u.id = n.created_by WHERE n.id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(internal)
    })?;
    let row = row.ok_or(AppError::NotFound)?;
    let mut tx = db.begin().await?;
    let d = draft(&mut tx, Kind::Survey, id).await?;
    let (recipients, gaps) = if d.state == "draft" {
        resolve(&mut tx, Kind::Survey, id, &d).await?
    } else {
        recorded(db, Kind::Survey, id).await?
    };
    tx.commit().await?;
    let audience = audience_words(db, Kind::Survey, id, &d).await?;
    let answers: Vec<(i64, i64)> = on_db!(db, |c| sqlx::query_as(
        "SELECT account_id, score FROM communication_recipients \
         WHERE kind = 'survey' AND parent_id = $1 AND score IS NOT NULL"
    )
    .bind(id)
    .fetch_all(c)
    .await
    .map_err(internal))?;
    let mut distribution = vec![0i64; 11];
    for (_, s) in &answers {
        distribution[(*s).clamp(0, 10) as usize] += 1;
    }
    let all: Vec<i64> = answers.iter().map(|(_, s)| *s).collect();
    let total = score_of("All accounts", recipients.len() as i64, &all);
    let mut accounts: Vec<Score> = Vec::new();
    let mut seen: Vec<i64> = Vec::new();
    for r in &recipients {
        if seen.contains(&r.account_id) {
            continue;
        }
        seen.push(r.account_id);
        let invited = recipients
            .iter()
            .filter(|x| x.account_id == r.account_id)
            .count() as i64;
        let scores: Vec<i64> = answers
            .iter()
            .filter(|(a, _)| *a == r.account_id)
            .map(|(_, s)| *s)
            .collect();
        accounts.push(score_of(&r.account, invited, &scores));
    }
    Ok(SurveyDetail {
        id,
        name: row.name,
        audience,
        state: row.state,
        expires_days: row.expires_days,
        created_by: row.created_by,
        sent_at: row.sent_at,
        expires_at: row.expires_at,
        recipients,
        gaps,
        total,
        accounts,
        distribution,
    })
}

/// One answer row for the CSV export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnswerRow {
    pub account: String,
    pub name: String,
    pub email: String,
    pub roles: String,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub answered_at: Option<i64>,
}

/// Every invitation of round `id` with its answer (if any), by account.
pub async fn answers(db: &Db, id: i64) -> Result<Vec<AnswerRow>, AppError> {
    let state: Option<String> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT state FROM nps_rounds WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(internal))?;
    state.ok_or(AppError::NotFound)?;
    on_db!(db, |c| sqlx::query_as(
        "SELECT a.name AS account, r.name, r.email, r.roles, r.score, r.comment, r.answered_at \
         FROM communication_recipients r JOIN accounts a ON a.id = r.account_id \
         WHERE r.kind = 'survey' AND r.parent_id = $1 ORDER BY a.name, r.name, r.id"
    )
    .bind(id)
    .fetch_all(c)
    .await
    .map_err(internal))
}

#[cfg(test)]
mod tests {
    use super::score_of;

    #[test]
    fn nps_is_promoters_minus_detractors() {
        let s = score_of("x", 8, &[10, 9, 8, 7, 6, 0]);
        assert_eq!(
            (s.promoters, s.passives, s.detractors, s.nps),
            (2, 2, 2, Some(0))
        );
        assert_eq!(score_of("x", 4, &[10, 10, 9, 3]).nps, Some(50));
        assert_eq!(score_of("x", 3, &[0, 1, 2]).nps, Some(-100));
        assert_eq!(score_of("x", 3, &[9, 9, 10]).nps, Some(100));
        // 1 promoter, 2 detractors of 3: −33.3 → −33.
        assert_eq!(score_of("x", 3, &[9, 5, 6]).nps, Some(-33));
        assert_eq!(score_of("x", 5, &[]).nps, None);
    }
}
