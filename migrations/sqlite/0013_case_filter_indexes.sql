-- The staff queue's two main filters together (state and priority, in either order of dates),
-- and a person's own cases ("opened by or for me") counted from the indexes alone: the account is
-- part of the contact and opener indexes, so checking it needs no visit to the case itself.
CREATE INDEX cases_state_priority ON cases (state, priority, created_at DESC, id DESC);
DROP INDEX cases_contact;
CREATE INDEX cases_contact ON cases (contact_id, account_id, created_at DESC, id DESC);
DROP INDEX cases_created_by;
CREATE INDEX cases_created_by ON cases (created_by, account_id, created_at DESC, id DESC);
