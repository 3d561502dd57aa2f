//! Moving a change request: the staff workflow and the administrator's authorization, the check
//! of authorization records against the audit trail, and conversion into a case.

use super::*;

#[derive(sqlx::FromRow)]
struct Locked {
    id: i64,
    number: String,
    account_id: i64,
    #[sqlx(try_from = "String")]
    state: ChangeState,
    authorizer_id: Option<i64>,
    short_description: String,
    requested_by: i64,
}

async fn lock(tx: &mut Tx, number: &str, account_id: Option<i64>) -> Result<Locked, AppError> {
    let columns = "id, number, account_id, state, authorizer_id, short_description, requested_by";
    tx.numbered("change_requests", columns, number, account_id)
        .await
}

/// The id of change request `number` when `actor` may add files to it: one they can read (a
/// customer's own account's) that is not closed, cancelled or declined.
pub async fn change_for_files(db: &Db, actor: &Actor, number: &str) -> Result<i64, AppError> {
    super::super::attachments::open_for_files(
        db,
        actor,
        "change_requests",
        number,
        |state| ChangeState::parse(state).is_some_and(ChangeState::is_final),
        "This change request is finished: files can no longer be added.",
    )
    .await
}

/// Files received from the change request page's "Add files" form, recorded on request `number`
/// in one transaction with a line in its history and an audit entry each. Answers their tokens.
pub async fn attach_files(
    state: &AppState,
    actor: &Actor,
    number: &str,
    received: Vec<crate::server::attachments::Received>,
    client_addr: &str,
    now: i64,
) -> Result<Vec<String>, AppError> {
    use crate::server::attachments as files;
    let total: i64 = received.iter().map(|f| f.size).sum();
    let checks = async {
        let scope = crate::policy::reading_scope(actor)?;
        let mut tx = state.db.begin().await?;
        let change = lock(&mut tx, number, scope.account()).await?;
        if change.state.is_final() {
            return Err(AppError::Conflict(
                "This change request is finished: files can no longer be added.".into(),
            ));
        }
        let limit = state.settings.max_case_bytes();
        files::check_total(&mut tx, (None, Some(change.id)), limit, total).await?;
        Ok((tx, change))
    };
    let ((mut tx, change), received) =
        files::unless_refused(&state.files, received, checks).await?;
    let line = files::attached_line(&received);
    add_entry(
        &mut tx,
        change.id,
        "change",
        Some(actor.user_id),
        &line,
        now,
    )
    .await?;
    let owner = files::Owner::Change {
        id: change.id,
        number,
        account_id: change.account_id,
    };
    let tokens =
        files::record_all(&mut tx, state, actor, received, owner, client_addr, now).await?;
    execute!(tx: &mut tx, sqlx::query("UPDATE change_requests SET updated_at = $1 WHERE id = $2").bind(now).bind(change.id))?;
    tx.commit().await?;
    Ok(tokens)
}

/// What goes with a step: a note for the history, and for Schedule the window and implementer.
#[derive(Debug, Clone, Default)]
pub struct StepForm {
    pub note: String,
    pub scheduled_start: String,
    pub scheduled_end: String,
    pub implementer_id: String,
}

