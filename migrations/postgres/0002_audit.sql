-- The audit trail (SPEC §6): append-only, hash-chained per chain (one per customer account, plus
-- "portal" for events that belong to no account). Times are Unix seconds (UTC).

CREATE TABLE audit_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chain_key       TEXT    NOT NULL,
    seq             BIGINT  NOT NULL,
    at              BIGINT  NOT NULL,
    actor_id        BIGINT,
    impersonator_id BIGINT,
    account_id      BIGINT,
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
    seq             BIGINT  NOT NULL,
    hash            TEXT    NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
