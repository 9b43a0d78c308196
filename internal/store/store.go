// Package store persists Calmony Pay's objects in SQLite (the embedded
// default) or PostgreSQL (production and scale-out) through database/sql and
// hand-written SQL. One SQL text serves both databases ($N placeholders);
// only the DDL differs. Every write goes through DB.Tx.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/calmony/calmonypay/internal/fileperm"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
)

// Dialect names the database behind a DB.
type Dialect string

// The supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options configure Open.
type Options struct {
	// DSN is a postgres:// or postgresql:// URL, or the path of an SQLite file.
	DSN string
	// Keys encrypts personal data and indexes it. Required.
	Keys *secret.Keyring
	// WebhookKeys seals webhook endpoints' signing secrets
	// (CALMONY_WEBHOOK_ENCRYPTION_KEY). Defaults to Keys, for tests and for
	// tools that never touch webhooks; serve always sets it.
	WebhookKeys *secret.Keyring
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxConns bounds PostgreSQL's pool and SQLite's reader pool. Defaults to 16.
	MaxConns int
	// ListenDSN is the postgres:// URL ListenChanges connects to, when DSN
	// goes through a pooler in transaction mode (where LISTEN does not
	// work). Defaults to DSN.
	ListenDSN string
}

// DB is a handle on the database. It is safe for concurrent use.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: a single connection, the one writer
	read    readDB  // SQLite: a pool of read-only connections; Postgres: same as write
	keys    *secret.Keyring
	whKeys  *secret.Keyring // webhook signing secrets
	now     func() time.Time
	log     *slog.Logger
	writer  *groupWriter // SQLite only
	trips   atomic.Int64 // PostgreSQL: round trips of transactions so far (pgtx.go)
	txs     atomic.Int64 // transactions (Tx calls) so far
	dsn     string       // PostgreSQL: for the listener's own connection (changes.go)
	subs    subscribers  // OnChange's (changes.go)
	// listenerPID is the backend of ListenChanges's connection while it
	// listens, else 0.
	listenerPID atomic.Uint32
}

// querier is what the read pool (readDB) and a transaction (txConn) offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) row
}

// IsPostgresDSN reports whether dsn selects PostgreSQL.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database named by opts.DSN. It does not migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Keys == nil {
		return nil, errors.New("store: Options.Keys is required")
	}
	db := &DB{keys: opts.Keys, whKeys: opts.WebhookKeys, now: opts.Now, log: opts.Logger}
	if db.whKeys == nil {
		db.whKeys = opts.Keys
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.Default()
	}
	conns := opts.MaxConns
	if conns <= 0 {
		conns = 16
	}
	var err error
	if IsPostgresDSN(opts.DSN) {
		err = db.openPostgres(opts.DSN, conns)
		if opts.ListenDSN != "" {
			db.dsn = opts.ListenDSN
		}
	} else {
		err = db.openSQLite(opts.DSN, conns)
	}
	if err != nil {
		return nil, err
	}
	if err := db.read.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", db.dialect, err)
	}
	return db, nil
}

func (db *DB) openPostgres(dsn string, conns int) error {
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", err)
	}
	pg.SetMaxOpenConns(conns)
	pg.SetMaxIdleConns(conns)
	pg.SetConnMaxIdleTime(5 * time.Minute)
	db.dialect, db.write, db.read, db.dsn = Postgres, pg, readDB{DB: pg}, dsn
	return nil
}

