package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// SQLite's driver parses and plans every statement it is handed as text;
// the store's SQL texts are constants, so both SQLite pools keep the
// statements they run prepared, keyed by their text. (PostgreSQL needs no
// help: pgx caches prepared statements per connection itself.)

// maxCachedStmts bounds each cache; the SQL texts are constants, so this is
// reached only if some are built per call, which then run unprepared.
const maxCachedStmts = 512

// stmtCache holds the SQLite writer's prepared statements. A statement first
// seen inside a batch runs unprepared and is prepared after that batch
// commits: preparing needs the writer's one connection, which the batch's
// transaction holds. database/sql then finds it already prepared on that
// connection when a transaction uses it (Tx.StmtContext).
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt // nil value: could not be prepared, don't retry
	missed map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// get returns the prepared statement for query, or nil after noting it to be
// prepared.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.stmts[query]
	if !ok && len(c.stmts)+len(c.missed) < maxCachedStmts {
		c.missed[query] = true
	}
	return s
}

// prepareMissed prepares the statements seen since the last call. Only the
// writer goroutine calls it, between batches.
func (c *stmtCache) prepareMissed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.missed {
		s, err := c.db.PrepareContext(context.Background(), q)
		if err != nil {
			s = nil // it failed in its transaction too; keep running it unprepared
		}
		c.stmts[q] = s
		delete(c.missed, q)
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		if s != nil {
			s.Close()
		}
		delete(c.stmts, q)
	}
}

// readDB is the pool that reads go through. On SQLite (stmts set) its
// queries run as statements prepared once per connection; database/sql
// prepares a cached statement again on each connection of the pool that
// first runs it.
type readDB struct {
	*sql.DB
	stmts *readStmts
}

// QueryContext runs a query that returns rows.
func (r readDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := r.stmts.get(r.DB, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return r.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
//
// On SQLite it ignores ctx's cancellation: every such query here is a
// lookup by key that takes microseconds, and the SQLite driver watches a
// cancellable context with a goroutine of its own per query, which cost a
// few per cent of a customers.retrieve's CPU (BENCHMARKS.md, change 27).
func (r readDB) QueryRowContext(ctx context.Context, query string, args ...any) row {
	if r.stmts != nil { // SQLite
		ctx = context.WithoutCancel(ctx)
	}
	if s := r.stmts.get(r.DB, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return r.DB.QueryRowContext(ctx, query, args...)
}

// readStmts holds the read pool's prepared statements.
type readStmts struct {
	m  sync.Map // query text → *sql.Stmt
	n  atomic.Int32
	mu sync.Mutex // serialises preparing
}

// get returns the prepared statement for query, preparing it on first use,
// or nil (c nil, cache full, or the query does not prepare).
func (c *readStmts) get(db *sql.DB, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if s, ok := c.m.Load(query); ok {
		return s.(*sql.Stmt)
	}
	if c.n.Load() >= maxCachedStmts {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m.Load(query); ok {
		return s.(*sql.Stmt)
	}
	s, err := db.PrepareContext(context.Background(), query)
	if err != nil {
		return nil // run as text, which reports the error
	}
	c.m.Store(query, s)
	c.n.Add(1)
	return s
}

func (c *readStmts) close() {
	if c == nil {
		return
	}
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}
