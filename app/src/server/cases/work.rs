//! Working a case: comments, the customer's and staff's steps of its life cycle, work notes,
//! staff fields, and closing resolved cases nobody answered. Each change is one transaction.

use super::files::{attach_reply_files, reply_text};
use super::*;

#[derive(sqlx::FromRow)]
pub(super) struct Locked {
    pub(super) id: i64,
    pub(super) account_id: i64,
    #[sqlx(try_from = "String")]
    pub(super) state: CaseState,
    subject: String,
    paused_since: Option<i64>,
    time_zone: String,
    business_start: i32,
    business_end: i32,
}

/// Loads a case for change, locked until the transaction ends (PostgreSQL; SQLite write
/// transactions are exclusive). `account_id` limits it to a customer's account.
pub(super) async fn lock_case(
    tx: &mut Tx,
    number: &str,
    account_id: Option<i64>,
) -> Result<Locked, AppError> {
    let columns = "id, account_id, state, subject, paused_since, \
         (SELECT a.time_zone FROM accounts a WHERE a.id = cases.account_id) AS time_zone, \
         (SELECT CAST(a.business_start AS INTEGER) FROM accounts a WHERE a.id = cases.account_id) AS business_start, \
         (SELECT CAST(a.business_end AS INTEGER) FROM accounts a WHERE a.id = cases.account_id) AS business_end";
    tx.numbered("cases", columns, number, account_id).await
}

/// Adds an entry to case `case_id`'s activity and answers its id.
pub(crate) async fn add_entry(
    tx: &mut Tx,
    case_id: i64,
    kind: &str,
    author: Option<i64>,
    body: &str,
    now: i64,
) -> Result<i64, AppError> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id"
    )
    .bind(case_id)
    .bind(kind)
    .bind(author)
    .bind(body)
    .bind(now)
    .fetch_one(c)
    .await
    })?)
}

/// Recomputes when the resolution target of case `case_id` runs out: set while its clock runs,
/// NULL while paused, met or closed. Called after every change of state, pause or priority.
pub(crate) async fn refresh_due(tx: &mut Tx, case_id: i64) -> Result<(), AppError> {
    let clock: ClockRow = on_tx!(tx, |c| sqlx::query_as(&format!(
        "SELECT {CLOCK_COLUMNS} FROM cases c JOIN sla_targets t ON t.priority = c.priority \
         JOIN accounts a ON a.id = c.account_id WHERE c.id = $1"
    ))
    .bind(case_id)
    .fetch_one(c)
    .await)?;
    execute!(tx: tx, sqlx::query("UPDATE cases SET due_at = $1 WHERE id = $2")
        .bind(clock.resolution_due())
        .bind(case_id))?;
    Ok(())
}

/// Moves a locked case by `step`, keeping the SLA clocks: entering Awaiting Info or Resolved
/// pauses them, leaving resumes them; a proposed resolution stops the resolution clock until the
/// customer rejects it. Records the change in the activity stream.
async fn transition(
    tx: &mut Tx,
    case: &Locked,
    step: Step,
    by: Mover,
    author: Option<i64>,
    now: i64,
) -> Result<CaseState, AppError> {
    let from = case.state;
    let to = CaseFlow::next(from, step, by).map_err(|why| AppError::Conflict(why.to_string()))?;
    // The pause that ends now, in calendar seconds and in the account's working seconds.
    let hours = BusinessHours::new(&case.time_zone, case.business_start, case.business_end);
    let (paused_until_now, paused_business) = case
        .paused_since
        .map(|since| ((now - since).max(0), hours.seconds_between(since, now)))
        .unwrap_or((0, 0));
    let (add_paused, add_business, paused_since) = if to.pauses_clock() && !to.is_final() {
        (0, 0, case.paused_since.or(Some(now)))
    } else {
        (paused_until_now, paused_business, None)
    };
    execute!(tx: tx, sqlx::query(
        "UPDATE cases SET state = $1, paused_seconds = paused_seconds + $2, paused_since = $3, \
         resolved_at = CASE WHEN $1 = 'resolved' THEN $4 WHEN $1 = 'open' THEN NULL ELSE resolved_at END, \
         closed_at = CASE WHEN $1 IN ('closed', 'cancelled') THEN $4 ELSE closed_at END, \
         updated_at = $4, paused_business_seconds = paused_business_seconds + $6 WHERE id = $5"
    )
    .bind(to.as_str())
    .bind(add_paused)
    .bind(paused_since)
    .bind(now)
    .bind(case.id)
    .bind(add_business))?;
    refresh_due(tx, case.id).await?;
    let text = format!("State: {} → {}", from.label(), to.label());
    add_entry(tx, case.id, "change", author, &text, now).await?;
    Ok(to)
}

