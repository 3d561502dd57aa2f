-- Communications to account contacts (SPEC §7): security notices and NPS survey rounds. Each keeps
-- its audience as resolved when it was sent; delivery state is the outbox row of each mail.
-- Times are Unix seconds.

CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    -- Who it is for: every account, the accounts of one service tier, or picked accounts.
    audience        TEXT    NOT NULL CHECK (audience IN ('all', 'tier', 'accounts')),
    tier            TEXT    CHECK (tier IN ('managed', 'self-hosted')),
    include_admins  BOOLEAN NOT NULL DEFAULT FALSE,
    state           TEXT    NOT NULL CHECK (state IN ('draft', 'sent')),
    created_by      INTEGER NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    sent_by         INTEGER REFERENCES users (id),
    sent_at         INTEGER,
    CHECK (state = 'draft' OR sent_at IS NOT NULL)
);
CREATE INDEX notices_recent ON notices (created_at DESC, id);

-- Survey rounds: who was asked, and until when the links work.
CREATE TABLE nps_rounds (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    audience        TEXT    NOT NULL CHECK (audience IN ('all', 'tier', 'accounts')),
    tier            TEXT    CHECK (tier IN ('managed', 'self-hosted')),
    state           TEXT    NOT NULL CHECK (state IN ('draft', 'sent')),
    expires_days    INTEGER NOT NULL,
    created_by      INTEGER NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    sent_by         INTEGER REFERENCES users (id),
    sent_at         INTEGER,
    expires_at      INTEGER
);
CREATE INDEX nps_rounds_recent ON nps_rounds (created_at DESC, id);

-- Picked accounts of a notice or a round (audience 'accounts').
CREATE TABLE communication_accounts (
    kind        TEXT    NOT NULL CHECK (kind IN ('notice', 'survey')),
    parent_id   INTEGER NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (kind, parent_id, account_id)
);

-- The audience as resolved at sending: one row per person, with the mail sent to them; and each
-- account that had no contact to write to.
CREATE TABLE communication_recipients (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('notice', 'survey')),
    parent_id   INTEGER NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    email       TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    roles       TEXT    NOT NULL,
    outbox_id   INTEGER REFERENCES mail_outbox (id),
    -- Surveys: the SHA-256 of the personal link's token, and the answer.
    token_hash  TEXT    UNIQUE,
    score       INTEGER CHECK (score BETWEEN 0 AND 10),
    comment     TEXT,
    answered_at INTEGER,
    UNIQUE (kind, parent_id, user_id)
);
CREATE INDEX communication_recipients_user ON communication_recipients (user_id, kind, parent_id);
CREATE INDEX communication_recipients_parent ON communication_recipients (kind, parent_id, account_id);

CREATE TABLE communication_gaps (
    kind        TEXT    NOT NULL CHECK (kind IN ('notice', 'survey')),
    parent_id   INTEGER NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (kind, parent_id, account_id)
);
