-- Who works which assignment group (the staff "my groups" queue, SPEC §4.2). Vendor staff only.
CREATE TABLE group_members (
    group_id  BIGINT  NOT NULL REFERENCES assignment_groups (id),
    user_id   BIGINT  NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- Business hours (SPEC §4.4): "business" SLA targets count Monday to Friday between the account's
-- opening and closing time (minutes after local midnight) in its IANA time zone (accounts.time_zone).
ALTER TABLE accounts ADD COLUMN business_start INTEGER NOT NULL DEFAULT 540;
ALTER TABLE accounts ADD COLUMN business_end INTEGER NOT NULL DEFAULT 1020;
ALTER TABLE accounts ADD CONSTRAINT accounts_business_hours CHECK (business_start >= 0 AND business_start < business_end AND business_end <= 1440);
-- sla_targets.business_hours says how the first-response target counts; this, the resolution one
-- (shipped: P3 1 business day / 10 days, so resolution counts calendar time).
ALTER TABLE sla_targets ADD COLUMN resolution_business_hours BOOLEAN NOT NULL DEFAULT FALSE;
-- Working seconds spent paused, for clocks that count business hours.
ALTER TABLE cases ADD COLUMN paused_business_seconds BIGINT NOT NULL DEFAULT 0;

-- Staff queues sorted by priority (P1 first, newest first within each).
CREATE INDEX cases_priority ON cases (priority, created_at DESC, id DESC);
