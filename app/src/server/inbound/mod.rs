//! Replies by mail: a mail to the support mailbox that answers a case mail becomes a comment on
//! that case by its author — when it can be trusted — and is otherwise held for staff to look at.
//!
//! Trust never comes from the subject or the From header alone ("Ticket Trick"): the mail must be
//! addressed to the reply address one follower of one case was given (`support+<token>@…`), come
//! from that same person, who is still an active user of the case's account, and the receiving
//! mail server (the configured authserv-id) must have found DMARC, DKIM or SPF passing for the
//! sender's domain. Automatic mail (bounces, auto-replies, lists, the portal's own) is kept and
//! never answered (RFC 3834). Every mail is kept with its verdict.

pub mod auth;
mod facts;
pub mod review;
pub mod text;

use super::cases::{self, Reply};
use super::db::{execute, on_db, on_tx, Tx};
use super::mail::{self, Mail};
use super::state::AppState;
use crate::error::AppError;
use crate::model::case_flow::CaseState;
use crate::model::{Actor, Role};
use facts::{automatic, outbox_id, Facts};
use mail_parser::{Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

/// What became of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A comment on its case.
    Accepted,
    /// Kept for staff to accept or discard.
    Held,
    /// Not taken; the sender was told why (once).
    Refused,
    /// Automatic mail: kept, never answered.
    Dropped,
    /// A second delivery of a mail already received: nothing done.
    Duplicate,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Held => "held",
            Verdict::Refused => "refused",
            Verdict::Dropped => "dropped",
            Verdict::Duplicate => "duplicate",
        }
    }
}

/// What was decided for one mail, and why.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    pub reason: String,
    pub case: Option<String>,
}

/// How many mails one sender may have taken in an hour, and one case: more are held, so a
/// mail loop or a flood cannot fill a case.
const PER_SENDER_HOUR: i64 = 30;
const PER_CASE_HOUR: i64 = 60;
/// What is kept of a mail refused for its size.
const KEPT_OF_LARGE: usize = 64 * 1024;

/// The follower a reply address names.
#[derive(sqlx::FromRow)]
struct Addressee {
    case_id: i64,
    number: String,
    state: String,
    account_id: i64,
    user_id: i64,
    email: String,
    status: String,
    user_account: Option<i64>,
    kind: String,
    is_admin: bool,
}

impl Addressee {
    /// Whether the reply address was given to vendor staff (the case's assignee).
    fn staff(&self) -> bool {
        self.kind != "customer"
    }

    /// Who the mail acts as once it is trusted: the addressee, in their own role.
    fn actor(&self) -> Actor {
        let role = Role::from_stored(&self.kind, self.is_admin).unwrap_or(Role::CustomerUser);
        Actor {
            user_id: self.user_id,
            role,
            account_id: (!self.staff()).then_some(self.account_id),
            impersonator_id: None,
        }
    }
}

