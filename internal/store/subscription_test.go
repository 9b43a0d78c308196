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

// TestSubscriptionItemsAndProrations writes a subscription's items one by
// one, and the invoice items of its prorations, and finds the pending
// items an invoice of each subscription may take.
func TestSubscriptionItemsAndProrations(t *testing.T) {
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
		var a, b, ended *pay.Subscription
		if err := tx(func(tx *store.Tx) error {
			for _, f := range []func() error{
				func() error { return tx.CreateProduct(ctx, prod) },
				func() error { return tx.CreatePrice(ctx, monthly) },
				func() error { return tx.CreatePrice(ctx, seats) },
			} {
				if err := f(); err != nil {
					return err
				}
			}
			for _, s := range []**pay.Subscription{&a, &b, &ended} {
				*s = &pay.Subscription{Scope: scope, Customer: "cus_a", Status: pay.SubscriptionActive, Currency: "gbp",
					CurrentPeriodStart: 1000, CurrentPeriodEnd: 2000, Items: []*pay.SubscriptionItem{{Price: monthly, Quantity: 1}}}
				if err := tx.CreateSubscription(ctx, *s); err != nil {
					return err
				}
			}
			ended.Status = pay.SubscriptionCanceled
			return tx.UpdateSubscription(ctx, ended)
		}); err != nil {
			t.Fatal(err)
		}

		// An item added, changed, found on its own, and deleted.
		it := &pay.SubscriptionItem{Price: seats, Quantity: 2, Created: 1500, Metadata: map[string]string{"k": "v"}}
		if err := tx(func(tx *store.Tx) error { return tx.CreateSubscriptionItem(ctx, a, it) }); err != nil {
			t.Fatal(err)
		}
		it.Quantity = 5
		if err := tx(func(tx *store.Tx) error { return tx.UpdateSubscriptionItem(ctx, scope, it) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindSubscriptionItem(ctx, scope, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(it, got); diff != "" {
			t.Errorf("FindSubscriptionItem (-want +got):\n%s", diff)
		}
		if sub, err := db.FindItemSubscription(ctx, scope, it.ID); err != nil || sub != a.ID {
			t.Errorf("FindItemSubscription = %s, %v", sub, err)
		}
		if _, err := db.FindSubscriptionItem(ctx, pay.Scope{ProjectID: scope.ProjectID, Livemode: true}, it.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("in live mode: %v", err)
		}
		if err := tx(func(tx *store.Tx) error { return tx.DeleteSubscriptionItem(ctx, scope, it.ID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindSubscriptionItem(ctx, scope, it.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("deleted: %v", err)
		}

		// Pending items: one of no subscription, a proration of each.
		item := func(sub *pay.Subscription) *pay.InvoiceItem {
			ii := &pay.InvoiceItem{Scope: scope, Customer: "cus_a", Currency: "gbp", UnitAmount: 500, Quantity: 1, Amount: -250,
				Description: "Unused time on Gold after 01 Jan 1970", PeriodStart: 1500, PeriodEnd: 2000, Proration: sub != nil}
			if sub != nil {
				ii.Subscription, ii.SubscriptionItem = sub.ID, sub.Items[0].ID
			}
			if err := tx(func(tx *store.Tx) error { return tx.CreateInvoiceItem(ctx, ii) }); err != nil {
				t.Fatal(err)
			}
			return ii
		}
		loose, ofA, ofB, ofEnded := item(nil), item(a), item(b), item(ended)
		if got, err := db.FindInvoiceItem(ctx, scope, ofA.ID); err != nil || !got.Proration || got.Subscription != a.ID ||
			got.SubscriptionItem != a.Items[0].ID {
			t.Errorf("proration read back as %+v, %v", got, err)
		}
		pending := func(sub string) []string {
			var out []string
			err := tx(func(tx *store.Tx) error {
				items, err := tx.FindPendingInvoiceItems(ctx, scope, "cus_a", "gbp", sub)
				for _, ii := range items {
					out = append(out, ii.ID)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		for _, c := range []struct {
			sub  string
			want []string
		}{
			{a.ID, []string{loose.ID, ofA.ID, ofEnded.ID}},
			{b.ID, []string{loose.ID, ofB.ID, ofEnded.ID}},
			{"", []string{loose.ID, ofEnded.ID}},
		} {
			if got := pending(c.sub); !cmp.Equal(got, c.want) {
				t.Errorf("pending for %q: %v, want %v", c.sub, got, c.want)
			}
		}
		var own []*pay.InvoiceItem
		if err := tx(func(tx *store.Tx) error {
			var err error
			own, err = tx.FindPendingSubscriptionItems(ctx, scope, a.ID)
			return err
		}); err != nil || len(own) != 1 || own[0].ID != ofA.ID {
			t.Errorf("a's own pending items: %v %v", own, err)
		}
	})
}
