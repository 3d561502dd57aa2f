-- A second factor at sign-in (SPEC §3.4): authenticator apps (TOTP, RFC 6238) and one-time
-- recovery codes; which accounts require one; sessions that are half-way through signing in.

-- An authenticator app of a person. Unconfirmed (confirmed_at NULL) while it is being set up:
-- it counts only once a code from it was entered. A code works once: a step at or before
-- last_used_step is refused.
CREATE TABLE second_factors (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('totp')),
    label          TEXT    NOT NULL,
    secret         TEXT    NOT NULL,
    last_used_step BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    confirmed_at   BIGINT,
    last_used_at   BIGINT
);
CREATE INDEX second_factors_user ON second_factors (user_id);

-- Ten one-time codes per person for when the authenticator is lost; only their SHA-256 is kept.
CREATE TABLE recovery_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- New recovery codes, kept for the one page that shows them right after they were made (at most
-- a few minutes; removed when shown).
CREATE TABLE recovery_code_reveals (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    codes      TEXT    NOT NULL,
    expires_at BIGINT NOT NULL
);

-- A session is signed in ('full'), or the password was right and the second factor is still to
-- be given ('second_factor') or set up first ('enrol'): such a session opens no page but the
-- next step of signing in, and lives a few minutes.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full'
    CHECK (stage IN ('full', 'second_factor', 'enrol'));
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN failed_codes BIGINT NOT NULL DEFAULT 0;

-- A customer administrator can require a second factor of everyone in their account.
ALTER TABLE accounts ADD COLUMN require_second_factor BOOLEAN NOT NULL DEFAULT FALSE;

-- The portal's own rules for vendor staff, one row.
CREATE TABLE staff_policy (
    id                  SMALLINT PRIMARY KEY CHECK (id = 1),
    require_second_factor BOOLEAN NOT NULL DEFAULT FALSE,
    changed_by          BIGINT REFERENCES users (id),
    changed_at          BIGINT
);
INSERT INTO staff_policy (id, require_second_factor) VALUES (1, FALSE);
