-- A list of customers filtered by email is ordered by (created, id), as every
-- list is. With those columns in the email index, the index gives the order
-- too, so no plan prefers customers_list and reads the whole project to find
-- an email (PostgreSQL did in generic plans made while the table was small,
-- SQLite for a page after the first).
DROP INDEX customers_email;
CREATE INDEX customers_email ON customers (project_id, livemode, email_index, created, id);
