-- Knowledge base (SPEC §9): numbered articles with a category, a visibility and a state; every
-- edit is kept as a version. Times are Unix seconds.

INSERT INTO counters VALUES ('kb', 10000);

CREATE TABLE kb_categories (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    description TEXT   NOT NULL DEFAULT '',
    position    BIGINT NOT NULL DEFAULT 0
);

-- The row holds what readers see: for a published or retired article the published version, for a
-- draft its newest version. Newer unpublished versions wait in kb_versions until published.
CREATE TABLE kb_articles (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number         TEXT   NOT NULL UNIQUE,
    category_id    BIGINT NOT NULL REFERENCES kb_categories (id),
    visibility     TEXT   NOT NULL CHECK (visibility IN ('public', 'customers', 'internal')),
    state          TEXT   NOT NULL CHECK (state IN ('draft', 'published', 'retired')),
    title          TEXT   NOT NULL,
    body           TEXT   NOT NULL,
    -- The body as plain text: what search indexes and snippets and descriptions are cut from.
    plain          TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    latest_version BIGINT NOT NULL,
    author_id      BIGINT NOT NULL REFERENCES users (id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    published_at   BIGINT,
    views          BIGINT NOT NULL DEFAULT 0,
    helpful        BIGINT NOT NULL DEFAULT 0,
    unhelpful      BIGINT NOT NULL DEFAULT 0,
    CHECK (latest_version >= version),
    -- Full-text search over title (weighted first) and plain body, English stemming.
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', plain), 'B')
    ) STORED
);
CREATE INDEX kb_articles_recent ON kb_articles (state, published_at DESC, id);
CREATE INDEX kb_articles_popular ON kb_articles (state, views DESC, id);
CREATE INDEX kb_articles_category ON kb_articles (category_id, state, published_at DESC, id);
CREATE INDEX kb_articles_updated ON kb_articles (updated_at DESC, id);
CREATE INDEX kb_articles_search ON kb_articles USING GIN (search);

-- Every saved edit, never changed afterwards.
CREATE TABLE kb_versions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id  BIGINT NOT NULL REFERENCES kb_articles (id),
    version     BIGINT NOT NULL,
    title       TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    category_id BIGINT NOT NULL REFERENCES kb_categories (id),
    visibility  TEXT   NOT NULL,
    -- What the edit was: 'draft', 'publish', or 'restore' (of version restored_from).
    action      TEXT   NOT NULL CHECK (action IN ('draft', 'publish', 'restore')),
    restored_from BIGINT,
    edited_by   BIGINT NOT NULL REFERENCES users (id),
    edited_at   BIGINT NOT NULL,
    UNIQUE (article_id, version)
);
CREATE FUNCTION kb_versions_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a knowledge-base version cannot be changed';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kb_versions_immutable BEFORE UPDATE ON kb_versions
    FOR EACH ROW EXECUTE FUNCTION kb_versions_immutable();

-- "Was this helpful?": one vote per reader (signed-in user, or client address for visitors).
CREATE TABLE kb_votes (
    article_id BIGINT  NOT NULL REFERENCES kb_articles (id),
    voter      TEXT    NOT NULL,
    helpful    BOOLEAN NOT NULL,
    at         BIGINT  NOT NULL,
    PRIMARY KEY (article_id, voter)
);
