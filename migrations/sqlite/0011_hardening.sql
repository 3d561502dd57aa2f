-- Ending a platform admin's sessions also ends the impersonations they started.
CREATE INDEX sessions_impersonator ON sessions (impersonator_id);

-- A knowledge-base view is counted once per reader (user, or hashed client address) per article
-- per day (Unix day number), so a page embedding article URLs cannot inflate the counts.
CREATE TABLE kb_views (
    article_id INTEGER NOT NULL REFERENCES kb_articles (id),
    reader     TEXT    NOT NULL,
    day        INTEGER NOT NULL,
    PRIMARY KEY (article_id, reader, day)
);
CREATE INDEX kb_views_day ON kb_views (day);

-- A mail sender renews the lease of the mails it holds: found by who holds them.
CREATE INDEX mail_outbox_claimed ON mail_outbox (claimed_by) WHERE claimed_by IS NOT NULL;

-- Entries written from now on hash their row id too (version 2), so moving an entry to another
-- row id is found like any other edit; older entries keep verifying as written (version 1).
ALTER TABLE audit_log ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1;
