//! Staff queues (SPEC §4.2): the WHERE clause built from the filters in use, capped counts.

use super::*;

/// Which cases a staff queue holds (open cases only, except `All`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Queue {
    /// Nobody has taken them yet.
    #[default]
    Unassigned,
    /// Assigned to the viewer.
    Mine,
    /// In the viewer's assignment groups.
    Groups,
    /// Resolution clock run out, or running out within the hour.
    Breaching,
    All,
}

impl Queue {
    /// The queue a link names; anything unknown shows every case, as `all` does.
    pub fn parse(value: &str) -> Queue {
        match value {
            "unassigned" => Queue::Unassigned,
            "mine" => Queue::Mine,
            "groups" => Queue::Groups,
            "breaching" => Queue::Breaching,
            _ => Queue::All,
        }
    }
}

/// The order of a queue (the breaching queue is always soonest deadline first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    #[default]
    Newest,
    Oldest,
    /// P1 first, newest first within each priority.
    Priority,
    /// Soonest resolution deadline first; cases whose clock stands still last.
    Due,
    /// Best match first (a search; newest first without one).
    Relevance,
}

impl QueueSort {
    pub fn parse(value: &str) -> QueueSort {
        match value {
            "oldest" => QueueSort::Oldest,
            "priority" => QueueSort::Priority,
            "due" => QueueSort::Due,
            "relevance" => QueueSort::Relevance,
            _ => QueueSort::Newest,
        }
    }
}

/// What a staff queue shows: each filter `None` when not in use.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub queue: Queue,
    pub state: Option<CaseState>,
    /// 1–4.
    pub priority: Option<i32>,
    /// An account key, upper-cased.
    pub account_key: Option<String>,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub sort: QueueSort,
    /// A case number, or words of the subject.
    pub search: String,
}

