-- An account's active administrators, counted before any change that could leave it without one
-- (and on every access review page): without this index the count read each active user of the
-- account, ten thousand rows for a large customer.
CREATE INDEX users_active_admins ON users (account_id) WHERE is_admin AND status = 'active';
