-- Invitations and password resets, the mail outbox, and account contacts that always point at a
-- user of the same account. Times are Unix seconds (UTC).

ALTER TABLE accounts ADD COLUMN csm_user_id INTEGER REFERENCES users (id);

-- Single-use links. Only a SHA-256 of the token is stored; a link dies when used, replaced by a
-- newer one (re-sent), revoked or expired.
CREATE TABLE user_tokens (
    token_hash      TEXT    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    purpose         TEXT    NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    created_at      INTEGER NOT NULL,
    created_by      INTEGER REFERENCES users (id),
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    voided_at       INTEGER,
    void_reason     TEXT    CHECK (void_reason IN ('resent', 'revoked', 'superseded'))
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose, created_at);

-- Every mail is a row written in the transaction of the change that caused it; a sender delivers
-- them. `secret_link` holds a single-use link until the mail is delivered and is cleared then, so
-- the database keeps no usable link once it has been sent.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    account_id      INTEGER REFERENCES accounts (id),
    to_address      TEXT    NOT NULL,
    to_name         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    secret_link     TEXT,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_by      TEXT,
    claimed_until   INTEGER,
    sent_at         INTEGER,
    failed_at       INTEGER,
    last_error      TEXT
);
CREATE INDEX mail_outbox_pending ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_account ON mail_outbox (account_id, created_at);

-- A contact is a user of the account it is a contact of. SQLite cannot add a foreign key to an
-- existing table, and a foreign key could not say "of this account" anyway: triggers do both.
CREATE TRIGGER accounts_contacts_insert BEFORE INSERT ON accounts
WHEN NEW.primary_contact_id IS NOT NULL OR NEW.secondary_contact_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a contact must be a user of the account');
END;

CREATE TRIGGER accounts_contacts_update BEFORE UPDATE OF primary_contact_id, secondary_contact_id ON accounts
WHEN (NEW.primary_contact_id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM users WHERE id = NEW.primary_contact_id AND account_id = NEW.id))
  OR (NEW.secondary_contact_id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM users WHERE id = NEW.secondary_contact_id AND account_id = NEW.id))
  OR (NEW.primary_contact_id = NEW.secondary_contact_id)
BEGIN
    SELECT RAISE(ABORT, 'a contact must be a user of the account');
END;
