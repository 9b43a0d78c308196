-- Test clocks (issue 18): a clock's frozen time is the "now" of the
-- customers attached to it. An advance records its target and sets status
-- to advancing; billing's clock loop finishes it (frozen_time = target,
-- status ready). Deleted clocks are gone: their customers are deleted too.
CREATE TABLE test_clocks (
	id                 TEXT PRIMARY KEY,
	project_id         TEXT NOT NULL REFERENCES projects(id),
	livemode           BOOLEAN NOT NULL,
	created            BIGINT NOT NULL,
	name               TEXT NOT NULL DEFAULT '',
	frozen_time        BIGINT NOT NULL,
	status             TEXT NOT NULL,
	target_frozen_time BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX test_clocks_list ON test_clocks (project_id, livemode, created, id);
-- The clock loop's work: the clocks advancing (few, and those briefly).
CREATE INDEX test_clocks_advancing ON test_clocks (id) WHERE status = 'advancing';

-- The test clock a customer belongs to, '' for none.
ALTER TABLE customers ADD COLUMN test_clock TEXT NOT NULL DEFAULT '';
CREATE INDEX customers_test_clock ON customers (test_clock) WHERE test_clock <> '';
