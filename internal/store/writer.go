package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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
//
// The fsync is pipelined: the writer's connection commits without syncing
// (synchronous=NORMAL) and hands the batch to the syncer, which fsyncs the
// WAL and only then answers the batch's callers, while the writer already
// runs the next batch. An answer still means the write is durable; what the
// pipeline changes is that readers may see a commit a moment (one fsync)
// before it is durable, which DB.AwaitDurable closes for API reads.
type groupWriter struct {
	db      *DB
	queue   chan *writeReq
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
	stmts   *stmtCache
	ckpt    *checkpointer
	sync    *syncer
}

type writeReq struct {
	ctx    context.Context
	fn     func(*Tx) error
	result chan error // buffered: the writer never blocks on a waiter
}

func newGroupWriter(db *DB, size int, ckpt *sql.DB, walPath string) *groupWriter {
	w := &groupWriter{db: db, queue: make(chan *writeReq, size), closing: make(chan struct{}), done: make(chan struct{}),
		stmts: newStmtCache(db.write), ckpt: newCheckpointer(ckpt, db.log), sync: newSyncer(walPath)}
	go w.loop()
	return w
}

// do queues fn and waits until its batch's commit is durable.
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
	defer w.sync.close() // answers the committed batches still syncing
	for {
		select {
		case req := <-w.queue:
			w.runBatch(req)
			w.stmts.prepareMissed()
		case <-w.closing:
			w.drain()
			return
		}
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

// runBatch runs first and the closures queued after it in one transaction,
// each in a savepoint, commits them and passes them to the syncer, which
// answers the callers once the commit is durable.
//
// While the syncer is still busy with earlier commits, the transaction stays
// open and takes in the closures that arrive meanwhile: committing them
// sooner would not answer them sooner, and a bigger commit writes fewer
// pages per closure. So under load a batch grows to what arrives during one
// fsync, and an idle server commits a lone write at once.
func (w *groupWriter) runBatch(first *writeReq) {
	batch := []*writeReq{first} // the syncer keeps it until answered
	var results []error
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
	for i := 0; ; i++ {
		req := batch[i]
		var res error
		if res = req.ctx.Err(); res == nil { // else the caller gave up before its turn: skip it
			if res, err = w.runOne(conn, req); err != nil {
				// The savepoint machinery itself failed: trust nothing in this batch.
				sqlTx.Rollback()
				fail(fmt.Errorf("store: savepoint: %w", err))
				return
			}
		}
		results = append(results, res)
		next := w.next(len(batch))
		if next == nil {
			break
		}
		batch = append(batch, next)
	}
	// Count the commit before it happens, so that a reader that sees it also
	// sees the count (AwaitDurable).
	seq := w.sync.committed.Add(1)
	w.sync.unsynced.Add(1)
	if err := sqlTx.Commit(); err != nil {
		fail(fmt.Errorf("store: commit: %w", err))
		w.sync.pending <- syncBatch{seq: seq}
		return
	}
	w.ckpt.kick()
	w.sync.pending <- syncBatch{seq: seq, batch: batch, results: results}
}

// next returns the next closure for the open batch of n, or nil to commit:
// when the batch is full, or when nothing is queued and the syncer is idle.
func (w *groupWriter) next(n int) *writeReq {
	if n >= maxBatch {
		return nil
	}
	for {
		select {
		case req := <-w.queue:
			return req
		default:
		}
		if w.sync.unsynced.Load() == 0 {
			return nil
		}
		select {
		case req := <-w.queue:
			return req
		case <-w.sync.idle: // it may be stale: look again
		case <-w.closing:
			return nil
		}
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

// syncBatch is a committed batch waiting to be made durable.
type syncBatch struct {
	seq     uint64 // the commit's number
	batch   []*writeReq
	results []error // the closures' own outcomes
}

// syncer fsyncs the WAL after the writer's commits and then answers their
// callers, oldest first. Several commits that finished while one fsync ran
// share the next one.
type syncer struct {
	walPath   string
	syncFunc  func() error   // syncs the WAL; tests replace it
	pending   chan syncBatch // from the writer; its bound is backpressure
	committed atomic.Uint64  // the writer's commits so far, counted just before each
	unsynced  atomic.Int32   // commits handed over and not yet answered
	idle      chan struct{}  // poked when unsynced drops to 0
	done      chan struct{}

	mu      sync.Mutex
	durable uint64        // commits up to this number are durable
	wake    chan struct{} // closed, and replaced, when durable advances

	wal     *os.File    // the WAL file, kept open; only the syncer's goroutine uses it
	walInfo os.FileInfo // wal's identity
}

func newSyncer(walPath string) *syncer {
	s := &syncer{walPath: walPath, pending: make(chan syncBatch, 4), idle: make(chan struct{}, 1), done: make(chan struct{}),
		wake: make(chan struct{})}
	s.syncFunc = s.syncWAL
	go func() {
		defer func() {
			if s.wal != nil {
				s.wal.Close()
			}
		}()
		s.loop()
	}()
	return s
}

func (s *syncer) loop() {
	defer close(s.done)
	for b := range s.pending {
		group := []syncBatch{b}
	more:
		for {
			select {
			case b, ok := <-s.pending:
				if !ok {
					break more
				}
				group = append(group, b)
			default:
				break more
			}
		}
		err := s.syncFunc()
		if err != nil {
			err = fmt.Errorf("store: sync: %w", err)
		}
		for _, b := range group {
			for i, req := range b.batch {
				if err != nil && b.results[i] == nil {
					// Committed, but not known to be durable: not acknowledged.
					req.result <- err
				} else {
					req.result <- b.results[i]
				}
			}
		}
		s.advance(group[len(group)-1].seq)
		if s.unsynced.Add(-int32(len(group))) == 0 {
			select {
			case s.idle <- struct{}{}:
			default:
			}
		}
	}
}

// syncWAL fsyncs the WAL file. The writer wrote the frames through its own
// descriptor; an fsync through any descriptor of a file flushes all of it.
// The syncer keeps one open, and checks with a stat of the path that it is
// still the WAL's file and not an old, replaced one (SQLite deletes the WAL
// only when its last connection closes, which the store's long-lived
// connections prevent, but a stale descriptor would lose writes silently).
func (s *syncer) syncWAL() error {
	fi, err := os.Stat(s.walPath)
	if err != nil {
		return err
	}
	if s.wal == nil || !os.SameFile(fi, s.walInfo) {
		if err := s.openWAL(); err != nil {
			return err
		}
	}
	return s.wal.Sync()
}

// openWAL opens the WAL file, and syncs its directory so that a new WAL
// file's entry is on disk too.
func (s *syncer) openWAL() error {
	if s.wal != nil {
		s.wal.Close()
		s.wal = nil
	}
	f, err := os.OpenFile(s.walPath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	d, err := os.Open(filepath.Dir(s.walPath))
	if err != nil {
		f.Close()
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		f.Close()
		return err
	}
	s.wal, s.walInfo = f, fi
	return nil
}

func (s *syncer) advance(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.durable = max(s.durable, seq)
	close(s.wake)
	s.wake = make(chan struct{})
}

// await waits until commits up to seq are durable.
func (s *syncer) await(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		durable, wake := s.durable, s.wake
		s.mu.Unlock()
		if durable >= seq {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close answers the batches still pending and stops the syncer. Only the
// writer, which sends to pending, calls it.
func (s *syncer) close() {
	close(s.pending)
	<-s.done
}

// writerPragmas tune the writer's connection:
//
//   - temp_store=MEMORY keeps the sub-journal, SQLite's copy of the pages a
//     savepoint changes, in memory. On disk it cost a write system call per
//     page per closure, which was an eighth of the writer's time.
//   - wal_autocheckpoint: see walBackstopPages.
var writerPragmas = fmt.Sprintf("&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(%d)", walBackstopPages)

// The writer's own automatic checkpoint is a backstop (see checkpointer): it
// runs when the WAL reaches walBackstopPages frames. Under steady load that
// is how the WAL starts over: SQLite restarts it only at a write transaction
// that finds every frame copied, which a background checkpoint, racing the
// next commit, almost never leaves behind. So the writer's checkpoint runs
// about every 8192 frames, copying what the background ones have not yet.
const walBackstopPages = 8192 // 32 MiB of 4 KiB pages

// checkpointInterval is how long after a commit a background checkpoint
// starts. A checkpoint copies each page once, however often it changed
// since, but most pages it copies are index leaves hit at random, which
// rarely change twice in a short while; and whatever the background has not
// copied when the WAL is full, the writer copies inside a commit, with every
// write waiting. At 100 ms such commits took up to 30 ms, a few times a
// second, and set customers.create's p99 (32-44 ms); at 10 ms they take up to
// 10 ms (mostly the checkpoint's fsyncs) and the p99 is 21-27 ms, at the same
// throughput. Each background checkpoint costs two fsyncs of its own, so a
// much shorter interval would compete with the WAL's fsyncs for the disk.
const checkpointInterval = 10 * time.Millisecond

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
// their statements through. On PostgreSQL (pg set) it saves round trips
// (see pgTx and deferred.go). On the SQLite writer (stmts set) it differs
// from a plain transaction in two ways:
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
	*sql.Tx // SQLite
	stmts   *stmtCache
	pg      *pgTx     // PostgreSQL
	later   *deferred // PostgreSQL: statements waiting for the next one (deferred.go)
}

// beforePG readies a PostgreSQL statement: like database/sql's Tx, none is
// sent for a caller whose context has ended; else the waiting statements go
// first (deferred.go).
func (c txConn) beforePG(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.flush(ctx)
	return nil
}

// ExecContext runs a statement that returns no rows.
func (c txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.pg != nil {
		if err := c.beforePG(ctx); err != nil {
			return nil, err
		}
		return c.pg.exec(ctx, query, args)
	}
	ctx = context.WithoutCancel(ctx)
	if s := c.stmts.get(query); s != nil {
		return c.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return c.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows.
func (c txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if c.pg != nil {
		if err := c.beforePG(ctx); err != nil {
			return nil, err
		}
		return c.pg.query(ctx, query, args)
	}
	ctx = context.WithoutCancel(ctx)
	if s := c.stmts.get(query); s != nil {
		return c.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return c.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
func (c txConn) QueryRowContext(ctx context.Context, query string, args ...any) row {
	if c.pg != nil {
		if err := c.beforePG(ctx); err != nil {
			return rowFunc(func(...any) error { return err })
		}
		return c.pg.queryRow(ctx, query, args)
	}
	ctx = context.WithoutCancel(ctx)
	if s := c.stmts.get(query); s != nil {
		return c.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return c.Tx.QueryRowContext(ctx, query, args...)
}
