-- Passkeys and security keys (WebAuthn) as a second factor beside authenticator apps (SPEC §3.4).
-- A passkey's row keeps the verified credential (public key, counter) as JSON in `secret` and its
-- credential id, which is unique across the portal; the ceremony in progress (a registration on
-- the security page, or a sign-in's second step) is kept on the session that started it.

ALTER TABLE second_factors DROP CONSTRAINT second_factors_kind_check;
ALTER TABLE second_factors ADD CONSTRAINT second_factors_kind_check
    CHECK (kind IN ('totp', 'passkey'));
ALTER TABLE second_factors ADD COLUMN credential_id TEXT;
CREATE UNIQUE INDEX second_factors_credential ON second_factors (credential_id);

ALTER TABLE sessions ADD COLUMN passkey_ceremony TEXT;
