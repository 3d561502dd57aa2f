//! Staff queues (SPEC §4.2): the WHERE clause built from the filters in use, capped counts.

use super::*;

/// What a staff queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// `unassigned`, `mine`, `groups` (the viewer's assignment groups), `breaching` or `all`
    /// (open cases only except `all`).
    pub queue: String,
    pub state: String,
    pub priority: i32,
    pub account_key: String,
    /// An assignment group, 0 for any.
    pub group_id: i64,
    /// An assignee, 0 for anyone.
    pub assignee_id: i64,
    /// `newest` (the default), `oldest` or `priority` (P1 first, newest first within each); the
    /// breaching queue is always soonest deadline first.
    pub sort: String,
    /// A case number, or words of the subject.
    pub search: String,
}

/// Counts stop here: "more than 10,000" is all a person needs to know, and counting a million
/// matching rows would cost more than the page itself.
pub const COUNT_CAP: i64 = 10_000;

/// The words of a search, lower-cased, letters and digits only (so no query syntax of either
/// engine's full-text search can be injected); `None` when nothing is left.
pub(crate) fn search_words(search: &str) -> Option<Vec<String>> {
    let words: Vec<String> = search
        .split(|ch: char| !ch.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(10)
        .map(str::to_lowercase)
        .collect();
    (!words.is_empty()).then_some(words)
}

/// One page of a staff queue, newest first; "breaching" lists open cases whose resolution clock
/// has run out or runs out within the hour, soonest first. The WHERE clause holds only the filters
/// in use, so each query shape gets a plan that walks an index in the order of the page, and the
/// total is counted up to [`COUNT_CAP`] (`COUNT_CAP + 1` means "more").
#[tracing::instrument(skip_all)]
pub async fn queue(
    db: &Db,
    viewer: i64,
    filter: &QueueFilter,
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<(Vec<crate::model::QueueRow>, i64), AppError> {
    let mut args: Vec<Arg> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut arg = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    match filter.queue.as_str() {
        "unassigned" => conditions
            .push("c.assigned_to IS NULL AND c.state IN ('new', 'open', 'awaiting_info')".into()),
        "mine" => conditions.push(format!(
            "c.assigned_to = {} AND c.state IN ('new', 'open', 'awaiting_info', 'resolved')",
            arg(Arg::Int(viewer))
        )),
        "groups" => conditions.push(format!(
            "c.assignment_group_id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = {}) \
             AND c.state IN ('new', 'open', 'awaiting_info')",
            arg(Arg::Int(viewer))
        )),
        "breaching" => conditions.push(format!(
            "c.due_at IS NOT NULL AND c.due_at < {}",
            arg(Arg::Int(now + 3600))
        )),
        _ => {}
    }
    if CaseState::parse(&filter.state).is_some() {
        conditions.push(format!(
            "c.state = {}",
            arg(Arg::Text(filter.state.clone()))
        ));
    }
    if (1..=4).contains(&filter.priority) {
        conditions.push(format!(
            "c.priority = {}",
            arg(Arg::Int(filter.priority as i64))
        ));
    }
    if filter.group_id > 0 {
        conditions.push(format!(
            "c.assignment_group_id = {}",
            arg(Arg::Int(filter.group_id))
        ));
    }
    if filter.assignee_id > 0 {
        conditions.push(format!(
            "c.assigned_to = {}",
            arg(Arg::Int(filter.assignee_id))
        ));
    }
    let account_key = filter.account_key.trim().to_uppercase();
    if !account_key.is_empty() {
        conditions.push(format!(
            "c.account_id = (SELECT id FROM accounts WHERE account_key = {})",
            arg(Arg::Text(account_key))
        ));
    }
    let search = filter.search.trim();
    let as_number = search.to_uppercase();
    if as_number.len() == 9
        && as_number.starts_with("CS")
        && as_number[2..].chars().all(|ch| ch.is_ascii_digit())
    {
        conditions.push(format!("c.number = {}", arg(Arg::Text(as_number))));
    } else if let Some(words) = search_words(search) {
        // Full text over number, subject and description: every word must occur.
        conditions.push(match db {
            Db::Sqlite(_) => format!(
                "c.id IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH {})",
                arg(Arg::Text(
                    words
                        .iter()
                        .map(|w| format!("\"{w}\""))
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
            ),
            Db::Postgres(_) => format!(
                "c.search @@ plainto_tsquery('simple', {})",
                arg(Arg::Text(words.join(" ")))
            ),
        });
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let order = match (filter.queue.as_str(), filter.sort.as_str()) {
        ("breaching", _) => "c.due_at, c.id",
        (_, "oldest") => "c.created_at, c.id",
        (_, "priority") => "c.priority, c.created_at DESC, c.id DESC",
        _ => "c.created_at DESC, c.id DESC",
    };
    // The page's cases are chosen first, on the cases table alone, walking the index of the
    // chosen order; only those rows are then joined to their account and SLA targets (joined in
    // one statement, SQLite may start from the small tables and sort every matching case).
    let n = args.len();
    let sql = format!(
        "SELECT c.number, a.name AS account, c.subject, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.assigned_to) AS assignee, \
         {CLOCK_COLUMNS}, c.priority FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN sla_targets t ON t.priority = c.priority \
         WHERE c.id IN (SELECT c.id FROM cases c {where_clause} ORDER BY {order} LIMIT ${} OFFSET ${}) \
         ORDER BY {order}",
        n + 1,
        n + 2
    );
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM cases c {where_clause} LIMIT {}) capped",
        COUNT_CAP + 1
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        number: String,
        account: String,
        subject: String,
        assignee: Option<String>,
        priority: i32,
        #[sqlx(flatten)]
        clock: ClockRow,
    }
    let offset = crate::server::db::offset(page, per_page);
    let rows: Vec<Row> = on_db!(db, |c| {
        bind_args!(sqlx::query_as(&sql), &args)
            .bind(per_page)
            .bind(offset)
            .fetch_all(c)
            .await
            .map_err(AppError::from)
    })?;
    let total: i64 = on_db!(db, |c| {
        bind_args!(sqlx::query_scalar(&count_sql), &args)
            .fetch_one(c)
            .await
            .map_err(AppError::from)
    })?;
    let rows = rows
        .into_iter()
        .map(|r| crate::model::QueueRow {
            resolution_left: r.clock.left(now).1,
            number: r.number,
            account: r.account,
            subject: r.subject,
            state: r.clock.state,
            priority: r.priority,
            assignee: r.assignee,
            created_at: r.clock.created_at,
        })
        .collect();
    Ok((rows, total))
}
