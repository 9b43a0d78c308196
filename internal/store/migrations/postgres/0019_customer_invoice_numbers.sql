-- Invoices are numbered per customer, as Stripe's are by default: the
-- customer's invoice_prefix (drawn from its ID unless it was given one of
-- its own) and the number of its last finalised invoice. Finalising takes
-- the next number under the customer's row lock, so finalisations of
-- different customers' invoices no longer wait on one project-wide row.
ALTER TABLE customers ADD COLUMN invoice_prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN invoice_sequence BIGINT NOT NULL DEFAULT 0;
DROP TABLE invoice_sequences;
