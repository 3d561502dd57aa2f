-- The change sequence the embedded search index follows (one index per portal instance, each
-- catching up from here): every insert, relevant update or delete of a case or an article adds a
-- row, in the same transaction as the change, so no change can be missed. A row says only "look
-- at this item again"; the index reads the item itself. Sequence numbers are taken before their
-- transactions commit, so they may become visible out of order: the index waits for a gap.
CREATE TABLE search_changes (
    seq     BIGINT    GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    TEXT      NOT NULL CHECK (kind IN ('case', 'article')),
    item_id BIGINT    NOT NULL,
    at      BIGINT    NOT NULL DEFAULT (extract(epoch FROM now())::bigint)
);
CREATE INDEX search_changes_at ON search_changes (at);

-- One row: `database_key` names this database (an index built from another one is rebuilt),
-- `generation` goes up when every index must be rebuilt (`portcullis reindex`), and changes up to
-- `pruned_through` have been deleted (an index behind that is rebuilt).
CREATE TABLE search_feed (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
    database_key   TEXT   NOT NULL,
    generation     BIGINT NOT NULL,
    pruned_through BIGINT NOT NULL
);
INSERT INTO search_feed (id, database_key, generation, pruned_through)
    VALUES (1, md5(random()::text || clock_timestamp()::text), 1, 0);

CREATE FUNCTION cases_search_change() RETURNS trigger AS $$
BEGIN
    INSERT INTO search_changes (kind, item_id)
        VALUES ('case', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cases_search_insert AFTER INSERT OR DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_search_change();
CREATE TRIGGER cases_search_update AFTER UPDATE OF number, account_id, subject, description, state,
    priority, assignment_group_id, assigned_to, created_at, due_at ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_search_change();

CREATE FUNCTION kb_articles_search_change() RETURNS trigger AS $$
BEGIN
    INSERT INTO search_changes (kind, item_id)
        VALUES ('article', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kb_articles_search_insert AFTER INSERT OR DELETE ON kb_articles
    FOR EACH ROW EXECUTE FUNCTION kb_articles_search_change();
CREATE TRIGGER kb_articles_search_update AFTER UPDATE OF number, category_id, visibility, state,
    title, plain, published_at ON kb_articles
    FOR EACH ROW EXECUTE FUNCTION kb_articles_search_change();

-- Cases are searched in the search index only: the database's own full-text index of them goes.
DROP INDEX cases_search;
ALTER TABLE cases DROP COLUMN search;
