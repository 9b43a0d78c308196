CREATE TABLE projects (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	created BIGINT NOT NULL
);

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	project_id TEXT NOT NULL REFERENCES projects(id),
	livemode   BOOLEAN NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	hint       TEXT NOT NULL,
	created    BIGINT NOT NULL,
	expires_at BIGINT NOT NULL DEFAULT 0,
	revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_project ON api_keys (project_id, created);

CREATE TABLE project_origins (
	project_id TEXT NOT NULL REFERENCES projects(id),
	origin     TEXT NOT NULL,
	created    BIGINT NOT NULL,
	PRIMARY KEY (project_id, origin)
);

CREATE TABLE customers (
	id                     TEXT PRIMARY KEY,
	project_id             TEXT NOT NULL REFERENCES projects(id),
	livemode               BOOLEAN NOT NULL,
	created                BIGINT NOT NULL,
	pii                    BLOB,
	email_index            TEXT,
	description            TEXT NOT NULL DEFAULT '',
	metadata               TEXT NOT NULL DEFAULT '{}',
	tax_exempt             TEXT NOT NULL DEFAULT 'none',
	default_payment_method TEXT NOT NULL DEFAULT '',
	deleted                BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX customers_list ON customers (project_id, livemode, created, id);
CREATE INDEX customers_email ON customers (project_id, livemode, email_index);

CREATE TABLE events (
	id              TEXT PRIMARY KEY,
	project_id      TEXT NOT NULL REFERENCES projects(id),
	livemode        BOOLEAN NOT NULL,
	type            TEXT NOT NULL,
	created         BIGINT NOT NULL,
	object_id       TEXT NOT NULL,
	data            BLOB NOT NULL,
	request_id      TEXT NOT NULL DEFAULT '',
	idempotency_key TEXT NOT NULL DEFAULT '',
	api_version     TEXT NOT NULL
);
CREATE INDEX events_list ON events (project_id, livemode, created, id);
CREATE INDEX events_type ON events (project_id, livemode, type, created);

CREATE TABLE idempotency_keys (
	project_id   TEXT NOT NULL,
	livemode     BOOLEAN NOT NULL,
	key          TEXT NOT NULL,
	method       TEXT NOT NULL,
	path         TEXT NOT NULL,
	fingerprint  TEXT NOT NULL,
	status       INTEGER NOT NULL DEFAULT 0,
	response     BLOB,
	created      BIGINT NOT NULL,
	locked_until BIGINT NOT NULL,
	PRIMARY KEY (project_id, livemode, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
