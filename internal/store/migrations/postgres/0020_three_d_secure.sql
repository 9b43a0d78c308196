-- 3-D Secure (issue 19): a payment intent's payment_method_options (the
-- request_three_d_secure it asked for) and, while it is requires_action,
-- its pending 3-D Secure step (the gateway's threeDSRef, the ACS to post
-- to, the page's token and the return_url), as JSON sealed with the
-- project keys like the client secret (the token is a credential).
ALTER TABLE payment_intents ADD COLUMN three_d_secure BYTEA;

-- Setup intents (seti_): a card saved, and authenticated once, for later
-- payments; three_d_secure as the payment intents'.
CREATE TABLE setup_intents (
	id                  TEXT PRIMARY KEY,
	project_id          TEXT NOT NULL REFERENCES projects(id),
	livemode            BOOLEAN NOT NULL,
	created             BIGINT NOT NULL,
	customer_id         TEXT NOT NULL DEFAULT '',
	payment_method_id   TEXT NOT NULL DEFAULT '',
	description         TEXT NOT NULL DEFAULT '',
	usage               TEXT NOT NULL DEFAULT 'off_session',
	status              TEXT NOT NULL,
	metadata            TEXT NOT NULL DEFAULT '{}',
	last_error          TEXT NOT NULL DEFAULT '',
	cancellation_reason TEXT NOT NULL DEFAULT '',
	client_secret       BYTEA NOT NULL,
	attempt             INTEGER NOT NULL DEFAULT 0,
	three_d_secure      BYTEA
);
CREATE INDEX setup_intents_list ON setup_intents (project_id, livemode, created, id);
CREATE INDEX setup_intents_customer ON setup_intents (project_id, livemode, customer_id, created);
