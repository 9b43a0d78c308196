package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestSubscriptions round-trips a subscription and its items, lists them by
// customer, status and price, and finds the due ones for the scheduler.
func TestSubscriptions(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		tx := func(fn func(tx *store.Tx) error) error { return db.Tx(ctx, fn) }

		prod := &pay.Product{Scope: scope, ID: "gold", Name: "Gold", Active: true}
		monthly := &pay.Price{Scope: scope, Product: "gold", Active: true, Currency: "gbp", UnitAmount: 500,
			Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}, TaxBehavior: "unspecified"}
		seats := &pay.Price{Scope: scope, Product: "gold", Active: true, Currency: "gbp", UnitAmount: 100,
			Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}, TaxBehavior: "unspecified"}
		vat := &pay.TaxRate{Scope: scope, DisplayName: "VAT", Percentage: 20 * pay.PercentUnit, Active: true}
		if err := tx(func(tx *store.Tx) error {
			for _, f := range []func() error{
				func() error { return tx.CreateProduct(ctx, prod) },
				func() error { return tx.CreatePrice(ctx, monthly) },
				func() error { return tx.CreatePrice(ctx, seats) },
				func() error { return tx.CreateTaxRate(ctx, vat) },
			} {
				if err := f(); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		mk := func(cus, status string, next int64, items ...*pay.SubscriptionItem) *pay.Subscription {
			s := &pay.Subscription{Scope: scope, Customer: cus, Status: status, Currency: "gbp", CollectionMethod: pay.CollectCharge,
				CurrentPeriodStart: 1000, CurrentPeriodEnd: 2000, NextActionAt: next, DefaultTaxRates: []*pay.TaxRate{vat},
				Metadata: map[string]string{"k": "v"}, Items: items}
			if err := tx(func(tx *store.Tx) error { return tx.CreateSubscription(ctx, s) }); err != nil {
				t.Fatal(err)
			}
			return s
		}
		a := mk("cus_a", pay.SubscriptionActive, 2000, &pay.SubscriptionItem{Price: monthly, Quantity: 1, Metadata: map[string]string{"x": "y"}},
			&pay.SubscriptionItem{Price: seats, Quantity: 3, TaxRates: []*pay.TaxRate{vat}})
		b := mk("cus_b", pay.SubscriptionIncomplete, 1500, &pay.SubscriptionItem{Price: seats, Quantity: 1})
		c := mk("cus_a", pay.SubscriptionCanceled, 0, &pay.SubscriptionItem{Price: monthly, Quantity: 1})

		got, err := db.FindSubscription(ctx, scope, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("FindSubscription (-want +got):\n%s", diff)
		}
		other := pay.Scope{ProjectID: scope.ProjectID, Livemode: true}
		if _, err := db.FindSubscription(ctx, other, a.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("in live mode: err = %v, want ErrNotFound", err)
		}

		ids := func(f store.SubscriptionFilter) []string {
			l, err := db.FindSubscriptions(ctx, scope, f, pay.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, s := range l.Data {
				out = append(out, s.ID)
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    store.SubscriptionFilter
			want []string
		}{
			{"default hides canceled", store.SubscriptionFilter{}, []string{b.ID, a.ID}},
			{"all", store.SubscriptionFilter{Status: "all"}, []string{c.ID, b.ID, a.ID}},
			{"ended", store.SubscriptionFilter{Status: "ended"}, []string{c.ID}},
			{"active", store.SubscriptionFilter{Status: "active"}, []string{a.ID}},
			{"customer", store.SubscriptionFilter{Customer: "cus_a", Status: "all"}, []string{c.ID, a.ID}},
			{"price", store.SubscriptionFilter{Price: seats.ID}, []string{b.ID, a.ID}},
		} {
			if got := ids(c.f); !cmp.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}

		b.Status, b.NextActionAt, b.CanceledAt = pay.SubscriptionIncompleteExpired, 0, 1600
		if err := tx(func(tx *store.Tx) error { return tx.UpdateSubscription(ctx, b) }); err != nil {
			t.Fatal(err)
		}
		// The scheduler's claims: due live rows, each claimed once until
		// its lease ends or it is released.
		claim := func() []string {
			t.Helper()
			jobs, err := db.ClaimDue(ctx, "", 2000, time.Now(), time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, j := range jobs {
				if j.Scope == scope {
					ids = append(ids, j.ID)
					if j.Kind != store.DueSubscription || j.Subscription != j.ID || j.Due != a.NextActionAt {
						t.Errorf("job %+v", j)
					}
				}
			}
			return ids
		}
		if got := claim(); !cmp.Equal(got, []string{a.ID}) {
			t.Errorf("due: %v, want [%s]", got, a.ID)
		}
		if got := claim(); len(got) != 0 {
			t.Errorf("claimed twice: %v", got)
		}
		if more, err := db.HasDue(ctx, "", 2000); err != nil || !more {
			t.Errorf("HasDue with the row claimed = %v, %v; want true", more, err)
		}
		if err := db.ReleaseDue(ctx, []store.DueJob{{Kind: store.DueSubscription, ID: a.ID}}); err != nil {
			t.Fatal(err)
		}
		if got := claim(); !cmp.Equal(got, []string{a.ID}) {
			t.Errorf("after release: %v, want [%s]", got, a.ID)
		}
		if got, _ := db.FindSubscription(ctx, scope, b.ID); got.Status != pay.SubscriptionIncompleteExpired || got.CanceledAt != 1600 {
			t.Errorf("after update: %+v", got)
		}
	})
}
