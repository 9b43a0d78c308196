-- The dashboard's lookups by object (issue 20): a payment's timeline reads
-- the events of the payment, its charges and refunds (store.FindEventsOf),
-- and the developers page a webhook endpoint's latest delivery attempts
-- (store.FindEndpointAttempts), newest first. Without these, both read
-- every event or attempt of the project's last 30 days.
CREATE INDEX events_object ON events (project_id, livemode, object_id, created);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (project_id, livemode, endpoint_id, created, id);
