-- Invoice items a subscription change makes (issue 18): prorations name the
-- subscription and the item they bill and are flagged, so that a
-- subscription's invoice takes its own pending items and no other
-- subscription's.
ALTER TABLE invoice_items ADD COLUMN subscription_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invoice_items ADD COLUMN subscription_item_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invoice_items ADD COLUMN proration BOOLEAN NOT NULL DEFAULT FALSE;
-- A subscription's pending prorations, removed when it is canceled at once.
CREATE INDEX invoice_items_subscription ON invoice_items (subscription_id, invoice_id) WHERE subscription_id <> '';
