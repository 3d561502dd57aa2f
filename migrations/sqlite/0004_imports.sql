-- Bulk creation of users from a CSV file (SPEC §3.3): every row is validated and stored first
-- (the preview); confirmed imports are carried out in chunks, each chunk one transaction, so a
-- process killed part-way leaves whole users only and the next run completes the rest.

CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    created_by      INTEGER NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    file_name       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('previewed', 'queued', 'done', 'discarded')),
    reason          TEXT,
    reference       TEXT,
    confirmed_by    INTEGER REFERENCES users (id),
    confirmed_at    INTEGER,
    client_addr     TEXT,
    claimed_by      TEXT,
    claimed_until   INTEGER,
    finished_at     INTEGER
);
CREATE INDEX imports_account ON imports (account_id, created_at);
CREATE INDEX imports_status ON imports (status);

CREATE TABLE import_rows (
    import_id       INTEGER NOT NULL REFERENCES imports (id),
    line_no         INTEGER NOT NULL,
    first_name      TEXT    NOT NULL,
    last_name       TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    is_admin        BOOLEAN NOT NULL,
    -- create: will be created; exists: skipped, already a user; invalid: skipped, see message
    outcome         TEXT    NOT NULL CHECK (outcome IN ('create', 'exists', 'invalid')),
    message         TEXT,
    user_id         INTEGER REFERENCES users (id),
    done_at         INTEGER,
    PRIMARY KEY (import_id, line_no)
);
CREATE INDEX import_rows_pending ON import_rows (import_id, outcome, done_at);
