-- Invoices and invoice items (issue 18). An invoice's lines, totals and
-- payments are one JSON value (data), written whole by billing on every
-- change; the columns beside it are what lists filter on and what must be
-- unique. The customer's details copied at finalisation are personal data,
-- sealed in pii as customers' are.
CREATE TABLE invoices (
	id                TEXT PRIMARY KEY,
	project_id        TEXT NOT NULL REFERENCES projects(id),
	livemode          BOOLEAN NOT NULL,
	created           BIGINT NOT NULL,
	customer_id       TEXT NOT NULL,
	status            TEXT NOT NULL,
	collection_method TEXT NOT NULL,
	number            TEXT,
	token             TEXT,
	data              TEXT NOT NULL,
	pii               BYTEA
);
CREATE INDEX invoices_list ON invoices (project_id, livemode, created, id);
CREATE INDEX invoices_customer ON invoices (project_id, livemode, customer_id, created, id);
CREATE UNIQUE INDEX invoices_number ON invoices (project_id, livemode, number);
CREATE UNIQUE INDEX invoices_token ON invoices (token);

-- The next invoice number of each project and mode.
CREATE TABLE invoice_sequences (
	project_id TEXT NOT NULL REFERENCES projects(id),
	livemode   BOOLEAN NOT NULL,
	last       BIGINT NOT NULL,
	PRIMARY KEY (project_id, livemode)
);

CREATE TABLE invoice_items (
	id           TEXT PRIMARY KEY,
	project_id   TEXT NOT NULL REFERENCES projects(id),
	livemode     BOOLEAN NOT NULL,
	created      BIGINT NOT NULL,
	customer_id  TEXT NOT NULL,
	invoice_id   TEXT NOT NULL DEFAULT '',
	price_id     TEXT NOT NULL DEFAULT '',
	product_id   TEXT NOT NULL DEFAULT '',
	currency     TEXT NOT NULL,
	unit_amount  BIGINT NOT NULL,
	quantity     BIGINT NOT NULL,
	amount       BIGINT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	period_start BIGINT NOT NULL,
	period_end   BIGINT NOT NULL,
	tax_rates    TEXT NOT NULL DEFAULT '',
	metadata     TEXT NOT NULL DEFAULT '{}',
	line_id      TEXT NOT NULL,
	test_clock   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invoice_items_list ON invoice_items (project_id, livemode, created, id);
CREATE INDEX invoice_items_customer ON invoice_items (project_id, livemode, customer_id, invoice_id);
CREATE INDEX invoice_items_invoice ON invoice_items (invoice_id);
