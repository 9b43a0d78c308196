-- Sealed (encrypted) values do not compress. PostgreSQL's toaster tried to
-- compress every event's data and every kept answer over about 2 kB, failed,
-- and moved the value out of line into the table's TOAST table: two or three
-- chunk rows and index entries more per event (7 % of PostgreSQL's CPU in the
-- billing.renewals scenario). Rows up to a page now stay in line, and no
-- value of these columns is compressed.
ALTER TABLE events SET (toast_tuple_target = 8160);
ALTER TABLE events ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE idempotency_keys SET (toast_tuple_target = 8160);
ALTER TABLE idempotency_keys ALTER COLUMN response SET STORAGE EXTERNAL;
