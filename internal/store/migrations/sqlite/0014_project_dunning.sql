-- A project's dunning schedule (pay.Dunning as JSON; '' for the default,
-- pay.DefaultDunning): read and written whole, never queried by field.
ALTER TABLE projects ADD COLUMN dunning TEXT NOT NULL DEFAULT '';