func (db *DB) openSQLite(path string, conns int) error {
	if path == "" {
		return errors.New("store: empty database path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("store: create data folder: %w", err)
		}
	}
	if err := db.privateFiles(path); err != nil {
		return err
	}
	// WAL lets readers run beside the one writer. Every acknowledged commit
	// survives a crash or power loss: the writer commits without syncing
	// (synchronous=NORMAL) and its syncer fsyncs the WAL before answering
	// (see groupWriter); elsewhere synchronous=FULL.
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	w, err := sql.Open("sqlite", base+"&_pragma=synchronous(NORMAL)&_txlock=immediate"+writerPragmas)
	if err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	base += "&_pragma=synchronous(FULL)"
	w.SetMaxOpenConns(1) // SQLite has one writer; queue in Go, not in busy_timeout
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Readers keep a page cache of 512 KiB each instead of SQLite's 2 MiB: a
	// full pool of them held 32 MiB outside Go's heap (and its GOMEMLIMIT),
	// and the server's RSS grew by 6 MB with every payment.flow run; their
	// reads are point lookups and the newest pages, which the OS caches too.
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(ON)&_pragma=cache_size(-512)")
	if err != nil {
		w.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(conns)
	r.SetMaxIdleConns(conns)
	db.dialect, db.write, db.read = SQLite, w, readDB{DB: r, stmts: &readStmts{}}
	// Create the file (and switch it to WAL) before readers open it read-only.
	if _, err := w.Exec("PRAGMA user_version"); err != nil {
		db.Close()
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	ckpt, err := sql.Open("sqlite", base)
	if err != nil {
		db.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	db.writer = newGroupWriter(db, writerQueue, ckpt, path+"-wal")
	return nil
}

// privateFiles creates the SQLite database file readable and writable by
// its owner only (0600), unless it exists, and narrows the modes of the
// file and of its -wal and -shm files if they are open to others (made by
// an earlier version, or copied). SQLite creates a database file 0644, but
// gives the -wal and -shm files it makes the database file's mode: made
// first, 0600, the database file keeps all three private, with no umask
// change, which would be process-wide. A file whose mode cannot be changed
// (another user's) is logged, not fatal.
func (db *DB) privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := fileperm.Narrow(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			db.log.Warn("the database file is readable by other users and its mode could not be changed", "file", p, "err", err)
		}
	}
	return nil
}

// AwaitDurable waits until every write committed so far is durable. Call it
// after a read and before answering with what it read: on SQLite a reader
// may see a commit shortly before the fsync that makes it durable, and an
// answer must not show what a power loss could still undo. It returns at
// once when nothing is pending, and always on PostgreSQL.
func (db *DB) AwaitDurable(ctx context.Context) error {
	if db.writer == nil {
		return nil
	}
	return db.writer.sync.await(ctx, db.writer.sync.committed.Load())
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Keys returns the keyring the store seals personal data with, its index
// keys those the database keeps: the API's MACs and fingerprints must use it.
func (db *DB) Keys() *secret.Keyring { return db.keys }

// Now returns the store's clock reading.
func (db *DB) Now() time.Time { return db.now() }

// Close stops the writer and closes the connections.
func (db *DB) Close() error {
	if db.writer != nil {
		db.writer.close()
	}
	db.read.stmts.close()
	err := db.write.Close()
	if db.read.DB != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Tx is a write transaction. Now is fixed for the whole transaction, so every
// row it writes carries the same time.
type Tx struct {
	tx     txConn
	db     *DB
	Now    time.Time
	locked map[string]bool // "table/id" of the rows this transaction has locked (PostgreSQL)
	// endpoints are the scopes' webhook endpoints (endpointsJSON) as the
	// transaction's first event of each read them (CreateEvent).
	endpoints map[pay.Scope]string
	// changes are the cached settings the transaction changes, delivered
	// to OnChange's subscribers once it commits (changes.go).
	changes []Change
}

// lock notes that the transaction holds a row's lock (SELECT … FOR UPDATE).
func (tx *Tx) lock(row string) {
	if tx.locked == nil {
		tx.locked = map[string]bool{}
	}
	tx.locked[row] = true
}

// Stats counts a store's work so far, for benchmarks.
type Stats struct {
	Transactions int64 // Tx calls, whatever their outcome
	RoundTrips   int64 // PostgreSQL: the round trips of those transactions
}

// Stats returns the counts of the store's work so far.
func (db *DB) Stats() Stats { return Stats{Transactions: db.txs.Load(), RoundTrips: db.trips.Load()} }

// Tx runs fn in a transaction: its writes commit, durably, if and only if it
// returns nil; an error or a panic rolls them back. Every write in the project
// goes through here.
//
// On SQLite, Tx hands fn to the single writer goroutine, which runs the
// closures waiting at that moment one after another inside one database
// transaction, each within its own savepoint, and commits them with one
// fsync (group commit). A failing closure rolls back to its savepoint and
// does not affect the others; Tx returns only once the commit is durable.
// fn must therefore do database work only (no network calls) and must not
// call Tx itself. If ctx ends before fn starts, fn is skipped; once it has
// started, its statements run to the end whatever ctx does, and Tx reports
// the outcome. When the writer's queue is full, Tx fails at once with
// ErrOverloaded.
//
// On PostgreSQL each call is its own transaction on a connection of the
// pool, which sends BEGIN and COMMIT with other statements where it can
// (pgtx.go).
//
// Once the transaction has committed, the cached settings it changed are
// delivered to OnChange's subscribers, before Tx returns.
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) error {
	db.txs.Add(1)
	if db.writer != nil {
		var changes []Change
		err := db.writer.do(ctx, func(tx *Tx) error {
			err := fn(tx)
			changes = tx.changes // read after do returns: its answer orders them
			return err
		})
		if err == nil {
			db.deliver(changes)
		}
		return err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer conn.Close()
	pg, later := &pgTx{conn: conn}, &deferred{}
	defer func() { db.trips.Add(pg.trips) }()
	tx := &Tx{tx: txConn{pg: pg, later: later}, db: db, Now: db.now().Truncate(time.Second)}
	if err = runClosure(tx, fn); err == nil && later.err == nil {
		err = ctx.Err() // a caller that has gone gets no COMMIT
	}
	if err == nil && later.err == nil {
		lastErr, commitErr := pg.commit(ctx, tx.tx.takeWaiting())
		if commitErr != nil {
			pg.rollback(ctx)
			return fmt.Errorf("store: commit: %w", commitErr)
		}
		later.err = lastErr
	}
	if err != nil || later.err != nil {
		pg.rollback(ctx)
		var pe *PanicError
		if errors.As(err, &pe) {
			panic(pe.Value)
		}
		switch {
		case isIdempotencyRace(later.err):
			return ErrIdempotencyRace
		case later.err != nil:
			// A deferred insert failed: it is the cause of whatever fn saw.
			return fmt.Errorf("store: %w", later.err)
		}
		return err
	}
	db.deliver(tx.changes)
	return nil
}

// runClosure calls fn, turning a panic into a *PanicError so the caller can
// roll back before re-raising it.
func runClosure(tx *Tx, fn func(*Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p}
		}
	}()
	return fn(tx)
}

// PanicError carries a panic out of a transaction closure; Tx re-raises it in
// the caller's goroutine after rolling back.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("store: panic in transaction: %v", e.Value) }

// unix is the transaction's time in unix seconds.
func (tx *Tx) unix() int64 { return tx.Now.Unix() }

// notFound wraps sql.ErrNoRows as pay.ErrNotFound, leaving other errors as they are.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, errNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// whereID selects one object by its ID ($1) within a scope ($2 project, $3
// livemode). Only the ID may be an index condition: the scope is a filter on
// the row found, written so that the planner cannot use it as one. PostgreSQL
// plans a prepared statement once per connection (a generic plan), and on a
// table that is small or not yet analyzed an index that starts with
// (project_id, livemode), such as a list or customer index, costs the same as
// the primary key and wins the tie, because it matches more of the WHERE
// clause. That plan then reads every row of the project at each lookup, and
// it stayed in use under load (payment.flow's database CPU per flow tripled
// within a minute). TestLookupsByIDUseThePrimaryKey holds this.
const whereID = `WHERE id = $1 AND (project_id = $2 AND livemode = $3) IS TRUE`

// forUpdate is the row-locking suffix for SELECTs inside a transaction. SQLite
// has one writer, so its transactions are serial already.
func (db *DB) forUpdate() string {
	if db.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}
