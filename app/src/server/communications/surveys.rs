//! NPS survey rounds: drafting and starting one, the personal links and their answers, and the
//! report per round and account.

use super::*;

/// What staff set up for a survey round.
#[derive(Debug, Clone, Default)]
pub struct SurveyForm {
    pub name: String,
    pub expires_days: String,
    pub audience: AudienceForm,
}

/// Stores a survey round as a draft; answers its id.
#[tracing::instrument(skip_all)]
pub async fn create_survey(
    db: &Db,
    actor: &Actor,
    form: &SurveyForm,
    now: i64,
) -> Result<i64, AppError> {
    let mut p = Problems::new();
    let name = p.text(
        "name",
        &form.name,
        SUBJECT_MAX,
        "Name the survey round, for example “NPS Q4 2026”",
        format!("Keep the name to {SUBJECT_MAX} characters or fewer"),
    );
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
    .bind(&name)
    .bind(audience.audience)
    .bind(&audience.tier)
    .bind(days.unwrap_or(14))
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    store_accounts(&mut tx, Kind::Survey, id, &audience.accounts).await?;
    tx.commit().await?;
    Ok(id)
}

/// Starts draft round `id`: each contact of its audience (which must have `confirmed` people) is
/// mailed a personal link.
#[tracing::instrument(skip_all)]
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
    .await)?;
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
    execute!(tx: &mut tx, sqlx::query("UPDATE nps_rounds SET expires_at = $1 WHERE id = $2")
        .bind(expires_at)
        .bind(id))?;
    let sent = (recipients.as_slice(), gaps.as_slice());
    let action = ("survey.started", name.as_str());
    record_sending(tx, Kind::Survey, id, sent, actor, action, client_addr, now).await
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
    .await)?;
    row.ok_or(AppError::NotFound)
}

/// What personal link `token` leads to; an unknown or altered one is `NotFound`.
#[tracing::instrument(skip_all)]
pub async fn link(db: &Db, token: &str, now: i64) -> Result<SurveyLink, AppError> {
    let row = find_link(db, token).await?;
    let state = if row.answered_at.is_some() {
        SurveyLinkState::Answered
    } else if row.expires_at.is_none_or(|at| at <= now) {
        SurveyLinkState::Expired
    } else {
        SurveyLinkState::Open
    };
    Ok(SurveyLink {
        state,
        first_name: row.name.split(' ').next().unwrap_or_default().to_string(),
        account: row.account,
    })
}

/// Records the answer given through personal link `token`: once, before the round expires.
#[tracing::instrument(skip_all)]
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
    #[sqlx(try_from = "String")]
    state: SendState,
    expires_days: i64,
    created_by: String,
    sent_at: Option<i64>,
    expires_at: Option<i64>,
}

/// A survey round for staff: a draft's audience, or a sent round's report per account.
#[tracing::instrument(skip_all)]
pub async fn survey(db: &Db, id: i64) -> Result<SurveyDetail, AppError> {
    let row: Option<RoundRow> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT n.name, n.state, n.expires_days, u.first_name || ' ' || u.last_name AS created_by, \
         n.sent_at, n.expires_at FROM nps_rounds n JOIN users u ON u.id = n.created_by WHERE n.id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(AppError::from)
    })?;
    let row = row.ok_or(AppError::NotFound)?;
    let mut tx = db.begin().await?;
    let d = draft(&mut tx, Kind::Survey, id).await?;
    let (recipients, gaps) = if d.state == SendState::Draft {
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
    .await)?;
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
#[tracing::instrument(skip_all)]
pub async fn answers(db: &Db, id: i64) -> Result<Vec<AnswerRow>, AppError> {
    let state: Option<String> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT state FROM nps_rounds WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    state.ok_or(AppError::NotFound)?;
    on_db!(db, |c| sqlx::query_as(
        "SELECT a.name AS account, r.name, r.email, r.roles, r.score, r.comment, r.answered_at \
         FROM communication_recipients r JOIN accounts a ON a.id = r.account_id \
         WHERE r.kind = 'survey' AND r.parent_id = $1 ORDER BY a.name, r.name, r.id"
    )
    .bind(id)
    .fetch_all(c)
    .await
    .map_err(AppError::from))
}
