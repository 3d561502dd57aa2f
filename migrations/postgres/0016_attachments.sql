-- Attachments (files on cases). The bytes live in the file store (a local directory or an
-- S3-compatible bucket) under their SHA-256, once however often they are attached; a blob row is
-- removed, with its bytes, only when no attachment refers to it any more.
CREATE TABLE blobs (
    sha256        TEXT    PRIMARY KEY,
    size          BIGINT  NOT NULL,
    -- The type found in the content itself (never the name or the browser's word).
    content_type  TEXT    NOT NULL,
    -- 'unscanned' (no scanner configured), 'pending', 'clean' or 'infected'.
    scan          TEXT    NOT NULL CHECK (scan IN ('unscanned', 'pending', 'clean', 'infected')),
    scanned_at    BIGINT,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX blobs_pending ON blobs (created_at) WHERE scan = 'pending';

-- One file as attached by someone. `token` is its public, unguessable id (in URLs); the name the
-- browser sent is only shown, never used as a path. Until one of `case_id`, `change_id` and `article_id` is set the file is
-- staged:
-- uploaded ahead of the form it goes with, and seen by its uploader alone.
CREATE TABLE attachments (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token          TEXT    NOT NULL UNIQUE,
    -- The bytes (a blob row while any live attachment refers to it; kept for the record after
    -- removal, when the blob may be gone).
    sha256         TEXT    NOT NULL,
    file_name      TEXT    NOT NULL,
    uploaded_by    BIGINT  NOT NULL REFERENCES users (id),
    uploaded_at    BIGINT  NOT NULL,
    case_id        BIGINT  REFERENCES cases (id),
    -- Or the change request it came with (a file is attached to one case or one request).
    change_id      BIGINT  REFERENCES change_requests (id),
    -- Or the knowledge-base article it belongs to (staff attach them; readers of the article see them).
    article_id     BIGINT  REFERENCES kb_articles (id),
    -- The comment or work note it came with; NULL: with the case itself or on its own.
    entry_id       BIGINT  REFERENCES case_entries (id),
    -- Staff only (it came with an internal work note, or staff marked it so).
    internal       BOOLEAN NOT NULL DEFAULT FALSE,
    removed_at     BIGINT,
    removed_by     BIGINT  REFERENCES users (id),
    removed_reason TEXT
);
CREATE INDEX attachments_case ON attachments (case_id, id) WHERE case_id IS NOT NULL;
CREATE INDEX attachments_change ON attachments (change_id, id) WHERE change_id IS NOT NULL;
CREATE INDEX attachments_article ON attachments (article_id, id) WHERE article_id IS NOT NULL;
CREATE INDEX attachments_staged ON attachments (uploaded_at)
    WHERE case_id IS NULL AND change_id IS NULL AND article_id IS NULL;
CREATE INDEX attachments_blob ON attachments (sha256) WHERE removed_at IS NULL;
