-- Retention prunes events scope by scope through events_list (project_id,
-- livemode, created, id), so the index on created alone is no longer kept up
-- on every event insert.
DROP INDEX events_created;
