//! The audit trail (SPEC §6): every security-relevant event, appended in the same transaction as
//! the change it records, hash-chained so that an edit or deletion made directly in the database is
//! found by `portcullis verify-audit`.
//!
//! One chain per customer account (`account:<id>`) and one for events outside any account
//! (`portal`). Each entry's hash covers its own fields and the previous entry's hash; the chain's
//! head row names the last entry, so a deleted tail shows too. The database refuses UPDATE and
//! DELETE on the log (triggers), and the product has no code path that would try.
//!
//! Entries of hash version 2 (every entry written since) also hash their row id, chosen before the
//! row is written, so no entry can be moved to another row id unnoticed. Someone able to write the
//! database could still recompute a whole chain; `anchor` signs the chain heads with a key kept
//! outside the database, and verifying against such an anchor finds any rewrite or truncation of
//! what the anchor covers.

use super::db::{execute, on_db, Db, Tx};
use crate::error::AppError;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom, to what. `before`/`after` are JSON snapshots of the changed fields.
#[derive(Debug, Default, Clone)]
pub struct Event<'a> {
    pub action: &'a str,
    pub actor_id: Option<i64>,
    pub impersonator_id: Option<i64>,
    pub account_id: Option<i64>,
    pub target: Option<String>,
    pub reason: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub client_addr: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An entry of `action` done by `actor` — and by whoever is impersonating them — from
    /// `client_addr`; the rest is filled in by the caller.
    pub fn by(actor: &crate::model::Actor, action: &'a str, client_addr: &'a str) -> Event<'a> {
        Event {
            action,
            actor_id: Some(actor.user_id),
            impersonator_id: actor.impersonator_id,
            client_addr: Some(client_addr),
            ..Event::default()
        }
    }
}

/// The stored form of an entry; also exactly what is hashed (field order fixed by the struct).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    #[serde(skip)]
    pub id: i64,
    pub chain_key: String,
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub impersonator_id: Option<i64>,
    pub account_id: Option<i64>,
    pub action: String,
    pub target: Option<String>,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub client_addr: Option<String>,
    pub prev_hash: String,
    #[serde(skip)]
    pub hash: String,
    /// 1: the fields above; 2: the row id and version too.
    #[serde(skip)]
    pub hash_version: i32,
}

/// The hash version new entries are written with.
pub const HASH_VERSION: i32 = 2;

