-- A form refused by the server after a plain (non-script) post: what was typed (never a
-- password) and the problems, kept for the page the person is sent back to, which reads them
-- once. The browser holds a random token in a short-lived cookie; only its SHA-256 is the key.
CREATE TABLE refused_forms (
    token_hash TEXT    PRIMARY KEY,
    page       TEXT    NOT NULL,
    server_fn  TEXT    NOT NULL,
    error      TEXT    NOT NULL,
    fields     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX refused_forms_created ON refused_forms (created_at);

-- A create form's idempotency key: the record the first submission made, so the same form
-- posted again (a double click, a retried request) makes no second one.
CREATE TABLE form_submissions (
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    form_key   TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    record_id  BIGINT,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, form_key)
);
CREATE INDEX form_submissions_created ON form_submissions (created_at);
