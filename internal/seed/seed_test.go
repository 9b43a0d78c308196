package seed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/seed"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// all lists every object of a list, page by page.
func all[T interface{ *E }, E any](t *testing.T, find func(pay.Page) (pay.List[T], error), id func(T) string) []T {
	t.Helper()
	var out []T
	page := pay.Page{Limit: 100}
	for {
		l, err := find(page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Data...)
		if !l.HasMore {
			return out
		}
		page.StartingAfter = id(l.Data[len(l.Data)-1])
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		var progress strings.Builder
		n, err := seed.Run(ctx, db, seed.Options{Project: scope.ProjectID, Customers: 120, Payments: 1500, Subscriptions: 12, Now: now,
			Seed: 7, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		if n.Customers != 120 || n.PaymentIntents != 1500 || n.Subscriptions != 12 || n.Products != 3 || n.Invoices == 0 || n.Events == 0 ||
			n.Refunds == 0 || n.Charges < 1200 {
			t.Errorf("counts = %+v", n)
		}
		if !strings.Contains(progress.String(), "customers 120 of 120") {
			t.Errorf("progress = %q", progress.String())
		}

		pis := all(t, func(p pay.Page) (pay.List[*pay.PaymentIntent], error) {
			return db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{}, p)
		}, func(pi *pay.PaymentIntent) string { return pi.ID })
		if len(pis) != 1500 {
			t.Fatalf("listed %d payment intents, want 1500", len(pis))
		}
		from := now.Add(-seed.Span).Unix()
		var succeeded, gbp int64
		statuses := map[string]int{}
		for _, pi := range pis {
			statuses[pi.Status]++
			if pi.Created < from || pi.Created > now.Unix() || pi.Scope.Livemode {
				t.Fatalf("payment intent %s created %d (want in [%d, %d]), livemode %v", pi.ID, pi.Created, from, now.Unix(), pi.Scope.Livemode)
			}
			if pi.Status == pay.StatusSucceeded && pi.Created >= now.Unix()-30*86400 {
				succeeded++
				if pi.Currency == "gbp" {
					gbp += pi.AmountReceived
				}
			}
		}
		if statuses[pay.StatusSucceeded] < 1200 || statuses[pay.StatusCanceled] == 0 || statuses[pay.StatusRequiresPaymentMethod] == 0 {
			t.Errorf("statuses = %v, want mostly succeeded, some canceled and requires_payment_method", statuses)
		}
		// The dashboard's sums agree with the rows.
		sum, err := db.RevenueSummary(ctx, scope, now.Unix()-30*86400)
		if err != nil {
			t.Fatal(err)
		}
		var count int64
		for _, r := range sum {
			count += r.Count
			if r.Currency == "gbp" && r.Amount != gbp {
				t.Errorf("RevenueSummary gbp = %d, want %d", r.Amount, gbp)
			}
		}
		if count != succeeded || succeeded == 0 {
			t.Errorf("RevenueSummary counts %d, want %d (not 0)", count, succeeded)
		}

		// A customer is found by its email; its card is its default.
		l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{}, pay.Page{Limit: 1})
		if err != nil || len(l.Data) != 1 {
			t.Fatalf("FindCustomers = %v, %v", l.Data, err)
		}
		c := l.Data[0]
		if c.Email == "" || c.Name == "" || c.DefaultPaymentMethod == "" {
			t.Errorf("customer = %+v, want a name, an email and a card", c)
		}
		byEmail, err := db.FindCustomers(ctx, scope, store.CustomerFilter{Email: c.Email}, pay.Page{Limit: 10})
		if err != nil || len(byEmail.Data) != 1 || byEmail.Data[0].ID != c.ID {
			t.Errorf("FindCustomers(email %s) = %v, %v", c.Email, byEmail.Data, err)
		}
		if _, err := db.FindPaymentMethod(ctx, scope, c.DefaultPaymentMethod); err != nil {
			t.Errorf("customer's card: %v", err)
		}

		// Subscriptions have an item and paid invoices, numbered in sequence.
		subs, err := db.FindSubscriptions(ctx, scope, store.SubscriptionFilter{}, pay.Page{Limit: 100})
		if err != nil || len(subs.Data) != 12 {
			t.Fatalf("FindSubscriptions = %d, %v; want 12", len(subs.Data), err)
		}
		s := subs.Data[0]
		for _, s := range subs.Data {
			if s.NextActionAt != 0 {
				t.Errorf("subscription %s next action at %d, want 0 (seeded cards cannot renew)", s.ID, s.NextActionAt)
			}
		}
		invs, err := db.FindInvoices(ctx, scope, store.InvoiceFilter{Subscription: s.ID}, pay.Page{Limit: 100})
		if err != nil || len(invs.Data) == 0 || len(s.Items) != 1 {
			t.Fatalf("subscription %s: %d items, invoices %d, %v", s.ID, len(s.Items), len(invs.Data), err)
		}
		for _, inv := range invs.Data {
			if inv.Status != pay.InvoiceStatusPaid || inv.AmountPaid != s.Items[0].Price.UnitAmount*s.Items[0].Quantity || inv.Number == "" {
				t.Errorf("invoice %+v, want paid, numbered, for the item's amount", inv)
			}
			pi, err := db.FindPaymentIntent(ctx, scope, inv.Payments[0].PaymentIntent)
			if err != nil || pi.Status != pay.StatusSucceeded || pi.AmountReceived != inv.AmountPaid {
				t.Errorf("invoice %s payment = %+v, %v", inv.ID, pi, err)
			}
		}

		// Events are the last 30 days', readable, and queue no webhooks.
		evs, err := db.FindEvents(ctx, scope, store.EventFilter{}, pay.Page{Limit: 100})
		if err != nil || len(evs.Data) == 0 {
			t.Fatalf("FindEvents = %d, %v", len(evs.Data), err)
		}
		for _, e := range evs.Data {
			if e.Created < now.Unix()-30*86400 || !strings.HasPrefix(string(e.Data), `{"object":{`) || e.PendingWebhooks != 0 {
				t.Errorf("event %s %s created %d, %d pending webhooks, data %.60s", e.ID, e.Type, e.Created, e.PendingWebhooks, e.Data)
			}
		}

		// Nothing in live mode; a second run adds as much again.
		if l, err := db.FindPaymentIntents(ctx, pay.Scope{ProjectID: scope.ProjectID, Livemode: true}, store.PaymentIntentFilter{}, pay.Page{Limit: 1}); err != nil || len(l.Data) != 0 {
			t.Errorf("live mode payment intents = %v, %v", l.Data, err)
		}
		if _, err := seed.Run(ctx, db, seed.Options{Project: scope.ProjectID, Customers: 10, Payments: 20, Subscriptions: 2, Now: now, Seed: 7}); err != nil {
			t.Fatalf("second run: %v", err)
		}
		custs := all(t, func(p pay.Page) (pay.List[*pay.Customer], error) {
			return db.FindCustomers(ctx, scope, store.CustomerFilter{}, p)
		}, func(c *pay.Customer) string { return c.ID })
		if len(custs) != 130 {
			t.Errorf("after a second run, %d customers, want 130", len(custs))
		}
	})
}