/// Takes one mail as received (`raw`, RFC 5322 bytes; only its beginning when its whole `size`
/// is over the limit) and decides what it becomes.
#[tracing::instrument(skip_all)]
pub async fn receive(
    state: &AppState,
    raw: &[u8],
    size: u64,
    now: i64,
) -> Result<Outcome, AppError> {
    let limit = state.settings.inbound_max_bytes();
    let Some(message) = MessageParser::default().parse(raw) else {
        let id = format!("sha256:{}", hex::encode(Sha256::digest(raw)));
        let facts = Facts::unreadable(id, size);
        return keep(
            state,
            &facts,
            raw,
            None,
            Verdict::Dropped,
            "not a readable mail",
            now,
        )
        .await;
    };
    let facts = Facts::of(&message, raw, size);
    if already_received(state, &facts.message_id).await? {
        return Ok(Outcome {
            verdict: Verdict::Duplicate,
            reason: "received before".into(),
            case: None,
        });
    }
    if let Some(why) = automatic(&message, &facts, mail::portal_host(&state.settings)) {
        return keep(state, &facts, raw, None, Verdict::Dropped, &why, now).await;
    }
    let Some(to) = addressee(state, &facts).await? else {
        return keep(
            state,
            &facts,
            raw,
            None,
            Verdict::Held,
            "not addressed to a case's reply address",
            now,
        )
        .await;
    };
    let held = |why: String| (Verdict::Held, why);
    let problem = if size > limit {
        Some((
            Verdict::Refused,
            format!("larger than the {} MB a mail may be", limit / (1024 * 1024)),
        ))
    } else if !facts.from.eq_ignore_ascii_case(&to.email) {
        Some(held(format!(
            "sent by {}, not by the person the reply address was given to",
            facts.from
        )))
    } else if to.status != "active" || (!to.staff() && to.user_account != Some(to.account_id)) {
        Some(held(
            "the sender is no longer an active user of the case's account".into(),
        ))
    } else {
        let results: Vec<&str> = message
            .headers_raw()
            .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
            .map(|(_, value)| value)
            .collect();
        let domain = facts.from.rsplit_once('@').map_or("", |(_, d)| d);
        match auth::verdict(&results, &state.settings.mail_trusted_authserv_id, domain) {
            auth::Authenticated::Pass(_) => None,
            auth::Authenticated::Fail(said) => Some(held(format!(
                "the receiving server did not authenticate the sender ({said})"
            ))),
            auth::Authenticated::Missing => Some(held(
                "no authentication results from the trusted mail server".into(),
            )),
        }
    };
    let problem = match problem {
        Some(p) => Some(p),
        None => flood(state, &facts, to.case_id, now).await?,
    };
    if let Some((verdict, why)) = problem {
        if verdict == Verdict::Refused {
            tell_refused(state, &facts, &to, &why, now).await?;
        }
        return keep(state, &facts, raw, Some(&to), verdict, &why, now).await;
    }
    if CaseState::try_from(to.state.clone()).is_ok_and(|s| s.is_final()) {
        let why = "the case is closed".to_string();
        tell_refused(state, &facts, &to, &why, now).await?;
        return keep(state, &facts, raw, Some(&to), Verdict::Refused, &why, now).await;
    }
    let words = text::own_words(&message.body_text(0).unwrap_or_default());
    let files = stage_attachments(state, &message, &to, now).await?;
    if words.is_empty() && files.is_empty() {
        return keep(
            state,
            &facts,
            raw,
            Some(&to),
            Verdict::Held,
            "nothing of its own to add (only quoted text)",
            now,
        )
        .await;
    }
    let actor = to.actor();
    let body = if words.is_empty() {
        "(files sent by mail)".to_string()
    } else {
        words
    };
    let reply = Reply {
        body,
        // The mail's own id: a second delivery of it adds nothing, even before it is kept below.
        form_key: Some(form_key(&facts.message_id)),
        files,
        client_addr: "mail".into(),
    };
    // Staff answer the customer by mail; a work note is only ever written in the portal.
    let added = if to.staff() {
        cases::staff_note(state, &actor, &to.number, reply, false, now).await
    } else {
        cases::comment(state, &actor, to.account_id, &to.number, reply, now).await
    };
    // A comment the case does not take (too long, the case closed meanwhile) is held with the
    // reason: a mail that can never be taken must not stop the mailbox behind it.
    let why = match added {
        Ok(()) => None,
        Err(AppError::Validation(problems)) => Some(
            problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(e @ (AppError::Conflict(_) | AppError::NotFound | AppError::Forbidden)) => {
            Some(e.to_string())
        }
        Err(e) => return Err(e),
    };
    if let Some(why) = why {
        return keep(state, &facts, raw, Some(&to), Verdict::Held, &why, now).await;
    }
    keep(
        state,
        &facts,
        raw,
        Some(&to),
        Verdict::Accepted,
        "a comment by its sender",
        now,
    )
    .await
}

/// The comment key of the mail with `message_id`: a second delivery of it, or its acceptance
/// by staff after all, adds nothing to a case that already has it.
fn form_key(message_id: &str) -> String {
    format!(
        "mail:{}",
        &hex::encode(Sha256::digest(message_id.as_bytes()))[..40]
    )
}

const ADDRESSEE: &str =
    "SELECT c.id AS case_id, c.number, c.state, c.account_id, u.id AS user_id, u.email, \
     u.status, u.account_id AS user_account, u.kind, u.is_admin FROM case_followers f \
     JOIN cases c ON c.id = f.case_id JOIN users u ON u.id = f.user_id";

/// The follower the mail answers: the one whose reply address (`…+<token>@…`) it was sent to,
/// else — when the support mailbox has no plus-addresses — the recipient of the case mail it
/// names in `In-Reply-To` or `References`. Either only says whom it claims to come from: the
/// sender and the receiving server's authentication are checked after.
async fn addressee(state: &AppState, facts: &Facts) -> Result<Option<Addressee>, AppError> {
    let token = facts.recipients.iter().find_map(|address| {
        let local = address.rsplit_once('@')?.0;
        let token = local.split_once('+')?.1;
        (token.len() == 40 && token.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| token.to_string())
    });
    if let Some(token) = token {
        let sql = format!("{ADDRESSEE} WHERE f.mail_token = $1");
        let found: Option<Addressee> = on_db!(&state.db, |c| sqlx::query_as(&sql)
            .bind(&token)
            .fetch_optional(c)
            .await)?;
        return Ok(found);
    }
    let host = mail::portal_host(&state.settings);
    let Some(answered) = facts.answers.iter().find_map(|id| outbox_id(id, host)) else {
        return Ok(None);
    };
    let sql = format!(
        "{ADDRESSEE} JOIN mail_outbox o ON o.case_number = c.number AND o.to_user_id = f.user_id \
         WHERE o.id = $1"
    );
    let found: Option<Addressee> = on_db!(&state.db, |c| sqlx::query_as(&sql)
        .bind(answered)
        .fetch_optional(c)
        .await)?;
    Ok(found)
}

async fn already_received(state: &AppState, message_id: &str) -> Result<bool, AppError> {
    let n: i64 = on_db!(&state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbound_mails WHERE message_id = $1"
    )
    .bind(message_id)
    .fetch_one(c)
    .await)?;
    Ok(n > 0)
}

