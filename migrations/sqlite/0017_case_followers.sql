-- Who hears about a case by mail: its contact unless they stopped following, and the colleagues
-- watching it. A row exists for every watcher and for a contact who chose (either way); its token
-- is that person's own address for the case's mails: the reply address (support+<token>@…) and
-- the one-click unsubscribe link. The token is a capability with little power (stop one case's
-- mails; a reply still has to come from the person, authenticated), so it is kept as it is, the
-- way mail services keep reply keys.
CREATE TABLE case_followers (
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    watcher    BOOLEAN NOT NULL DEFAULT FALSE,
    following  BOOLEAN NOT NULL DEFAULT TRUE,
    mail_token TEXT    NOT NULL UNIQUE,
    added_by   INTEGER REFERENCES users (id),
    added_at   INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_followers_user ON case_followers (user_id);

-- A case mail knows its case and its recipient: the sender threads it with the case's other
-- mails, gives it the recipient's reply address, and drops it when the recipient was disabled
-- after it was queued.
ALTER TABLE mail_outbox ADD COLUMN to_user_id INTEGER REFERENCES users (id);
ALTER TABLE mail_outbox ADD COLUMN case_number TEXT;
ALTER TABLE mail_outbox ADD COLUMN mail_token TEXT;
