-- How many users each customer account has, kept by triggers in the same transaction as every
-- insert, delete or move of a user, so that Manage Accounts and the staff account list read one
-- row instead of counting ten thousand users of a large customer on every page.
CREATE TABLE account_user_counts (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    people     INTEGER NOT NULL
);
INSERT INTO account_user_counts (account_id, people)
    SELECT account_id, COUNT(*) FROM users WHERE account_id IS NOT NULL GROUP BY account_id;

CREATE TRIGGER users_counted_insert AFTER INSERT ON users WHEN new.account_id IS NOT NULL BEGIN
    INSERT INTO account_user_counts (account_id, people) VALUES (new.account_id, 1)
        ON CONFLICT (account_id) DO UPDATE SET people = people + 1;
END;
CREATE TRIGGER users_counted_delete AFTER DELETE ON users WHEN old.account_id IS NOT NULL BEGIN
    UPDATE account_user_counts SET people = people - 1 WHERE account_id = old.account_id;
END;
CREATE TRIGGER users_counted_move AFTER UPDATE OF account_id ON users
    WHEN old.account_id IS NOT new.account_id BEGIN
    UPDATE account_user_counts SET people = people - 1 WHERE account_id = old.account_id;
    INSERT INTO account_user_counts (account_id, people)
        SELECT new.account_id, 1 WHERE new.account_id IS NOT NULL
        ON CONFLICT (account_id) DO UPDATE SET people = people + 1;
END;
