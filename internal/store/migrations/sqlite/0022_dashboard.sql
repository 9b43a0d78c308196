-- The dashboard (issue 20): the people who sign in, the projects they belong
-- to and with which role, their server-side sessions, single-use sign-in and
-- invite links, and the append-only audit log. No passwords anywhere: people
-- sign in through OpenID Connect or a one-time link.

-- users: one row per person, by e-mail address (lower-cased). oidc_issuer and
-- oidc_subject bind the row to an identity provider's account on first
-- OIDC sign-in.
CREATE TABLE users (
	id           TEXT PRIMARY KEY,
	email        TEXT NOT NULL UNIQUE,
	name         TEXT NOT NULL DEFAULT '',
	created      BIGINT NOT NULL,
	oidc_issuer  TEXT NOT NULL DEFAULT '',
	oidc_subject TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject) WHERE oidc_subject <> '';

-- memberships: who may use which project, as admin, developer or viewer.
CREATE TABLE memberships (
	project_id TEXT NOT NULL REFERENCES projects(id),
	user_id    TEXT NOT NULL REFERENCES users(id),
	role       TEXT NOT NULL,
	created    BIGINT NOT NULL,
	PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- staff_sessions: the cookie carries a random token; only its SHA-256 is
-- kept. expires_at is absolute (8 hours after sign-in, SEC-18); idle_until
-- moves forward while the session is used. project_id and livemode are the
-- project and mode the person is looking at.
CREATE TABLE staff_sessions (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	user_id    TEXT NOT NULL REFERENCES users(id),
	project_id TEXT NOT NULL REFERENCES projects(id),
	livemode   BOOLEAN NOT NULL DEFAULT FALSE,
	created    BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	idle_until BIGINT NOT NULL
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

-- signin_tokens: single-use links, by the SHA-256 of their token. purpose
-- 'link' signs email in to project_id; 'invite' makes email a member of
-- project_id with role, then signs in (through OIDC or at once). used_at is
-- set once, by the request that spends the link.
CREATE TABLE signin_tokens (
	token_hash TEXT PRIMARY KEY,
	purpose    TEXT NOT NULL,
	email      TEXT NOT NULL,
	project_id TEXT NOT NULL REFERENCES projects(id),
	role       TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL DEFAULT '',
	created    BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signin_tokens_project ON signin_tokens (project_id, purpose, created);

-- audit_log: who did what, and when, in a project. Append-only: the
-- triggers refuse every change and deletion.
CREATE TABLE audit_log (
	id          TEXT PRIMARY KEY,
	project_id  TEXT NOT NULL,
	livemode    BOOLEAN NOT NULL DEFAULT FALSE,
	created     BIGINT NOT NULL,
	actor_id    TEXT NOT NULL DEFAULT '',
	actor_email TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	target      TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '{}',
	ip          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_list ON audit_log (project_id, created, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- signin_domains: verified e-mail domains whose people may sign in to the
-- project through OIDC without an invitation (as viewers), comma-separated.
ALTER TABLE projects ADD COLUMN signin_domains TEXT NOT NULL DEFAULT '';
