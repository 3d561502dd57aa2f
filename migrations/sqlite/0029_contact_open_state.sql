-- A customer's home page looks through a person's newest open cases for those waiting for them
-- (SPEC §4.1). With each case's state in the index of a person's open cases, that look reads
-- index entries only, and the table only for the few lines shown; the "open only" list reads the
-- same index as before.
DROP INDEX cases_contact_open;
CREATE INDEX cases_contact_open ON cases (contact_id, account_id, created_at DESC, id DESC, state)
    WHERE state IN ('new', 'open', 'awaiting_info', 'resolved');
