CREATE TABLE payment_methods (
	id          TEXT PRIMARY KEY,
	project_id  TEXT NOT NULL REFERENCES projects(id),
	livemode    BOOLEAN NOT NULL,
	created     BIGINT NOT NULL,
	customer_id TEXT NOT NULL DEFAULT '',
	type        TEXT NOT NULL,
	card        TEXT NOT NULL,
	billing     BYTEA,
	xref        BYTEA NOT NULL,
	metadata    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX payment_methods_list ON payment_methods (project_id, livemode, created, id);
CREATE INDEX payment_methods_customer ON payment_methods (project_id, livemode, customer_id, created);

CREATE TABLE payment_intents (
	id                   TEXT PRIMARY KEY,
	project_id           TEXT NOT NULL REFERENCES projects(id),
	livemode             BOOLEAN NOT NULL,
	created              BIGINT NOT NULL,
	amount               BIGINT NOT NULL,
	currency             TEXT NOT NULL,
	status               TEXT NOT NULL,
	capture_method       TEXT NOT NULL,
	customer_id          TEXT NOT NULL DEFAULT '',
	payment_method_id    TEXT NOT NULL DEFAULT '',
	description          TEXT NOT NULL DEFAULT '',
	statement_descriptor TEXT NOT NULL DEFAULT '',
	receipt_email        BYTEA,
	setup_future_usage   TEXT NOT NULL DEFAULT '',
	metadata             TEXT NOT NULL DEFAULT '{}',
	amount_capturable    BIGINT NOT NULL DEFAULT 0,
	amount_received      BIGINT NOT NULL DEFAULT 0,
	canceled_at          BIGINT NOT NULL DEFAULT 0,
	cancellation_reason  TEXT NOT NULL DEFAULT '',
	last_error           TEXT NOT NULL DEFAULT '',
	latest_charge        TEXT NOT NULL DEFAULT '',
	client_secret        BYTEA NOT NULL,
	attempt              INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX payment_intents_list ON payment_intents (project_id, livemode, created, id);
CREATE INDEX payment_intents_customer ON payment_intents (project_id, livemode, customer_id, created);

CREATE TABLE charges (
	id                TEXT PRIMARY KEY,
	project_id        TEXT NOT NULL REFERENCES projects(id),
	livemode          BOOLEAN NOT NULL,
	created           BIGINT NOT NULL,
	payment_intent_id TEXT NOT NULL,
	customer_id       TEXT NOT NULL DEFAULT '',
	payment_method_id TEXT NOT NULL DEFAULT '',
	amount            BIGINT NOT NULL,
	amount_captured   BIGINT NOT NULL DEFAULT 0,
	amount_refunded   BIGINT NOT NULL DEFAULT 0,
	currency          TEXT NOT NULL,
	status            TEXT NOT NULL,
	captured          BOOLEAN NOT NULL DEFAULT FALSE,
	failure_code      TEXT NOT NULL DEFAULT '',
	failure_message   TEXT NOT NULL DEFAULT '',
	decline_code      TEXT NOT NULL DEFAULT '',
	card              TEXT NOT NULL,
	description       TEXT NOT NULL DEFAULT '',
	metadata          TEXT NOT NULL DEFAULT '{}',
	auth_code         TEXT NOT NULL DEFAULT '',
	gateway_txn_id    TEXT NOT NULL DEFAULT '',
	xref              BYTEA,
	gateway           BYTEA
);
CREATE INDEX charges_list ON charges (project_id, livemode, created, id);
CREATE INDEX charges_intent ON charges (payment_intent_id);

CREATE TABLE refunds (
	id                TEXT PRIMARY KEY,
	project_id        TEXT NOT NULL REFERENCES projects(id),
	livemode          BOOLEAN NOT NULL,
	created           BIGINT NOT NULL,
	charge_id         TEXT NOT NULL,
	payment_intent_id TEXT NOT NULL,
	amount            BIGINT NOT NULL,
	currency          TEXT NOT NULL,
	reason            TEXT NOT NULL DEFAULT '',
	status            TEXT NOT NULL,
	failure_reason    TEXT NOT NULL DEFAULT '',
	metadata          TEXT NOT NULL DEFAULT '{}',
	method            TEXT NOT NULL DEFAULT '',
	gateway_txn_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX refunds_list ON refunds (project_id, livemode, created, id);
CREATE INDEX refunds_charge ON refunds (charge_id);

CREATE TABLE gateway_ops (
	id                 TEXT PRIMARY KEY,
	project_id         TEXT NOT NULL,
	livemode           BOOLEAN NOT NULL,
	created            BIGINT NOT NULL,
	updated            BIGINT NOT NULL,
	kind               TEXT NOT NULL,
	object_id          TEXT NOT NULL,
	transaction_unique TEXT NOT NULL,
	state              TEXT NOT NULL,
	note               TEXT NOT NULL DEFAULT '',
	attempts           INTEGER NOT NULL DEFAULT 0,
	request            BYTEA
);
CREATE INDEX gateway_ops_pending ON gateway_ops (state, updated);
CREATE INDEX gateway_ops_object ON gateway_ops (object_id);

-- Currencies a project may charge in, comma-separated, lowercase ISO 4217.
ALTER TABLE projects ADD COLUMN currencies TEXT NOT NULL DEFAULT 'gbp';
