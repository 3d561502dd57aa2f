//! An account's primary and secondary contact: who they may be, and changing them (a new person is
//! invited; the change is recorded).

use super::*;

/// Which contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactRole {
    Primary,
    Secondary,
}

impl ContactRole {
    pub fn parse(value: &str) -> Result<ContactRole, AppError> {
        match value {
            "primary" => Ok(ContactRole::Primary),
            "secondary" => Ok(ContactRole::Secondary),
            _ => Err(AppError::field(
                "role",
                "Choose primary or secondary contact",
            )),
        }
    }
    fn column(self) -> &'static str {
        match self {
            ContactRole::Primary => "primary_contact_id",
            ContactRole::Secondary => "secondary_contact_id",
        }
    }
    fn other(self) -> &'static str {
        match self {
            ContactRole::Primary => "secondary_contact_id",
            ContactRole::Secondary => "primary_contact_id",
        }
    }
    fn label(self) -> &'static str {
        match self {
            ContactRole::Primary => "primary",
            ContactRole::Secondary => "secondary",
        }
    }
}

async fn contact_ids(
    tx: &mut Tx,
    account_id: i64,
    role: ContactRole,
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let sql = format!(
        "SELECT {}, {} FROM accounts WHERE id = $1",
        role.column(),
        role.other()
    );
    let row: Option<(Option<i64>, Option<i64>)> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(account_id)
        .fetch_optional(c)
        .await)?;
    row.ok_or(AppError::NotFound)
}

/// What the contact form asks: the new contact (none to clear), and whether the person being
/// replaced stays an administrator (`None` when not answered).
pub struct ContactChange {
    pub role: ContactRole,
    pub user_id: Option<i64>,
    pub previous_stays_admin: Option<bool>,
}

/// Sets or clears a contact (§2). Returns a sentence for the page: what happened to whom.
#[tracing::instrument(skip_all)]
pub async fn set_contact(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    change: &ContactChange,
    why: &StaffReason,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let mut tx = state.db.begin().await?;
    access::lock_account(&mut tx, account_id).await?;
    let (current, other) = contact_ids(&mut tx, account_id, change.role).await?;
    if current == change.user_id {
        return Ok("Nothing changed.".into());
    }
    let new = match change.user_id {
        Some(id) => {
            let target = access::load_target(&mut tx, actor, id).await?;
            if target.account_id != account_id {
                return Err(AppError::field("user_id", "Choose a user of this account"));
            }
            if target.status == UserStatus::Disabled {
                return Err(AppError::field(
                    "user_id",
                    "A disabled user cannot be a contact. Re-enable them first.",
                ));
            }
            if other == Some(id) {
                return Err(AppError::field(
                    "user_id",
                    "This person is already the other contact. Choose someone else, or clear the other contact first.",
                ));
            }
            Some(target)
        }
        None => None,
    };
    let previous = match current {
        Some(id) => Some(access::load_target(&mut tx, actor, id).await?),
        None => None,
    };
    if previous.is_some() && change.previous_stays_admin.is_none() {
        return Err(AppError::field(
            "previous_stays_admin",
            "Say whether the person being replaced stays an administrator",
        ));
    }

    let sql = format!(
        "UPDATE accounts SET {} = $1, updated_at = $2 WHERE id = $3",
        change.role.column()
    );
    execute!(tx: &mut tx, sqlx::query(&sql).bind(change.user_id).bind(now).bind(account_id))?;
    let mut said = Vec::new();
    if let Some(t) = &new {
        if !t.is_admin {
            execute!(tx: &mut tx, sqlx::query(
                "UPDATE users SET is_admin = TRUE, updated_at = $1 WHERE id = $2"
            )
            .bind(now)
            .bind(t.id))?;
        }
        said.push(format!(
            "{} {} is now the {} contact{}.",
            t.first_name,
            t.last_name,
            change.role.label(),
            if t.is_admin {
                ""
            } else {
                " and was made an administrator"
            }
        ));
    } else {
        said.push(format!("The {} contact was cleared.", change.role.label()));
    }
    let mut previous_revoked = false;
    if let Some(p) = &previous {
        if change.previous_stays_admin == Some(false) && p.is_admin {
            if p.status == UserStatus::Active
                && access::active_admins(&mut tx, account_id).await? <= 1
            {
                return Err(AppError::Conflict(format!(
                    "{} {} is the account's last active administrator and must stay one. Make someone else an administrator first.",
                    p.first_name, p.last_name
                )));
            }
            execute!(tx: &mut tx, sqlx::query(
                "UPDATE users SET is_admin = FALSE, updated_at = $1 WHERE id = $2"
            )
            .bind(now)
            .bind(p.id))?;
            previous_revoked = true;
            said.push(format!(
                "{} {} is no longer an administrator.",
                p.first_name, p.last_name
            ));
        } else {
            said.push(format!(
                "{} {} stays an administrator.",
                p.first_name, p.last_name
            ));
        }
    }
    let event = Event {
        action: if new.is_some() {
            "contact.set"
        } else {
            "contact.cleared"
        },
        actor_id: Some(actor.user_id),
        impersonator_id: actor.impersonator_id,
        account_id: Some(account_id),
        target: Some(format!("account:{account_id}")),
        reason: why.reason.as_deref(),
        reference: why.reference.as_deref(),
        before: Some(json!({ "role": change.role.label(), "user_id": current })),
        after: Some(json!({
            "role": change.role.label(),
            "user_id": change.user_id,
            "made_administrator": new.as_ref().is_some_and(|t| !t.is_admin),
            "previous_administrator_revoked": previous_revoked,
        })),
        client_addr: Some(client_addr),
    };
    audit::append(&mut tx, &event, now).await?;
    if let Some(t) = new.as_ref().filter(|t| !t.is_admin) {
        access::record_admin_change(&mut tx, &event, t.id, true, "contact", now).await?;
    }
    if let (Some(p), true) = (&previous, previous_revoked) {
        access::record_admin_change(&mut tx, &event, p.id, false, "contact", now).await?;
    }
    tx.commit().await?;
    Ok(said.join(" "))
}
