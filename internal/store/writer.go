package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
}

type writeReq struct {
	ctx    context.Context
	fn     func(*Tx) error
	result chan error // buffered: the writer never blocks on a waiter
}

func newGroupWriter(db *DB, size int) *groupWriter {
	w := &groupWriter{db: db, queue: make(chan *writeReq, size), closing: make(chan struct{}), done: make(chan struct{})}
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
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i] = err // the caller gave up before its turn: skip it
			continue
		}
		if results[i], err = w.runOne(sqlTx, req); err != nil {
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
	for i, req := range batch {
		req.result <- results[i]
	}
}

// runOne runs one closure inside a savepoint. It returns the closure's own
// error, and a second error only if the savepoint could not be managed.
func (w *groupWriter) runOne(sqlTx *sql.Tx, req *writeReq) (error, error) {
	if _, err := sqlTx.Exec("SAVEPOINT w"); err != nil {
		return nil, err
	}
	tx := &Tx{tx: sqlTx, db: w.db, Now: w.db.now().Truncate(time.Second)}
	fnErr := runClosure(tx, req.fn)
	if fnErr != nil {
		if _, err := sqlTx.Exec("ROLLBACK TO w"); err != nil {
			return nil, err
		}
	}
	if _, err := sqlTx.Exec("RELEASE w"); err != nil {
		return nil, err
	}
	return fnErr, nil
}

func (w *groupWriter) close() {
	w.once.Do(func() { close(w.closing) })
	<-w.done
}
