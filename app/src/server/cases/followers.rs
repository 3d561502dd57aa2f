//! Who hears about a case by mail: its contact, unless they stopped following, and the
//! colleagues watching it; each with a token of their own for the case's mails (their reply
//! address and one-click unsubscribe). Only active users of the case's account ever qualify, so
//! a disabled user or one moved out of the account stops getting mail at once.

use super::*;
use crate::model::{CaseFollowers, Follower};
use crate::policy;
use crate::server::audit::{self, Event};

/// How many colleagues the form to add a watcher lists; for an account with more, it asks for
/// the colleague's address instead (a case page never reads a whole large account).
const LISTED_COLLEAGUES: usize = 100;

/// Whether a user follows a case: the row's choice when there is one, else being its contact.
const FOLLOWING: &str = "CASE WHEN f.user_id IS NULL THEN u.id = c.contact_id \
     ELSE f.following AND (f.watcher OR u.id = c.contact_id) END";

/// One person a case's mail goes to.
pub(crate) struct Recipient {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub token: String,
}

/// A new token for someone's mails about one case: 20 random bytes in lower-case hex, so it
/// survives any mail system's handling of the local part of an address (`support+<token>@…`).
fn new_mail_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Makes sure `user_id` has a row for case `case_id` (with a token), changing nothing when one
/// is there.
async fn ensure_row(tx: &mut Tx, case_id: i64, user_id: i64, now: i64) -> Result<(), AppError> {
    execute!(tx: tx, sqlx::query(
        "INSERT INTO case_followers (case_id, user_id, watcher, following, mail_token, added_at, changed_at) \
         VALUES ($1, $2, FALSE, TRUE, $3, $4, $4) ON CONFLICT (case_id, user_id) DO NOTHING"
    )
    .bind(case_id)
    .bind(user_id)
    .bind(new_mail_token())
    .bind(now))?;
    Ok(())
}

/// User `user_id` as a recipient of case `case_id`'s mail, with their token for it.
async fn recipient(
    tx: &mut Tx,
    case_id: i64,
    user_id: i64,
    now: i64,
) -> Result<Recipient, AppError> {
    ensure_row(tx, case_id, user_id, now).await?;
    let (email, name, token): (String, String, String) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT u.email, u.first_name || ' ' || u.last_name, f.mail_token FROM users u \
         JOIN case_followers f ON f.user_id = u.id AND f.case_id = $1 WHERE u.id = $2"
    )
    .bind(case_id)
    .bind(user_id)
    .fetch_one(c)
    .await)?;
    Ok(Recipient {
        user_id,
        email,
        name,
        token,
    })
}

/// Everyone who gets case `case_id`'s mails now, but `except` (who caused the mail).
pub(crate) async fn recipients(
    tx: &mut Tx,
    case_id: i64,
    except: Option<i64>,
    now: i64,
) -> Result<Vec<Recipient>, AppError> {
    let sql = format!(
        "SELECT u.id FROM cases c JOIN users u ON u.account_id = c.account_id AND u.status = 'active' \
         LEFT JOIN case_followers f ON f.case_id = c.id AND f.user_id = u.id \
         WHERE c.id = $1 AND ({FOLLOWING}) AND ($2 IS NULL OR u.id <> $2) ORDER BY u.id"
    );
    let ids: Vec<i64> = on_tx!(tx, |c| sqlx::query_scalar(&sql)
        .bind(case_id)
        .bind(except)
        .fetch_all(c)
        .await)?;
    let mut people = Vec::with_capacity(ids.len());
    for user_id in ids {
        people.push(recipient(tx, case_id, user_id, now).await?);
    }
    Ok(people)
}

/// Mails everyone following case `case_id` (but `except`) about `what`, inside the change's
/// transaction: one mail each, in the case's thread, with their own reply address.
pub(crate) async fn tell_followers(
    tx: &mut Tx,
    state: &AppState,
    case_id: i64,
    kind: &str,
    what: &str,
    except: Option<i64>,
    now: i64,
) -> Result<(), AppError> {
    let (number, subject, account_id): (String, String, i64) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT number, subject, account_id FROM cases WHERE id = $1"
    )
    .bind(case_id)
    .fetch_one(c)
    .await)?;
    for person in recipients(tx, case_id, except, now).await? {
        let mail = Mail {
            kind,
            account_id: Some(account_id),
            to_address: &person.email,
            to_name: &person.name,
            subject: format!("[{number}] {subject}"),
            body: case_mail_body(state, &number, &person, what),
            secret_link: None,
        };
        let thread = mail::CaseThread {
            to_user_id: person.user_id,
            number: &number,
            token: &person.token,
        };
        mail::enqueue_in_thread(tx, &mail, Some(&thread), now).await?;
    }
    Ok(())
}

