package store_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// On PostgreSQL, BEGIN travels with a transaction's first write or locking
// read, COMMIT with the statements still waiting, and a transaction whose
// only writes wait for COMMIT is one statement without either.
func TestPostgresRoundTripsPerTransaction(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	scope := storetest.Project(t, db)
	c := &pay.Customer{Scope: scope, Email: "trips@example.com"}
	cases := []struct {
		name  string
		fn    func(tx *store.Tx) error
		trips int64
	}{
		{"an insert alone", func(tx *store.Tx) error {
			return tx.CreatePaymentMethod(ctx, &pay.PaymentMethod{ID: pay.NewID(pay.PrefixPaymentMethod), Scope: scope, Type: "card"})
		}, 1}, // the insert, in autocommit
		{"a keyed create", func(tx *store.Tx) error {
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
			if err := tx.CreateEvent(ctx, &pay.Event{Scope: scope, Type: "customer.created", ObjectID: c.ID, Data: []byte(`{}`)}); err != nil {
				return err
			}
			k := store.IdemKey{Scope: scope, Key: "trips"}
			return tx.RecordIdempotent(ctx, store.NewIdemRecord(), k, "POST", "/v1/customers", "f", 200, []byte(`{}`))
		}, 2}, // BEGIN with the customer and its event; the key's row with COMMIT
		{"a locked update", func(tx *store.Tx) error {
			got, err := tx.FindCustomer(ctx, scope, c.ID)
			if err != nil {
				return err
			}
			got.Description = "updated"
			return tx.UpdateCustomer(ctx, got)
		}, 3}, // BEGIN with SELECT … FOR UPDATE; the update; COMMIT
		{"nothing written", func(tx *store.Tx) error { return nil }, 0},
	}
	for _, tc := range cases {
		before := db.RoundTrips()
		if err := db.Tx(ctx, tc.fn); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := db.RoundTrips() - before; got != tc.trips {
			t.Errorf("%s: %d round trips, want %d", tc.name, got, tc.trips)
		}
	}
	if got, err := db.FindCustomer(ctx, scope, c.ID); err != nil || got.Description != "updated" {
		t.Errorf("customer after the transactions: %+v, %v", got, err)
	}
}

// A locking read that begins a transaction (in the same round trip) holds
// its lock until the transaction ends.
func TestPostgresLockingReadHoldsItsLock(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	scope := storetest.Project(t, db)
	c := &pay.Customer{Scope: scope}
	if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateCustomer(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.FindCustomer(ctx, scope, c.ID); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := db.Tx(short, func(tx *store.Tx) error {
		_, err := tx.FindCustomer(short, scope, c.ID)
		return err
	})
	if err == nil {
		t.Error("a second locking read of the row went through while the first transaction held it")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, func(tx *store.Tx) error { _, err := tx.FindCustomer(ctx, scope, c.ID); return err }); err != nil {
		t.Errorf("locking read after the first transaction ended: %v", err)
	}
}

// A key stored by another request first fails the whole transaction that
// records it again, with ErrIdempotencyRace: on PostgreSQL the key's row is
// only sent with COMMIT, with the transaction's other writes already made.
func TestIdempotencyRaceRollsBackTheTransaction(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		k := store.IdemKey{Scope: scope, Key: "race-rollback"}
		record := func(c *pay.Customer) error {
			return db.Tx(ctx, func(tx *store.Tx) error {
				if err := tx.CreateCustomer(ctx, c); err != nil {
					return err
				}
				return tx.RecordIdempotent(ctx, store.NewIdemRecord(), k, "POST", "/v1/customers", "f", 200, []byte(`{}`))
			})
		}
		first, second := &pay.Customer{Scope: scope}, &pay.Customer{Scope: scope}
		if err := record(first); err != nil {
			t.Fatal(err)
		}
		if err := record(second); !errors.Is(err, store.ErrIdempotencyRace) {
			t.Errorf("recording a stored key again: err = %v, want ErrIdempotencyRace", err)
		}
		if _, err := db.FindCustomer(ctx, scope, second.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("the losing transaction's customer: %v, want not found", err)
		}
	})
}

// Transactions run at READ COMMITTED whatever the server's default: their
// locking and their reads before BEGIN are written for it.
func TestPostgresTransactionsAreReadCommitted(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgresWith(t, url.Values{"default_transaction_isolation": {"serializable"}})
	ctx := context.Background()
	var def string
	if err := db.RawQueryRow(ctx, `SELECT current_setting('default_transaction_isolation')`).Scan(&def); err != nil || def != "serializable" {
		t.Fatalf("the connections' default isolation = %q, %v; want serializable", def, err)
	}
	scope := storetest.Project(t, db)
	c := &pay.Customer{Scope: scope}
	if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateCustomer(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	var level string
	err := db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindCustomer(ctx, scope, c.ID); err != nil { // begins the transaction
			return err
		}
		var err error
		level, err = tx.IsolationLevel(ctx)
		return err
	})
	if err != nil || level != "read committed" {
		t.Errorf("isolation level in a transaction = %q, %v; want read committed", level, err)
	}
}

// A transaction whose context ends after it has begun rolls back, and leaves
// no connection of the pool inside a transaction for the next caller.
func TestPostgresCanceledTransactionLeavesThePoolClean(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgres(t) // a pool of 4 connections
	ctx := context.Background()
	scope := storetest.Project(t, db)
	for range 8 {
		c := &pay.Customer{Scope: scope}
		cctx, cancel := context.WithCancel(ctx)
		err := db.Tx(cctx, func(tx *store.Tx) error {
			if err := tx.CreateCustomer(cctx, c); err != nil {
				return err
			}
			// Begins the transaction, carrying the customer's insert.
			if err := tx.CreateEvent(cctx, &pay.Event{Scope: scope, Type: "customer.created", ObjectID: c.ID, Data: []byte(`{}`)}); err != nil {
				return err
			}
			cancel()
			_, err := tx.FindCustomer(cctx, scope, c.ID)
			return err
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if _, err := db.FindCustomer(ctx, scope, c.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Fatalf("the canceled transaction's customer: %v, want not found", err)
		}
	}
	// Every connection of the pool still works, outside any transaction.
	for range 8 {
		c := &pay.Customer{Scope: scope}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateCustomer(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindCustomer(ctx, scope, c.ID); err != nil {
			t.Fatalf("customer written after the canceled transactions: %v", err)
		}
	}
}
