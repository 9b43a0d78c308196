-- The customer portal (issue 21): Stripe's billing_portal configurations and
-- sessions, and card replacements started from the portal.

-- billing_portal_configurations: what a portal session lets its customer do.
-- business_profile and features are JSON (pay.PortalBusinessProfile,
-- pay.PortalFeatures). At most one default per project and mode.
CREATE TABLE billing_portal_configurations (
	id                 TEXT PRIMARY KEY,
	project_id         TEXT NOT NULL REFERENCES projects(id),
	livemode           BOOLEAN NOT NULL,
	created            BIGINT NOT NULL,
	updated            BIGINT NOT NULL,
	active             BOOLEAN NOT NULL,
	is_default         BOOLEAN NOT NULL,
	name               TEXT NOT NULL DEFAULT '',
	default_return_url TEXT NOT NULL DEFAULT '',
	business_profile   TEXT NOT NULL DEFAULT '{}',
	features           TEXT NOT NULL DEFAULT '{}',
	metadata           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX billing_portal_configurations_list ON billing_portal_configurations (project_id, livemode, created DESC, id DESC);
CREATE UNIQUE INDEX billing_portal_configurations_default ON billing_portal_configurations (project_id, livemode) WHERE is_default;

-- billing_portal_sessions: one customer's access to the portal pages. The
-- address carries a random 256-bit token; only its SHA-256 (hex) is kept.
-- revoked_at is set when support revokes the customer's sessions.
CREATE TABLE billing_portal_sessions (
	id               TEXT PRIMARY KEY,
	project_id       TEXT NOT NULL REFERENCES projects(id),
	livemode         BOOLEAN NOT NULL,
	created          BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	revoked_at       BIGINT NOT NULL DEFAULT 0,
	token_hash       TEXT NOT NULL UNIQUE,
	customer_id      TEXT NOT NULL,
	configuration_id TEXT NOT NULL,
	return_url       TEXT NOT NULL DEFAULT '',
	locale           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX billing_portal_sessions_customer ON billing_portal_sessions (project_id, livemode, customer_id);

-- A checkout session may be a portal session's card replacement (a hosted
-- VERIFY, mode 'setup'): portal_session_id names it; such sessions are
-- internal, as an invoice's are.
ALTER TABLE checkout_sessions ADD COLUMN portal_session_id TEXT NOT NULL DEFAULT '';
