-- The audit trail (SPEC §6): append-only, hash-chained per chain (one per customer account, plus
-- "portal" for events that belong to no account). Times are Unix seconds (UTC).

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    chain_key       TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    actor_id        INTEGER,
    impersonator_id INTEGER,
    account_id      INTEGER,
    action          TEXT    NOT NULL,
    target          TEXT,
    reason          TEXT,
    reference       TEXT,
    before_state    TEXT,
    after_state     TEXT,
    client_addr     TEXT,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    UNIQUE (chain_key, seq)
);
CREATE INDEX audit_log_account ON audit_log (account_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_at ON audit_log (at);

-- The last entry of each chain: appending locks this row, so a chain never forks, and a deleted
-- tail is detected because the head still names it.
CREATE TABLE audit_chain_heads (
    chain_key       TEXT    PRIMARY KEY,
    seq             INTEGER NOT NULL,
    hash            TEXT    NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
