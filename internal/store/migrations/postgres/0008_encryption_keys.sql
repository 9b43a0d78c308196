-- The master keys whose values the database holds, by check value (a digest
-- that tells keys apart without revealing them): an instance started with a
-- key that cannot open them refuses to start, and a rotation lists the old
-- key here until every value is sealed again under the new one. Each row
-- also keeps the blind-index and MAC keys (customer email lookups, card
-- fingerprints, idempotency fingerprints) sealed under its master key, so
-- that they stay the same through a rotation.
CREATE TABLE encryption_keys (
	purpose     TEXT NOT NULL, -- data (CALMONY_ENCRYPTION_KEY) or webhook
	check_value TEXT NOT NULL,
	created     BIGINT NOT NULL,
	index_keys  BYTEA,
	PRIMARY KEY (purpose, check_value)
);
