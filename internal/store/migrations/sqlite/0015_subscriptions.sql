-- Subscriptions and their items (issue 18). A subscription's terms and
-- dates are one JSON value (data), written whole by billing; the columns
-- beside it are what lists and the scheduler filter on. next_action_at is
-- when the scheduler next has work on the row (0 once it has ended): the
-- rows are the jobs, found through subscriptions_due.
CREATE TABLE subscriptions (
	id                TEXT PRIMARY KEY,
	project_id        TEXT NOT NULL REFERENCES projects(id),
	livemode          BOOLEAN NOT NULL,
	created           BIGINT NOT NULL,
	customer_id       TEXT NOT NULL,
	status            TEXT NOT NULL,
	next_action_at    BIGINT NOT NULL,
	test_clock        TEXT NOT NULL DEFAULT '',
	default_tax_rates TEXT NOT NULL DEFAULT '',
	data              TEXT NOT NULL
);
CREATE INDEX subscriptions_list ON subscriptions (project_id, livemode, created, id);
CREATE INDEX subscriptions_customer ON subscriptions (project_id, livemode, customer_id, created, id);
CREATE INDEX subscriptions_status ON subscriptions (project_id, livemode, status, created, id);
-- The scheduler's: due live rows of every project, per test clock ('' is
-- the wall clock).
CREATE INDEX subscriptions_due ON subscriptions (test_clock, next_action_at) WHERE next_action_at > 0;

CREATE TABLE subscription_items (
	id              TEXT PRIMARY KEY,
	project_id      TEXT NOT NULL REFERENCES projects(id),
	livemode        BOOLEAN NOT NULL,
	created         BIGINT NOT NULL,
	subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
	price_id        TEXT NOT NULL,
	quantity        BIGINT NOT NULL,
	tax_rates       TEXT NOT NULL DEFAULT '',
	metadata        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX subscription_items_subscription ON subscription_items (subscription_id, created, id);
CREATE INDEX subscription_items_price ON subscription_items (project_id, livemode, price_id, subscription_id);