/// Moves change request `number` by `step`. Customers reach only their own account's requests;
/// authorizing writes the authorization record; Schedule sets the window and implementer.
#[tracing::instrument(skip_all)]
pub async fn step(
    state: &AppState,
    actor: &Actor,
    number: &str,
    step: ChangeStep,
    form: &StepForm,
    client_addr: &str,
    now: i64,
) -> Result<ChangeState, AppError> {
    let db = &state.db;
    let staff = actor.role.is_staff();
    let scope = if staff {
        None
    } else {
        Some(actor.account_id()?)
    };
    let zone = zone_of(db, actor.user_id).await?;
    let mut p = Problems::new();
    let note = form.note.trim().to_string();
    if note.chars().count() > TEXT_MAX {
        p.add(
            "note",
            format!("Keep the note to {TEXT_MAX} characters or fewer"),
        );
    }
    let mut schedule: Option<(i64, i64, Option<i64>)> = None;
    if step == ChangeStep::Schedule {
        let mut window = None;
        let start = parse_local(&form.scheduled_start, &zone);
        let end = parse_local(&form.scheduled_end, &zone);
        match (start, end) {
            (None, _) => p.add("scheduled_start", "Enter when the work starts"),
            (_, None) => p.add("scheduled_end", "Enter when the work ends"),
            (Some(s), Some(e)) if e <= s => {
                p.add("scheduled_end", "The work must end after it starts")
            }
            (Some(s), Some(e)) => window = Some((s, e)),
        }
        let people = crate::server::directory::staff_members(db).await?;
        let implementer = crate::server::directory::chosen_staff(
            &mut p,
            "implementer_id",
            &form.implementer_id,
            actor.user_id,
            &people,
            "Choose a member of the vendor staff",
        );
        schedule = window.map(|(s, e)| (s, e, implementer));
    }
    let mut tx = db.begin().await?;
    let change = lock(&mut tx, number, scope).await?;
    let mover = crate::policy::change_mover(actor, change.account_id, change.authorizer_id)
        .ok_or(AppError::Forbidden)?;
    let from = change.state;
    if step == ChangeStep::Convert {
        return Err(AppError::Conflict(
            "Use the conversion form: a case needs its own details".into(),
        ));
    }
    let to = ChangeFlow::next(from, step, mover).map_err(|why| AppError::Conflict(why.into()))?;
    // The step applies: now what came with it must be right.
    p.finish()?;
    if step == ChangeStep::Authorize {
        let account: String = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT name FROM accounts WHERE id = $1"
        )
        .bind(change.account_id)
        .fetch_one(c)
        .await)?;
        let statement = change_flow::authorization_statement(&account);
        record_authorization(
            &mut tx,
            actor,
            (change.id, &change.number, change.account_id),
            &statement,
            client_addr,
            now,
        )
        .await?;
    }
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE change_requests SET state = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(to.as_str())
    .bind(now)
    .bind(change.id))?;
    let mut text = format!("State: {} → {}", from.label(), to.label());
    if let Some((start, end, implementer)) = schedule {
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE change_requests SET scheduled_start = $1, scheduled_end = $2, implementer_id = $3 WHERE id = $4"
        )
        .bind(start)
        .bind(end)
        .bind(implementer)
        .bind(change.id))?;
        let who = match implementer {
            Some(id) => mail::recipient(&mut tx, id).await?.1,
            None => "nobody yet".into(),
        };
        text.push_str(&format!(
            "; window {} – {}; implementer: {who}",
            crate::model::text::format_time_in(Some(start), "UTC"),
            crate::model::text::format_time_in(Some(end), "UTC"),
        ));
    }
    add_entry(
        &mut tx,
        change.id,
        "change",
        Some(actor.user_id),
        &text,
        now,
    )
    .await?;
    if !note.is_empty() {
        let kind = if staff { "note" } else { "change" };
        add_entry(&mut tx, change.id, kind, Some(actor.user_id), &note, now).await?;
    }
    if matches!(step, ChangeStep::Authorize | ChangeStep::Decline) {
        let event = Event {
            action: if step == ChangeStep::Decline {
                "change.declined"
            } else {
                "change.moved"
            },
            actor_id: Some(actor.user_id),
            impersonator_id: actor.impersonator_id,
            account_id: Some(change.account_id),
            target: Some(format!("change:{}", change.number)),
            before: Some(json!({ "state": from.as_str() })),
            after: Some(json!({ "state": to.as_str(), "note": note })),
            client_addr: Some(client_addr),
            ..Event::default()
        };
        audit::append(&mut tx, &event, now).await?;
    }
    // The requester hears of every step.
    let (email, name) = mail::recipient(&mut tx, change.requested_by).await?;
    let link = mail::portal_url(&state.settings, &format!("/changes/{}", change.number));
    let mail = Mail {
        kind: "change_step",
        account_id: Some(change.account_id),
        to_address: &email,
        to_name: &name,
        subject: format!("[{}] {}", change.number, change.short_description),
        body: format!(
            "Hello {name},\n\nChange request {} is now {}.\n\nSee it here: {link}\n",
            change.number,
            to.label()
        ),
        secret_link: None,
    };
    mail::enqueue(&mut tx, &mail, now).await?;
    tx.commit().await?;
    Ok(to)
}

