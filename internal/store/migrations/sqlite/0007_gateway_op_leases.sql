-- A gateway op is owned while a request or a reconciler works on it: the
-- owner renews lease_until while it waits on the gateway, and nobody else
-- acts on a pending op until the lease has lapsed (the owner died, or gave
-- the op up with its outcome unknown). Ops recorded before this migration
-- have no lease and go to the reconciler at once.
ALTER TABLE gateway_ops ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE gateway_ops ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
DROP INDEX gateway_ops_pending;
CREATE INDEX gateway_ops_lease ON gateway_ops (state, lease_until);

-- A request's idempotency key is bound to the gateway op its first
-- execution recorded (its recovery point): a retry never runs the request
-- again, it waits for that op's outcome, and whoever settles the op (the
-- request, the reconciler or an operator) stores the key's response. The op
-- keeps the key, and the expand[] list its response is rendered with.
ALTER TABLE idempotency_keys ADD COLUMN op_id TEXT NOT NULL DEFAULT '';
ALTER TABLE gateway_ops ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';
ALTER TABLE gateway_ops ADD COLUMN expand TEXT NOT NULL DEFAULT '';
