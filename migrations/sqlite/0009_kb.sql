-- Knowledge base (SPEC §9): numbered articles with a category, a visibility and a state; every
-- edit is kept as a version. Times are Unix seconds.

INSERT INTO counters VALUES ('kb', 10000);

CREATE TABLE kb_categories (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0
);

-- The row holds what readers see: for a published or retired article the published version, for a
-- draft its newest version. Newer unpublished versions wait in kb_versions until published.
CREATE TABLE kb_articles (
    id             INTEGER PRIMARY KEY,
    number         TEXT    NOT NULL UNIQUE,
    category_id    INTEGER NOT NULL REFERENCES kb_categories (id),
    visibility     TEXT    NOT NULL CHECK (visibility IN ('public', 'customers', 'internal')),
    state          TEXT    NOT NULL CHECK (state IN ('draft', 'published', 'retired')),
    title          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    -- The body as plain text: what search indexes and snippets and descriptions are cut from.
    plain          TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    latest_version INTEGER NOT NULL,
    author_id      INTEGER NOT NULL REFERENCES users (id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    published_at   INTEGER,
    views          INTEGER NOT NULL DEFAULT 0,
    helpful        INTEGER NOT NULL DEFAULT 0,
    unhelpful      INTEGER NOT NULL DEFAULT 0,
    -- Who may find the article and its category, as words of the search index, so the index
    -- itself answers "visible to this reader" (see kb_fts).
    tags           TEXT GENERATED ALWAYS AS (
        CASE WHEN state = 'published' THEN 'zzpub' || visibility ELSE 'zz' || state END
        || ' zzcat' || category_id) VIRTUAL,
    CHECK (latest_version >= version)
);
CREATE INDEX kb_articles_recent ON kb_articles (state, published_at DESC, id);
CREATE INDEX kb_articles_popular ON kb_articles (state, views DESC, id);
CREATE INDEX kb_articles_category ON kb_articles (category_id, state, published_at DESC, id);
CREATE INDEX kb_articles_updated ON kb_articles (updated_at DESC, id);

-- Every saved edit, never changed afterwards.
CREATE TABLE kb_versions (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES kb_articles (id),
    version     INTEGER NOT NULL,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    category_id INTEGER NOT NULL REFERENCES kb_categories (id),
    visibility  TEXT    NOT NULL,
    -- What the edit was: 'draft', 'publish', or 'restore' (of version restored_from).
    action      TEXT    NOT NULL CHECK (action IN ('draft', 'publish', 'restore')),
    restored_from INTEGER,
    edited_by   INTEGER NOT NULL REFERENCES users (id),
    edited_at   INTEGER NOT NULL,
    UNIQUE (article_id, version)
);
CREATE TRIGGER kb_versions_immutable BEFORE UPDATE ON kb_versions
BEGIN
    SELECT RAISE(ABORT, 'a knowledge-base version cannot be changed');
END;

-- "Was this helpful?": one vote per reader (signed-in user, or client address for visitors).
CREATE TABLE kb_votes (
    article_id INTEGER NOT NULL REFERENCES kb_articles (id),
    voter      TEXT    NOT NULL,
    helpful    BOOLEAN NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (article_id, voter)
);

-- Full-text search over title and plain body, kept by triggers (articles are never deleted).
-- English stemming (Porter), as PostgreSQL's 'english' configuration.
-- Ranking is bm25 with the title weighing eight times the body; the tags column only filters.
CREATE VIRTUAL TABLE kb_fts USING fts5(title, plain, tags, content='kb_articles', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');
INSERT INTO kb_fts (kb_fts, rank) VALUES ('rank', 'bm25(8.0, 1.0, 0.0)');
CREATE TRIGGER kb_fts_insert AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_fts (rowid, title, plain, tags) VALUES (new.id, new.title, new.plain, new.tags);
END;
CREATE TRIGGER kb_fts_update AFTER UPDATE OF title, plain, state, visibility, category_id ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, plain, tags) VALUES ('delete', old.id, old.title, old.plain, old.tags);
    INSERT INTO kb_fts (rowid, title, plain, tags) VALUES (new.id, new.title, new.plain, new.tags);
END;
