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
