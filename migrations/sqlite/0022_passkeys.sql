-- Passkeys and security keys (WebAuthn) as a second factor beside authenticator apps (SPEC §3.4).
-- A passkey's row keeps the verified credential (public key, counter) as JSON in `secret` and its
-- credential id, which is unique across the portal; the ceremony in progress (a registration on
-- the security page, or a sign-in's second step) is kept on the session that started it.

-- SQLite cannot change a CHECK constraint in place: the table is made again with the wider one.
CREATE TABLE second_factors_new (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('totp', 'passkey')),
    label          TEXT    NOT NULL,
    secret         TEXT    NOT NULL,
    last_used_step INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    confirmed_at   INTEGER,
    last_used_at   INTEGER,
    credential_id  TEXT
);
INSERT INTO second_factors_new
    (id, user_id, kind, label, secret, last_used_step, created_at, confirmed_at, last_used_at)
    SELECT id, user_id, kind, label, secret, last_used_step, created_at, confirmed_at, last_used_at
    FROM second_factors;
DROP TABLE second_factors;
ALTER TABLE second_factors_new RENAME TO second_factors;
CREATE INDEX second_factors_user ON second_factors (user_id);
CREATE UNIQUE INDEX second_factors_credential ON second_factors (credential_id);

ALTER TABLE sessions ADD COLUMN passkey_ceremony TEXT;
