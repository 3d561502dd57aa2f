//! The catalog as platform admins keep it (SPEC §8): versions, features, services, impact levels,
//! availability windows, assignment groups and their members, SLA targets and the compatibility
//! matrix. Entries are never deleted — cases keep pointing at them — only retired (inactive), and
//! the case form offers active entries only. Every change is one transaction with its audit entry.

use super::audit::{self, Event};
use super::db::{execute, is_unique_violation, on_db, on_tx, Db, Tx};
use super::state::AppState;
use crate::error::{AppError, Problems};
use crate::model::Actor;
use crate::model::{CatalogAdmin, CatalogEntry, CatalogGroup, CatalogKind, Choice, SlaTarget};
use serde_json::json;

use super::directory::DEFAULT_GROUP_SQL;

pub const NAME_MAX: usize = 80;

/// The table of a list and the SQL of its number column.
fn table(kind: CatalogKind) -> (&'static str, &'static str) {
    match kind {
        CatalogKind::Versions => ("product_versions", "sort"),
        CatalogKind::Features => ("features", "0"),
        CatalogKind::Services => ("services", "0"),
        CatalogKind::Impacts => ("impact_levels", "severity"),
        CatalogKind::Windows => ("availability_windows", "sort"),
        CatalogKind::Groups => ("assignment_groups", "0"),
    }
}

async fn entries(db: &Db, kind: CatalogKind) -> Result<Vec<CatalogEntry>, AppError> {
    let (table, extra) = table(kind);
    let order = match kind {
        CatalogKind::Versions => "sort DESC, name",
        CatalogKind::Impacts => "severity, name",
        CatalogKind::Windows => "sort, name",
        _ => "name",
    };
    let sql = format!(
        "SELECT id, name, active, CAST({extra} AS INTEGER) AS extra FROM {table} ORDER BY active DESC, {order}"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .fetch_all(c)
        .await
        .map_err(AppError::from))
}

async fn default_group(db: &Db) -> Result<i64, AppError> {
    on_db!(db, |c| sqlx::query_scalar(DEFAULT_GROUP_SQL)
        .fetch_one(c)
        .await
        .map_err(AppError::from))
}

/// Everything the catalog page shows.
#[tracing::instrument(skip_all)]
pub async fn admin_view(db: &Db) -> Result<CatalogAdmin, AppError> {
    let default = default_group(db).await?;
    let members: Vec<(i64, i64, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT m.group_id, u.id, u.first_name || ' ' || u.last_name FROM group_members m \
         JOIN users u ON u.id = m.user_id ORDER BY u.last_name, u.first_name, u.id"
    )
    .fetch_all(c)
    .await)?;
    let groups = entries(db, CatalogKind::Groups)
        .await?
        .into_iter()
        .map(|entry| CatalogGroup {
            is_default: entry.id == default,
            members: members
                .iter()
                .filter(|(g, _, _)| *g == entry.id)
                .map(|(_, id, name)| Choice {
                    id: *id,
                    name: name.clone(),
                })
                .collect(),
            entry,
        })
        .collect();
    Ok(CatalogAdmin {
        versions: entries(db, CatalogKind::Versions).await?,
        features: entries(db, CatalogKind::Features).await?,
        services: entries(db, CatalogKind::Services).await?,
        impacts: entries(db, CatalogKind::Impacts).await?,
        windows: entries(db, CatalogKind::Windows).await?,
        groups,
        sla: sla_targets(db).await?,
        matrix: on_db!(db, |c| sqlx::query_as(
            "SELECT feature_id, version_id FROM feature_versions ORDER BY feature_id, version_id"
        )
        .fetch_all(c)
        .await)?,
        staff: super::directory::staff_members(db)
            .await?
            .into_iter()
            .map(|s| Choice {
                id: s.id,
                name: s.name,
            })
            .collect(),
    })
}

#[tracing::instrument(skip_all)]
pub async fn sla_targets(db: &Db) -> Result<Vec<SlaTarget>, AppError> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT CAST(priority AS INTEGER) AS priority, \
         CAST(first_response_minutes AS INTEGER) AS first_response_minutes, \
         CAST(resolution_minutes AS INTEGER) AS resolution_minutes, business_hours, \
         resolution_business_hours FROM sla_targets ORDER BY priority"
    )
    .fetch_all(c)
    .await
    .map_err(AppError::from))
}

