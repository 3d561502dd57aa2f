-- Invitations and password resets, the mail outbox, and account contacts that always point at a
-- user of the same account. Times are Unix seconds (UTC).

ALTER TABLE accounts ADD COLUMN csm_user_id BIGINT REFERENCES users (id);

-- Single-use links. Only a SHA-256 of the token is stored; a link dies when used, replaced by a
-- newer one (re-sent), revoked or expired.
CREATE TABLE user_tokens (
    token_hash      TEXT    PRIMARY KEY,
    user_id         BIGINT  NOT NULL REFERENCES users (id),
    purpose         TEXT    NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    created_at      BIGINT  NOT NULL,
    created_by      BIGINT  REFERENCES users (id),
    expires_at      BIGINT  NOT NULL,
    used_at         BIGINT,
    voided_at       BIGINT,
    void_reason     TEXT    CHECK (void_reason IN ('resent', 'revoked', 'superseded'))
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose, created_at);

-- Every mail is a row written in the transaction of the change that caused it; a sender delivers
-- them. `secret_link` holds a single-use link until the mail is delivered and is cleared then, so
-- the database keeps no usable link once it has been sent.
CREATE TABLE mail_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT    NOT NULL,
    account_id      BIGINT  REFERENCES accounts (id),
    to_address      TEXT    NOT NULL,
    to_name         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    secret_link     TEXT,
    created_at      BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT,
    sent_at         BIGINT,
    failed_at       BIGINT,
    last_error      TEXT
);
CREATE INDEX mail_outbox_pending ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_account ON mail_outbox (account_id, created_at);

-- A contact is a user of the account it is a contact of: (contact, account) must match a user's
-- (id, account_id).
ALTER TABLE users ADD CONSTRAINT users_id_account UNIQUE (id, account_id);
ALTER TABLE accounts ADD CONSTRAINT accounts_primary_contact
    FOREIGN KEY (primary_contact_id, id) REFERENCES users (id, account_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE accounts ADD CONSTRAINT accounts_secondary_contact
    FOREIGN KEY (secondary_contact_id, id) REFERENCES users (id, account_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE accounts ADD CONSTRAINT accounts_contacts_differ
    CHECK (primary_contact_id IS NULL OR primary_contact_id <> secondary_contact_id);
ALTER TABLE accounts ADD CONSTRAINT accounts_tam FOREIGN KEY (tam_user_id) REFERENCES users (id);
