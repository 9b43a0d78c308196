package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// On PostgreSQL an object's insert waits for the transaction's next
// statement (deferred.go). These tests hold on both databases: a later
// statement sees the insert, and a failing insert fails the whole
// transaction with its own error.
func TestDeferredInsertIsSeenByLaterStatements(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			// Two waiting inserts, sent together before the next read.
			c := &pay.Customer{Scope: scope, Email: "later@example.com"}
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
			c2 := &pay.Customer{Scope: scope, Email: "later2@example.com"}
			if err := tx.CreateCustomer(ctx, c2); err != nil {
				return err
			}
			for _, want := range []*pay.Customer{c, c2} {
				got, err := tx.FindCustomer(ctx, scope, want.ID)
				if err != nil || got.Email != want.Email {
					t.Errorf("customer read back in its transaction: %+v, %v", got, err)
				}
			}
			// Two waiting inserts travel with the event's statement.
			d := &pay.Customer{Scope: scope}
			if err := tx.CreateCustomer(ctx, d); err != nil {
				return err
			}
			e := &pay.Customer{Scope: scope}
			if err := tx.CreateCustomer(ctx, e); err != nil {
				return err
			}
			return tx.CreateEvent(ctx, &pay.Event{Scope: scope, Type: "customer.created", ObjectID: e.ID, Data: []byte(`{}`)})
		})
		if err != nil {
			t.Fatal(err)
		}
		l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 4 {
			t.Fatalf("%d customers committed, want 4 (err %v)", len(l.Data), err)
		}
	})
}

func TestDeferredInsertFailureFailsTheTransaction(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		pm := &pay.PaymentMethod{ID: pay.NewID(pay.PrefixPaymentMethod), Scope: scope, Type: "card"}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreatePaymentMethod(ctx, pm) }); err != nil {
			t.Fatal(err)
		}
		var c *pay.Customer
		err := db.Tx(ctx, func(tx *store.Tx) error {
			c = &pay.Customer{Scope: scope}
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
			again := *pm // the same ID: the insert fails, here or with the next statement
			if err := tx.CreatePaymentMethod(ctx, &again); err != nil {
				return err
			}
			return tx.CreateEvent(ctx, &pay.Event{Scope: scope, Type: "payment_method.attached", ObjectID: pm.ID, Data: []byte(`{}`)})
		})
		if err == nil || !strings.Contains(err.Error(), "payment_methods") {
			t.Fatalf("err = %v, want the duplicate payment method's own error", err)
		}
		if _, err := db.FindCustomer(ctx, scope, c.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("the failed transaction's customer: %v, want not found", err)
		}
	})
}

// An update of a payment intent the transaction has locked waits for the
// next statement on PostgreSQL: later statements see it, and a second update
// of the same intent is not merged into one statement with the first (where
// only one of them would apply).
func TestDeferredUpdateOfALockedIntent(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		pi := &pay.PaymentIntent{Scope: scope, Amount: 1000, Currency: "gbp", Status: pay.StatusRequiresPaymentMethod, CaptureMethod: "automatic"}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreatePaymentIntent(ctx, pi) }); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			got, err := tx.FindPaymentIntent(ctx, scope, pi.ID)
			if err != nil {
				return err
			}
			got.Amount, got.Description = 2000, "first"
			if err := tx.UpdatePaymentIntent(ctx, got); err != nil {
				return err
			}
			got.Description = "second"
			if err := tx.UpdatePaymentIntent(ctx, got); err != nil {
				return err
			}
			// Both updates travel, the second after the first, before or with this statement.
			if err := tx.CreateEvent(ctx, &pay.Event{Scope: scope, Type: "payment_intent.succeeded", ObjectID: pi.ID, Data: []byte(`{}`)}); err != nil {
				return err
			}
			got.Status = pay.StatusSucceeded
			if err := tx.UpdatePaymentIntent(ctx, got); err != nil {
				return err
			}
			again, err := tx.FindPaymentIntent(ctx, scope, pi.ID) // sends the third first
			if err != nil || again.Description != "second" || again.Amount != 2000 || again.Status != pay.StatusSucceeded {
				t.Errorf("read back in its transaction: %+v, %v", again, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.FindPaymentIntent(ctx, scope, pi.ID)
		if err != nil || got.Description != "second" || got.Amount != 2000 || got.Status != pay.StatusSucceeded {
			t.Errorf("committed: %+v, %v", got, err)
		}
	})
}
