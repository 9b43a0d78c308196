package store

// For the plan tests.
const (
	WhereID          = whereID
	WhereOpPending   = whereOpPending
	WhereOpAttention = whereOpAttention
)

// RoundTrips is how many round trips PostgreSQL transactions have taken so far.
func (db *DB) RoundTrips() int64 { return db.trips.Load() }