/// What a platform admin sent for one entry. Field names of errors carry the entry
/// (`versions-12-name`, `versions-new-name`) so the page puts each next to its own form.
#[derive(Debug, Clone, Default)]
pub struct EntryForm {
    pub kind: String,
    /// `None`: a new entry.
    pub id: Option<i64>,
    pub name: String,
    pub extra: String,
    pub active: bool,
}

/// The id prefix of the fields of one entry's form.
pub fn field_prefix(kind: CatalogKind, id: Option<i64>) -> String {
    match id {
        Some(id) => format!("{}-{id}", kind.as_str()),
        None => format!("{}-new", kind.as_str()),
    }
}

fn check_entry(kind: CatalogKind, form: &EntryForm) -> Result<(String, i32), AppError> {
    let prefix = field_prefix(kind, form.id);
    let mut problems = Problems::new();
    let name = problems.text(
        &format!("{prefix}-name"),
        &form.name,
        NAME_MAX,
        "Enter a name",
        format!("Name must be {NAME_MAX} characters or fewer"),
    );
    let extra = match kind.extra() {
        None => 0,
        Some((label, _)) => {
            let parsed = form.extra.trim().parse::<i32>().ok();
            let valid = match kind {
                CatalogKind::Impacts => parsed.filter(|s| (1..=4).contains(s)),
                _ => parsed.filter(|s| (-9999..=9999).contains(s)),
            };
            match valid {
                Some(v) => v,
                None => {
                    let message = if kind == CatalogKind::Impacts {
                        "Severity must be a whole number from 1 to 4".to_string()
                    } else {
                        format!("{label} must be a whole number from -9999 to 9999")
                    };
                    problems.add(&format!("{prefix}-extra"), message);
                    0
                }
            }
        }
    };
    problems.finish()?;
    Ok((name, extra))
}

fn audit_event<'a>(
    actor: &Actor,
    action: &'a str,
    target: String,
    client_addr: &'a str,
) -> Event<'a> {
    Event {
        target: Some(target),
        ..Event::by(actor, action, client_addr)
    }
}

async fn lock_entry(tx: &mut Tx, kind: CatalogKind, id: i64) -> Result<CatalogEntry, AppError> {
    let (table, extra) = table(kind);
    let sql = format!(
        "SELECT id, name, active, CAST({extra} AS INTEGER) AS extra FROM {table} WHERE id = $1 {}",
        tx.for_update()
    );
    let found: Option<CatalogEntry> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)?;
    found.ok_or(AppError::NotFound)
}

