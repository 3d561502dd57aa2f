-- The change sequence the embedded search index follows (one index per portal instance, each
-- catching up from here): every insert, relevant update or delete of a case or an article adds a
-- row, in the same transaction as the change, so no change can be missed. A row says only "look
-- at this item again"; the index reads the item itself.
CREATE TABLE search_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT    NOT NULL CHECK (kind IN ('case', 'article')),
    item_id INTEGER NOT NULL,
    at      INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE INDEX search_changes_at ON search_changes (at);

-- One row: `database_key` names this database (an index built from another one is rebuilt),
-- `generation` goes up when every index must be rebuilt (`portcullis reindex`), and changes up to
-- `pruned_through` have been deleted (an index behind that is rebuilt).
CREATE TABLE search_feed (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    database_key   TEXT    NOT NULL,
    generation     INTEGER NOT NULL,
    pruned_through INTEGER NOT NULL
);
INSERT INTO search_feed (id, database_key, generation, pruned_through)
    VALUES (1, lower(hex(randomblob(16))), 1, 0);

CREATE TRIGGER cases_search_insert AFTER INSERT ON cases BEGIN
    INSERT INTO search_changes (kind, item_id) VALUES ('case', new.id);
END;
CREATE TRIGGER cases_search_update AFTER UPDATE OF number, account_id, subject, description, state,
    priority, assignment_group_id, assigned_to, created_at, due_at ON cases BEGIN
    INSERT INTO search_changes (kind, item_id) VALUES ('case', new.id);
END;
CREATE TRIGGER cases_search_delete AFTER DELETE ON cases BEGIN
    INSERT INTO search_changes (kind, item_id) VALUES ('case', old.id);
END;
CREATE TRIGGER kb_articles_search_insert AFTER INSERT ON kb_articles BEGIN
    INSERT INTO search_changes (kind, item_id) VALUES ('article', new.id);
END;
CREATE TRIGGER kb_articles_search_update AFTER UPDATE OF number, category_id, visibility, state,
    title, plain, published_at ON kb_articles BEGIN
    INSERT INTO search_changes (kind, item_id) VALUES ('article', new.id);
END;
CREATE TRIGGER kb_articles_search_delete AFTER DELETE ON kb_articles BEGIN
    INSERT INTO search_changes (kind, item_id) VALUES ('article', old.id);
END;

-- Cases are searched in the search index only: the database's own full-text index of them goes.
DROP TRIGGER cases_fts_insert;
DROP TRIGGER cases_fts_update;
DROP TABLE cases_fts;