impl QueueFilter {
    /// The filter a queue link asks for, read once at the edge: a value that names nothing (an
    /// unknown state, priority 9, group 0) is a filter not in use.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        queue: Option<&str>,
        state: Option<&str>,
        priority: Option<i32>,
        account_key: Option<&str>,
        group_id: Option<i64>,
        assignee_id: Option<i64>,
        sort: Option<&str>,
        search: Option<&str>,
    ) -> QueueFilter {
        QueueFilter {
            queue: queue.map_or(Queue::Unassigned, Queue::parse),
            state: state.and_then(CaseState::parse),
            priority: priority.filter(|p| (1..=4).contains(p)),
            account_key: account_key
                .map(|k| k.trim().to_uppercase())
                .filter(|k| !k.is_empty()),
            group_id: group_id.filter(|id| *id > 0),
            assignee_id: assignee_id.filter(|id| *id > 0),
            // A search is shown best match first unless another order is asked for.
            sort: match sort.filter(|s| !s.trim().is_empty()) {
                Some(s) => QueueSort::parse(s),
                None if search.is_some_and(|s| search_words(s).is_some()) => QueueSort::Relevance,
                None => QueueSort::Newest,
            },
            search: search.unwrap_or_default().to_string(),
        }
    }
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
    index: &SearchIndex,
    viewer: i64,
    filter: &QueueFilter,
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<(Vec<crate::model::QueueRow>, i64), AppError> {
    let (mut conditions, mut args) = filter_conditions(viewer, filter, now);
    let mut arg = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let search = filter.search.trim();
    let as_number = search.to_uppercase();
    let mut searched: Option<Found> = None;
    if as_number.len() == 9
        && as_number.starts_with("CS")
        && as_number[2..].chars().all(|ch| ch.is_ascii_digit())
    {
        conditions.push(format!("c.number = {}", arg(Arg::Text(as_number))));
    } else if let Some(words) = search_words(search) {
        // Words are looked up in the search index, which also applies the queue and filters;
        // the page's rows are then read by id, under the same conditions.
        let found = search_queue(db, index, viewer, filter, &words, page, per_page, now).await?;
        if found.ids.is_empty() {
            return Ok((Vec::new(), found.total as i64));
        }
        // Bound, not written into the text: one statement per page size is prepared and kept.
        let ids: Vec<String> = found.ids.iter().map(|id| arg(Arg::Int(*id))).collect();
        conditions.push(format!("c.id IN ({})", ids.join(", ")));
        searched = Some(found);
    }
    let where_clause = where_of(&conditions);
    let order = match (filter.queue, filter.sort) {
        (Queue::Breaching, _) => "c.due_at, c.id",
        (_, QueueSort::Oldest) => "c.created_at, c.id",
        (_, QueueSort::Priority) => "c.priority, c.created_at DESC, c.id DESC",
        // Written as the `…_due` indexes are (migration 0023), so the page is read from them.
        (_, QueueSort::Due) => "COALESCE(c.due_at, 9223372036854775807), c.id",
        (_, QueueSort::Newest | QueueSort::Relevance) => "c.created_at DESC, c.id DESC",
    };
    // The page's cases are chosen first, on the cases table alone, walking the index of the
    // chosen order; only those rows are then joined to their account and SLA targets (joined in
    // one statement, SQLite may start from the small tables and sort every matching case).
    // SQLite (3.46) prefers the covering `(assigned_to, state, …)` index for the open queues,
    // collecting every unassigned case — a hundred thousand at a million — and sorting them, over
    // walking the queue's own partial index in page order: it is told which index to use.
    // (A search's few ids are looked up by primary key instead.)
    let hint = match (db, filter.queue, &searched) {
        (Db::Sqlite(_), Queue::Unassigned, None) if filter.sort == QueueSort::Due => {
            "INDEXED BY cases_unassigned_due"
        }
        (Db::Sqlite(_), Queue::Unassigned, None) => "INDEXED BY cases_unassigned_open",
        (Db::Sqlite(_), Queue::Groups, None) => "INDEXED BY cases_group_open",
        _ => "",
    };
    // A search's page is in the index's order, put back after reading: asking the database to
    // order it would have it walk the date index past every case to find the few ids.
    let order_by = if searched.is_some() {
        String::new()
    } else {
        format!("ORDER BY {order}")
    };
    let n = args.len();
    let sql = format!(
        "SELECT c.id, c.number, a.name AS account, c.subject, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.assigned_to) AS assignee, \
         {CLOCK_COLUMNS}, c.priority FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN sla_targets t ON t.priority = c.priority \
         WHERE c.id IN (SELECT c.id FROM cases c {hint} {where_clause} {order_by} LIMIT ${} OFFSET ${}) \
         {order_by}",
        n + 1,
        n + 2
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        number: String,
        account: String,
        subject: String,
        assignee: Option<String>,
        priority: i32,
        #[sqlx(flatten)]
        clock: ClockRow,
    }
    // A search's page is already chosen (and counted) by the index: the page is its rows.
    let offset = if searched.is_some() {
        0
    } else {
        crate::server::db::offset(page, per_page)
    };
    let mut rows: Vec<Row> = on_db!(db, |c| {
        bind_args!(sqlx::query_as(&sql), &args)
            .bind(per_page)
            .bind(offset)
            .fetch_all(c)
            .await
            .map_err(AppError::from)
    })?;
    let total: i64 = match &searched {
        Some(found) => {
            rows.sort_by_key(|r| found.ids.iter().position(|id| *id == r.id));
            (found.total as i64).min(COUNT_CAP + 1)
        }
        None => capped_total(db, filter, &where_clause, &args).await?,
    };
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

/// The conditions of `filter`'s queue and filters in use (a search aside), with their arguments
/// numbered from `$1`.
fn filter_conditions(viewer: i64, filter: &QueueFilter, now: i64) -> (Vec<String>, Vec<Arg>) {
    let mut args: Vec<Arg> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut arg = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    match filter.queue {
        Queue::Unassigned => conditions
            .push("c.assigned_to IS NULL AND c.state IN ('new', 'open', 'awaiting_info')".into()),
        Queue::Mine => conditions.push(format!(
            "c.assigned_to = {} AND c.state IN ('new', 'open', 'awaiting_info', 'resolved')",
            arg(Arg::Int(viewer))
        )),
        Queue::Groups => conditions.push(format!(
            "c.assignment_group_id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = {}) \
             AND c.state IN ('new', 'open', 'awaiting_info')",
            arg(Arg::Int(viewer))
        )),
        Queue::Breaching => conditions.push(format!(
            "c.due_at IS NOT NULL AND c.due_at < {}",
            arg(Arg::Int(now + 3600))
        )),
        Queue::All => {}
    }
    if let Some(state) = filter.state {
        conditions.push(format!(
            "c.state = {}",
            arg(Arg::Text(state.as_str().to_string()))
        ));
    }
    if let Some(priority) = filter.priority {
        conditions.push(format!("c.priority = {}", arg(Arg::Int(priority.into()))));
    }
    if let Some(group) = filter.group_id {
        conditions.push(format!("c.assignment_group_id = {}", arg(Arg::Int(group))));
    }
    if let Some(assignee) = filter.assignee_id {
        conditions.push(format!("c.assigned_to = {}", arg(Arg::Int(assignee))));
    }
    if let Some(account_key) = &filter.account_key {
        conditions.push(format!(
            "c.account_id = (SELECT id FROM accounts WHERE account_key = {})",
            arg(Arg::Text(account_key.clone()))
        ));
    }
    (conditions, args)
}

/// `WHERE` and `conditions` joined, or nothing when there are none.
fn where_of(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// The arguments that tell `filter`'s list apart for the memory of counts over the cap. The
/// breaching queue's first argument is the moment an hour ahead, a new one every second: it is
/// the same list, which the memory would otherwise never recognise.
fn remembered_args<'a>(filter: &QueueFilter, args: &'a [Arg]) -> &'a [Arg] {
    match filter.queue {
        Queue::Breaching => &args[1..],
        _ => args,
    }
}