pub(super) fn check_text(field: &str, body: &str, what: &str) -> Result<String, AppError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::field(field, format!("Write your {what}")));
    }
    if body.chars().count() > COMMENT_MAX {
        return Err(AppError::field(
            field,
            format!("A {what} must be {COMMENT_MAX} characters or fewer"),
        ));
    }
    Ok(body.to_string())
}

/// A customer's comment on their account's case. A reply while the case awaits information
/// moves it back to Open (SPEC §4.2).
#[tracing::instrument(skip_all)]
pub async fn comment(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    number: &str,
    reply: Reply,
    now: i64,
) -> Result<(), AppError> {
    let body = reply_text(&reply, "comment")?;
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, Some(account_id)).await?;
    let key = reply.form_key.as_deref();
    if sent_before(&mut tx, actor, FormKind::Comment, key, case.id, now).await? {
        return Ok(());
    }
    if case.state.is_final() {
        return Err(AppError::Conflict(
            "This case is closed. Open a new case and mention this one's number.".into(),
        ));
    }
    let entry = add_entry(&mut tx, case.id, "comment", Some(actor.user_id), &body, now).await?;
    let files = attach_reply_files(
        &mut tx, state, actor, &case, number, entry, false, &reply, now,
    )
    .await?;
    // The colleagues following the case hear of it; the author does not need their own words.
    let (_, author) = mail::recipient(&mut tx, actor.user_id).await?;
    let what = format!("{author} commented:\n\n{body}\n\n{files}");
    tell_followers(
        &mut tx,
        state,
        case.id,
        "case_comment",
        what.trim_end(),
        Some(actor.user_id),
        now,
    )
    .await?;
    tell_assignee(&mut tx, state, case.id, what.trim_end(), now).await?;
    if case.state == CaseState::AwaitingInfo {
        transition(
            &mut tx,
            &case,
            Step::CustomerReply,
            Mover::Customer,
            Some(actor.user_id),
            now,
        )
        .await?;
    } else {
        execute!(tx: &mut tx, sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2").bind(now).bind(case.id))?;
    }
    tx.commit().await
}

/// The customer accepts (closes) or rejects (reopens) a proposed resolution.
#[tracing::instrument(skip_all)]
pub async fn customer_step(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    number: &str,
    step: Step,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, Some(account_id)).await?;
    let to = transition(
        &mut tx,
        &case,
        step,
        Mover::Customer,
        Some(actor.user_id),
        now,
    )
    .await?;
    if to == CaseState::Closed {
        tell_followers(
            &mut tx,
            state,
            case.id,
            "case_closed",
            &format!(
                "Case \"{}\" is closed: the resolution was accepted.",
                case.subject
            ),
            None,
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Vendor staff move a case, optionally with a comment to the customer.
#[tracing::instrument(skip_all)]
pub async fn staff_step(
    state: &AppState,
    actor: &Actor,
    number: &str,
    step: Step,
    comment: Option<&str>,
    now: i64,
) -> Result<(), AppError> {
    let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(check_text("comment", c, "comment")?),
        None => None,
    };
    if matches!(step, Step::AskInfo | Step::Resolve) && comment.is_none() {
        return Err(AppError::field(
            "comment",
            "Tell the customer what you need or what the resolution is",
        ));
    }
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, None).await?;
    let to = transition(&mut tx, &case, step, Mover::Staff, Some(actor.user_id), now).await?;
    if let Some(text) = &comment {
        add_entry(&mut tx, case.id, "comment", Some(actor.user_id), text, now).await?;
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE cases SET first_response_at = COALESCE(first_response_at, $1) WHERE id = $2"
        )
        .bind(now)
        .bind(case.id))?;
    }
    let news = match to {
        CaseState::AwaitingInfo => Some((
            "case_awaiting_info",
            "We need more information from you to continue.",
        )),
        CaseState::Resolved => Some((
            "case_resolved",
            "We propose a resolution. Please accept it to close the case, or reject it to reopen.",
        )),
        CaseState::Cancelled | CaseState::Closed => Some(("case_closed", "The case is closed.")),
        _ => None,
    };
    if let Some((kind, what)) = news {
        let what = match &comment {
            Some(text) => format!("{what}\n\n{text}"),
            None => what.to_string(),
        };
        tell_followers(&mut tx, state, case.id, kind, &what, None, now).await?;
    }
    tx.commit().await
}

