package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Instances cache some settings (API keys, CORS allowlists, project
// currencies) for a second. A write that changes them records a Change on
// its transaction (Tx.changed, called by the store methods that write those
// rows, so that no caller can forget it); once the transaction commits, the
// process's subscribers (DB.OnChange) drop or reload what they cached. On
// PostgreSQL the transaction also sends NOTIFY calmony_cache, '<kind>:<project>',
// which PostgreSQL delivers only if it commits, and every instance's
// listener (DB.ListenChanges) hands it to its own subscribers: a key revoked
// on one instance is refused by the others at once, and the caches' expiry
// is only the fallback for a notification that never came.

// ChangeKind names a setting that instances cache.
type ChangeKind string

// The kinds of Change.
const (
	ChangeKeys    ChangeKind = "keys"    // a project's API keys: created, rolled, expired or revoked
	ChangeOrigins ChangeKind = "origins" // a project's CORS allowlist
	ChangeProject ChangeKind = "project" // a project's settings row (its currencies), or a new project
	// ChangeAll: anything may have changed (the listener reconnected, and
	// notifications may have been missed meanwhile). Project is empty.
	ChangeAll ChangeKind = "all"
)

// Change names what a committed write changed.
type Change struct {
	Kind    ChangeKind
	Project string
}

// notifyChannel is the PostgreSQL channel of Changes.
const notifyChannel = "calmony_cache"

// changed records that the transaction changes a cached setting of a
// project; on PostgreSQL it notifies the other instances, in the
// transaction, so the notification goes out only if it commits.
func (tx *Tx) changed(ctx context.Context, kind ChangeKind, project string) error {
	c := Change{Kind: kind, Project: project}
	if slices.Contains(tx.changes, c) {
		return nil
	}
	tx.changes = append(tx.changes, c)
	if tx.db.dialect != Postgres {
		return nil
	}
	if _, err := tx.tx.ExecContext(ctx, `SELECT pg_notify('`+notifyChannel+`', $1)`, string(kind)+":"+project); err != nil {
		return fmt.Errorf("notify %s of %s: %w", kind, project, err)
	}
	return nil
}

// parseChange reads a notification's payload. One it does not understand
// (from a newer version) counts as ChangeAll.
func parseChange(payload string) Change {
	kind, project, ok := strings.Cut(payload, ":")
	switch k := ChangeKind(kind); k {
	case ChangeKeys, ChangeOrigins, ChangeProject:
		if ok && project != "" {
			return Change{Kind: k, Project: project}
		}
	}
	return Change{Kind: ChangeAll}
}

// subscribers are the functions that DB.OnChange registered.
type subscribers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(Change)
}

// OnChange calls fn for every Change committed from now on: at once after
// this process's own commits, and, on PostgreSQL while ListenChanges runs,
// for those of other processes (this process's own arrive a second time).
// fn runs on the committing goroutine or the listener's, so it must be
// quick and must not block: drop a cache entry, or ask for a reload. The
// returned function unsubscribes.
func (db *DB) OnChange(fn func(Change)) (stop func()) {
	s := &db.subs
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = map[int]func(Change){}
	}
	id := s.next
	s.next++
	s.fns[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.fns, id)
	}
}

// deliver hands changes to the subscribers.
func (db *DB) deliver(changes []Change) {
	if len(changes) == 0 {
		return
	}
	s := &db.subs
	s.mu.Lock()
	fns := make([]func(Change), 0, len(s.fns))
	for _, fn := range s.fns {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, c := range changes {
		for _, fn := range fns {
			fn(c)
		}
	}
}

// The listener's reconnection backoff, and how long it waits for a
// notification before checking that its connection is still alive (a
// connection cut without a word, by a firewall or a failover, would
// otherwise leave it deaf until TCP gives up).
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	listenIdle       = 30 * time.Second
)

// ListenChanges delivers the Changes other instances commit, until ctx
// ends: on PostgreSQL it LISTENs on a connection of its own (not one of
// the pool's), reconnecting with backoff when it is lost, and delivers a
// ChangeAll each time it has (re)connected, since notifications sent in
// between were missed. On SQLite, where one process writes, it returns at
// once.
func (db *DB) ListenChanges(ctx context.Context) {
	if db.dialect != Postgres {
		return
	}
	backoff := listenMinBackoff
	for {
		err := db.listen(ctx, func() { backoff = listenMinBackoff })
		if ctx.Err() != nil {
			return
		}
		db.log.WarnContext(ctx, "cache invalidation: not listening for changes (connection failed or lost); other instances' changes reach this one within the caches' one-second expiry until it is back",
			"err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen connects, LISTENs and delivers notifications until the connection
// fails or ctx ends; connected is called once it listens.
func (db *DB) listen(ctx context.Context, connected func()) error {
	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	db.listenerPID.Store(conn.PgConn().PID())
	defer db.listenerPID.Store(0)
	connected()
	db.deliver([]Change{{Kind: ChangeAll}})
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			db.deliver([]Change{parseChange(n.Payload)})
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
