-- Provisioning by a customer's identity provider over SCIM 2.0 (RFC 7643/7644): bearer tokens
-- per account, and how the provider names each person it manages.

-- A token a customer administrator made for their identity provider. Only its SHA-256 is kept;
-- `reveal` holds the token itself for the one page that shows it after it was made (minutes).
CREATE TABLE scim_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    token_hash   TEXT    NOT NULL UNIQUE,
    label        TEXT    NOT NULL,
    created_by   BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    revoked_by   BIGINT REFERENCES users (id),
    reveal       TEXT,
    reveal_until BIGINT
);
CREATE INDEX scim_tokens_account ON scim_tokens (account_id);

-- The provider's own name for the person (SCIM userName), its id for them (externalId), and the
-- attributes it sent as it sent them (JSON: name, emails, displayName…), which it reads back.
ALTER TABLE users ADD COLUMN scim_user_name TEXT;
ALTER TABLE users ADD COLUMN scim_external_id TEXT;
ALTER TABLE users ADD COLUMN scim_resource TEXT;
CREATE UNIQUE INDEX users_scim_user_name ON users (account_id, scim_user_name);
-- Removed by the provider (SCIM DELETE): disabled in the portal, kept for the record, no longer
-- one of the provider's resources.
ALTER TABLE users ADD COLUMN scim_removed_at BIGINT;
