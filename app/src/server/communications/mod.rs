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
use super::db::{bind_args, execute, on_db, on_tx, Arg, Db, Tx};
use super::mail::{self, Mail, LINK_PLACEHOLDER};
use super::markdown;
use super::session;
use super::state::Settings;
use crate::error::{AppError, Problems};
use crate::model::Actor;
use crate::model::{
    CommunicationSummary, Communications, Gap, NoticeDetail, Recipient, Score, SendState,
    SurveyDetail, SurveyLink, SurveyLinkState,
};
use serde_json::json;

mod notices;
mod surveys;

pub use notices::*;
pub use surveys::*;

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
                .await)?;
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
    #[sqlx(try_from = "String")]
    state: SendState,
}

async fn draft(tx_or_db: &mut Tx, kind: Kind, id: i64) -> Result<Draft, AppError> {
    let lock = tx_or_db.for_update();
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
        .await)?;
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
        .await)?;
    let gap_sql = format!(
        "SELECT a.id AS account_id, a.name AS account FROM accounts a WHERE ($1 = $1) AND {filter} \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.status = 'active' \
         AND (u.id = a.primary_contact_id OR u.id = a.secondary_contact_id)) ORDER BY a.name, a.id"
    );
    let gaps: Vec<Gap> = on_tx!(tx, |c| bind_args!(sqlx::query_as(&gap_sql), &all_args)
        .fetch_all(c)
        .await)?;
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
    .await)?;
    let gaps: Vec<Gap> = on_db!(db, |c| sqlx::query_as(
        "SELECT g.account_id, a.name AS account FROM communication_gaps g \
         JOIN accounts a ON a.id = g.account_id WHERE g.kind = $1 AND g.parent_id = $2 \
         ORDER BY a.name, a.id"
    )
    .bind(kind.as_str())
    .bind(id)
    .fetch_all(c)
    .await)?;
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
            .map_err(AppError::from)
            })?;
            names.join(", ")
        }
        _ => "Every account".into(),
    })
}

/// Accounts staff can address, and the recent notices and rounds.
#[tracing::instrument(skip_all)]
pub async fn overview(db: &Db) -> Result<Communications, AppError> {
    let accounts: Vec<(i64, String, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, name, service_tier FROM accounts ORDER BY name, id"
    )
    .fetch_all(c)
    .await)?;
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
    let notices: Vec<CommunicationSummary> =
        on_db!(db, |c| sqlx::query_as(&notices_sql).fetch_all(c).await)?;
    let surveys: Vec<CommunicationSummary> =
        on_db!(db, |c| sqlx::query_as(&surveys_sql).fetch_all(c).await)?;
    Ok(Communications {
        notices,
        surveys,
        accounts,
    })
}

/// Completes the sending of draft `id` of `kind` as `action` (its `reference` the subject or
/// name): the draft marked sent, the accounts it found without a contact kept, an audit entry
/// naming who got it and who could not; then commits. Answers how many it went to.
#[allow(clippy::too_many_arguments)]
async fn record_sending(
    mut tx: Tx,
    kind: Kind,
    id: i64,
    (recipients, gaps): (&[Recipient], &[Gap]),
    actor: &Actor,
    (action, reference): (&str, &str),
    client_addr: &str,
    now: i64,
) -> Result<usize, AppError> {
    let table = kind.table();
    execute!(tx: &mut tx, sqlx::query(&format!(
        "UPDATE {table} SET state = 'sent', sent_by = $1, sent_at = $2 WHERE id = $3"
    ))
    .bind(actor.user_id)
    .bind(now)
    .bind(id))?;
    for gap in gaps {
        execute!(tx: &mut tx, sqlx::query(
            "INSERT INTO communication_gaps (kind, parent_id, account_id) VALUES ($1, $2, $3)"
        )
        .bind(kind.as_str())
        .bind(id)
        .bind(gap.account_id))?;
    }
    let e = Event {
        reference: Some(reference),
        after: Some(json!({
            "recipients": recipients.iter().map(|r| json!({
                "account": r.account, "email": r.email, "roles": r.roles,
            })).collect::<Vec<_>>(),
            "accounts_without_contact": gaps.iter().map(|g| g.account.clone()).collect::<Vec<_>>(),
        })),
        target: Some(format!("{} {id}", kind.as_str())),
        ..Event::by(actor, action, client_addr)
    };
    audit::append(&mut tx, &e, now).await?;
    tx.commit().await?;
    Ok(recipients.len())
}

/// Resolves draft `id` in a sending transaction and checks it against what staff confirmed.
async fn confirm(
    tx: &mut Tx,
    kind: Kind,
    id: i64,
    confirmed: i64,
) -> Result<(Vec<Recipient>, Vec<Gap>), AppError> {
    let d = draft(tx, kind, id).await?;
    if d.state != SendState::Draft {
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
