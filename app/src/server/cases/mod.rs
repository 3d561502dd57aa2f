//! Support cases (SPEC §4): the customer case form, case numbers, the customer's lists and the
//! case page with its customer-visible activity.

use super::db::{bind_args, execute, on_db, on_tx, Arg, Db, Tx};
use super::forms::{self, FormKind, Submission};
use super::mail::{self, Mail};
use super::search::{CaseOrder, CaseQuery, Found, SearchIndex};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::business_hours::BusinessHours;
use crate::model::case_flow::{self, CaseFlow, CaseState, Flow, Mover, Step};
use crate::model::Actor;
use crate::model::{CaseDetail, CaseOptions, CaseSummary, Choice};

mod clock;
mod files;
mod followers;
mod form;
mod queue;
mod work;

use clock::{ClockRow, CLOCK_COLUMNS};
pub use files::*;
pub use followers::*;
pub use form::*;
pub use queue::*;
pub use work::*;

/// The next case number, inside the caller's write transaction (the counter row is locked until
/// commit, so concurrent cases get distinct numbers on both engines, and a number is never reused).
async fn next_number(tx: &mut Tx) -> Result<String, AppError> {
    Ok(case_number(super::db::next_counter(tx, "case").await?))
}

/// Files a case for `account_id` — a customer's own, or any for vendor staff acting on the
/// customer's behalf (`actor.role` is staff), which the case and the audit trail record. The
/// contact is told by mail. Returns the number.
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    form: &CaseForm,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let opts = options(&state.db, account_id, Some(actor.user_id)).await?;
    let v = NewCase::parse(&state.db, &opts, form).await?;
    let mut tx = state.db.begin().await?;
    let key = Some(form.form_key.as_str());
    let lookup = "SELECT number FROM cases WHERE id = $1";
    if let Some(number) =
        forms::number_made_before(&mut tx, actor.user_id, FormKind::Case, key, lookup, now).await?
    {
        return Ok(number);
    }
    let (number, id) = insert(
        &mut tx,
        state,
        actor,
        (account_id, &opts.account_name),
        &v,
        None,
        &form.files,
        client_addr,
        now,
    )
    .await?;
    forms::record(&mut tx, actor.user_id, key, id).await?;
    tx.commit().await?;
    Ok(number)
}

/// Stores checked case `v` for account (`id`, `name`) in `tx`, with its first history entry,
/// SLA deadline, audit entry (on behalf) and the contact's mail. `from_change`: the change
/// request it is made from. Answers the case's number and id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    tx: &mut Tx,
    state: &AppState,
    actor: &Actor,
    account: (i64, &str),
    v: &NewCase,
    from_change: Option<(i64, &str)>,
    files: &[String],
    client_addr: &str,
    now: i64,
) -> Result<(String, i64), AppError> {
    let (account_id, account_name) = account;
    let on_behalf = actor.role.is_staff();
    let number = next_number(tx).await?;
    let group: i64 = on_tx!(&mut *tx, |c| sqlx::query_scalar(
        super::directory::DEFAULT_GROUP_SQL
    )
    .fetch_one(c)
    .await)?;
    let case_id: i64 = on_tx!(&mut *tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO cases (number, account_id, contact_id, created_by, on_behalf, product_version_id, \
         impact_id, workaround, feature_id, service_id, environment, availability_id, subject, \
         description, state, priority, assignment_group_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $17, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'new', $14, $15, $16, $16) \
         RETURNING id"
    )
    .bind(&number)
    .bind(account_id)
    .bind(v.contact_id)
    .bind(actor.user_id)
    .bind(v.version_id)
    .bind(v.impact_id)
    .bind(v.workaround.as_str())
    .bind(v.feature_id)
    .bind(v.service_id)
    .bind(&v.environment)
    .bind(v.availability_id)
    .bind(&v.subject)
    .bind(&v.description)
    .bind(priority(v.severity, v.workaround))
    .bind(group)
    .bind(now)
    .bind(on_behalf)
    .fetch_one(c)
    .await
    .map_err(AppError::from)
    })?;
    execute!(tx: &mut *tx, sqlx::query(
        "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, 'change', $2, $3, $4)"
    )
    .bind(case_id)
    .bind(actor.user_id)
    .bind(match from_change {
        Some((_, change)) => format!("Case created by vendor staff from change request {change}"),
        None if on_behalf => "Case created by vendor staff on the customer's behalf".into(),
        None => "Case created".to_string(),
    })
    .bind(now))?;
    if let Some((change_id, _)) = from_change {
        execute!(tx: tx, sqlx::query("UPDATE cases SET from_change_id = $1 WHERE id = $2")
            .bind(change_id)
            .bind(case_id))?;
    }
    refresh_due(&mut *tx, case_id).await?;
    if on_behalf {
        let event = super::audit::Event {
            account_id: Some(account_id),
            target: Some(format!("case:{number}")),
            after: Some(serde_json::json!({ "contact_id": v.contact_id, "subject": v.subject })),
            ..super::audit::Event::by(actor, "case.created_on_behalf", client_addr)
        };
        super::audit::append(&mut *tx, &event, now).await?;
    }
    let owner = super::attachments::Owner::Case {
        id: case_id,
        number: &number,
        account_id,
        entry_id: None,
        internal: false,
    };
    let attached = super::attachments::claim(
        &mut *tx,
        actor,
        files,
        owner,
        state.settings.max_case_bytes(),
        client_addr,
        now,
    )
    .await?;
    let what = format!(
        "Case {number} was opened for {account_name}{} and you are its contact:\n\n  {}\n\n\
         {}We answer within the time your service level sets.",
        if on_behalf {
            " by our support staff on your behalf"
        } else {
            ""
        },
        v.subject,
        super::attachments::mail_line(attached as i64)
    );
    tell_followers(tx, state, case_id, "case_created", &what, None, now).await?;
    Ok((number, case_id))
}