/// How many cases of `filter`'s queue match `where_clause`, counted up to [`COUNT_CAP`]
/// (`COUNT_CAP + 1`: more).
async fn capped_total(
    db: &Db,
    filter: &QueueFilter,
    where_clause: &str,
    args: &[Arg],
) -> Result<i64, AppError> {
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM cases c {where_clause} LIMIT {}) capped",
        COUNT_CAP + 1
    );
    let key = (&count_sql, remembered_args(filter, args));
    crate::server::counts::capped(db, key, COUNT_CAP, async {
        on_db!(db, |c| {
            bind_args!(sqlx::query_scalar(&count_sql), args)
                .fetch_one(c)
                .await
                .map_err(AppError::from)
        })
    })
    .await
}

/// How many cases `filter`'s queue holds (a search aside), counted as its page counts them: for
/// a home page, which shows the number without the rows.
#[tracing::instrument(skip_all)]
pub async fn queue_total(
    db: &Db,
    viewer: i64,
    filter: &QueueFilter,
    now: i64,
) -> Result<i64, AppError> {
    let (conditions, args) = filter_conditions(viewer, filter, now);
    let where_clause = where_of(&conditions);
    capped_total(db, filter, &where_clause, &args).await
}

/// The open states of the unassigned and group queues, and with `resolved` of a person's own.
const OPEN: &[&str] = &["new", "open", "awaiting_info"];
const MINE: &[&str] = &["new", "open", "awaiting_info", "resolved"];

