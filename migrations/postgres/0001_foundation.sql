-- Accounts, users, sessions and sign-in throttling. Times are Unix seconds (UTC).

CREATE TABLE accounts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT    NOT NULL,
    account_key     TEXT    NOT NULL UNIQUE,
    service_tier    TEXT    NOT NULL CHECK (service_tier IN ('managed', 'self-hosted')),
    environments    TEXT    NOT NULL DEFAULT 'Production
Staging
Development',
    time_zone       TEXT    NOT NULL DEFAULT 'UTC',
    tam_user_id     BIGINT,
    primary_contact_id   BIGINT,
    secondary_contact_id BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX accounts_name ON accounts (name);

CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      BIGINT REFERENCES accounts (id),
    email           TEXT    NOT NULL UNIQUE,
    first_name      TEXT    NOT NULL,
    last_name       TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('customer', 'agent', 'platform_admin')),
    is_admin        BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT    NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    password_hash   TEXT,
    time_zone       TEXT    NOT NULL DEFAULT 'UTC',
    created_at      BIGINT NOT NULL,
    created_by      BIGINT REFERENCES users (id),
    updated_at      BIGINT NOT NULL,
    last_sign_in_at BIGINT,
    password_changed_at BIGINT,
    -- customers belong to exactly one account; vendor staff to none
    CHECK ((kind = 'customer') = (account_id IS NOT NULL)),
    CHECK (kind = 'customer' OR is_admin = FALSE)
);
CREATE INDEX users_account ON users (account_id, last_name, first_name);

CREATE TABLE sessions (
    token_hash      TEXT    PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    impersonator_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    client_addr     TEXT    NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE sign_in_failures (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT    NOT NULL,
    client_addr     TEXT    NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_addr ON sign_in_failures (client_addr, at);
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
