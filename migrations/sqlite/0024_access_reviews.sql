-- Access reviews (SOC 2 user access reviews): a customer account's administrators confirm, user by
-- user, who should keep access; the files of a completed review are kept as evidence.

-- How an account reviews access. No row: no schedule, dormant after 90 days, nobody disabled.
CREATE TABLE access_review_settings (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts (id),
    schedule        TEXT    NOT NULL DEFAULT 'off'
                    CHECK (schedule IN ('off', 'quarterly', 'half_yearly', 'yearly')),
    dormant_days    INTEGER NOT NULL DEFAULT 90 CHECK (dormant_days BETWEEN 7 AND 730),
    disable_dormant BOOLEAN NOT NULL DEFAULT FALSE,
    updated_by      INTEGER REFERENCES users (id),
    updated_at      INTEGER NOT NULL
);

-- One review of one account. `started_by` is NULL when the schedule started it.
CREATE TABLE access_reviews (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts (id),
    started_by          INTEGER REFERENCES users (id),
    started_at          INTEGER NOT NULL,
    due_at              INTEGER NOT NULL,
    completed_at        INTEGER,
    last_reminded_at    INTEGER,
    overdue_notified_at INTEGER,
    -- SHA-256 (hex) of the two files kept in access_review_files, also in the audit trail.
    csv_sha256          TEXT,
    pdf_sha256          TEXT
);
CREATE INDEX access_reviews_account ON access_reviews (account_id, started_at DESC);
-- At most one review under way per account.
CREATE UNIQUE INDEX access_reviews_one_open ON access_reviews (account_id) WHERE completed_at IS NULL;

-- Each user as they were when the review started, and what was decided about them.
CREATE TABLE access_review_items (
    review_id       INTEGER NOT NULL REFERENCES access_reviews (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    first_name      TEXT    NOT NULL,
    last_name       TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    is_admin        BOOLEAN NOT NULL,
    contact_role    TEXT,
    last_sign_in_at INTEGER,
    second_factor   TEXT    NOT NULL,
    created_by      TEXT,
    dormant         BOOLEAN NOT NULL,
    decision        TEXT    CHECK (decision IN ('keep', 'remove')),
    decided_by      INTEGER REFERENCES users (id),
    decided_by_name TEXT,
    decided_at      INTEGER,
    PRIMARY KEY (review_id, user_id)
);
CREATE INDEX access_review_items_open ON access_review_items (review_id, decision, last_name, first_name);

-- The files of a completed review, written once when it completes: exported as they are, so their
-- SHA-256 in the audit trail verifies them at any later time.
CREATE TABLE access_review_files (
    review_id INTEGER NOT NULL REFERENCES access_reviews (id),
    kind      TEXT    NOT NULL CHECK (kind IN ('csv', 'pdf')),
    body      BLOB    NOT NULL,
    PRIMARY KEY (review_id, kind)
);