/// Mails the staff member a case is assigned to about a customer's `what` (a comment), with their
/// own reply address for the case: they may answer from their mail, which becomes a comment to
/// the customer (never a work note). Nobody is mailed for an unassigned case (the queues show it),
/// nor an assignee who unsubscribed from it.
pub(crate) async fn tell_assignee(
    tx: &mut Tx,
    state: &AppState,
    case_id: i64,
    what: &str,
    now: i64,
) -> Result<(), AppError> {
    let assignee: Option<(String, String, i64, i64)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT c.number, c.subject, c.account_id, u.id FROM cases c JOIN users u ON u.id = c.assigned_to \
         LEFT JOIN case_followers f ON f.case_id = c.id AND f.user_id = u.id \
         WHERE c.id = $1 AND u.status = 'active' AND u.kind <> 'customer' AND COALESCE(f.following, TRUE)"
    )
    .bind(case_id)
    .fetch_optional(c)
    .await
    })?;
    let Some((number, subject, account_id, user_id)) = assignee else {
        return Ok(());
    };
    let person = recipient(tx, case_id, user_id, now).await?;
    let link = mail::portal_url(&state.settings, &format!("/cases/{number}"));
    let mail = Mail {
        kind: "case_customer_comment",
        account_id: Some(account_id),
        to_address: &person.email,
        to_name: &person.name,
        subject: format!("[{number}] {subject}"),
        body: format!(
            "Hello {},\n\n{what}\n\nThe case: {link}\n\nA reply to this mail goes to the customer \
             as your comment (work notes only in the portal).\n",
            person.name
        ),
        secret_link: None,
    };
    let thread = mail::CaseThread {
        to_user_id: user_id,
        number: &number,
        token: &person.token,
    };
    mail::enqueue_in_thread(tx, &mail, Some(&thread), now).await?;
    Ok(())
}

/// A case mail's text: the greeting, what happened, where to answer, and how to stop.
pub(crate) fn case_mail_body(
    state: &AppState,
    number: &str,
    person: &Recipient,
    what: &str,
) -> String {
    let link = mail::portal_url(&state.settings, &format!("/cases/{number}"));
    let stop = mail::portal_url(
        &state.settings,
        &format!("/mail/unsubscribe/{}", person.token),
    );
    format!(
        "Hello {},\n\n{what}\n\nSee the case and answer: {link}\n\n\
         You get this mail because you follow case {number}. To stop: {stop}\n",
        person.name
    )
}

/// Who hears about case `case_id` of `account_id`, as `actor` sees it.
pub async fn followers(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    account_id: i64,
) -> Result<CaseFollowers, AppError> {
    let from = "FROM cases c JOIN users u ON u.account_id = c.account_id AND u.status = 'active' \
         LEFT JOIN case_followers f ON f.case_id = c.id AND f.user_id = u.id WHERE c.id = $1";
    let sql = format!(
        "SELECT u.id, u.first_name || ' ' || u.last_name, u.id = c.contact_id {from} AND ({FOLLOWING}) \
         ORDER BY u.id = c.contact_id DESC, u.last_name, u.first_name, u.id"
    );
    let people: Vec<(i64, String, bool)> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(case_id)
        .fetch_all(c)
        .await)?;
    let may_change = policy::may_change_watchers(actor, account_id).is_ok();
    let mut shown = CaseFollowers {
        me: policy::may_follow(actor, account_id)
            .is_ok()
            .then(|| people.iter().any(|p| p.0 == actor.user_id)),
        ..CaseFollowers::default()
    };
    shown.people = people
        .into_iter()
        .map(|(user_id, name, contact)| Follower {
            user_id,
            name,
            contact,
            removable: may_change && !contact,
        })
        .collect();
    if may_change {
        let sql = format!(
            "SELECT u.id, u.first_name || ' ' || u.last_name {from} AND NOT ({FOLLOWING}) \
             AND u.id <> c.contact_id ORDER BY u.last_name, u.first_name, u.id LIMIT {}",
            LISTED_COLLEAGUES + 1
        );
        let choices: Vec<(i64, String)> = on_db!(db, |c| sqlx::query_as(&sql)
            .bind(case_id)
            .fetch_all(c)
            .await)?;
        if choices.len() > LISTED_COLLEAGUES {
            shown.ask_address = true;
        } else {
            shown.choices = choices
                .into_iter()
                .map(|(id, name)| Choice { id, name })
                .collect();
        }
    }
    Ok(shown)
}

/// A case's id, account and contact by number, within what `actor` may read (locked until the
/// transaction ends).
async fn case_of(tx: &mut Tx, actor: &Actor, number: &str) -> Result<(i64, i64, i64), AppError> {
    let scope = policy::reading_scope(actor)?;
    let columns = "id, account_id, contact_id";
    tx.numbered("cases", columns, number, scope.account()).await
}

/// Whom a change of followers is about: a user chosen from the list, or one named by address
/// (an account with too many users to list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Colleague {
    Id(i64),
    Address(String),
}

impl Colleague {
    /// The form field that named them, for a message beside it.
    fn field(&self) -> &'static str {
        match self {
            Colleague::Id(_) => "user_id",
            Colleague::Address(_) => "email",
        }
    }
}

