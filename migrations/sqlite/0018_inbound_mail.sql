-- Every mail that reached the support mailbox, kept (raw, up to the size limit) with what was
-- made of it: a comment on a case (accepted), held for staff to accept or discard, refused (the
-- sender was told why), or dropped (automatic mail: bounces, auto-replies, lists — never
-- answered). One row per message: a second delivery of the same Message-ID is recognized.
CREATE TABLE inbound_mails (
    id            INTEGER PRIMARY KEY,
    message_id    TEXT    NOT NULL UNIQUE,
    received_at   INTEGER NOT NULL,
    from_address  TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    raw           BLOB NOT NULL,
    raw_complete  BOOLEAN NOT NULL,
    case_id       INTEGER REFERENCES cases (id),
    user_id       INTEGER REFERENCES users (id),
    verdict       TEXT    NOT NULL CHECK (verdict IN ('accepted', 'held', 'refused', 'dropped', 'discarded')),
    reason        TEXT    NOT NULL,
    entry_id      INTEGER REFERENCES case_entries (id),
    decided_by    INTEGER REFERENCES users (id),
    decided_at    INTEGER
);
CREATE INDEX inbound_mails_held ON inbound_mails (received_at) WHERE verdict = 'held';
CREATE INDEX inbound_mails_from ON inbound_mails (from_address, received_at);

-- How far the portal has read the support mailbox: the highest IMAP UID taken, valid while the
-- mailbox keeps its UIDVALIDITY (RFC 3501). Moved on only after a mail was decided, so a killed
-- reader starts again at the first mail it had not finished; a mail decided twice is recognized
-- by its Message-ID.
CREATE TABLE mailbox_cursors (
    mailbox      TEXT PRIMARY KEY,
    uid_validity INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL
);
