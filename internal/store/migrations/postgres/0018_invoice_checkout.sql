-- A checkout session may be an invoice's (paid from its hosted invoice page):
-- invoice_id names it; such sessions are internal (the API never shows them).
-- other_xrefs are the gateway transactions of the session's payments other
-- than the one that paid it (a second payment, or one refunded at once), and
-- declined the transactionUniques of its recent declined attempts, so that a
-- result arriving twice (browser and server-to-server) is recorded once.
ALTER TABLE checkout_sessions ADD COLUMN invoice_id TEXT NOT NULL DEFAULT '';
ALTER TABLE checkout_sessions ADD COLUMN other_xrefs TEXT NOT NULL DEFAULT '';
ALTER TABLE checkout_sessions ADD COLUMN declined TEXT NOT NULL DEFAULT '';
CREATE INDEX checkout_sessions_invoice ON checkout_sessions (invoice_id, status, expires_at) WHERE invoice_id <> '';
