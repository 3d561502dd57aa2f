-- How many users each customer account has, kept by triggers in the same transaction as every
-- insert, delete or move of a user, so that Manage Accounts and the staff account list read one
-- row instead of counting ten thousand users of a large customer on every page.
CREATE TABLE account_user_counts (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id),
    people     BIGINT NOT NULL
);
INSERT INTO account_user_counts (account_id, people)
    SELECT account_id, COUNT(*) FROM users WHERE account_id IS NOT NULL GROUP BY account_id;

CREATE FUNCTION users_counted() RETURNS trigger AS $$
BEGIN
    -- Nested: plpgsql does not promise to stop at the first false operand of AND, and an insert
    -- has no old row (a delete no new one).
    IF TG_OP <> 'INSERT' THEN
        IF OLD.account_id IS NOT NULL THEN
            UPDATE account_user_counts SET people = people - 1 WHERE account_id = OLD.account_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.account_id IS NOT NULL THEN
            INSERT INTO account_user_counts (account_id, people) VALUES (NEW.account_id, 1)
                ON CONFLICT (account_id) DO UPDATE SET people = account_user_counts.people + 1;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_counted AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_counted();
CREATE TRIGGER users_counted_move AFTER UPDATE OF account_id ON users
    FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id)
    EXECUTE FUNCTION users_counted();
