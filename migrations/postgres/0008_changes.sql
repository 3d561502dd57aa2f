-- Change requests (SPEC §5): a customer's qualified request to change their vendor-managed
-- environment, with an unbroken chain of authorization from the customer. Times are Unix seconds.

INSERT INTO counters VALUES ('change', 1000);

CREATE TABLE change_requests (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number               TEXT    NOT NULL UNIQUE,
    account_id           BIGINT  NOT NULL REFERENCES accounts (id),
    -- The customer contact who asks for the change.
    requested_by         BIGINT  NOT NULL REFERENCES users (id),
    created_by           BIGINT  NOT NULL REFERENCES users (id),
    on_behalf            BOOLEAN NOT NULL DEFAULT FALSE,
    -- The administrator named to authorize a CR raised on the account's behalf (NULL: any of them).
    authorizer_id        BIGINT  REFERENCES users (id),
    environment          TEXT    NOT NULL,
    short_description    TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    reason               TEXT    NOT NULL,
    affects_capacity     BOOLEAN NOT NULL,
    affects_performance  BOOLEAN NOT NULL,
    affects_cost         BOOLEAN NOT NULL,
    affects_security     BOOLEAN NOT NULL,
    risk                 TEXT    NOT NULL CHECK (risk IN ('low', 'medium', 'high')),
    window_start         BIGINT NOT NULL,
    window_end           BIGINT NOT NULL,
    rollback_plan        TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('awaiting_authorization', 'new', 'assess', 'scheduled',
                                  'implement', 'review', 'closed', 'cancelled', 'declined')),
    scheduled_start      BIGINT,
    scheduled_end        BIGINT,
    implementer_id       BIGINT  REFERENCES users (id),
    converted_case_id    BIGINT  REFERENCES cases (id),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    -- The authorization record: who, when, from where, and the statement they agreed to.
    authorized_by        BIGINT  REFERENCES users (id),
    authorized_at        BIGINT,
    authorized_from      TEXT,
    authorization_text   TEXT,
    CHECK (window_end > window_start),
    -- The chain is unbroken: past Awaiting authorization (and short of Declined) a CR carries a
    -- complete authorization record.
    CHECK (state IN ('awaiting_authorization', 'declined') OR (authorized_by IS NOT NULL
        AND authorized_at IS NOT NULL AND authorized_from IS NOT NULL AND authorization_text IS NOT NULL))
);
CREATE INDEX change_requests_account ON change_requests (account_id, created_at DESC, id);
CREATE INDEX change_requests_state ON change_requests (state, created_at DESC, id);

-- Once given, an authorization is never changed.
CREATE FUNCTION change_authorization_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.authorized_at IS NOT NULL AND (NEW.authorized_by IS DISTINCT FROM OLD.authorized_by
        OR NEW.authorized_at IS DISTINCT FROM OLD.authorized_at
        OR NEW.authorized_from IS DISTINCT FROM OLD.authorized_from
        OR NEW.authorization_text IS DISTINCT FROM OLD.authorization_text) THEN
        RAISE EXCEPTION 'the authorization of a change request cannot be changed';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER change_authorization_immutable BEFORE UPDATE ON change_requests
    FOR EACH ROW EXECUTE FUNCTION change_authorization_immutable();

-- History: customer-visible field and state changes, and staff-only implementation notes.
CREATE TABLE change_entries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_id   BIGINT  NOT NULL REFERENCES change_requests (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('change', 'note')),
    author_id   BIGINT  REFERENCES users (id),
    body        TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);
CREATE INDEX change_entries_change ON change_entries (change_id, at, id);

-- A case made from a mistaken CR points back at it.
ALTER TABLE cases ADD COLUMN from_change_id BIGINT  REFERENCES change_requests (id);

-- Full-text search over number, short description and description.
ALTER TABLE change_requests ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', number || ' ' || short_description || ' ' || description)) STORED;
CREATE INDEX change_requests_search ON change_requests USING GIN (search);
