-- The dashboard's payment list by status, and its revenue sums
-- (store.RevenueSummary, store.DailyRevenue: succeeded payments in a period,
-- by currency), read this index alone: status, then the list's order, then
-- the two columns the sums need, so that no table row is read.
CREATE INDEX payment_intents_status ON payment_intents (project_id, livemode, status, created, id, currency, amount_received);
