//! The change-request form: reading the requested window in the person's zone and checking every
//! field.

use super::*;

/// A `datetime-local` value in zone `zone`, as Unix seconds.
pub fn parse_local(value: &str, zone: &str) -> Option<i64> {
    let civil: jiff::civil::DateTime = value.trim().parse().ok()?;
    let tz = crate::model::business_hours::zone(zone)?;
    Some(civil.to_zoned(tz).ok()?.timestamp().as_second())
}

/// The time zone person `user_id` sees times in.
pub(super) async fn zone_of(db: &Db, user_id: i64) -> Result<String, AppError> {
    on_db!(db, |c| sqlx::query_scalar(
        "SELECT time_zone FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

fn required(problems: &mut Problems, field: &str, value: &str, max: usize, what: &str) -> String {
    problems.text(
        field,
        value,
        max,
        &format!("Enter {what}"),
        format!("Keep {what} to {max} characters or fewer"),
    )
}

/// A change request form parsed and checked: the requester and every pick one that was offered,
/// the window a real future span in the account's zone, every text within its limit.
pub(super) struct NewChange {
    pub(super) requested_by: i64,
    pub(super) environment: String,
    pub(super) short_description: String,
    pub(super) description: String,
    pub(super) reason: String,
    pub(super) risk: String,
    pub(super) window_start: i64,
    pub(super) window_end: i64,
    pub(super) rollback_plan: String,
    pub(super) authorizer: Option<i64>,
}

impl NewChange {
    /// Parses `form` against what `opts` offered; every problem is reported on its field at once.
    pub(super) fn parse(
        opts: &ChangeOptions,
        form: &ChangeForm,
        on_behalf: bool,
        zone: &str,
        now: i64,
    ) -> Result<NewChange, AppError> {
        let mut p = Problems::new();
        let requested_by = pick(
            &mut p,
            "requested_by",
            &form.requested_by,
            &opts.contacts,
            "Choose who requests the change: an active user of the account",
        );
        let environment = form.environment.trim().to_string();
        if !opts.environments.iter().any(|e| *e == environment) {
            p.add("environment", "Choose the environment to change");
        }
        let short_description = required(
            &mut p,
            "short_description",
            &form.short_description,
            SHORT_MAX,
            "a short description",
        );
        let description = required(
            &mut p,
            "description",
            &form.description,
            TEXT_MAX,
            "a description of the change",
        );
        let reason = required(
            &mut p,
            "reason",
            &form.reason,
            TEXT_MAX,
            "the reason for the change",
        );
        if !(form.affects_capacity
            || form.affects_performance
            || form.affects_cost
            || form.affects_security)
        {
            p.add(
                "affects",
                "Choose what the change can affect: capacity, performance, cost or security",
            );
        }
        let risk = form.risk.trim().to_string();
        if crate::model::Risk::parse(&risk).is_none() {
            p.add("risk", "Choose the risk: low, medium or high");
        }
        let start = parse_local(&form.window_start, zone);
        let end = parse_local(&form.window_end, zone);
        match (start, end) {
            (None, _) => p.add("window_start", "Enter when the change may start"),
            (Some(s), _) if s < now => p.add("window_start", "The window cannot start in the past"),
            (_, None) => p.add("window_end", "Enter when the change must be done"),
            (Some(s), Some(e)) if e <= s => {
                p.add("window_end", "The window must end after it starts")
            }
            _ => {}
        }
        let rollback_plan = required(
            &mut p,
            "rollback_plan",
            &form.rollback_plan,
            TEXT_MAX,
            "the rollback plan",
        );
        let authorizer = if on_behalf {
            if opts.administrators.is_empty() {
                p.add(
                    "authorizer_id",
                    "The account has no active administrator who could authorize the change",
                );
            }
            match form.authorizer_id.trim() {
                "" => None,
                v => Some(pick(
                    &mut p,
                    "authorizer_id",
                    v,
                    &opts.administrators,
                    "Choose an active administrator of the account, or leave it to any of them",
                )),
            }
        } else {
            if !form.authorized {
                p.add("authorized", format!("Confirm: {}", opts.statement));
            }
            None
        };
        p.finish()?;
        Ok(NewChange {
            requested_by,
            environment,
            short_description,
            description,
            reason,
            risk,
            window_start: start.unwrap_or_default(),
            window_end: end.unwrap_or_default(),
            rollback_plan,
            authorizer,
        })
    }
}