/// Change requests past Awaiting authorization without a complete authorization record: the
/// schema forbids them, so this lists none unless the database was edited behind the portal's
/// back. Also lists records that differ from the one the audit trail holds.
#[tracing::instrument(skip_all)]
pub async fn unauthorized(db: &Db) -> Result<Vec<String>, AppError> {
    let rows: Vec<(
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = on_db!(db, |c| {
        sqlx::query_as(
            "SELECT r.number, r.state, r.authorized_by, r.authorized_at, r.authorized_from, \
             r.authorization_text, (SELECT l.after_state FROM audit_log l \
             WHERE l.target = 'change:' || r.number AND l.action IN ('change.authorized', 'change.created') \
             ORDER BY l.id LIMIT 1) FROM change_requests r ORDER BY r.id"
        )
        .fetch_all(c)
        .await
        .map_err(AppError::from)
    })?;
    let mut broken = Vec::new();
    for (number, state, by, at, from, text, audited) in rows {
        let Some(state) = ChangeState::parse(&state) else {
            broken.push(format!("{number}: unknown state {state}"));
            continue;
        };
        let record = match (by, at, &from, &text) {
            (Some(by), Some(at), Some(from), Some(text)) => {
                Some(authorization_json(by, at, from, text))
            }
            _ => None,
        };
        if state.needs_authorization() && record.is_none() {
            broken.push(format!(
                "{number}: {} without an authorization record",
                state.label()
            ));
            continue;
        }
        if let Some(record) = record {
            let audited: Option<serde_json::Value> = audited
                .as_deref()
                .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
                .map(|v| v.get("authorization").cloned().unwrap_or(v));
            if audited.as_ref() != Some(&record) {
                broken.push(format!(
                    "{number}: the authorization differs from the one in the audit trail"
                ));
            }
        }
    }
    Ok(broken)
}

/// Turns change request `number` — one that has not reached Implement — into a case carrying its
/// content and history (SPEC §5.3). Staff give what a case needs and a CR lacks (`form`: product
/// version, impact, workaround, feature, service, availability); the requester, environment,
/// subject and description come from the CR. The CR ends Cancelled, both point at each other,
/// it is audited, and the contact is mailed the new case.
#[tracing::instrument(skip_all)]
pub async fn convert(
    state: &AppState,
    actor: &Actor,
    number: &str,
    form: &crate::server::cases::CaseForm,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let db = &state.db;
    let found: Option<(
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    )> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT r.account_id, r.requested_by, r.environment, r.short_description, r.description, \
             r.reason, r.risk, r.rollback_plan, r.state FROM change_requests r WHERE r.number = $1"
    )
    .bind(number)
    .fetch_optional(c)
    .await
    .map_err(AppError::from)
    })?;
    let (
        account_id,
        requested_by,
        environment,
        short,
        description,
        reason,
        risk,
        rollback,
        state_now,
    ) = found.ok_or(AppError::NotFound)?;
    let from = ChangeState::parse(&state_now).ok_or(AppError::Internal)?;
    ChangeFlow::next(from, ChangeStep::Convert, ChangeMover::Staff)
        .map_err(|why| AppError::Conflict(why.into()))?;
    let case_form = crate::server::cases::CaseForm {
        contact_id: requested_by.to_string(),
        environment,
        subject: short,
        description: format!(
            "Converted from change request {number}.\n\n{description}\n\n**Reason:** {reason}\n\n\
             **Risk:** {risk}\n\n**Rollback plan:** {rollback}"
        ),
        ..form.clone()
    };
    let opts = crate::server::cases::options(db, account_id, None).await?;
    let valid = crate::server::cases::NewCase::parse(db, &opts, &case_form).await?;
    let mut tx = db.begin().await?;
    let change = lock(&mut tx, number, None).await?;
    if change.state != from {
        return Err(AppError::Conflict(
            "The change request moved meanwhile; reload it".into(),
        ));
    }
    let (case_number, case_id) = crate::server::cases::insert(
        &mut tx,
        state,
        actor,
        (account_id, &opts.account_name),
        &valid,
        Some((change.id, number)),
        &[],
        client_addr,
        now,
    )
    .await?;
    // The request's files come along (the same bytes, under the case).
    crate::server::attachments::carry_to_case(&mut tx, change.id, case_id).await?;
    // The CR's history, in order, becomes the case's (staff notes stay staff-only).
    execute!(tx: &mut tx, sqlx::query(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) \
         SELECT $1, CASE WHEN kind = 'note' THEN 'work_note' ELSE 'change' END, author_id, \
         $2 || body, at FROM change_entries WHERE change_id = $3"
    )
    .bind(case_id)
    .bind(format!("{number}: "))
    .bind(change.id))?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE change_requests SET state = 'cancelled', converted_case_id = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(case_id)
    .bind(now)
    .bind(change.id))?;
    add_entry(
        &mut tx,
        change.id,
        "change",
        Some(actor.user_id),
        &format!(
            "State: {} → Cancelled (converted into case {case_number})",
            from.label()
        ),
        now,
    )
    .await?;
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("change:{number}")),
        before: Some(json!({ "state": from.as_str() })),
        after: Some(json!({ "state": "cancelled", "case": case_number })),
        ..Event::by(actor, "change.converted", client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(case_number)
}
