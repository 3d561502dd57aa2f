-- The Manage Accounts list sorts one account's users by name, email, status, last sign-in or
-- creation and shows 50 at a time: with these the first pages are read in index order instead
-- of sorting every user of the account (see bench/README.md).
DROP INDEX users_account;
CREATE INDEX users_account ON users (account_id, last_name, first_name, id);
CREATE INDEX users_account_email ON users (account_id, email);
CREATE INDEX users_account_status ON users (account_id, status, last_name, id);
CREATE INDEX users_account_last_sign_in ON users (account_id, last_sign_in_at DESC, id);
CREATE INDEX users_account_created ON users (account_id, created_at DESC, id);