/// Holds a mail past the hourly limits of its sender or its case.
async fn flood(
    state: &AppState,
    facts: &Facts,
    case_id: i64,
    now: i64,
) -> Result<Option<(Verdict, String)>, AppError> {
    let (by_sender, by_case): (i64, i64) = on_db!(&state.db, |c| {
        sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM inbound_mails WHERE from_address = $1 AND received_at > $2), \
                (SELECT COUNT(*) FROM inbound_mails WHERE case_id = $3 AND received_at > $2)"
    )
    .bind(&facts.from)
    .bind(now - 3600)
    .bind(case_id)
    .fetch_one(c)
    .await
    })?;
    Ok(if by_sender >= PER_SENDER_HOUR {
        Some((
            Verdict::Held,
            format!("more than {PER_SENDER_HOUR} mails from this sender in an hour"),
        ))
    } else if by_case >= PER_CASE_HOUR {
        Some((
            Verdict::Held,
            format!("more than {PER_CASE_HOUR} mails to this case in an hour"),
        ))
    } else {
        None
    })
}

/// The mail's attachments, stored and staged for the comment as its sender's uploads.
async fn stage_attachments(
    state: &AppState,
    message: &Message<'_>,
    to: &Addressee,
    now: i64,
) -> Result<Vec<String>, AppError> {
    let actor = to.actor();
    let mut tokens = Vec::new();
    for part in message.attachments() {
        let name = part.attachment_name().unwrap_or("attachment").to_string();
        let bytes = bytes::Bytes::copy_from_slice(part.contents());
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(bytes)]);
        let received = match super::attachments::receive(
            &state.files,
            &name,
            chunks,
            state.settings.max_file_bytes(),
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(name, error = %e.message(&name), "a mailed file was not kept");
                continue;
            }
        };
        let mut tx = state.db.begin().await?;
        let token = super::attachments::record(
            &mut tx,
            &state.files,
            state.settings.scanning(),
            &actor,
            received,
            super::attachments::Parent::Staged,
            now,
        )
        .await?;
        tx.commit().await?;
        tokens.push(token);
    }
    Ok(tokens)
}

/// Tells the sender, once an hour at most, why their mail was not taken.
async fn tell_refused(
    state: &AppState,
    facts: &Facts,
    to: &Addressee,
    why: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let told: i64 = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'reply_refused' AND to_address = $1 AND created_at > $2"
    )
    .bind(&to.email)
    .bind(now - 3600)
    .fetch_one(c)
    .await
    })?;
    if told > 0 {
        return Ok(());
    }
    let (_, name) = mail::recipient(&mut tx, to.user_id).await?;
    let link = mail::portal_url(&state.settings, "/cases/new");
    let body = format!(
        "Hello {name},\n\nYour mail \"{}\" about case {} was not added to it: {why}.\n\n\
         {}Open a new case here, and mention {} in it: {link}\n",
        facts.subject,
        to.number,
        if why.starts_with("larger") {
            "Send large files from the case page instead. "
        } else {
            ""
        },
        to.number
    );
    let mail = Mail {
        kind: "reply_refused",
        account_id: Some(to.account_id),
        to_address: &to.email,
        to_name: &name,
        subject: format!("[{}] Your mail was not added", to.number),
        body,
        secret_link: None,
    };
    mail::enqueue(&mut tx, &mail, now).await?;
    tx.commit().await
}

/// Keeps the mail with its verdict (its first bytes only when it was refused for its size).
async fn keep(
    state: &AppState,
    facts: &Facts,
    raw: &[u8],
    to: Option<&Addressee>,
    verdict: Verdict,
    why: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let complete =
        facts.size <= state.settings.inbound_max_bytes() && raw.len() as u64 == facts.size;
    let kept = if complete {
        raw
    } else {
        &raw[..KEPT_OF_LARGE.min(raw.len())]
    };
    let mut tx: Tx = state.db.begin().await?;
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO inbound_mails (message_id, received_at, from_address, subject, size, raw, raw_complete, \
         case_id, user_id, verdict, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (message_id) DO NOTHING"
    )
    .bind(&facts.message_id)
    .bind(now)
    .bind(&facts.from)
    .bind(&facts.subject)
    .bind(facts.size as i64)
    .bind(kept)
    .bind(complete)
    .bind(to.map(|t| t.case_id))
    .bind(to.map(|t| t.user_id))
    .bind(verdict.as_str())
    .bind(why))?;
    tx.commit().await?;
    tracing::info!(
        verdict = verdict.as_str(),
        why,
        case = to.map(|t| t.number.as_str()),
        "mail received"
    );
    Ok(Outcome {
        verdict,
        reason: why.to_string(),
        case: to.map(|t| t.number.clone()),
    })
}
