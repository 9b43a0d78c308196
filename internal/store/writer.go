package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrOverloaded means the SQLite writer's queue is full: the caller should
// answer 503 and let the client retry, instead of queueing without bound.
var ErrOverloaded = errors.New("store: too many writes waiting")

// writerQueue bounds the writes waiting for the SQLite writer.
const writerQueue = 4096

// maxBatch bounds how many closures one commit carries, so a long queue is
// drained in bounded steps and every waiter gets its turn in order.
const maxBatch = 256

// groupWriter is SQLite's single writer: it batches concurrent Tx closures
// into one transaction and one fsync (group commit), in arrival order.
type groupWriter struct {
	db      *DB
	queue   chan *writeReq
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
	stmts   *stmtCache
	ckpt    *checkpointer
}

type writeReq struct {
	ctx    context.Context
	fn     func(*Tx) error
	result chan error // buffered: the writer never blocks on a waiter
}

func newGroupWriter(db *DB, size int, ckpt *sql.DB) *groupWriter {
	w := &groupWriter{db: db, queue: make(chan *writeReq, size), closing: make(chan struct{}), done: make(chan struct{}),
		stmts: newStmtCache(db.write), ckpt: newCheckpointer(ckpt, db.log)}
	go w.loop()
	return w
}

// do queues fn and waits for its batch to commit.
func (w *groupWriter) do(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case <-w.closing:
		return errors.New("store: closed")
	default:
	}
	select {
	case w.queue <- req:
	default:
		return ErrOverloaded
	}
	// Wait for the result even if ctx ends: the write may already be in a
	// batch, and the caller must learn whether it committed.
	var err error
	select {
	case err = <-req.result:
	case <-w.done: // the writer stopped; it may have answered just before
		select {
		case err = <-req.result:
		default:
			err = errors.New("store: closed")
		}
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		panic(pe.Value)
	}
	return err
}

func (w *groupWriter) loop() {
	defer close(w.done)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case req := <-w.queue:
			batch = append(batch[:0], req)
		case <-w.closing:
			w.drain()
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case req := <-w.queue:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		w.commit(batch)
		w.stmts.prepareMissed()
	}
}

// drain fails the writes still queued at close.
func (w *groupWriter) drain() {
	for {
		select {
		case req := <-w.queue:
			req.result <- errors.New("store: closed")
		default:
			return
		}
	}
}

// commit runs one batch in one transaction, each closure in a savepoint.
func (w *groupWriter) commit(batch []*writeReq) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for _, req := range batch {
			req.result <- err
		}
	}
	sqlTx, err := w.db.write.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	conn := txConn{Tx: sqlTx, stmts: w.stmts}
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i] = err // the caller gave up before its turn: skip it
			continue
		}
		if results[i], err = w.runOne(conn, req); err != nil {
			// The savepoint machinery itself failed: trust nothing in this batch.
			sqlTx.Rollback()
			fail(fmt.Errorf("store: savepoint: %w", err))
			return
		}
	}
	if err := sqlTx.Commit(); err != nil {
		fail(fmt.Errorf("store: commit: %w", err))
		return
	}
	w.ckpt.kick()
	for i, req := range batch {
		req.result <- results[i]
	}
}

// runOne runs one closure inside a savepoint. It returns the closure's own
// error, and a second error only if the savepoint could not be managed.
func (w *groupWriter) runOne(conn txConn, req *writeReq) (error, error) {
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return nil, err
	}
	tx := &Tx{tx: conn, db: w.db, Now: w.db.now().Truncate(time.Second)}
	fnErr := runClosure(tx, req.fn)
	if fnErr != nil {
		if _, err := conn.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
			return nil, err
		}
	}
	if _, err := conn.ExecContext(ctx, "RELEASE w"); err != nil {
		return nil, err
	}
	return fnErr, nil
}

func (w *groupWriter) close() {
	w.once.Do(func() { close(w.closing) })
	<-w.done
	w.stmts.close()
	w.ckpt.close()
}

// The writer's own automatic checkpoint is only a backstop (see
// checkpointer): it runs when the WAL reaches walBackstopPages frames, which
// happens only if the background checkpoints fall behind or never let the
// WAL start over.
const walBackstopPages = 8192 // 32 MiB of 4 KiB pages

// checkpointInterval lets commits accumulate between background checkpoints:
// a checkpoint copies each page once, however often it changed since.
const checkpointInterval = 100 * time.Millisecond

// checkpointer copies committed pages from the WAL into the database file
// (a PASSIVE checkpoint) on its own connection and goroutine, shortly after
// commits. Left to SQLite's automatic checkpoint, this copying and its two
// fsyncs would run inside the writer's commits, stalling every write
// waiting behind them; here it runs beside them, on another core. It never
// blocks the writer or readers, and durability does not depend on it: a
// commit is durable once its WAL frames are synced.
type checkpointer struct {
	db     *sql.DB
	log    *slog.Logger
	kicked chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func newCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, kicked: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// kick tells the checkpointer that a commit happened. It never blocks.
func (c *checkpointer) kick() {
	select {
	case c.kicked <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-c.stop:
			return
		case <-c.kicked:
		}
		t.Reset(checkpointInterval)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			c.log.Warn("store: background checkpoint", "err", err)
		}
	}
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
	c.db.Close()
}

// txConn is a transaction's handle on the database: what Tx methods run
// their statements through. On PostgreSQL it is the plain transaction. On
// the SQLite writer (stmts set) it differs in two ways:
//
//   - A statement ignores its caller's cancellation. SQLite answers an
//     interrupted write inside a transaction by rolling back the whole
//     transaction, which here is a batch of many callers' closures: one
//     client hanging up mid-statement would fail every other request of its
//     batch. A caller that gives up before its turn is still skipped, and
//     one whose closure has started learns its outcome all the same.
//   - Statements are prepared once and reused by every later batch, instead
//     of being parsed and planned again on every call (a seventh of the
//     writer's time in the customers.create profile, see BENCHMARKS.md).
type txConn struct {
	*sql.Tx
	stmts *stmtCache
}

// ExecContext runs a statement that returns no rows.
func (c txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.stmts == nil {
		return c.Tx.ExecContext(ctx, query, args...)
	}
	ctx = context.WithoutCancel(ctx)
	if s := c.stmts.get(query); s != nil {
		return c.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return c.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows.
func (c txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if c.stmts == nil {
		return c.Tx.QueryContext(ctx, query, args...)
	}
	ctx = context.WithoutCancel(ctx)
	if s := c.stmts.get(query); s != nil {
		return c.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return c.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
func (c txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if c.stmts == nil {
		return c.Tx.QueryRowContext(ctx, query, args...)
	}
	ctx = context.WithoutCancel(ctx)
	if s := c.stmts.get(query); s != nil {
		return c.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return c.Tx.QueryRowContext(ctx, query, args...)
}

// maxCachedStmts bounds the writer's prepared statements; the store's SQL
// texts are constants, so this is reached only if some are built per call.
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
