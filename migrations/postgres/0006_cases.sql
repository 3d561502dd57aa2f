-- Support cases (SPEC §4) and the catalog they draw on (§8). Times are Unix seconds (UTC).

CREATE TABLE product_versions (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT    NOT NULL UNIQUE,
    active  BOOLEAN NOT NULL DEFAULT TRUE,
    sort    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE features (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT    NOT NULL UNIQUE,
    active  BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE services (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT    NOT NULL UNIQUE,
    active  BOOLEAN NOT NULL DEFAULT TRUE
);
-- The compatibility matrix: which features each version offers.
CREATE TABLE feature_versions (
    feature_id BIGINT NOT NULL REFERENCES features (id),
    version_id BIGINT NOT NULL REFERENCES product_versions (id),
    PRIMARY KEY (feature_id, version_id)
);
-- severity 1 is the worst ("Production down").
CREATE TABLE impact_levels (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE,
    severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    active   BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE availability_windows (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT    NOT NULL UNIQUE,
    active  BOOLEAN NOT NULL DEFAULT TRUE,
    sort    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE assignment_groups (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT    NOT NULL UNIQUE,
    active  BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE sla_targets (
    priority                INTEGER PRIMARY KEY CHECK (priority BETWEEN 1 AND 4),
    first_response_minutes  INTEGER NOT NULL,
    resolution_minutes      INTEGER NOT NULL,
    business_hours          BOOLEAN NOT NULL
);

INSERT INTO assignment_groups (name) VALUES ('Technical Support');
INSERT INTO impact_levels (name, severity) VALUES
    ('Production down', 1), ('Production degraded', 2), ('Non-production issue', 3), ('Question', 4);
-- Shipped defaults (SPEC §4.4): P1 1 h / 1 day, P2 4 h / 3 days, P3 1 business day / 10 days,
-- P4 2 business days / 30 days.
INSERT INTO sla_targets VALUES
    (1, 60, 1440, FALSE), (2, 240, 4320, FALSE), (3, 480, 14400, TRUE), (4, 960, 43200, TRUE);

-- Named counters handed out inside write transactions (case numbers are never reused).
CREATE TABLE counters (
    name    TEXT    PRIMARY KEY,
    value   BIGINT NOT NULL
);
INSERT INTO counters VALUES ('case', 1000);

CREATE TABLE cases (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number               TEXT    NOT NULL UNIQUE,
    account_id           BIGINT NOT NULL REFERENCES accounts (id),
    contact_id           BIGINT NOT NULL REFERENCES users (id),
    created_by           BIGINT NOT NULL REFERENCES users (id),
    on_behalf            BOOLEAN NOT NULL DEFAULT FALSE,
    product_version_id   BIGINT NOT NULL REFERENCES product_versions (id),
    impact_id            BIGINT NOT NULL REFERENCES impact_levels (id),
    workaround           TEXT    NOT NULL CHECK (workaround IN ('yes', 'no', 'unknown')),
    feature_id           BIGINT NOT NULL REFERENCES features (id),
    service_id           BIGINT NOT NULL REFERENCES services (id),
    environment          TEXT    NOT NULL,
    availability_id      BIGINT NOT NULL REFERENCES availability_windows (id),
    subject              TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('new', 'open', 'awaiting_info', 'resolved', 'closed', 'cancelled')),
    priority             INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    assignment_group_id  BIGINT NOT NULL REFERENCES assignment_groups (id),
    assigned_to          BIGINT REFERENCES users (id),
    -- Why staff set the priority by hand; NULL while it is the computed one.
    priority_reason      TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    -- The SLA clocks (§4.4): they stand still while the case awaits the customer or is resolved.
    first_response_at    BIGINT,
    resolved_at          BIGINT,
    closed_at            BIGINT,
    paused_seconds       BIGINT NOT NULL DEFAULT 0,
    paused_since         BIGINT,
    -- When the resolution target runs out, kept while its clock runs (NULL when paused or met),
    -- so the "breaching" queue is an index range instead of a computation over every open case.
    due_at               BIGINT
);
CREATE INDEX cases_account ON cases (account_id, created_at DESC, id);
CREATE INDEX cases_contact ON cases (contact_id, created_at DESC, id);
CREATE INDEX cases_created_by ON cases (created_by, created_at DESC, id);
CREATE INDEX cases_created ON cases (created_at DESC, id);
CREATE INDEX cases_due ON cases (due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX cases_state ON cases (state, created_at DESC, id);
CREATE INDEX cases_assigned ON cases (assigned_to, state, created_at DESC, id);
CREATE INDEX cases_group ON cases (assignment_group_id, state, created_at DESC, id);

-- The activity stream: customer-visible comments, staff-only work notes, and field changes.
CREATE TABLE case_entries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('comment', 'work_note', 'change')),
    -- NULL: the portal itself (auto-close).
    author_id   BIGINT REFERENCES users (id),
    body        TEXT    NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX case_entries_case ON case_entries (case_id, at, id);

-- Full-text search over number, subject and description.
ALTER TABLE cases ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', number || ' ' || subject || ' ' || description)) STORED;
CREATE INDEX cases_search ON cases USING GIN (search);