const SUMMARY_COLUMNS: &str = "c.id, c.number, c.subject, c.priority, \
     (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.contact_id) AS contact, \
     c.updated_at";

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    number: String,
    subject: String,
    priority: i32,
    contact: String,
    updated_at: i64,
    #[sqlx(flatten)]
    clock: ClockRow,
}

impl SummaryRow {
    fn summary(self, now: i64) -> CaseSummary {
        CaseSummary {
            resolution_left: self.clock.left(now).1,
            number: self.number,
            subject: self.subject,
            state: self.clock.state,
            priority: self.priority,
            contact: self.contact,
            created_at: self.clock.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A customer's search of their account's cases (or their own): the account and person are
/// conditions of the index query, and the rows read are checked against the account again.
#[allow(clippy::too_many_arguments)]
async fn search_list(
    db: &Db,
    index: &SearchIndex,
    list: &CustomerList<'_>,
    words: &[String],
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<(Vec<CaseSummary>, i64), AppError> {
    let account_id = list.account_id;
    let found = index
        .cases(
            db,
            &CaseQuery {
                terms: words,
                account: Some(account_id),
                person: list.mine,
                states: list.openness.map(|o| vec![o.states()]).unwrap_or_default(),
                order: Some(CaseOrder::Relevance),
                offset: super::db::offset(page, per_page) as usize,
                limit: per_page as usize,
                count_cap: Some(COUNT_CAP as usize),
                ..CaseQuery::default()
            },
        )
        .await?;
    let total = (found.total as i64).min(COUNT_CAP + 1);
    if found.ids.is_empty() {
        return Ok((Vec::new(), total));
    }
    // The ids are bound, not written into the text: one statement per page size is prepared and
    // kept, instead of a new one for every search.
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, {CLOCK_COLUMNS} FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN sla_targets t ON t.priority = c.priority WHERE c.id IN ({}) AND c.account_id = $1",
        super::db::placeholders(2, found.ids.len())
    );
    let ids: Vec<Arg> = found.ids.iter().copied().map(Arg::Int).collect();
    let mut rows: Vec<SummaryRow> = on_db!(db, |c| bind_args!(
        sqlx::query_as(&sql).bind(account_id),
        &ids
    )
    .fetch_all(c)
    .await)?;
    rows.sort_by_key(|r| found.ids.iter().position(|id| *id == r.id));
    Ok((rows.into_iter().map(|r| r.summary(now)).collect(), total))
}

/// Whether a customer's list shows the cases still being worked on (resolved ones wait for the
/// customer's verdict, so they count as open) or those that are over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Openness {
    Open,
    Closed,
}

impl Openness {
    /// The filter a list link names; anything else shows every case.
    pub fn parse(value: &str) -> Option<Openness> {
        match value {
            "open" => Some(Openness::Open),
            "closed" => Some(Openness::Closed),
            _ => None,
        }
    }

    fn states(self) -> &'static [&'static str] {
        match self {
            Openness::Open => &["new", "open", "awaiting_info", "resolved"],
            Openness::Closed => &["closed", "cancelled"],
        }
    }

    /// The condition, written as the `…_open` indexes are (migration 0023).
    fn condition(self) -> &'static str {
        match self {
            Openness::Open => " AND c.state IN ('new', 'open', 'awaiting_info', 'resolved')",
            Openness::Closed => " AND c.state IN ('closed', 'cancelled')",
        }
    }
}

