-- The dashboard's payment list by status, and its revenue sums
-- (store.RevenueSummary, store.DailyRevenue: succeeded payments in a period,
-- by currency), read this index alone (an index-only scan): status, then the
-- list's order, with the two columns the sums need carried along.
CREATE INDEX payment_intents_status ON payment_intents (project_id, livemode, status, created, id) INCLUDE (currency, amount_received);
