-- Tax rates (issue 18). percentage is in ten-thousandths of a percent
-- (pay.Percent): 20 % is 200000, 17.5 % is 175000, exact on both databases.
-- Percentage and inclusive never change after the insert.
CREATE TABLE tax_rates (
	id                 TEXT PRIMARY KEY,
	project_id         TEXT NOT NULL REFERENCES projects(id),
	livemode           BOOLEAN NOT NULL,
	created            BIGINT NOT NULL,
	active             BOOLEAN NOT NULL,
	display_name       TEXT NOT NULL,
	description        TEXT NOT NULL DEFAULT '',
	percentage         BIGINT NOT NULL CHECK (percentage BETWEEN 0 AND 1000000),
	inclusive          BOOLEAN NOT NULL,
	country            TEXT NOT NULL DEFAULT '',
	state              TEXT NOT NULL DEFAULT '',
	jurisdiction       TEXT NOT NULL DEFAULT '',
	jurisdiction_level TEXT NOT NULL DEFAULT '',
	tax_type           TEXT NOT NULL DEFAULT '',
	metadata           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX tax_rates_list ON tax_rates (project_id, livemode, created, id);