/// Adds an entry, or renames, renumbers, retires or brings back an existing one. Answers its id.
#[tracing::instrument(skip_all)]
pub async fn save_entry(
    state: &AppState,
    actor: &Actor,
    form: &EntryForm,
    client_addr: &str,
) -> Result<i64, AppError> {
    let kind = CatalogKind::parse(&form.kind).ok_or(AppError::NotFound)?;
    let (name, extra) = check_entry(kind, form)?;
    let prefix = field_prefix(kind, form.id);
    let (table, extra_column) = table(kind);
    let default = default_group(&state.db).await?;
    let mut tx = state.db.begin().await?;
    let taken = |err: sqlx::Error| {
        if is_unique_violation(&err) {
            AppError::field(
                &format!("{prefix}-name"),
                format!("{} already has an entry named “{name}”", kind.title()),
            )
        } else {
            AppError::from(err)
        }
    };
    let (id, before, action) = match form.id {
        None => {
            let has_extra = extra_column != "0";
            let sql = if has_extra {
                format!("INSERT INTO {table} (name, {extra_column}) VALUES ($1, $2) RETURNING id")
            } else {
                format!("INSERT INTO {table} (name) VALUES ($1) RETURNING id")
            };
            let id: i64 = on_tx!(&mut tx, |c| {
                let q = sqlx::query_scalar(&sql).bind(&name);
                let q = if has_extra { q.bind(extra) } else { q };
                q.fetch_one(c).await.map_err(&taken)
            })?;
            (id, None, "catalog.added")
        }
        Some(id) => {
            let old = lock_entry(&mut tx, kind, id).await?;
            if kind == CatalogKind::Groups && id == default && (!form.active || name != old.name) {
                return Err(AppError::field(
                    &format!("{prefix}-name"),
                    "New cases go to this group, so it keeps its name and stays active",
                ));
            }
            let has_extra = extra_column != "0";
            let sql = if has_extra {
                format!(
                    "UPDATE {table} SET name = $1, active = $2, {extra_column} = $4 WHERE id = $3"
                )
            } else {
                format!("UPDATE {table} SET name = $1, active = $2 WHERE id = $3")
            };
            on_tx!(&mut tx, |c| {
                let q = sqlx::query(&sql).bind(&name).bind(form.active).bind(id);
                let q = if has_extra { q.bind(extra) } else { q };
                q.execute(c)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(&taken)
            })?;
            let before = json!({ "name": old.name, "active": old.active, "number": old.extra });
            (id, Some(before), "catalog.changed")
        }
    };
    let mut event = audit_event(
        actor,
        action,
        format!("{}:{id}", kind.as_str()),
        client_addr,
    );
    event.before = before;
    event.after =
        Some(json!({ "name": name, "active": form.id.is_none() || form.active, "number": extra }));
    audit::append(&mut tx, &event, super::now()).await?;
    tx.commit().await?;
    Ok(id)
}

/// What a platform admin sent for the targets of one priority.
#[derive(Debug, Clone, Default)]
pub struct SlaForm {
    pub priority: i32,
    pub first_response_minutes: String,
    pub resolution_minutes: String,
    pub business_hours: bool,
    pub resolution_business_hours: bool,
}

/// Targets are whole minutes from 1 minute to a year.
const TARGET_MAX_MINUTES: i32 = 525_600;

#[tracing::instrument(skip_all)]
pub async fn save_sla(
    state: &AppState,
    actor: &Actor,
    form: &SlaForm,
    client_addr: &str,
) -> Result<(), AppError> {
    if !(1..=4).contains(&form.priority) {
        return Err(AppError::NotFound);
    }
    let p = form.priority;
    let mut problems = Problems::new();
    let mut minutes = |field: &str, value: &str, what: &str| match value
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|m| (1..=TARGET_MAX_MINUTES).contains(m))
    {
        Some(m) => m,
        None => {
            problems.add(
                &format!("sla-{p}-{field}"),
                format!("{what} must be a whole number of minutes from 1 to {TARGET_MAX_MINUTES}"),
            );
            0
        }
    };
    let first = minutes("first", &form.first_response_minutes, "First response");
    let resolution = minutes("resolution", &form.resolution_minutes, "Resolution");
    if first > 0 && resolution > 0 && resolution < first {
        problems.add(
            &format!("sla-{p}-resolution"),
            "Resolution cannot come before the first response",
        );
    }
    problems.finish()?;
    let before = sla_targets(&state.db)
        .await?
        .into_iter()
        .find(|t| t.priority == p)
        .ok_or(AppError::Internal)?;
    let mut tx = state.db.begin().await?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE sla_targets SET first_response_minutes = $1, resolution_minutes = $2, business_hours = $3, \
         resolution_business_hours = $5 WHERE priority = $4"
    )
    .bind(first)
    .bind(resolution)
    .bind(form.business_hours)
    .bind(p)
    .bind(form.resolution_business_hours))?;
    // Cases whose resolution clock runs now run against the new target.
    if form.resolution_business_hours {
        let running: Vec<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT id FROM cases WHERE priority = $1 AND due_at IS NOT NULL"
        )
        .bind(p)
        .fetch_all(c)
        .await)?;
        for case_id in running {
            super::cases::refresh_due(&mut tx, case_id).await?;
        }
    } else {
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE cases SET due_at = created_at + paused_seconds + $1 \
             WHERE priority = $2 AND due_at IS NOT NULL"
        )
        .bind(i64::from(resolution) * 60)
        .bind(p))?;
    }
    let mut event = audit_event(
        actor,
        "catalog.sla_changed",
        format!("sla:P{p}"),
        client_addr,
    );
    event.before = Some(json!({
        "first_response_minutes": before.first_response_minutes,
        "resolution_minutes": before.resolution_minutes,
        "business_hours": before.business_hours,
        "resolution_business_hours": before.resolution_business_hours,
    }));
    event.after = Some(json!({
        "first_response_minutes": first, "resolution_minutes": resolution,
        "business_hours": form.business_hours,
        "resolution_business_hours": form.resolution_business_hours,
    }));
    audit::append(&mut tx, &event, super::now()).await?;
    tx.commit().await
}