/// Which of an account's cases a customer lists: all of them (`mine` `None`: the team's), or
/// those person `mine` opened or is the contact of; open or closed ones only, or both; matching
/// `words`, or all.
pub struct CustomerList<'a> {
    pub account_id: i64,
    pub mine: Option<i64>,
    pub openness: Option<Openness>,
    pub words: Option<&'a [String]>,
}

/// One page of a customer's list (see [`CustomerList`]). Newest first; with words, the cases
/// matching them, best match first (from the search index, within the same account and person).
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    index: &SearchIndex,
    list: &CustomerList<'_>,
    page: i64,
    per_page: i64,
    now: i64,
) -> Result<(Vec<CaseSummary>, i64), AppError> {
    if let Some(words) = list.words {
        return search_list(db, index, list, words, page, per_page, now).await;
    }
    let (account_id, mine) = (list.account_id, list.mine);
    let openness = list.openness.map_or("", Openness::condition);
    // Two shapes, so each gets its own plan. The team's cases walk the account's index in date
    // order. A person's own are the newest of two index walks — as contact, as opener — each in
    // date order and stopping at the page's end, merged: not every case either index finds (a
    // contact of thousands would be read in full, which PostgreSQL's generic plan does for an OR).
    let filter = format!("c.account_id = $1 AND $2 IS NULL{openness}");
    let page_ids = if mine.is_some() {
        let walk = |column: &str| {
            format!(
                "SELECT id, created_at FROM (SELECT c.id, c.created_at FROM cases c \
                 WHERE c.{column} = $2 AND c.account_id = $1{openness} \
                 ORDER BY c.created_at DESC, c.id DESC LIMIT $3 + $4) {column}_walk"
            )
        };
        format!(
            "SELECT id FROM ({} UNION {}) own ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
            walk("contact_id"),
            walk("created_by")
        )
    } else {
        format!(
            "SELECT c.id FROM cases c WHERE {filter} \
             ORDER BY c.created_at DESC, c.id DESC LIMIT $3 OFFSET $4"
        )
    };
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, {CLOCK_COLUMNS} FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN sla_targets t ON t.priority = c.priority WHERE c.id IN ({page_ids}) \
         ORDER BY c.created_at DESC, c.id DESC"
    );
    let offset = super::db::offset(page, per_page);
    let rows: Vec<SummaryRow> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .bind(mine)
        .bind(per_page)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    let rows = rows.into_iter().map(|r| r.summary(now)).collect();
    // A person's own are counted as the union of the two index lookups (each read from its
    // index alone), not by visiting every case either of them finds to check the other.
    let cap = COUNT_CAP + 1;
    let count = if mine.is_some() {
        format!(
            "SELECT COUNT(*) FROM (\
             SELECT id FROM (SELECT c.id FROM cases c WHERE c.contact_id = $2 AND c.account_id = $1{openness} LIMIT {cap}) a \
             UNION SELECT id FROM (SELECT c.id FROM cases c WHERE c.created_by = $2 AND c.account_id = $1{openness} LIMIT {cap}) b\
             ) mine"
        )
    } else {
        format!("SELECT COUNT(*) FROM (SELECT 1 FROM cases c WHERE {filter} LIMIT {cap}) capped")
    };
    let key = (&count, account_id, mine);
    let total = super::counts::capped(db, key, COUNT_CAP, async {
        Ok(on_db!(db, |c| sqlx::query_scalar(&count)
            .bind(account_id)
            .bind(mine)
            .fetch_one(c)
            .await)?)
    })
    .await?;
    Ok((rows, total))
}

