//! The work a home page shows, each list short and each count capped, so a home page stays as
//! fast as a list page at a million cases.

use super::cases::{self, Queue, QueueFilter};
use super::db::{on_db, Db};
use super::search::SearchIndex;
use crate::error::AppError;
use crate::model::case_flow::CaseState;
use crate::model::home::{
    CaseLine, ChangeLine, CustomerWork, ImportLine, PlatformWork, QueueCount, StaffWork,
};
use crate::model::Choice;

/// How many lines a home page's list shows.
const LINES: i64 = 5;
/// Failed mail counts over this window (older failures were seen or are being dealt with).
const FAILED_MAIL_WINDOW: i64 = 7 * 86_400;

type CaseRow = (String, String, String, i32);

fn case_lines(rows: Vec<CaseRow>) -> Result<Vec<CaseLine>, AppError> {
    rows.into_iter()
        .map(|(number, subject, state, priority)| {
            Ok(CaseLine {
                number,
                subject,
                state: CaseState::parse(&state).ok_or(AppError::Internal)?,
                priority,
            })
        })
        .collect()
}

/// How many of a person's newest open cases a home page looks through: a person's open work is
/// among their recent cases, and a bounded look keeps the page as fast for the contact of
/// thousands of cases as for anyone.
const RECENT: i64 = 200;

/// The query of [`contact_open_cases`]: contact, account, lines of each kind, cases looked through.
/// The look-through is read once; each kind's lines are picked from it by sorting its few hundred
/// index entries (numbering them with a window function instead was slower on SQLite). The two
/// picks are joined by `UNION ALL`, not `OR`: PostgreSQL answered `id IN (…) OR id IN (…)` by
/// scanning every case.
const CONTACT_OPEN_CASES: &str = "WITH recent AS (SELECT id, state, created_at FROM cases \
     WHERE contact_id = $1 AND account_id = $2 AND state IN ('new', 'open', 'awaiting_info', 'resolved') \
     ORDER BY created_at DESC, id DESC LIMIT $4) \
     SELECT c.number, c.subject, c.state, c.priority FROM cases c WHERE c.id IN (\
     SELECT id FROM (SELECT id FROM recent WHERE state IN ('awaiting_info', 'resolved') \
     ORDER BY created_at DESC, id DESC LIMIT $3) waiting \
     UNION ALL SELECT id FROM (SELECT id FROM recent WHERE state IN ('new', 'open') \
     ORDER BY created_at DESC, id DESC LIMIT $3) in_progress) \
     ORDER BY c.created_at DESC, c.id DESC";

/// The open cases of contact `person` of `account_id`, newest first, among their [`RECENT`]
/// newest open ones: (those waiting for the customer — a question to answer, a resolution to
/// confirm —, the rest), at most [`LINES`] each.
///
/// The look-through reads only the entries of `cases_contact_open`, which holds each case's state
/// (its `WHERE` is written as the index's, so both engines choose it); only the lines shown are
/// read from the table.
async fn contact_open_cases(
    db: &Db,
    account_id: i64,
    person: i64,
) -> Result<(Vec<CaseLine>, Vec<CaseLine>), AppError> {
    let rows: Vec<CaseRow> = on_db!(db, |c| sqlx::query_as(CONTACT_OPEN_CASES)
        .bind(person)
        .bind(account_id)
        .bind(LINES)
        .bind(RECENT)
        .fetch_all(c)
        .await)?;
    Ok(case_lines(rows)?
        .into_iter()
        // A case waits for its customer exactly while its clocks stand still.
        .partition(|c| c.state.pauses_clock()))
}