/// A staff comment to the customer (mailed, and the first response on the SLA clock) or an
/// internal work note (never shown or sent to a customer).
#[tracing::instrument(skip_all)]
pub async fn staff_note(
    state: &AppState,
    actor: &Actor,
    number: &str,
    reply: Reply,
    internal_note: bool,
    now: i64,
) -> Result<(), AppError> {
    let body = reply_text(
        &reply,
        if internal_note {
            "work note"
        } else {
            "comment"
        },
    )?;
    let mut tx = state.db.begin().await?;
    let case = lock_case(&mut tx, number, None).await?;
    let key = reply.form_key.as_deref();
    if sent_before(&mut tx, actor, FormKind::Note, key, case.id, now).await? {
        return Ok(());
    }
    if case.state.is_final() && !internal_note {
        return Err(AppError::Conflict("This case is closed.".into()));
    }
    let kind = if internal_note {
        "work_note"
    } else {
        "comment"
    };
    let entry = add_entry(&mut tx, case.id, kind, Some(actor.user_id), &body, now).await?;
    let files = attach_reply_files(
        &mut tx,
        state,
        actor,
        &case,
        number,
        entry,
        internal_note,
        &reply,
        now,
    )
    .await?;
    if internal_note {
        execute!(tx: &mut tx, sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2").bind(now).bind(case.id))?;
    } else {
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE cases SET updated_at = $1, first_response_at = COALESCE(first_response_at, $1) WHERE id = $2"
        )
        .bind(now)
        .bind(case.id))?;
        tell_followers(
            &mut tx,
            state,
            case.id,
            "case_comment",
            &format!("Support replied:\n\n{body}\n\n{files}")
                .trim_end()
                .to_string(),
            None,
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Staff fields: assignee (`""` nobody, `"me"`, or a staff member's id), assignment group, and a
/// priority override (`""` keeps the computed one) with its required reason. Each change is
/// recorded with who and when.
#[tracing::instrument(skip_all)]
pub async fn staff_fields(
    state: &AppState,
    actor: &Actor,
    number: &str,
    assigned_to: &str,
    group_id: &str,
    priority_value: &str,
    priority_reason: &str,
    now: i64,
) -> Result<(), AppError> {
    let db = &state.db;
    let mut p = Problems::new();
    let staff = crate::server::directory::staff_members(db).await?;
    let assignee = crate::server::directory::chosen_staff(
        &mut p,
        "assigned_to",
        assigned_to,
        actor.user_id,
        &staff,
        "Choose a member of the support staff, or nobody",
    );
    let groups = groups(db).await?;
    let group = pick(
        &mut p,
        "assignment_group_id",
        group_id,
        &groups,
        "Choose an assignment group",
    );
    let override_priority = match priority_value.trim() {
        "" => None,
        v => match v.parse::<i32>().ok().filter(|n| (1..=4).contains(n)) {
            Some(n) => Some(n),
            None => {
                p.add("priority", "Choose a priority from P1 to P4");
                None
            }
        },
    };
    let reason = priority_reason.trim();
    if override_priority.is_some() && reason.is_empty() {
        p.add(
            "priority_reason",
            "Give the reason for setting the priority by hand",
        );
    }
    p.finish()?;

    let mut tx = db.begin().await?;
    let case = lock_case(&mut tx, number, None).await?;
    let current: (Option<i64>, i64, i32, i32, String) = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT c.assigned_to, c.assignment_group_id, c.priority, i.severity, c.workaround \
         FROM cases c JOIN impact_levels i ON i.id = c.impact_id WHERE c.id = $1"
    )
    .bind(case.id)
    .fetch_one(c)
    .await)?;
    let (old_assignee, old_group, old_priority, severity, workaround) = current;
    let name = |id: Option<i64>| {
        id.and_then(|id| staff.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "nobody".into())
    };
    let mut changes = Vec::new();
    if assignee != old_assignee {
        changes.push(format!(
            "Assigned to: {} → {}",
            name(old_assignee),
            name(assignee)
        ));
    }
    if group != old_group {
        let label = |id: i64| {
            groups
                .iter()
                .find(|g| g.id == id)
                .map(|g| g.name.clone())
                .unwrap_or_default()
        };
        changes.push(format!(
            "Assignment group: {} → {}",
            label(old_group),
            label(group)
        ));
    }
    let new_priority = override_priority.unwrap_or_else(|| {
        priority(
            severity,
            crate::model::Workaround::parse(&workaround)
                .unwrap_or(crate::model::Workaround::Unknown),
        )
    });
    if new_priority != old_priority {
        changes.push(match override_priority {
            Some(_) => {
                format!("Priority: P{old_priority} → P{new_priority} (set by hand: {reason})")
            }
            None => format!("Priority: P{old_priority} → P{new_priority} (computed)"),
        });
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE cases SET assigned_to = $1, assignment_group_id = $2, priority = $3, priority_reason = $4, \
         updated_at = $5 WHERE id = $6"
    )
    .bind(assignee)
    .bind(group)
    .bind(new_priority)
    .bind(override_priority.map(|_| reason.to_string()))
    .bind(now)
    .bind(case.id))?;
    refresh_due(&mut tx, case.id).await?;
    for change in changes {
        add_entry(
            &mut tx,
            case.id,
            "change",
            Some(actor.user_id),
            &change,
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// The oldest cases resolved before `$1`, 500 at a time: those to close automatically.
const DUE_TO_CLOSE: &str =
    "SELECT number FROM cases WHERE state = 'resolved' AND resolved_at < $1 \
                            ORDER BY resolved_at LIMIT 500";

/// Closes cases resolved for more than `days` days without an answer (SPEC §4.2); answers how
/// many. Each case is its own transaction, so several instances doing this at once is harmless:
/// the second finds the case already closed and skips it.
#[tracing::instrument(skip_all)]
pub async fn auto_close(state: &AppState, days: i64, now: i64) -> Result<usize, AppError> {
    let due: Vec<String> = on_db!(&state.db, |c| {
        sqlx::query_scalar(DUE_TO_CLOSE)
            .bind(now - days * 86_400)
            .fetch_all(c)
            .await
            .map_err(AppError::from)
    })?;
    let mut closed = 0;
    for number in due {
        let mut tx = state.db.begin().await?;
        let case = lock_case(&mut tx, &number, None).await?;
        if case.state != CaseState::Resolved {
            continue;
        }
        transition(&mut tx, &case, Step::AutoClose, Mover::System, None, now).await?;
        let what = format!(
            "Case \"{}\" was resolved {days} days ago without an answer and is now closed. If the problem is back, open a new case and mention this one.",
            case.subject
        );
        tell_followers(&mut tx, state, case.id, "case_closed", &what, None, now).await?;
        tx.commit().await?;
        closed += 1;
    }
    Ok(closed)
}

/// Whether this comment form (idempotency key `form_key`) was sent before: then the entry it
/// made stands and nothing is added. Else the key is claimed for case `case_id` in `tx`.
async fn sent_before(
    tx: &mut Tx,
    actor: &Actor,
    kind: FormKind,
    form_key: Option<&str>,
    case_id: i64,
    now: i64,
) -> Result<bool, AppError> {
    match forms::claim(tx, actor.user_id, kind, form_key, now).await? {
        Submission::Repeated(_) => Ok(true),
        Submission::New => {
            forms::record(tx, actor.user_id, form_key, case_id).await?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases due to be closed are read in order from an index of their own: never every
    /// resolved case's row, sorted (seconds at a million cases).
    #[tokio::test]
    async fn the_cases_due_to_close_are_read_in_order_from_their_index() {
        let steps = crate::server::db::sqlite_plan("auto-close", DUE_TO_CLOSE, &[1]).await;
        assert_eq!(
            steps,
            ["SEARCH cases USING INDEX cases_resolved_order (state=? AND resolved_at<?)"],
            "no sort, no other index"
        );
    }
}
