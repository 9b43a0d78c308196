-- The dashboard's lookups by object (issue 20): a payment's timeline reads
-- the events of the payment, its charges and refunds (store.FindEventsOf),
-- and the developers page a webhook endpoint's latest delivery attempts
-- (store.FindEndpointAttempts), newest first. Without these, both read
-- every event or attempt of the project's last 30 days. They lead with the
-- object, not the project: an index that starts (project_id, livemode, …)
-- looks to SQLite's planner as good as events_list for a plain list and,
-- chosen, sorts the project's events (measured: 120 ms a first page on a
-- seeded project instead of 0.3 ms); the scope is checked on the few rows
-- found, as gateway_ops_object does.
CREATE INDEX events_object ON events (object_id, created);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, created, id);
