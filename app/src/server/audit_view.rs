//! Reading the audit trail (SPEC §6): customer administrators their own account's entries, vendor
//! staff every account's, filtered by account, actor, action and time, newest first.

use super::db::{bind_args, on_db, Arg, Db};
use crate::error::{AppError, Problems};
use crate::model::{AuditQuery, AuditRow};

/// Parses `YYYY-MM-DD` into the Unix second the day starts (UTC).
pub fn parse_day(value: &str) -> Result<Option<i64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || "Enter a date like 2026-11-23".to_string();
    let mut parts = value.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    let day: u8 = d.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    Ok(Some(date.midnight().assume_utc().unix_timestamp()))
}

/// The checked filter: bounds in Unix seconds, the action as a LIKE pattern.
#[derive(Clone)]
pub struct Filter {
    account_id: Option<i64>,
    /// An actor's email, lower-cased.
    actor: Option<String>,
    /// An action, or with a trailing `%` a family of actions.
    action: Option<String>,
    from: i64,
    to: i64,
}

impl Filter {
    pub fn parse(q: &AuditQuery) -> Result<Filter, AppError> {
        let mut problems = Problems::new();
        let from = problems.take("from", parse_day(&q.from)).flatten();
        let to = problems.take("to", parse_day(&q.to)).flatten();
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                problems.add("to", "The end date must be on or after the start date");
            }
        }
        problems.finish()?;
        let action: String = q
            .action
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
            .take(60)
            .collect();
        Ok(Filter {
            account_id: q.account_id,
            actor: Some(q.actor.trim().to_lowercase()).filter(|a| !a.is_empty()),
            // `user.` means every user action; `user.disabled` exactly that one.
            action: match action {
                a if a.is_empty() => None,
                a if a.ends_with('.') => Some(format!("{a}%")),
                a => Some(a),
            },
            from: from.unwrap_or(0),
            to: to.map(|t| t + 86_400).unwrap_or(i64::MAX),
        })
    }
}

const WHERE: &str = "($1 IS NULL OR a.account_id = $1) \
     AND ($2 IS NULL OR a.actor_id = (SELECT id FROM users WHERE email = $2)) \
     AND ($3 IS NULL OR a.action LIKE $3) AND a.at >= $4 AND a.at < $5";

/// Counts stop here: past it the page says "more than 10,000", and no request counts a whole trail.
pub const COUNT_CAP: i64 = 10_000;

fn select_rows(keyset: bool) -> String {
    let after = if keyset {
        " AND (a.at < $8 OR (a.at = $8 AND a.id < $9))"
    } else {
        ""
    };
    format!(
        "SELECT a.id, a.at, \
         (SELECT u.first_name || ' ' || u.last_name || ' <' || u.email || '>' FROM users u WHERE u.id = a.actor_id) AS actor, \
         (SELECT u.first_name || ' ' || u.last_name || ' <' || u.email || '>' FROM users u WHERE u.id = a.impersonator_id) AS impersonator, \
         (SELECT c.name FROM accounts c WHERE c.id = a.account_id) AS account, \
         a.action, a.target, \
         CASE WHEN a.target LIKE 'user:%' THEN (SELECT u.email FROM users u WHERE u.id = CAST(SUBSTR(a.target, 6) AS BIGINT)) END AS target_email, \
         a.reason, a.reference, a.before_state, a.after_state, a.client_addr \
         FROM audit_log a WHERE {WHERE}{after} ORDER BY a.at DESC, a.id DESC LIMIT $6 OFFSET $7"
    )
}

impl Filter {
    /// The values of `WHERE`'s placeholders $1–$5, in order.
    fn args(&self) -> Vec<Arg> {
        vec![
            Arg::MaybeInt(self.account_id),
            Arg::MaybeText(self.actor.clone()),
            Arg::MaybeText(self.action.clone()),
            Arg::Int(self.from),
            Arg::Int(self.to),
        ]
    }
}

/// Entries newest first: `limit` of them after skipping `offset`, or — with `after` (the time and
/// id of the last entry already read) — the next `limit` after that one, however deep (exports).
#[tracing::instrument(skip_all)]
pub async fn rows(
    db: &Db,
    filter: &Filter,
    after: Option<(i64, i64)>,
    offset: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, AppError> {
    let sql = select_rows(after.is_some());
    let mut args = filter.args();
    args.extend([Arg::Int(limit), Arg::Int(offset)]);
    if let Some((at, id)) = after {
        args.extend([Arg::Int(at), Arg::Int(id)]);
    }
    on_db!(db, |c| bind_args!(sqlx::query_as(&sql), &args)
        .fetch_all(c)
        .await
        .map_err(AppError::from))
}

/// One page of entries, newest first, and how many match, counted up to [`COUNT_CAP`]
/// (`COUNT_CAP + 1` means "more").
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    filter: &Filter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AuditRow>, i64), AppError> {
    let offset = super::db::offset(page, per_page);
    let rows = rows(db, filter, None, offset, per_page).await?;
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM audit_log a WHERE {WHERE} LIMIT {}) capped",
        COUNT_CAP + 1
    );
    let args = filter.args();
    let key = (&count_sql, &args);
    let total = super::counts::capped(db, key, COUNT_CAP, async {
        Ok(on_db!(db, |c| bind_args!(
            sqlx::query_scalar(&count_sql),
            &args
        )
        .fetch_one(c)
        .await)?)
    })
    .await?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_to_utc_midnight() {
        assert_eq!(parse_day("1970-01-02"), Ok(Some(86_400)));
        assert_eq!(parse_day(" "), Ok(None));
        assert!(parse_day("2026-13-01").is_err());
        assert!(parse_day("yesterday").is_err());
    }

    #[test]
    fn an_end_before_the_start_is_refused() {
        let q = AuditQuery {
            from: "2026-11-23".into(),
            to: "2026-11-01".into(),
            ..AuditQuery::default()
        };
        assert!(Filter::parse(&q).is_err());
    }
}
