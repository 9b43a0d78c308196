package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Ready checks that the database answers and that its schema has every
// migration this binary knows: it reads the newest applied migration
// through the read pool, so it never waits behind SQLite's writer. A
// schema newer than the binary's counts as current: in a rolling upgrade
// the first new instance migrates, and the old ones, which keep working on
// the newer schema (migrations only add), must not all go unready at once.
// Callers bound it with a short ctx deadline.
func (db *DB) Ready(ctx context.Context) (schemaCurrent bool, err error) {
	var applied sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&applied); err != nil {
		return false, fmt.Errorf("store: ready: %w", err)
	}
	ms, err := db.knownMigrations()
	if err != nil {
		return false, err
	}
	return len(ms) > 0 && applied.Int64 >= int64(ms[len(ms)-1].version), nil
}

// WebhookQueue is the webhook delivery queue at one moment.
type WebhookQueue struct {
	// Pending counts deliveries not yet succeeded nor given up on.
	Pending int64
	// OldestPending is when the oldest of them was enqueued (its retry
	// window's start, unix seconds); 0 when none is pending.
	OldestPending int64
}

// FindWebhookQueue reads the delivery queue's depth and its oldest pending
// delivery, across every project, for the metrics.
func (db *DB) FindWebhookQueue(ctx context.Context) (WebhookQueue, error) {
	var q WebhookQueue
	var oldest sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*), MIN(window_start) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&q.Pending, &oldest)
	if err != nil {
		return WebhookQueue{}, fmt.Errorf("store: webhook queue: %w", err)
	}
	q.OldestPending = oldest.Int64
	return q, nil
}

// FindOldestDue returns the earliest next action of any subscription or
// invoice on the wall clock (not a test clock), unix seconds, 0 when none
// has one: how far the billing scheduler lags is now minus it, when it is
// past.
func (db *DB) FindOldestDue(ctx context.Context) (int64, error) {
	var oldest int64
	for _, t := range dueTables {
		var v sql.NullInt64
		if err := db.read.QueryRowContext(ctx, `SELECT MIN(next_action_at) FROM `+t.table+` WHERE test_clock = '' AND next_action_at > 0`).Scan(&v); err != nil {
			return 0, fmt.Errorf("store: oldest due %s: %w", t.kind, err)
		}
		if v.Int64 > 0 && (oldest == 0 || v.Int64 < oldest) {
			oldest = v.Int64
		}
	}
	return oldest, nil
}

// Pool is one of the store's connection pools and its statistics.
type Pool struct {
	// Name is "write" or "read" on SQLite (its one writer connection and
	// its readers), "main" on PostgreSQL.
	Name  string
	Stats sql.DBStats
}

// Pools returns the statistics of the store's connection pools.
func (db *DB) Pools() []Pool {
	if db.read.DB == db.write {
		return []Pool{{Name: "main", Stats: db.write.Stats()}}
	}
	return []Pool{{Name: "write", Stats: db.write.Stats()}, {Name: "read", Stats: db.read.Stats()}}
}