impl Entry {
    pub fn compute_hash(&self) -> String {
        let fields = serde_json::to_string(self).expect("an audit entry always serializes");
        let canonical = if self.hash_version >= 2 {
            format!("v{}:{}:{fields}", self.hash_version, self.id)
        } else {
            fields
        };
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

pub fn chain_key(account_id: Option<i64>) -> String {
    match account_id {
        Some(id) => format!("account:{id}"),
        None => "portal".to_string(),
    }
}

/// Appends `event` inside the caller's transaction, so the record and the change commit together.
pub async fn append(tx: &mut Tx, event: &Event<'_>, now: i64) -> Result<(), AppError> {
    let chain = chain_key(event.account_id);
    // Create the head if this is the chain's first entry, then lock it: concurrent appends to one
    // chain queue here (row lock on PostgreSQL; SQLite write transactions are already exclusive).
    execute!(tx: tx, sqlx::query(
        "INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain_key) DO NOTHING"
    )
    .bind(&chain)
    .bind(GENESIS))?;
    let (seq, prev_hash): (i64, String) = match tx {
        Tx::Sqlite(t) => {
            sqlx::query_as("SELECT seq, hash FROM audit_chain_heads WHERE chain_key = $1")
                .bind(&chain)
                .fetch_one(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(
                "SELECT seq, hash FROM audit_chain_heads WHERE chain_key = $1 FOR UPDATE",
            )
            .bind(&chain)
            .fetch_one(&mut **t)
            .await?
        }
    };
    // The row id is part of the hash, so it is chosen first: the next value of the identity on
    // PostgreSQL; on SQLite the next integer, safe because its write transactions are exclusive.
    let id: i64 = match tx {
        Tx::Sqlite(t) => {
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log")
                .fetch_one(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))")
                .fetch_one(&mut **t)
                .await?
        }
    };
    let mut entry = Entry {
        id,
        chain_key: chain,
        seq: seq + 1,
        at: now,
        actor_id: event.actor_id,
        impersonator_id: event.impersonator_id,
        account_id: event.account_id,
        action: event.action.to_string(),
        target: event.target.clone(),
        reason: event.reason.map(str::to_string),
        reference: event.reference.map(str::to_string),
        before_state: event.before.as_ref().map(|v| v.to_string()),
        after_state: event.after.as_ref().map(|v| v.to_string()),
        client_addr: event.client_addr.map(str::to_string),
        prev_hash,
        hash: String::new(),
        hash_version: HASH_VERSION,
    };
    entry.hash = entry.compute_hash();
    let overriding = match tx {
        Tx::Postgres(_) => "OVERRIDING SYSTEM VALUE ",
        Tx::Sqlite(_) => "",
    };
    execute!(tx: tx, sqlx::query(&format!(
        "INSERT INTO audit_log (id, chain_key, seq, at, actor_id, impersonator_id, account_id, action, target, \
         reason, reference, before_state, after_state, client_addr, prev_hash, hash, hash_version) \
         {overriding}VALUES ($16, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $17)"
    ))
    .bind(&entry.chain_key)
    .bind(entry.seq)
    .bind(entry.at)
    .bind(entry.actor_id)
    .bind(entry.impersonator_id)
    .bind(entry.account_id)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.reason)
    .bind(&entry.reference)
    .bind(&entry.before_state)
    .bind(&entry.after_state)
    .bind(&entry.client_addr)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .bind(entry.id)
    .bind(entry.hash_version))?;
    execute!(tx: tx, sqlx::query(
        "UPDATE audit_chain_heads SET seq = $1, hash = $2 WHERE chain_key = $3"
    )
    .bind(entry.seq)
    .bind(&entry.hash)
    .bind(&entry.chain_key))?;
    Ok(())
}

/// Where a chain first stops being what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub chain_key: String,
    /// The first entry that fails (by sequence number within its chain).
    pub seq: i64,
    /// Its row id, when the row exists.
    pub id: Option<i64>,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub chains: usize,
    pub entries: u64,
    /// The first broken entry of each broken chain.
    pub breaks: Vec<Break>,
}

const VERIFY_BATCH: i64 = 1000;

/// Checks every chain from its first entry to its head, in batches (memory stays flat however long
/// the log grows).
pub async fn verify(db: &Db) -> Result<Verification, AppError> {
    let heads: Vec<(String, i64, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT chain_key, seq, hash FROM audit_chain_heads ORDER BY chain_key"
    )
    .fetch_all(c)
    .await)?;
    let mut chains: Vec<String> = heads.iter().map(|h| h.0.clone()).collect();
    // A chain whose head row was deleted still has entries: check those too.
    let logged: Vec<String> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT DISTINCT chain_key FROM audit_log"
    )
    .fetch_all(c)
    .await)?;
    for chain in logged {
        if !chains.contains(&chain) {
            chains.push(chain);
        }
    }
    let mut result = Verification {
        chains: chains.len(),
        entries: 0,
        breaks: Vec::new(),
    };
    for chain in chains {
        let head = heads.iter().find(|h| h.0 == chain);
        if let Some(b) = verify_chain(
            db,
            &chain,
            head.map(|h| (h.1, h.2.as_str())),
            &mut result.entries,
        )
        .await?
        {
            result.breaks.push(b);
        }
    }
    Ok(result)
}