/// A case by number. `account_id` (a customer's) limits it to that account: any other case is
/// "not found", exactly like a number that does not exist. `with_notes` is for staff only.
#[tracing::instrument(skip_all)]
pub async fn get(
    db: &Db,
    number: &str,
    account_id: Option<i64>,
    with_notes: bool,
    now: i64,
) -> Result<CaseDetail, AppError> {
    let mut detail: CaseDetail = on_db!(db, |c| sqlx::query_as(
        "SELECT c.id, c.account_id, c.number, a.name AS account, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.contact_id) AS contact, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.created_by) AS created_by, \
         c.on_behalf, v.name AS version, i.name AS impact, c.workaround, f.name AS feature, \
         s.name AS service, c.environment, w.name AS availability, c.subject, c.description, \
         c.state, c.priority, g.name AS assignment_group, \
         (SELECT u.first_name || ' ' || u.last_name FROM users u WHERE u.id = c.assigned_to) AS assigned_to, \
         c.created_at, c.updated_at, c.priority_reason, \
         (SELECT r.number FROM change_requests r WHERE r.id = c.from_change_id) AS from_change \
         FROM cases c JOIN accounts a ON a.id = c.account_id \
         JOIN product_versions v ON v.id = c.product_version_id JOIN impact_levels i ON i.id = c.impact_id \
         JOIN features f ON f.id = c.feature_id JOIN services s ON s.id = c.service_id \
         JOIN availability_windows w ON w.id = c.availability_id JOIN assignment_groups g ON g.id = c.assignment_group_id \
         WHERE c.number = $1 AND ($2 IS NULL OR c.account_id = $2)"
    )
    .bind(number)
    .bind(account_id)
    .fetch_optional(c)
    .await)?
    .ok_or(AppError::NotFound)?;
    // Work notes are left out in the query itself, so they never reach a customer's response.
    detail.entries = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT e.id, e.kind, COALESCE(u.first_name || ' ' || u.last_name, 'Portcullis') AS author, e.body, e.at \
         FROM case_entries e JOIN cases c ON c.id = e.case_id LEFT JOIN users u ON u.id = e.author_id \
         WHERE c.number = $1 AND ($2 OR e.kind <> 'work_note') ORDER BY e.at, e.id"
    )
    .bind(number)
    .bind(with_notes)
    .fetch_all(c)
    .await
    .map_err(AppError::from)
    })?;
    let clock: ClockRow = on_db!(db, |c| {
        sqlx::query_as(&format!(
            "SELECT {CLOCK_COLUMNS} FROM cases c JOIN sla_targets t ON t.priority = c.priority \
         JOIN accounts a ON a.id = c.account_id WHERE c.number = $1"
        ))
        .bind(number)
        .fetch_one(c)
        .await
        .map_err(AppError::from)
    })?;
    detail.description_html = super::markdown::render(&detail.description);
    for entry in &mut detail.entries {
        // Activity lines ("change") are the portal's words around plain values (a reason, a group
        // name): shown as typed. Comments and notes are written as Markdown.
        entry.body_html = if entry.kind == "change" {
            super::markdown::plain_html(&entry.body)
        } else {
            super::markdown::render(&entry.body)
        };
    }
    let (first, resolution) = clock.left(now);
    detail.first_response_left = first;
    detail.resolution_left = resolution;
    detail.first_response_target = clock.first_response_minutes * 60;
    detail.resolution_target = clock.resolution_minutes * 60;
    Ok(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_follows_impact_and_workaround() {
        use crate::model::Workaround::{No, Unknown, Yes};
        assert_eq!(priority(1, No), 1);
        assert_eq!(priority(1, Unknown), 1);
        assert_eq!(priority(1, Yes), 2);
        assert_eq!(priority(3, Yes), 4);
        assert_eq!(priority(4, Yes), 4);
    }

    #[test]
    fn search_words_carry_no_query_syntax() {
        let words = |v: &[&str]| Some(v.iter().map(|w| w.to_string()).collect::<Vec<_>>());
        assert_eq!(
            search_words("Canary \"stall\" OR NEAR(x*) -y"),
            words(&["canary", "stall", "or", "near", "x", "y"])
        );
        assert_eq!(search_words(" *:- "), None);
    }

    #[test]
    fn numbers_are_cs_and_seven_digits() {
        assert_eq!(case_number(1001), "CS0001001");
        assert_eq!(case_number(9_999_999), "CS9999999");
    }
}
