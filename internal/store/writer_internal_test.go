package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
)

func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	master, err := secret.ParseKey(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(master)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := Open(ctx, Options{DSN: filepath.Join(t.TempDir(), "calmony.db"), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestGroupCommitIgnoresCancellationMidStatement puts a closure whose
// caller gives up during a long write in the same batch as another. SQLite
// rolls back the whole transaction when a write inside it is interrupted, so
// if the writer let that caller's cancellation through, the other request
// would fail with it.
func TestGroupCommitIgnoresCancellationMidStatement(t *testing.T) {
	t.Parallel()
	db := openTestSQLite(t)
	ctx := context.Background()
	if _, err := db.RawExec(ctx, `CREATE TABLE scratch (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	p := &pay.Project{Name: "p"}
	if err := db.Tx(ctx, func(tx *Tx) error { return tx.CreateProject(ctx, p) }); err != nil {
		t.Fatal(err)
	}

	// Hold the writer so that the next two closures queue into one batch.
	hold, held := make(chan struct{}), make(chan struct{})
	go db.Tx(ctx, func(tx *Tx) error { close(held); <-hold; return nil })
	<-held

	c := &pay.Customer{Scope: pay.Scope{ProjectID: p.ID}}
	innocent := make(chan error, 1)
	go func() { innocent <- db.Tx(ctx, func(tx *Tx) error { return tx.CreateCustomer(ctx, c) }) }()
	for len(db.writer.queue) < 1 {
		time.Sleep(time.Millisecond)
	}
	impatient := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		impatient <- db.Tx(ctx, func(tx *Tx) error {
			time.AfterFunc(2*time.Millisecond, cancel)
			// Long enough (tens of milliseconds) to be cut short by an
			// interrupt if one got through.
			_, err := tx.tx.ExecContext(ctx, `INSERT INTO scratch
				WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c WHERE v < 50000) SELECT v FROM c`)
			return err
		})
	}()
	for len(db.writer.queue) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(hold)

	if err := <-innocent; err != nil {
		t.Fatalf("the other closure of the batch failed: %v", err)
	}
	if _, err := db.FindCustomer(ctx, c.Scope, c.ID); err != nil {
		t.Errorf("acknowledged customer: %v", err)
	}
	// The impatient closure had started: it runs to its end and commits.
	if err := <-impatient; err != nil {
		t.Errorf("the closure whose caller gave up mid-statement: %v", err)
	}
}

// TestTxAnswersOnlyOnceDurable holds the WAL sync of a commit and checks
// that neither its writer nor a reader that saw it get an answer before the
// sync, and that a failed sync acknowledges nothing.
func TestTxAnswersOnlyOnceDurable(t *testing.T) {
	t.Parallel()
	db := openTestSQLite(t)
	ctx := context.Background()
	p := &pay.Project{Name: "p"}
	if err := db.Tx(ctx, func(tx *Tx) error { return tx.CreateProject(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	if err := db.AwaitDurable(ctx); err != nil {
		t.Fatalf("AwaitDurable with nothing pending: %v", err)
	}

	entered, release := make(chan struct{}, 1), make(chan struct{})
	db.writer.sync.syncFunc = func() error {
		entered <- struct{}{}
		<-release
		return nil
	}
	c := &pay.Customer{Scope: pay.Scope{ProjectID: p.ID}}
	done := make(chan error, 1)
	go func() { done <- db.Tx(ctx, func(tx *Tx) error { return tx.CreateCustomer(ctx, c) }) }()
	<-entered // committed; the sync is under way
	if _, err := db.FindCustomer(ctx, c.Scope, c.ID); err != nil {
		t.Fatalf("a reader does not see the commit: %v", err)
	}
	awaited := make(chan error, 1)
	go func() { awaited <- db.AwaitDurable(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Tx answered before its commit was synced: %v", err)
	case err := <-awaited:
		t.Fatalf("AwaitDurable returned before the sync: %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-awaited; err != nil {
		t.Fatal(err)
	}

	db.writer.sync.syncFunc = func() error { return errors.New("disk on fire") }
	if err := db.Tx(ctx, func(tx *Tx) error { return tx.CreateCustomer(ctx, &pay.Customer{Scope: c.Scope}) }); err == nil {
		t.Error("a write whose sync failed was acknowledged")
	}
}
