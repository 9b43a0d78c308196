CREATE TABLE checkout_sessions (
	id                  TEXT PRIMARY KEY,
	project_id          TEXT NOT NULL REFERENCES projects(id),
	livemode            BOOLEAN NOT NULL,
	created             BIGINT NOT NULL,
	expires_at          BIGINT NOT NULL,
	mode                TEXT NOT NULL,
	status              TEXT NOT NULL,
	payment_status      TEXT NOT NULL,
	currency            TEXT NOT NULL,
	amount_total        BIGINT NOT NULL,
	line_items          TEXT NOT NULL,
	success_url         TEXT NOT NULL,
	cancel_url          TEXT NOT NULL,
	customer_id         TEXT NOT NULL DEFAULT '',
	customer_email      BLOB,
	client_reference_id TEXT NOT NULL DEFAULT '',
	metadata            TEXT NOT NULL DEFAULT '{}',
	pi_data             TEXT NOT NULL DEFAULT '{}',
	payment_intent_id   TEXT NOT NULL DEFAULT '',
	attempt             INTEGER NOT NULL DEFAULT 0,
	last_attempt        TEXT NOT NULL DEFAULT '',
	paid_xref           TEXT NOT NULL DEFAULT '',
	paid_after_expiry   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX checkout_sessions_list ON checkout_sessions (project_id, livemode, created, id);
CREATE INDEX checkout_sessions_open ON checkout_sessions (status, expires_at);
