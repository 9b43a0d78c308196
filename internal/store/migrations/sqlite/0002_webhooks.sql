-- Webhook endpoints, the durable delivery queue and the delivery log.

CREATE TABLE webhook_endpoints (
	id                      TEXT PRIMARY KEY,
	project_id              TEXT NOT NULL REFERENCES projects(id),
	livemode                BOOLEAN NOT NULL,
	created                 BIGINT NOT NULL,
	url                     TEXT NOT NULL,
	description             TEXT NOT NULL DEFAULT '',
	enabled_events          TEXT NOT NULL,              -- JSON array of event types, or ["*"]
	metadata                TEXT NOT NULL DEFAULT '{}',
	api_version             TEXT NOT NULL DEFAULT '',
	status                  TEXT NOT NULL,              -- enabled | disabled
	disabled_reason         TEXT NOT NULL DEFAULT '',   -- '' | manual | delivery_failures
	disabled_at             BIGINT NOT NULL DEFAULT 0,
	failing_since           BIGINT NOT NULL DEFAULT 0,  -- first failure since the last success; 0 when healthy
	secret                  BLOB NOT NULL,              -- AES-256-GCM sealed whsec_…
	previous_secret         BLOB,                       -- the rolled secret, still signed with until previous_secret_expires
	previous_secret_expires BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_endpoints_list ON webhook_endpoints (project_id, livemode, created, id);

-- One row per event and endpoint: the delivery job. It is inserted in the
-- transaction that writes the event.
CREATE TABLE webhook_deliveries (
	event_id     TEXT NOT NULL REFERENCES events(id),
	endpoint_id  TEXT NOT NULL,
	project_id   TEXT NOT NULL,
	livemode     BOOLEAN NOT NULL,
	state        TEXT NOT NULL,             -- pending | succeeded | failed | canceled
	attempts     INTEGER NOT NULL DEFAULT 0, -- finished attempts
	window_start BIGINT NOT NULL,           -- retries stop 3 days after this
	next_attempt BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0, -- a worker's lease on the row
	lease_token  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, state);

CREATE TABLE webhook_attempts (
	id            TEXT PRIMARY KEY,
	project_id    TEXT NOT NULL,
	livemode      BOOLEAN NOT NULL,
	created       BIGINT NOT NULL,
	event_id      TEXT NOT NULL REFERENCES events(id),
	endpoint_id   TEXT NOT NULL,
	url           TEXT NOT NULL,
	attempt       INTEGER NOT NULL,
	succeeded     BOOLEAN NOT NULL,
	status_code   INTEGER NOT NULL,
	duration_ms   BIGINT NOT NULL,
	response_body TEXT NOT NULL DEFAULT '',
	error         TEXT NOT NULL DEFAULT '',
	next_retry    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, created, id);

-- Event retention prunes by age across projects.
CREATE INDEX events_created ON events (created);