/// Replaces the compatibility matrix with `pairs` (feature id, version id), in one transaction.
/// Pairs naming an unknown feature or version are refused and nothing changes.
#[tracing::instrument(skip_all)]
pub async fn save_matrix(
    state: &AppState,
    actor: &Actor,
    pairs: &[(i64, i64)],
    client_addr: &str,
) -> Result<usize, AppError> {
    let features = entries(&state.db, CatalogKind::Features).await?;
    let versions = entries(&state.db, CatalogKind::Versions).await?;
    let mut wanted: Vec<(i64, i64)> = pairs.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted
        .iter()
        .any(|(f, v)| !features.iter().any(|e| e.id == *f) || !versions.iter().any(|e| e.id == *v))
    {
        return Err(AppError::field(
            "matrix",
            "The matrix names a feature or version that does not exist; reload the page",
        ));
    }
    let mut tx = state.db.begin().await?;
    let before: Vec<(i64, i64)> = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT feature_id, version_id FROM feature_versions ORDER BY feature_id, version_id"
    )
    .fetch_all(c)
    .await)?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM feature_versions"))?;
    for (f, v) in &wanted {
        execute!(tx: &mut tx, sqlx::query(
            "INSERT INTO feature_versions (feature_id, version_id) VALUES ($1, $2)"
        )
        .bind(f)
        .bind(v))?;
    }
    let mut event = audit_event(
        actor,
        "catalog.matrix_changed",
        "matrix".into(),
        client_addr,
    );
    event.before = Some(json!(before));
    event.after = Some(json!(wanted));
    audit::append(&mut tx, &event, super::now()).await?;
    tx.commit().await?;
    Ok(wanted.len())
}

/// Adds vendor staff member `user_id` to assignment group `group_id`, or takes them off it.
#[tracing::instrument(skip_all)]
pub async fn set_member(
    state: &AppState,
    actor: &Actor,
    group_id: i64,
    user_id: i64,
    member: bool,
    client_addr: &str,
) -> Result<(), AppError> {
    let field = format!("groups-{group_id}-member");
    let mut tx = state.db.begin().await?;
    lock_entry(&mut tx, CatalogKind::Groups, group_id).await?;
    let staff: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT status FROM users WHERE id = $1 AND kind IN ('agent', 'platform_admin')"
    )
    .bind(user_id)
    .fetch_optional(c)
    .await)?;
    let changed = if member {
        if staff.as_deref() != Some("active") {
            return Err(AppError::field(
                &field,
                "Choose an active member of the vendor staff",
            ));
        }
        let sql = match &tx {
            Tx::Sqlite(_) => {
                "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES ($1, $2)"
            }
            Tx::Postgres(_) => {
                "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            }
        };
        execute!(tx: &mut tx, sqlx::query(sql).bind(group_id).bind(user_id))?
    } else {
        execute!(tx: &mut tx, sqlx::query(
            "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2"
        )
        .bind(group_id)
        .bind(user_id))?
    };
    if changed > 0 {
        let action = if member {
            "catalog.group_member_added"
        } else {
            "catalog.group_member_removed"
        };
        let mut event = audit_event(actor, action, format!("groups:{group_id}"), client_addr);
        event.after = Some(json!({ "user_id": user_id }));
        audit::append(&mut tx, &event, super::now()).await?;
    }
    tx.commit().await
}
