-- Orders and filters of the case lists (SPEC §4.1, §4.2).

-- The staff queues sorted by their SLA: soonest resolution deadline first, cases whose
-- clock stands still (no deadline) last. Each index holds one queue's cases in that order, the
-- deadline written as the queue builder writes it, so the page is read from the index instead of
-- sorting the queue. The WHERE clauses are the queue builder's own, as for the date order.
CREATE INDEX cases_unassigned_due ON cases ((COALESCE(due_at, 9223372036854775807)), id)
    WHERE assigned_to IS NULL AND state IN ('new', 'open', 'awaiting_info');
CREATE INDEX cases_assignee_due ON cases (assigned_to, (COALESCE(due_at, 9223372036854775807)), id)
    WHERE state IN ('new', 'open', 'awaiting_info', 'resolved');
CREATE INDEX cases_due_order ON cases ((COALESCE(due_at, 9223372036854775807)), id);

-- A customer's lists with only their open cases (SPEC §4.1): the account's, and a person's own as
-- contact and as opener, each in date order. Closed cases are most of an old account's, so the
-- plain date indexes find those quickly.
CREATE INDEX cases_account_open ON cases (account_id, created_at DESC, id DESC)
    WHERE state IN ('new', 'open', 'awaiting_info', 'resolved');
CREATE INDEX cases_contact_open ON cases (contact_id, account_id, created_at DESC, id DESC)
    WHERE state IN ('new', 'open', 'awaiting_info', 'resolved');
CREATE INDEX cases_created_by_open ON cases (created_by, account_id, created_at DESC, id DESC)
    WHERE state IN ('new', 'open', 'awaiting_info', 'resolved');