/// A customer's home: `authorizes` when they may authorize change requests.
#[tracing::instrument(skip_all)]
pub async fn customer(
    db: &Db,
    account_id: i64,
    person: i64,
    authorizes: bool,
) -> Result<CustomerWork, AppError> {
    let (awaiting_you, recent) = contact_open_cases(db, account_id, person).await?;
    let to_authorize = if authorizes {
        let rows: Vec<(String, String, i64)> = on_db!(db, |c| sqlx::query_as(
            "SELECT number, short_description, created_at FROM change_requests \
             WHERE account_id = $1 AND state = 'awaiting_authorization' \
             AND (authorizer_id IS NULL OR authorizer_id = $2) \
             ORDER BY created_at, id LIMIT $3"
        )
        .bind(account_id)
        .bind(person)
        .bind(LINES * 2)
        .fetch_all(c)
        .await)?;
        Some(
            rows.into_iter()
                .map(|(number, short_description, created_at)| ChangeLine {
                    number,
                    short_description,
                    created_at,
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(CustomerWork {
        awaiting_you,
        recent,
        to_authorize,
    })
}

/// Staff's home: each queue's count, their own newest cases, and for platform admins
/// (`oversees`) the accounts' gaps.
#[tracing::instrument(skip_all)]
pub async fn staff(
    db: &Db,
    index: &SearchIndex,
    viewer: i64,
    oversees: bool,
    now: i64,
) -> Result<StaffWork, AppError> {
    // Only one's own queue shows cases here, read in the order its page shows by default (newest
    // first), which walks an index; the others show their totals, counted as their pages count
    // them, without reading a row. The four are asked at once.
    let queue = |queue| QueueFilter {
        queue,
        ..QueueFilter::default()
    };
    let [unassigned, mine, groups, breaching] = [
        Queue::Unassigned,
        Queue::Mine,
        Queue::Groups,
        Queue::Breaching,
    ]
    .map(queue);
    let (unassigned, (mine, mine_total), groups, breaching) = futures::try_join!(
        cases::queue_total(db, viewer, &unassigned, now),
        cases::queue(db, index, viewer, &mine, 1, LINES, now),
        cases::queue_total(db, viewer, &groups, now),
        cases::queue_total(db, viewer, &breaching, now),
    )?;
    let queues = [
        ("unassigned", "Unassigned", unassigned),
        ("mine", "Assigned to me", mine_total),
        ("groups", "My groups", groups),
        ("breaching", "Breaching or due within the hour", breaching),
    ]
    .into_iter()
    .map(|(name, label, total)| QueueCount {
        queue: name.into(),
        label: label.into(),
        total,
    })
    .collect();
    let platform = if oversees {
        Some(platform(db, now).await?)
    } else {
        None
    };
    Ok(StaffWork {
        queues,
        mine,
        platform,
    })
}

async fn platform(db: &Db, now: i64) -> Result<PlatformWork, AppError> {
    let without_contact: Vec<Choice> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT a.id, a.name FROM accounts a \
         WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.primary_contact_id AND u.status = 'active') \
         ORDER BY a.name, a.id LIMIT 20"
    )
    .fetch_all(c)
    .await
    })?;
    let without_administrator: Vec<Choice> = on_db!(db, |c| sqlx::query_as(
        "SELECT a.id, a.name FROM accounts a \
         WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.is_admin \
         AND u.status = 'active') ORDER BY a.name, a.id LIMIT 20"
    )
    .fetch_all(c)
    .await)?;
    let failed_mails: i64 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_outbox WHERE failed_at > $1"
    )
    .bind(now - FAILED_MAIL_WINDOW)
    .fetch_one(c)
    .await)?;
    let imports: Vec<(i64, String, String, String)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT i.id, a.name, i.file_name, i.status FROM imports i JOIN accounts a ON a.id = i.account_id \
         WHERE i.status IN ('previewed', 'queued') ORDER BY i.created_at DESC, i.id DESC LIMIT 10"
    )
    .fetch_all(c)
    .await
    })?;
    Ok(PlatformWork {
        without_contact,
        without_administrator,
        failed_mails,
        imports: imports
            .into_iter()
            .map(|(id, account, file_name, status)| ImportLine {
                id,
                account,
                file_name,
                confirmed: status == "queued",
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The look through a person's newest open cases reads index entries only, and the table
    /// only by the ids of the lines shown: never a scan of the cases.
    #[tokio::test]
    async fn a_customer_home_reads_the_cases_it_shows_and_index_entries_only() {
        let plan =
            crate::server::db::sqlite_plan("home", CONTACT_OPEN_CASES, &[1, 1, LINES, RECENT])
                .await;
        let steps: Vec<&str> = plan.iter().map(String::as_str).collect();
        assert!(
            steps.contains(&"SEARCH cases USING COVERING INDEX cases_contact_open (contact_id=? AND account_id=?)"),
            "{steps:#?}"
        );
        assert!(
            steps.contains(&"SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"),
            "{steps:#?}"
        );
        assert!(
            !steps
                .iter()
                .any(|s| s.starts_with("SCAN c") || s.starts_with("SCAN cases")),
            "{steps:#?}"
        );
    }
}
