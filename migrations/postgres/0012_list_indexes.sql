-- The staff queues read their page in date order from an index holding just the queue's cases,
-- instead of collecting every matching case and sorting it: the open unassigned cases, the open
-- work of each assignee and of each assignment group. The WHERE clauses are written exactly as
-- the queue builder writes them, so both engines see that each index covers the queue.
CREATE INDEX cases_unassigned_open ON cases (created_at DESC, id DESC)
    WHERE assigned_to IS NULL AND state IN ('new', 'open', 'awaiting_info');
CREATE INDEX cases_assignee_open ON cases (assigned_to, created_at DESC, id DESC)
    WHERE state IN ('new', 'open', 'awaiting_info', 'resolved');
CREATE INDEX cases_group_open ON cases (assignment_group_id, created_at DESC, id DESC)
    WHERE state IN ('new', 'open', 'awaiting_info');

-- The vendor's staff (agents and platform admins), listed on every staff queue page for the
-- assignee filter, found without reading through the customers' users.
CREATE INDEX users_staff ON users (last_name, first_name) WHERE kind IN ('agent', 'platform_admin');
