package store

import (
	"context"

	"github.com/calmony/calmonypay/internal/pay"
)

// For the plan tests.
const (
	WhereID          = whereID
	WhereOpPending   = whereOpPending
	WhereOpAttention = whereOpAttention
	AdvancingClocks  = advancingClocks
	ClockCustomers   = clockCustomers
	RevenueQuery     = revenueQuery
	DailyRevenue     = dailyRevenueQuery
)

// EventsOfQuery is FindEventsOf's query and its arguments.
func EventsOfQuery(scope pay.Scope, objectIDs []string, limit int) (string, []any) {
	q := eventsOfQuery(scope, objectIDs, limit)
	return q.String(), q.args
}

// RoundTrips is how many round trips PostgreSQL transactions have taken so far.
func (db *DB) RoundTrips() int64 { return db.trips.Load() }

// IsolationLevel is the transaction's isolation level as PostgreSQL reports it.
func (tx *Tx) IsolationLevel(ctx context.Context) (string, error) {
	var level string
	err := tx.tx.QueryRowContext(ctx, `SELECT current_setting('transaction_isolation')`).Scan(&level)
	return level, err
}

// ListenerPID is the backend of ListenChanges's connection while it
// listens, else 0.
func (db *DB) ListenerPID() uint32 { return db.listenerPID.Load() }