/// One page of a staff queue searched by `words`: the queue and every filter in use are
/// conditions of the same index query, so ranking and counting see only the queue's cases.
#[allow(clippy::too_many_arguments)]
async fn search_queue(
    db: &Db,
    index: &SearchIndex,
    viewer: i64,
    filter: &QueueFilter,
    words: &[String],
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<Found, AppError> {
    let state_filter = filter.state.map(|s| [s.as_str()]);
    let mut q = CaseQuery {
        terms: words,
        priority: filter.priority.map(i64::from),
        offset: crate::server::db::offset(page, per_page) as usize,
        limit: per_page as usize,
        count_cap: Some(COUNT_CAP as usize),
        ..CaseQuery::default()
    };
    let mut assignee = None;
    let mut groups: Option<Vec<i64>> = None;
    match filter.queue {
        Queue::Unassigned => {
            assignee = Some(0);
            q.states.push(OPEN);
        }
        Queue::Mine => {
            assignee = Some(viewer);
            q.states.push(MINE);
        }
        Queue::Groups => {
            groups = Some(on_db!(db, |c| sqlx::query_scalar(
                "SELECT group_id FROM group_members WHERE user_id = $1"
            )
            .bind(viewer)
            .fetch_all(c)
            .await)?);
            q.states.push(OPEN);
        }
        Queue::Breaching => q.due_before = Some(now + 3600),
        Queue::All => {}
    }
    if let Some(states) = &state_filter {
        q.states.push(states);
    }
    // A filter on top of the queue's own condition: both must hold.
    q.assignee = match (assignee, filter.assignee_id) {
        (Some(a), Some(b)) if a != b => return Ok(Found::default()),
        (a, b) => a.or(b),
    };
    q.groups = match (groups, filter.group_id) {
        (Some(mine), Some(g)) => Some(mine.into_iter().filter(|m| *m == g).collect()),
        (mine, g) => mine.or(g.map(|g| vec![g])),
    };
    if let Some(key) = &filter.account_key {
        let account: Option<i64> = on_db!(db, |c| sqlx::query_scalar(
            "SELECT id FROM accounts WHERE account_key = $1"
        )
        .bind(key)
        .fetch_optional(c)
        .await)?;
        match account {
            Some(id) => q.account = Some(id),
            None => return Ok(Found::default()),
        }
    }
    q.order = Some(match (filter.queue, filter.sort) {
        (Queue::Breaching, _) => CaseOrder::Due,
        (_, QueueSort::Relevance) => CaseOrder::Relevance,
        (_, QueueSort::Newest) => CaseOrder::Newest,
        (_, QueueSort::Oldest) => CaseOrder::Oldest,
        (_, QueueSort::Priority) => CaseOrder::Priority,
        (_, QueueSort::Due) => CaseOrder::Due,
    });
    index.cases(db, &q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_names_nothing_is_a_filter_not_in_use() {
        let f = QueueFilter::parse(
            None,
            Some("frozen"),
            Some(9),
            Some("  "),
            Some(0),
            Some(-3),
            Some("sideways"),
            None,
        );
        assert_eq!(f.queue, Queue::Unassigned);
        assert_eq!(
            (
                f.state,
                f.priority,
                f.account_key,
                f.group_id,
                f.assignee_id
            ),
            (None, None, None, None, None)
        );
        assert_eq!(f.sort, QueueSort::Newest);
        let f = QueueFilter::parse(
            Some("breaching"),
            Some("awaiting_info"),
            Some(1),
            Some("acme"),
            Some(4),
            Some(7),
            Some("oldest"),
            Some("pipeline"),
        );
        assert_eq!(f.queue, Queue::Breaching);
        assert_eq!(f.state, Some(CaseState::AwaitingInfo));
        assert_eq!(f.priority, Some(1));
        assert_eq!(f.account_key.as_deref(), Some("ACME"));
        assert_eq!((f.group_id, f.assignee_id), (Some(4), Some(7)));
        assert_eq!(f.sort, QueueSort::Oldest);
        assert_eq!(Queue::parse("something else"), Queue::All);
    }

    #[test]
    fn a_queue_counted_a_few_seconds_later_is_remembered_as_the_same_list() {
        let filter = |queue: &str, priority| {
            QueueFilter::parse(Some(queue), None, priority, None, None, None, None, None)
        };
        let key = |viewer, f: &QueueFilter, now| {
            let (conditions, args) = filter_conditions(viewer, f, now);
            (where_of(&conditions), remembered_args(f, &args).to_vec())
        };
        let breaching = filter("breaching", Some(2));
        assert_eq!(key(7, &breaching, 1_000_000), key(7, &breaching, 1_000_009));
        // Its filters still tell it apart, as do another queue's viewer and filters.
        assert_ne!(
            key(7, &breaching, 1_000_000),
            key(7, &filter("breaching", Some(3)), 1_000_000)
        );
        let mine = filter("mine", None);
        assert_ne!(key(7, &mine, 1_000_000), key(8, &mine, 1_000_000));
        assert_eq!(key(7, &mine, 1_000_000), key(7, &mine, 1_000_009));
    }
}