async fn verify_chain(
    db: &Db,
    chain: &str,
    head: Option<(i64, &str)>,
    counted: &mut u64,
) -> Result<Option<Break>, AppError> {
    let broken = |seq: i64, id: Option<i64>, problem: &str| Break {
        chain_key: chain.to_string(),
        seq,
        id,
        problem: problem.to_string(),
    };
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_string();
    loop {
        let batch: Vec<Entry> = on_db!(db, |c| {
            sqlx::query_as(
            "SELECT id, chain_key, seq, at, actor_id, impersonator_id, account_id, action, target, reason, \
             reference, before_state, after_state, client_addr, prev_hash, hash, hash_version \
             FROM audit_log WHERE chain_key = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
        )
        .bind(chain)
        .bind(expected_seq)
        .bind(VERIFY_BATCH)
        .fetch_all(c)
        .await
        .map_err(AppError::from)
        })?;
        let done = (batch.len() as i64) < VERIFY_BATCH;
        for entry in batch {
            *counted += 1;
            if entry.seq != expected_seq {
                return Ok(Some(broken(expected_seq, None, "entry missing (deleted)")));
            }
            if entry.prev_hash != prev_hash {
                return Ok(Some(broken(
                    entry.seq,
                    Some(entry.id),
                    "does not link to the entry before it",
                )));
            }
            if entry.compute_hash() != entry.hash {
                return Ok(Some(broken(
                    entry.seq,
                    Some(entry.id),
                    "contents changed after it was written",
                )));
            }
            prev_hash = entry.hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let last_seq = expected_seq - 1;
    match head {
        None => Ok(Some(broken(last_seq, None, "chain head missing"))),
        Some((seq, _)) if seq > last_seq => {
            Ok(Some(broken(last_seq + 1, None, "entry missing (deleted)")))
        }
        Some((seq, hash)) if seq != last_seq || hash != prev_hash => Ok(Some(broken(
            last_seq,
            None,
            "chain head does not match the last entry",
        ))),
        Some(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            id: 7,
            chain_key: "account:1".into(),
            seq: 1,
            at: 1_795_384_680,
            actor_id: Some(3),
            impersonator_id: None,
            account_id: Some(1),
            action: "user.disabled".into(),
            target: Some("user:9".into()),
            reason: None,
            reference: None,
            before_state: Some(r#"{"status":"active"}"#.into()),
            after_state: Some(r#"{"status":"disabled"}"#.into()),
            client_addr: Some("192.0.2.1".into()),
            prev_hash: GENESIS.into(),
            hash: String::new(),
            hash_version: 1,
        }
    }

    #[test]
    fn version_two_hashes_cover_the_row_id() {
        let mut v2 = entry();
        v2.hash_version = 2;
        let base = v2.compute_hash();
        assert_ne!(
            base,
            entry().compute_hash(),
            "the version is part of the hash"
        );
        let mut moved = v2.clone();
        moved.id = 8;
        assert_ne!(
            moved.compute_hash(),
            base,
            "a v2 entry moved to another row id"
        );
        let mut downgraded = v2.clone();
        downgraded.hash_version = 1;
        assert_ne!(downgraded.compute_hash(), base);
    }

    #[test]
    fn version_one_hashes_cover_every_recorded_field_but_not_the_row_id() {
        let base = entry().compute_hash();
        let mut moved = entry();
        moved.id = 99;
        assert_eq!(
            moved.compute_hash(),
            base,
            "the row id is not part of the record"
        );
        let edits: Vec<Box<dyn Fn(&mut Entry)>> = vec![
            Box::new(|e| e.at += 1),
            Box::new(|e| e.actor_id = Some(4)),
            Box::new(|e| e.impersonator_id = Some(1)),
            Box::new(|e| e.action = "user.enabled".into()),
            Box::new(|e| e.target = Some("user:10".into())),
            Box::new(|e| e.reason = Some("x".into())),
            Box::new(|e| e.after_state = Some(r#"{"status":"active"}"#.into())),
            Box::new(|e| e.client_addr = None),
            Box::new(|e| e.prev_hash = "1".repeat(64)),
            Box::new(|e| e.seq = 2),
            Box::new(|e| e.chain_key = "account:2".into()),
        ];
        for edit in edits {
            let mut changed = entry();
            edit(&mut changed);
            assert_ne!(changed.compute_hash(), base);
        }
    }
}
