//! Who is there, for the areas that all need it: the vendor's staff, the default assignment group.
//! A small module of its own so that accounts, cases, catalog and change requests depend on it
//! rather than on each other.

use super::db::{on_db, Db};
use crate::error::{AppError, Problems};
use crate::model::StaffMember;

/// New cases go to the first assignment group, the shipped "Technical Support"; the catalog keeps
/// it active.
pub const DEFAULT_GROUP_SQL: &str = "SELECT MIN(id) FROM assignment_groups";

/// The vendor staff who can be an account's TAM or CSM (active agents and platform admins).
#[tracing::instrument(skip_all)]
pub async fn staff_members(db: &Db) -> Result<Vec<StaffMember>, AppError> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, first_name || ' ' || last_name AS name FROM users \
         WHERE kind IN ('agent', 'platform_admin') AND status = 'active' ORDER BY last_name, first_name"
    )
    .fetch_all(c)
    .await
    .map_err(AppError::from)
    })
}

/// The staff member a form's `field` names: nobody (left empty), the person asking (`me`), or one
/// of `staff` by id; anything else is recorded on `p` as `message`, and is nobody.
pub fn chosen_staff(
    p: &mut Problems,
    field: &str,
    value: &str,
    me: i64,
    staff: &[StaffMember],
    message: &str,
) -> Option<i64> {
    match value.trim() {
        "" => None,
        "me" => Some(me),
        v => {
            let id = v
                .parse::<i64>()
                .ok()
                .filter(|id| staff.iter().any(|s| s.id == *id));
            if id.is_none() {
                p.add(field, message);
            }
            id
        }
    }
}
