-- Change requests (SPEC §5): a customer's qualified request to change their vendor-managed
-- environment, with an unbroken chain of authorization from the customer. Times are Unix seconds.

INSERT INTO counters VALUES ('change', 1000);

CREATE TABLE change_requests (
    id                   INTEGER PRIMARY KEY,
    number               TEXT    NOT NULL UNIQUE,
    account_id           INTEGER NOT NULL REFERENCES accounts (id),
    -- The customer contact who asks for the change.
    requested_by         INTEGER NOT NULL REFERENCES users (id),
    created_by           INTEGER NOT NULL REFERENCES users (id),
    on_behalf            BOOLEAN NOT NULL DEFAULT FALSE,
    -- The administrator named to authorize a CR raised on the account's behalf (NULL: any of them).
    authorizer_id        INTEGER REFERENCES users (id),
    environment          TEXT    NOT NULL,
    short_description    TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    reason               TEXT    NOT NULL,
    affects_capacity     BOOLEAN NOT NULL,
    affects_performance  BOOLEAN NOT NULL,
    affects_cost         BOOLEAN NOT NULL,
    affects_security     BOOLEAN NOT NULL,
    risk                 TEXT    NOT NULL CHECK (risk IN ('low', 'medium', 'high')),
    window_start         INTEGER NOT NULL,
    window_end           INTEGER NOT NULL,
    rollback_plan        TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('awaiting_authorization', 'new', 'assess', 'scheduled',
                                  'implement', 'review', 'closed', 'cancelled', 'declined')),
    scheduled_start      INTEGER,
    scheduled_end        INTEGER,
    implementer_id       INTEGER REFERENCES users (id),
    converted_case_id    INTEGER REFERENCES cases (id),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    -- The authorization record: who, when, from where, and the statement they agreed to.
    authorized_by        INTEGER REFERENCES users (id),
    authorized_at        INTEGER,
    authorized_from      TEXT,
    authorization_text   TEXT,
    CHECK (window_end > window_start),
    -- The chain is unbroken: past Awaiting authorization (and short of Declined) a CR carries a
    -- complete authorization record.
    CHECK (state IN ('awaiting_authorization', 'declined') OR (authorized_by IS NOT NULL
        AND authorized_at IS NOT NULL AND authorized_from IS NOT NULL AND authorization_text IS NOT NULL))
);
CREATE INDEX change_requests_account ON change_requests (account_id, created_at DESC, id);
CREATE INDEX change_requests_state ON change_requests (state, created_at DESC, id);

-- Once given, an authorization is never changed.
CREATE TRIGGER change_authorization_immutable
BEFORE UPDATE OF authorized_by, authorized_at, authorized_from, authorization_text ON change_requests
WHEN old.authorized_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the authorization of a change request cannot be changed');
END;

-- History: customer-visible field and state changes, and staff-only implementation notes.
CREATE TABLE change_entries (
    id          INTEGER PRIMARY KEY,
    change_id   INTEGER NOT NULL REFERENCES change_requests (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('change', 'note')),
    author_id   INTEGER REFERENCES users (id),
    body        TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX change_entries_change ON change_entries (change_id, at, id);

-- A case made from a mistaken CR points back at it.
ALTER TABLE cases ADD COLUMN from_change_id INTEGER REFERENCES change_requests (id);

-- Full-text search over number, short description and description (FTS5, kept by triggers;
-- change requests are never deleted).
CREATE VIRTUAL TABLE change_requests_fts USING fts5(number, short_description, description, content='change_requests', content_rowid='id');
CREATE TRIGGER change_requests_fts_insert AFTER INSERT ON change_requests BEGIN
    INSERT INTO change_requests_fts (rowid, number, short_description, description) VALUES (new.id, new.number, new.short_description, new.description);
END;
CREATE TRIGGER change_requests_fts_update AFTER UPDATE OF short_description, description ON change_requests BEGIN
    INSERT INTO change_requests_fts (change_requests_fts, rowid, number, short_description, description) VALUES ('delete', old.id, old.number, old.short_description, old.description);
    INSERT INTO change_requests_fts (rowid, number, short_description, description) VALUES (new.id, new.number, new.short_description, new.description);
END;
