-- Sign-in through a customer's own OpenID Connect provider (SPEC §3.4): one provider per account,
-- the email domains it answers for, and the sign-ins under way.

CREATE TABLE account_sso (
    account_id    INTEGER PRIMARY KEY REFERENCES accounts (id),
    issuer        TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    client_secret TEXT    NOT NULL,
    -- Passwords are refused for the account's users when set.
    required      BOOLEAN NOT NULL DEFAULT FALSE,
    updated_by    INTEGER REFERENCES users (id),
    updated_at    INTEGER NOT NULL
);

-- An email domain signs in through one account's provider at most.
CREATE TABLE sso_domains (
    domain     TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id)
);
CREATE INDEX sso_domains_account ON sso_domains (account_id);

-- A sign-in sent to a provider: its state (only the SHA-256 kept), nonce and PKCE verifier, used
-- once within ten minutes; and the provider's address the browser is sent on to (from a page of
-- the portal's own: its forms may post only to the portal).
CREATE TABLE sso_logins (
    state_hash    TEXT    PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    nonce         TEXT    NOT NULL,
    pkce_verifier TEXT    NOT NULL,
    authorize_url TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX sso_logins_created ON sso_logins (created_at);
