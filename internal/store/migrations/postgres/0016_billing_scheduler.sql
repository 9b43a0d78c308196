-- The billing scheduler (issue 18). Invoices get the columns the scheduler
-- and lists filter on: test_clock and subscription_id (until now only in
-- data) and next_action_at, when the scheduler next has work on the
-- invoice (finalising a draft, charging or retrying, acting on a failed
-- attempt, its due date; 0: none). claimed_until, on invoices and
-- subscriptions, is a scheduler instance's lease on a due row (wall-clock
-- unix seconds): other instances skip the row until then, so that several
-- instances share the work. The lease only saves work: every step re-checks
-- the row under its lock.
ALTER TABLE invoices ADD COLUMN test_clock TEXT NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN subscription_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN next_action_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;
UPDATE invoices SET test_clock = COALESCE(data::json->>'TestClock', ''), subscription_id = COALESCE(data::json->>'Subscription', '');
-- Drafts made before the scheduler that asked to be finalised automatically.
UPDATE invoices SET next_action_at = created + 3600 WHERE status = 'draft' AND (data::json->>'AutoAdvance')::boolean;
CREATE INDEX invoices_due ON invoices (test_clock, next_action_at) WHERE next_action_at > 0;
CREATE INDEX invoices_subscription ON invoices (project_id, livemode, subscription_id, created, id);
