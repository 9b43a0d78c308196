-- The billing catalogue (issue 18). A product's ID may be chosen by the
-- merchant (Stripe's id parameter), so it is unique within a project and
-- mode, not across them: the primary key is (id, project_id, livemode), and
-- lookups by ID still use it through its first column.
CREATE TABLE products (
	id                   TEXT NOT NULL,
	project_id           TEXT NOT NULL REFERENCES projects(id),
	livemode             BOOLEAN NOT NULL,
	created              BIGINT NOT NULL,
	updated              BIGINT NOT NULL,
	name                 TEXT NOT NULL,
	active               BOOLEAN NOT NULL,
	description          TEXT NOT NULL DEFAULT '',
	default_price        TEXT NOT NULL DEFAULT '',
	images               TEXT NOT NULL DEFAULT '[]',
	marketing_features   TEXT NOT NULL DEFAULT '[]',
	metadata             TEXT NOT NULL DEFAULT '{}',
	statement_descriptor TEXT NOT NULL DEFAULT '',
	unit_label           TEXT NOT NULL DEFAULT '',
	url                  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (id, project_id, livemode)
);
CREATE INDEX products_list ON products (project_id, livemode, created, id);

-- A price's amount, currency and recurrence never change. recurring_interval
-- is '' for a one-time price. A lookup key is unique among the scope's active
-- prices: the partial unique index holds that even for concurrent writes.
CREATE TABLE prices (
	id                       TEXT PRIMARY KEY,
	project_id               TEXT NOT NULL REFERENCES projects(id),
	livemode                 BOOLEAN NOT NULL,
	created                  BIGINT NOT NULL,
	product_id               TEXT NOT NULL,
	active                   BOOLEAN NOT NULL,
	currency                 TEXT NOT NULL,
	unit_amount              BIGINT NOT NULL,
	recurring_interval       TEXT NOT NULL DEFAULT '',
	recurring_interval_count INTEGER NOT NULL DEFAULT 0,
	trial_period_days        INTEGER NOT NULL DEFAULT 0,
	lookup_key               TEXT NOT NULL DEFAULT '',
	nickname                 TEXT NOT NULL DEFAULT '',
	tax_behavior             TEXT NOT NULL DEFAULT 'unspecified',
	metadata                 TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX prices_list ON prices (project_id, livemode, created, id);
CREATE INDEX prices_product ON prices (project_id, livemode, product_id, created, id);
CREATE UNIQUE INDEX prices_lookup_key ON prices (project_id, livemode, lookup_key) WHERE active AND lookup_key <> '';