/// The id and address of the active user of `account_id` that `who` names, or why they cannot
/// watch. A user of another account gets the same answer as nobody at all.
async fn colleague(
    tx: &mut Tx,
    account_id: i64,
    who: &Colleague,
) -> Result<(i64, String), AppError> {
    const ACTIVE: &str = "AND account_id = $2 AND status = 'active'";
    let row: Option<(i64, String)> = match who {
        Colleague::Id(id) => {
            let sql = format!("SELECT id, email FROM users WHERE id = $1 {ACTIVE}");
            on_tx!(tx, |c| sqlx::query_as(&sql)
                .bind(*id)
                .bind(account_id)
                .fetch_optional(c)
                .await)?
        }
        Colleague::Address(address) => {
            let sql = format!("SELECT id, email FROM users WHERE email = $1 {ACTIVE}");
            on_tx!(tx, |c| sqlx::query_as(&sql)
                .bind(address.trim().to_lowercase())
                .bind(account_id)
                .fetch_optional(c)
                .await)?
        }
    };
    row.ok_or_else(|| {
        let message = match who {
            Colleague::Id(_) => "Choose an active user of the case's account.",
            Colleague::Address(_) => "No active user of the case's account has this address.",
        };
        AppError::field(who.field(), message)
    })
}

/// What a change of who follows a case does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowChange {
    /// `actor` adds a colleague as a watcher.
    AddWatcher,
    /// `actor` takes a watcher off.
    RemoveWatcher,
    /// `actor` follows the case themself again.
    Follow,
    /// `actor` stops following.
    Unfollow,
}

/// Changes who hears about case `number`: one transaction, audited with who did it.
#[tracing::instrument(skip_all, fields(?change))]
pub async fn change_followers(
    state: &AppState,
    actor: &Actor,
    number: &str,
    change: FollowChange,
    who: Option<Colleague>,
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let (case_id, account_id, contact_id) = case_of(&mut tx, actor, number).await?;
    let (user_id, watcher, following, action) = match change {
        FollowChange::AddWatcher | FollowChange::RemoveWatcher => {
            policy::may_change_watchers(actor, account_id)?;
            let who = who.ok_or_else(|| AppError::field("user_id", "Choose whom to add."))?;
            let (user_id, _) = colleague(&mut tx, account_id, &who).await?;
            if user_id == contact_id {
                return Err(AppError::field(
                    who.field(),
                    "The case's contact gets its mails already.",
                ));
            }
            match change {
                FollowChange::AddWatcher => (user_id, true, true, "case.watcher_added"),
                _ => (user_id, false, false, "case.watcher_removed"),
            }
        }
        FollowChange::Follow | FollowChange::Unfollow => {
            policy::may_follow(actor, account_id)?;
            let on = change == FollowChange::Follow;
            let action = if on {
                "case.followed"
            } else {
                "case.unfollowed"
            };
            // The contact's choice keeps them the contact; anyone else following is a watcher.
            (actor.user_id, actor.user_id != contact_id && on, on, action)
        }
    };
    let (_, email) = colleague(&mut tx, account_id, &Colleague::Id(user_id)).await?;
    ensure_row(&mut tx, case_id, user_id, now).await?;
    execute!(tx: &mut tx, sqlx::query(
        "UPDATE case_followers SET watcher = $1, following = $2, added_by = $3, changed_at = $4 \
         WHERE case_id = $5 AND user_id = $6"
    )
    .bind(watcher)
    .bind(following)
    .bind(actor.user_id)
    .bind(now)
    .bind(case_id)
    .bind(user_id))?;
    let event = Event {
        account_id: Some(account_id),
        target: Some(format!("case:{number}")),
        after: Some(serde_json::json!({ "user": email, "following": following })),
        ..Event::by(actor, action, client_addr)
    };
    audit::append(&mut tx, &event, now).await?;
    tx.commit().await
}

/// Stops the mails of the case that `token` belongs to, for its person: the one-click
/// unsubscribe of a case mail (RFC 8058). Answers the case's number; audited as the person's own
/// choice, made from the mail.
pub async fn unsubscribe(
    db: &Db,
    token: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let mut tx = db.begin().await?;
    let row: Option<(i64, i64, String, i64, String)> = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT f.case_id, f.user_id, c.number, c.account_id, u.email FROM case_followers f \
         JOIN cases c ON c.id = f.case_id JOIN users u ON u.id = f.user_id WHERE f.mail_token = $1"
    )
    .bind(token)
    .fetch_optional(c)
    .await)?;
    let (case_id, user_id, number, account_id, email) = row.ok_or(AppError::NotFound)?;
    let changed = execute!(tx: &mut tx, sqlx::query(
        "UPDATE case_followers SET following = FALSE, changed_at = $1 \
         WHERE case_id = $2 AND user_id = $3 AND following"
    )
    .bind(now)
    .bind(case_id)
    .bind(user_id))?;
    if changed > 0 {
        let event = Event {
            action: "case.unfollowed",
            actor_id: Some(user_id),
            impersonator_id: None,
            account_id: Some(account_id),
            target: Some(format!("case:{number}")),
            reason: Some("unsubscribe link in a case mail"),
            reference: None,
            before: None,
            after: Some(serde_json::json!({ "user": email, "following": false })),
            client_addr: Some(client_addr),
        };
        audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    Ok(number)
}
