-- The merchant's details printed on its invoices (pay.Business as JSON; ''
-- when not set). One value read and written whole, never queried by field,
-- so a column of JSON rather than a column per field: a new detail needs no
-- migration. Not encrypted: these are the business's own published details
-- (they are printed on every invoice it sends), not its customers' data.
ALTER TABLE projects ADD COLUMN business TEXT NOT NULL DEFAULT '';
