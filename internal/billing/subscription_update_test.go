package billing_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// jan1 is 2026-01-01T00:00:00Z: a monthly subscription started then has a
// 31-day first period, to 1 February.
const jan1 int64 = 1767225600

// changeEnv is an invEnv whose billing runs on a clock the test sets.
type changeEnv struct {
	*invEnv
	clock atomic.Int64
}

func newChangeEnv(t *testing.T, postgres bool) *changeEnv {
	e := &changeEnv{invEnv: newInvEnv(t, postgres)}
	e.clock.Store(jan1)
	e.bill = billing.New(billing.Config{DB: e.db, Payments: e.pay, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:   func() time.Time { return time.Unix(e.clock.Load(), 0) },
		Crash: func(point string) bool { return e.crash.CompareAndSwap(point, "") }})
	return e
}

func changeDBs(t *testing.T, fn func(t *testing.T, e *changeEnv)) {
	storetest.Dialects(t, func(t *testing.T, postgres bool) { fn(t, newChangeEnv(t, postgres)) })
}

// containsJSON reports whether raw JSON contains s.
func containsJSON(raw []byte, s string) bool { return strings.Contains(string(raw), s) }

func (e *changeEnv) at(days int64) { e.clock.Store(jan1 + days*86400) }

func (e *changeEnv) keyed(key string) payments.Call {
	c := e.plain()
	c.Key = &payments.IdempotencyKey{Key: store.IdemKey{Scope: e.scope, Key: key}, Method: "POST", Path: "/v1/subscriptions/test",
		Fingerprint: key}
	return c
}

// declineFrom makes the customer's default card one that declines every
// charge.
func (e *changeEnv) declineFrom(t *testing.T, cus string) {
	t.Helper()
	ctx := context.Background()
	a, err := e.pay.AttachPaymentMethod(ctx, e.plain(), "pm_card_chargeCustomerFail", cus)
	if err != nil {
		t.Fatal(err)
	}
	pm := a.Object.(*pay.PaymentMethod).ID
	if _, err := e.pay.UpdateCustomer(ctx, e.plain(), cus, pay.CustomerUpdate{DefaultPaymentMethod: &pm}); err != nil {
		t.Fatal(err)
	}
}

func (e *changeEnv) update(t *testing.T, id string, p billing.SubscriptionParams) *pay.Subscription {
	t.Helper()
	return ok[*pay.Subscription](t, "update")(e.bill.UpdateSubscription(context.Background(), e.plain(), id, p))
}

// pendingOf returns the pending invoice items of subscription sub.
func (e *changeEnv) pendingOf(t *testing.T, sub string) []*pay.InvoiceItem {
	t.Helper()
	var out []*pay.InvoiceItem
	err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		out, err = tx.FindPendingSubscriptionItems(context.Background(), e.scope, sub)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *changeEnv) invoice(t *testing.T, id string) *pay.Invoice {
	t.Helper()
	inv, err := e.db.FindInvoice(context.Background(), e.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func amounts(items []*pay.InvoiceItem) []int64 {
	var out []int64
	for _, ii := range items {
		out = append(out, ii.Amount)
	}
	return out
}

func lineAmounts(inv *pay.Invoice) []int64 {
	var out []int64
	for _, l := range inv.Lines {
		out = append(out, l.Amount)
	}
	return out
}

func sorted(a []int64) []int64 {
	slices.Sort(a)
	return a
}

func TestProrate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ full, remaining, length, want int64 }{
		{1000, 21, 31, 677},  // 677.42
		{2000, 21, 31, 1355}, // 1354.84
		{3000, 21, 31, 2032}, // 2032.26
		{1, 1, 2, 1},         // a half rounds away from zero
		{-1, 1, 2, -1},
		{1000, 0, 31, 0},
		{1000, 40, 31, 1000}, // never more than the whole
		{99999999 * 1000000, 31535999, 31536000, 99999995829021}, // beyond int64 in between
	} {
		if got := pay.Prorate(c.full, c.remaining, c.length); got != c.want {
			t.Errorf("Prorate(%d, %d, %d) = %d, want %d", c.full, c.remaining, c.length, got, c.want)
		}
	}
}

func TestSubscriptionItemChanges(t *testing.T) {
	t.Parallel()
	changeDBs(t, func(t *testing.T, e *changeEnv) {
		ctx := context.Background()
		gold := e.recurring(t, "gbp", 1000, "month", 1)
		platinum := e.recurring(t, "gbp", 2000, "month", 1)
		seats := e.recurring(t, "gbp", 300, "month", 1)

		t.Run("upgrade with create_prorations", func(t *testing.T) {
			e.at(0)
			sub, first := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			si := sub.Items[0].ID
			e.at(10) // 21 of the period's 31 days remain
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: si, Price: platinum}}}})
			if up.Items[0].ID != si || up.Items[0].Price.ID != platinum || up.LatestInvoice != first.ID || up.CurrentPeriodEnd != sub.CurrentPeriodEnd {
				t.Fatalf("updated %+v", up)
			}
			items := e.pendingOf(t, sub.ID)
			if got := amounts(items); !slices.Equal(got, []int64{-677, 1355}) {
				t.Fatalf("prorations %v, want [-677 1355]", got)
			}
			credit, debit := items[0], items[1]
			if credit.Description != "Unused time on Plan after 11 Jan 2026" || debit.Description != "Remaining time on Plan after 11 Jan 2026" {
				t.Errorf("descriptions %q, %q", credit.Description, debit.Description)
			}
			for _, ii := range items {
				if !ii.Proration || ii.Subscription != sub.ID || ii.SubscriptionItem != si || ii.PeriodStart != jan1+10*86400 ||
					ii.PeriodEnd != sub.CurrentPeriodEnd || ii.Invoice != "" || ii.Created != jan1+10*86400 {
					t.Errorf("proration %+v", ii)
				}
			}
			if credit.Price != gold || debit.Price != platinum {
				t.Errorf("prices %s, %s", credit.Price, debit.Price)
			}
			// The events: one invoiceitem.created per proration, and the
			// update with the old items in previous_attributes.
			created := 0
			for _, ev := range e.events(t, "invoiceitem.created") {
				if ev.ObjectID == credit.ID || ev.ObjectID == debit.ID {
					created++
				}
			}
			if created != 2 {
				t.Errorf("%d invoiceitem.created events for the prorations", created)
			}
			var updated *pay.Event
			for _, ev := range e.events(t, "customer.subscription.updated") {
				if ev.ObjectID == sub.ID && updated == nil {
					updated = ev
				}
			}
			if updated == nil || !containsJSON(updated.Data, `"previous_attributes":{"items"`) {
				t.Errorf("customer.subscription.updated: %v", updated)
			}
		})

		t.Run("always_invoice charges at once", func(t *testing.T) {
			e.at(0)
			cus := e.customer(t, "pm_card_visa")
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: gold}}})
			sales := e.gw.sales.Load()
			e.at(10)
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{ProrationBehavior: billing.AlwaysInvoice,
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Quantity: ptr[int64](3)}}}})
			inv := e.invoice(t, up.LatestInvoice)
			if up.Status != pay.SubscriptionActive || inv.BillingReason != pay.BillingReasonSubscriptionUpdate || inv.Status != pay.InvoiceStatusPaid ||
				inv.Subscription != sub.ID {
				t.Fatalf("status %s, invoice %s %s", up.Status, inv.BillingReason, inv.Status)
			}
			if got := lineAmounts(inv); !slices.Equal(got, []int64{-677, 2032}) || inv.AmountPaid != 1355 {
				t.Errorf("lines %v, paid %d; want [-677 2032], 1355", got, inv.AmountPaid)
			}
			if inv.Lines[1].Description != "Remaining time on 3 × Plan after 11 Jan 2026" || !inv.Lines[1].Proration ||
				inv.Lines[1].SubscriptionItem != sub.Items[0].ID || inv.Lines[1].InvoiceItem == "" {
				t.Errorf("line %+v", inv.Lines[1])
			}
			if n := e.gw.sales.Load() - sales; n != 1 {
				t.Errorf("%d sales, want 1", n)
			}
			if len(e.pendingOf(t, sub.ID)) != 0 {
				t.Error("prorations left pending")
			}
		})

		t.Run("always_invoice retried under its key charges once", func(t *testing.T) {
			e.at(0)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(10)
			sales := e.gw.sales.Load()
			p := billing.SubscriptionParams{Changes: billing.Changes{ProrationBehavior: billing.AlwaysInvoice,
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}}
			call := e.keyed("upgrade-" + sub.ID)
			// The first try dies once its attempt is recorded, before the
			// charge; the retries resume it and then replay it.
			e.crash.Store("attempt-recorded")
			if _, err := e.bill.UpdateSubscription(ctx, call, sub.ID, p); err == nil {
				t.Fatal("the crash point was not reached")
			}
			first := ok[*pay.Subscription](t, "retry")(e.bill.UpdateSubscription(ctx, call, sub.ID, p))
			again, err := e.bill.UpdateSubscription(ctx, call, sub.ID, p)
			if err != nil || !again.Replayed {
				t.Fatalf("second retry: %+v %v, want a replay", again, err)
			}
			inv := e.invoice(t, first.LatestInvoice)
			if n := e.gw.sales.Load() - sales; n != 1 || inv.Status != pay.InvoiceStatusPaid || inv.AmountPaid != 678 {
				t.Errorf("%d sales, invoice %s paid %d; want 1 sale of 678", n, inv.Status, inv.AmountPaid)
			}
			if l, _ := e.db.FindInvoices(ctx, e.scope, store.InvoiceFilter{Customer: sub.Customer}, pay.Page{Limit: 10}); len(l.Data) != 2 {
				t.Errorf("%d invoices, want the first and one update's", len(l.Data))
			}
		})

		t.Run("a declined change leaves the subscription past_due", func(t *testing.T) {
			e.at(0)
			cus := e.customer(t, "pm_card_visa")
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.declineFrom(t, cus)
			e.at(10)
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{ProrationBehavior: billing.AlwaysInvoice,
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}})
			inv := e.invoice(t, up.LatestInvoice)
			if up.Status != pay.SubscriptionPastDue || inv.Status != pay.InvoiceStatusOpen || inv.AttemptCount != 1 || up.Items[0].Price.ID != platinum {
				t.Errorf("status %s, invoice %s attempts %d", up.Status, inv.Status, inv.AttemptCount)
			}
			// default_incomplete: not charged, past_due.
			sub2, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			sales := e.gw.sales.Load()
			up2 := e.update(t, sub2.ID, billing.SubscriptionParams{PaymentBehavior: billing.DefaultIncomplete, Changes: billing.Changes{
				ProrationBehavior: billing.AlwaysInvoice, ItemChanges: []billing.ItemChange{{ID: sub2.Items[0].ID, Price: platinum}}}})
			if inv := e.invoice(t, up2.LatestInvoice); up2.Status != pay.SubscriptionPastDue || inv.Status != pay.InvoiceStatusOpen || inv.Attempted ||
				e.gw.sales.Load() != sales {
				t.Errorf("default_incomplete: %s, invoice %s attempted %v", up2.Status, inv.Status, inv.Attempted)
			}
		})

		t.Run("a downgrade's net credit stays pending", func(t *testing.T) {
			e.at(0)
			sub, first := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: platinum}}})
			e.at(10)
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{ProrationBehavior: billing.AlwaysInvoice,
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: gold}}}})
			if got := amounts(e.pendingOf(t, sub.ID)); up.LatestInvoice != first.ID || !slices.Equal(got, []int64{-1355, 677}) {
				t.Errorf("latest invoice %s, pending %v", up.LatestInvoice, got)
			}
		})

		t.Run("add and remove items", func(t *testing.T) {
			e.at(0)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(10)
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{Price: seats, Quantity: ptr[int64](2), Metadata: pay.MetadataUpdate{Set: map[string]string{"k": "v"}}}}}})
			if len(up.Items) != 2 || up.Items[1].Price.ID != seats || up.Items[1].Quantity != 2 || up.Items[1].Metadata["k"] != "v" ||
				up.Items[1].Created != jan1+10*86400 {
				t.Fatalf("items %+v", up.Items)
			}
			if got := amounts(e.pendingOf(t, sub.ID)); !slices.Equal(got, []int64{406}) { // 600 × 21/31 = 406.45
				t.Errorf("prorations of an added item %v", got)
			}
			e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: up.Items[1].ID, Deleted: true}}}})
			if got := amounts(e.pendingOf(t, sub.ID)); !slices.Equal(got, []int64{406, -406}) {
				t.Errorf("after removing it %v", got)
			}
			got, _ := e.db.FindSubscription(ctx, e.scope, sub.ID)
			if len(got.Items) != 1 {
				t.Errorf("%d items left", len(got.Items))
			}
			// proration_behavior=none: no prorations.
			e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{ProrationBehavior: billing.NoProrations,
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Quantity: ptr[int64](5)}}}})
			if n := len(e.pendingOf(t, sub.ID)); n != 2 {
				t.Errorf("none made prorations: %d pending", n)
			}
		})

		t.Run("price_data", func(t *testing.T) {
			e.at(0)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(10)
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID,
				PriceData: &billing.RecurringPriceData{Currency: "gbp", Product: sub.Items[0].Price.Product, UnitAmount: 2000,
					Recurring: pay.Recurring{Interval: "month", IntervalCount: 1}}}}}})
			if p := up.Items[0].Price; p.ID == gold || p.Active || p.UnitAmount != 2000 || p.Recurring == nil {
				t.Errorf("inline price %+v", p)
			}
			if got := sorted(amounts(e.pendingOf(t, sub.ID))); !slices.Equal(got, []int64{-677, 1355}) {
				t.Errorf("prorations %v", got)
			}
			_, err := e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Prefix: "items[0]", PriceData: &billing.RecurringPriceData{Currency: "gbp",
					Product: "prod_nope", UnitAmount: 2000, Recurring: pay.Recurring{Interval: "month", IntervalCount: 1}}}}}})
			refused(t, "price_data of no product", err, 404, "items[0][price_data][product]")
		})

		t.Run("proration_date", func(t *testing.T) {
			e.at(0)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(12)
			e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{ProrationDate: ptr(jan1 + 10*86400),
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}})
			if got := amounts(e.pendingOf(t, sub.ID)); !slices.Equal(got, []int64{-677, 1355}) {
				t.Errorf("prorations as of day 10: %v", got)
			}
		})

		t.Run("a new interval starts a new period, invoiced at once", func(t *testing.T) {
			e.at(0)
			// (amounts from 1.00 to 24.99 succeed in the sandbox)
			yearly := e.recurring(t, "gbp", 3000, "year", 1)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(10)
			now := jan1 + 10*86400
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: yearly}}}})
			inv := e.invoice(t, up.LatestInvoice)
			if up.CurrentPeriodStart != now || up.CurrentPeriodEnd != pay.AddIntervals(now, "year", 1, 1) || up.BillingCycleAnchor != now {
				t.Errorf("period %d–%d anchor %d", up.CurrentPeriodStart, up.CurrentPeriodEnd, up.BillingCycleAnchor)
			}
			if got := lineAmounts(inv); inv.Status != pay.InvoiceStatusPaid || !slices.Equal(got, []int64{3000, -677}) || inv.AmountPaid != 2323 {
				t.Errorf("invoice %s lines %v paid %d", inv.Status, got, inv.AmountPaid)
			}
			if l := inv.Lines[0]; l.Proration || l.PeriodStart != now || l.PeriodEnd != up.CurrentPeriodEnd || l.SubscriptionItem != sub.Items[0].ID {
				t.Errorf("period line %+v", l)
			}
		})

		t.Run("billing_cycle_anchor=now without prorations", func(t *testing.T) {
			e.at(0)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(10)
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{BillingCycleAnchorNow: true, ProrationBehavior: billing.NoProrations}})
			if inv := e.invoice(t, up.LatestInvoice); !slices.Equal(lineAmounts(inv), []int64{1000}) || up.BillingCycleAnchor != jan1+10*86400 {
				t.Errorf("invoice lines %v, anchor %d", lineAmounts(inv), up.BillingCycleAnchor)
			}
		})

		t.Run("trials", func(t *testing.T) {
			e.at(0)
			cus := e.customer(t, "pm_card_visa")
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, TrialPeriodDays: ptr[int64](14),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(2)
			// Changes in a trial make no prorations.
			up := e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{ProrationBehavior: billing.AlwaysInvoice,
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}})
			if up.Status != pay.SubscriptionTrialing || up.LatestInvoice != sub.LatestInvoice || len(e.pendingOf(t, sub.ID)) != 0 {
				t.Errorf("in a trial: %s, latest %s, %d pending", up.Status, up.LatestInvoice, len(e.pendingOf(t, sub.ID)))
			}
			// Extending it.
			up = e.update(t, sub.ID, billing.SubscriptionParams{TrialEnd: ptr(jan1 + 20*86400)})
			// (the scheduler's next work: invoice.upcoming, seven days before)
			if up.TrialEnd != jan1+20*86400 || up.CurrentPeriodEnd != up.TrialEnd || up.NextActionAt != up.TrialEnd-pay.UpcomingNotice {
				t.Errorf("extended: trial end %d period end %d next %d", up.TrialEnd, up.CurrentPeriodEnd, up.NextActionAt)
			}
			// Ending it now: a new period, invoiced and charged.
			e.at(3)
			now := jan1 + 3*86400
			up = e.update(t, sub.ID, billing.SubscriptionParams{TrialEnd: new(int64), TrialEndNow: true})
			inv := e.invoice(t, up.LatestInvoice)
			if up.Status != pay.SubscriptionActive || up.TrialEnd != now || up.CurrentPeriodStart != now || inv.Status != pay.InvoiceStatusPaid ||
				inv.AmountPaid != 2000 {
				t.Errorf("trial ended: %s trial end %d, invoice %s paid %d", up.Status, up.TrialEnd, inv.Status, inv.AmountPaid)
			}
			// A trial added to an active subscription credits the unused time.
			e.at(13) // 21 of 31 days from day 3 remain... of the new period: 31 days to 3 February
			up = e.update(t, sub.ID, billing.SubscriptionParams{TrialEnd: ptr(jan1 + 40*86400)})
			if got := amounts(e.pendingOf(t, sub.ID)); up.Status != pay.SubscriptionTrialing || !slices.Equal(got, []int64{-1355}) ||
				up.CurrentPeriodEnd != jan1+40*86400 {
				t.Errorf("trial added: %s, pending %v", up.Status, got)
			}
		})

		t.Run("bad input writes nothing", func(t *testing.T) {
			e.at(0)
			cus := e.customer(t, "pm_card_visa")
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: gold}}})
			si := sub.Items[0].ID
			oneOff := ok[*pay.Price](t, "one-off price")(e.bill.CreatePrice(ctx, e.plain(), billing.PriceParams{
				PriceData: billing.PriceData{Currency: "gbp", UnitAmount: 100}, ProductData: &billing.ProductParams{Product: pay.ProductUpdate{Name: ptr("X")}}})).ID
			inactive := ok[*pay.Price](t, "inactive price")(e.bill.CreatePrice(ctx, e.plain(), billing.PriceParams{Active: ptr(false),
				PriceData:   billing.PriceData{Currency: "gbp", UnitAmount: 100, Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}},
				ProductData: &billing.ProductParams{Product: pay.ProductUpdate{Name: ptr("X")}}})).ID
			usd := &pay.Price{Scope: e.scope, Product: "prod_x", Active: true, Currency: "usd", UnitAmount: 100,
				Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}, TaxBehavior: pay.TaxBehaviorUnspecified}
			if err := e.db.Tx(ctx, func(tx *store.Tx) error { return tx.CreatePrice(ctx, usd) }); err != nil {
				t.Fatal(err)
			}
			change := func(ch ...billing.ItemChange) billing.SubscriptionParams {
				return billing.SubscriptionParams{Changes: billing.Changes{ItemChanges: ch}}
			}
			e.at(10)
			for _, c := range []struct {
				name   string
				p      billing.SubscriptionParams
				status int
				param  string
			}{
				{"quantity 0", change(billing.ItemChange{ID: si, Quantity: ptr[int64](0), Prefix: "items[0]"}), 400, "items[0][quantity]"},
				{"inactive price", change(billing.ItemChange{ID: si, Price: inactive, Prefix: "items[0]"}), 400, "items[0][price]"},
				{"one-time price", change(billing.ItemChange{Price: oneOff, Prefix: "items[0]"}), 400, "items[0][price]"},
				{"another currency", change(billing.ItemChange{ID: si, Price: usd.ID, Prefix: "items[0]"}), 400, "items[0][price]"},
				{"no such price", change(billing.ItemChange{ID: si, Price: "price_nope", Prefix: "items[0]"}), 404, "items[0][price]"},
				{"unknown item", change(billing.ItemChange{ID: "si_nope", Quantity: ptr[int64](2), Prefix: "items[0]"}), 404, "items[0][id]"},
				{"the last item removed", change(billing.ItemChange{ID: si, Deleted: true, Prefix: "items[0]"}), 400, "items[0][deleted]"},
				{"the same price twice", change(billing.ItemChange{Price: gold, Prefix: "items[0]"}), 400, "items[0][price]"},
				{"a new item without a price", change(billing.ItemChange{Quantity: ptr[int64](2), Prefix: "items[1]"}), 400, "items[1][price]"},
				{"two intervals", change(billing.ItemChange{Price: e.recurring(t, "gbp", 100, "year", 1), Prefix: "items[0]"}), 400, "items[0][price]"},
				{"trial_end in the past", billing.SubscriptionParams{TrialEnd: ptr(jan1)}, 400, "trial_end"},
				{"proration_date outside the period", billing.SubscriptionParams{Changes: billing.Changes{ProrationDate: ptr(jan1 - 1),
					ItemChanges: []billing.ItemChange{{ID: si, Quantity: ptr[int64](2)}}}}, 400, "proration_date"},
				{"pause_collection resuming in the past", billing.SubscriptionParams{Changes: billing.Changes{
					PauseCollection: ptr(&pay.PauseCollection{Behavior: pay.PauseVoid, ResumesAt: jan1})}}, 400, "pause_collection[resumes_at]"},
			} {
				before := len(e.events(t, ""))
				_, err := e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, c.p)
				refused(t, c.name, err, c.status, c.param)
				if after := len(e.events(t, "")); after != before {
					t.Errorf("%s wrote %d events", c.name, after-before)
				}
			}
			if got, _ := e.db.FindSubscription(ctx, e.scope, sub.ID); len(got.Items) != 1 || got.Items[0].Quantity != 1 || got.Items[0].Price.ID != gold ||
				len(e.pendingOf(t, sub.ID)) != 0 {
				t.Errorf("refused changes wrote: %+v", got.Items[0])
			}
			ok[*pay.Subscription](t, "cancel")(e.bill.CancelSubscription(ctx, e.plain(), sub.ID, billing.CancelParams{}))
			_, err := e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, change(billing.ItemChange{ID: si, Quantity: ptr[int64](2)}))
			refused(t, "a canceled subscription", err, 400, "")
			_, err = e.bill.ResumeSubscription(ctx, e.plain(), sub.ID, billing.ResumeParams{})
			refused(t, "resume a canceled subscription", err, 400, "")
		})

		t.Run("pause_collection, trial settings and cancellation details", func(t *testing.T) {
			e.at(0)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"), TrialMissingPaymentMethod: pay.TrialEndPause,
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			if sub.TrialMissingPaymentMethod != pay.TrialEndPause {
				t.Errorf("trial settings at creation: %q", sub.TrialMissingPaymentMethod)
			}
			up := e.update(t, sub.ID, billing.SubscriptionParams{TrialMissingPaymentMethod: pay.TrialEndCancel, CancelAtPeriodEnd: ptr(true),
				Changes: billing.Changes{PauseCollection: ptr(&pay.PauseCollection{Behavior: pay.PauseKeepAsDraft, ResumesAt: jan1 + 5*86400}),
					CancellationComment: ptr("Too dear"), CancellationFeedback: ptr("too_expensive")}})
			if up.PauseCollection == nil || up.PauseCollection.Behavior != pay.PauseKeepAsDraft || up.PauseCollection.ResumesAt != jan1+5*86400 ||
				up.TrialMissingPaymentMethod != pay.TrialEndCancel || up.CancellationReason != pay.CancellationRequested ||
				up.CancellationComment != "Too dear" || up.CancellationFeedback != "too_expensive" {
				t.Errorf("updated %+v", up)
			}
			var unset *pay.PauseCollection
			up = e.update(t, sub.ID, billing.SubscriptionParams{CancelAtPeriodEnd: ptr(false), Changes: billing.Changes{PauseCollection: &unset}})
			if up.PauseCollection != nil || up.CancellationReason != "" {
				t.Errorf("unpaused: %+v, reason %q", up.PauseCollection, up.CancellationReason)
			}
		})
	})
}

func TestSubscriptionItemOperations(t *testing.T) {
	t.Parallel()
	changeDBs(t, func(t *testing.T, e *changeEnv) {
		ctx := context.Background()
		gold := e.recurring(t, "gbp", 1000, "month", 1)
		seats := e.recurring(t, "gbp", 300, "month", 1)
		sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
			Items: []billing.SubscriptionItemParams{{Price: gold}}})
		e.at(10)
		one := func(ch billing.ItemChange) billing.SubscriptionParams {
			return billing.SubscriptionParams{Changes: billing.Changes{ItemChanges: []billing.ItemChange{ch}}}
		}
		it := ok[*pay.SubscriptionItem](t, "create item")(e.bill.UpdateSubscriptionItem(ctx, e.plain(), sub.ID,
			one(billing.ItemChange{Price: seats, Quantity: ptr[int64](2)})))
		if it.ID == "" || it.Subscription != sub.ID || it.Quantity != 2 || it.CurrentPeriodEnd != sub.CurrentPeriodEnd {
			t.Fatalf("created %+v", it)
		}
		it = ok[*pay.SubscriptionItem](t, "update item")(e.bill.UpdateSubscriptionItem(ctx, e.plain(), sub.ID,
			one(billing.ItemChange{ID: it.ID, Quantity: ptr[int64](4)})))
		if it.Quantity != 4 {
			t.Errorf("updated %+v", it)
		}
		del := ok[*pay.SubscriptionItem](t, "delete item")(e.bill.UpdateSubscriptionItem(ctx, e.plain(), sub.ID,
			one(billing.ItemChange{ID: it.ID, Deleted: true})))
		if !del.Deleted || del.ID != it.ID {
			t.Errorf("deleted %+v", del)
		}
		// 600 and 1200 a month over 21 of 31 days: +406, then -406 +813,
		// then -813.
		if got := amounts(e.pendingOf(t, sub.ID)); !slices.Equal(got, []int64{406, -406, 813, -813}) {
			t.Errorf("prorations %v", got)
		}
		_, err := e.bill.UpdateSubscriptionItem(ctx, e.plain(), sub.ID, one(billing.ItemChange{ID: sub.Items[0].ID, Deleted: true}))
		refused(t, "delete the last item", err, 400, "id")
	})
}

func TestCancelAndResume(t *testing.T) {
	t.Parallel()
	changeDBs(t, func(t *testing.T, e *changeEnv) {
		ctx := context.Background()
		gold := e.recurring(t, "gbp", 1000, "month", 1)
		platinum := e.recurring(t, "gbp", 2000, "month", 1)
		start := func(t *testing.T) *pay.Subscription {
			e.at(0)
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: gold}}})
			e.at(10)
			return sub
		}
		cancel := func(t *testing.T, id string, p billing.CancelParams) *pay.Subscription {
			return ok[*pay.Subscription](t, "cancel")(e.bill.CancelSubscription(ctx, e.plain(), id, p))
		}

		t.Run("invoice_now and prorate", func(t *testing.T) {
			sub := start(t)
			// An upgrade's prorations are pending: +678 net.
			e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}})
			sales := e.gw.sales.Load()
			c := cancel(t, sub.ID, billing.CancelParams{InvoiceNow: true, Prorate: true, Comment: ptr("moving"), Feedback: ptr("unused")})
			inv := e.invoice(t, c.LatestInvoice)
			if c.Status != pay.SubscriptionCanceled || c.CanceledAt != jan1+10*86400 || c.CancellationReason != pay.CancellationRequested ||
				c.CancellationComment != "moving" || c.CancellationFeedback != "unused" {
				t.Errorf("canceled %+v", c)
			}
			// The credit for platinum's unused 21 days, and the pending
			// prorations: -1355 - 677 + 1355 = -677: nothing due.
			if got := sorted(lineAmounts(inv)); !slices.Equal(got, []int64{-1355, -677, 1355}) || inv.Total != -677 || inv.AmountDue != 0 ||
				inv.Status != pay.InvoiceStatusPaid || e.gw.sales.Load() != sales {
				t.Errorf("final invoice lines %v total %d due %d %s", got, inv.Total, inv.AmountDue, inv.Status)
			}
			if len(e.pendingOf(t, sub.ID)) != 0 {
				t.Error("items left pending")
			}
		})

		t.Run("invoice_now charges what is due", func(t *testing.T) {
			sub := start(t)
			e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}})
			sales := e.gw.sales.Load()
			c := cancel(t, sub.ID, billing.CancelParams{InvoiceNow: true})
			if inv := e.invoice(t, c.LatestInvoice); inv.Status != pay.InvoiceStatusPaid || inv.AmountPaid != 678 || e.gw.sales.Load() != sales+1 ||
				inv.BillingReason != pay.BillingReasonSubscriptionUpdate {
				t.Errorf("final invoice %s paid %d", inv.Status, inv.AmountPaid)
			}
		})

		t.Run("prorate alone leaves a credit the next invoice takes", func(t *testing.T) {
			sub := start(t)
			c := cancel(t, sub.ID, billing.CancelParams{Prorate: true})
			if c.LatestInvoice != sub.LatestInvoice {
				t.Error("a final invoice without invoice_now")
			}
			credit := e.pendingOf(t, sub.ID)
			if !slices.Equal(amounts(credit), []int64{-677}) {
				t.Fatalf("credit %v", amounts(credit))
			}
			inv := ok[*pay.Invoice](t, "manual invoice")(e.bill.CreateInvoice(ctx, e.plain(), billing.InvoiceParams{Customer: sub.Customer,
				Currency: "gbp", IncludePending: true}))
			if !slices.Equal(lineAmounts(inv), []int64{-677}) {
				t.Errorf("the next invoice took %v", lineAmounts(inv))
			}
		})

		t.Run("neither removes pending prorations", func(t *testing.T) {
			sub := start(t)
			e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}})
			pending := e.pendingOf(t, sub.ID)
			cancel(t, sub.ID, billing.CancelParams{})
			if n := len(e.pendingOf(t, sub.ID)); n != 0 {
				t.Errorf("%d prorations left", n)
			}
			deleted := 0
			for _, ev := range e.events(t, "invoiceitem.deleted") {
				if ev.ObjectID == pending[0].ID || ev.ObjectID == pending[1].ID {
					deleted++
				}
			}
			if deleted != 2 {
				t.Errorf("%d invoiceitem.deleted", deleted)
			}
		})

		t.Run("another subscription's prorations stay its own", func(t *testing.T) {
			sub := start(t)
			other, _ := e.subscribe(t, billing.SubscriptionParams{Customer: sub.Customer, Items: []billing.SubscriptionItemParams{{Price: platinum}}})
			e.update(t, sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Price: platinum}}}})
			up := e.update(t, other.ID, billing.SubscriptionParams{Changes: billing.Changes{ProrationBehavior: billing.AlwaysInvoice,
				ItemChanges: []billing.ItemChange{{ID: other.Items[0].ID, Quantity: ptr[int64](2)}}}})
			inv := e.invoice(t, up.LatestInvoice)
			for _, l := range inv.Lines {
				if l.SubscriptionItem == sub.Items[0].ID {
					t.Errorf("%s's invoice took %s's proration %+v", other.ID, sub.ID, l)
				}
			}
			if n := len(e.pendingOf(t, sub.ID)); n != 2 {
				t.Errorf("%d of %s's prorations pending, want 2", n, sub.ID)
			}
		})

		pause := func(t *testing.T, sub *pay.Subscription) {
			// Only the scheduler pauses (a trial ending without a payment
			// method): set the status as it would.
			err := e.db.Tx(ctx, func(tx *store.Tx) error {
				s, err := tx.FindSubscription(ctx, e.scope, sub.ID)
				if err != nil {
					return err
				}
				s.Status = pay.SubscriptionPaused
				return tx.UpdateSubscription(ctx, s)
			})
			if err != nil {
				t.Fatal(err)
			}
		}

		t.Run("resume", func(t *testing.T) {
			sub := start(t)
			_, err := e.bill.ResumeSubscription(ctx, e.plain(), sub.ID, billing.ResumeParams{})
			refused(t, "resume an active subscription", err, 400, "")
			pause(t, sub)
			_, err = e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, billing.SubscriptionParams{Changes: billing.Changes{
				ItemChanges: []billing.ItemChange{{ID: sub.Items[0].ID, Quantity: ptr[int64](2)}}}})
			refused(t, "change a paused subscription's items", err, 400, "")
			r := ok[*pay.Subscription](t, "resume")(e.bill.ResumeSubscription(ctx, e.plain(), sub.ID, billing.ResumeParams{}))
			inv := e.invoice(t, r.LatestInvoice)
			now := jan1 + 10*86400
			if r.Status != pay.SubscriptionActive || r.CurrentPeriodStart != now || r.BillingCycleAnchor != now || inv.Status != pay.InvoiceStatusPaid ||
				inv.AmountPaid != 1000 || inv.BillingReason != pay.BillingReasonSubscriptionUpdate {
				t.Errorf("resumed %s from %d, invoice %s paid %d", r.Status, r.CurrentPeriodStart, inv.Status, inv.AmountPaid)
			}
			found := false
			for _, ev := range e.events(t, "customer.subscription.resumed") {
				found = found || ev.ObjectID == sub.ID
			}
			if !found {
				t.Error("no customer.subscription.resumed")
			}
		})

		t.Run("resume on the unchanged cycle", func(t *testing.T) {
			sub := start(t)
			pause(t, sub)
			r := ok[*pay.Subscription](t, "resume")(e.bill.ResumeSubscription(ctx, e.plain(), sub.ID,
				billing.ResumeParams{BillingCycleAnchorUnchanged: true}))
			if r.Status != pay.SubscriptionActive || r.CurrentPeriodEnd != sub.CurrentPeriodEnd || r.LatestInvoice != sub.LatestInvoice {
				t.Errorf("resumed %s to %d, latest %s", r.Status, r.CurrentPeriodEnd, r.LatestInvoice)
			}
			if got := amounts(e.pendingOf(t, sub.ID)); !slices.Equal(got, []int64{677}) {
				t.Errorf("the rest of the period: %v", got)
			}
		})

		t.Run("resume with a declining card", func(t *testing.T) {
			sub := start(t)
			e.declineFrom(t, sub.Customer)
			pause(t, sub)
			r := ok[*pay.Subscription](t, "resume")(e.bill.ResumeSubscription(ctx, e.plain(), sub.ID, billing.ResumeParams{}))
			if r.Status != pay.SubscriptionPastDue {
				t.Errorf("resumed with a decline: %s", r.Status)
			}
		})
	})
}

// TestChangesWithTheScheduler runs changes on a test clock with the
// billing scheduler: a renewal takes its own subscription's prorations
// and not another's, and a subscription the scheduler paused at its
// trial's end resumes.
func TestChangesWithTheScheduler(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		gold := e.recurring(t, "gbp", 600, "month", 1)
		platinum := e.recurring(t, "gbp", 1000, "month", 1)
		a, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: gold}}})
		b, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: platinum}}})

		// Ten days in (21 of 31 left), a's upgrade: −406 and +677 pending,
		// dated by the clock.
		e.advance(t, clock, t0+10*86400)
		up := ok[*pay.Subscription](t, "upgrade")(e.bill.UpdateSubscription(ctx, e.plain(), a.ID, billing.SubscriptionParams{Changes: billing.Changes{
			ItemChanges: []billing.ItemChange{{ID: a.Items[0].ID, Price: platinum}}}}))
		if up.Items[0].Price.ID != platinum {
			t.Fatalf("upgraded %+v", up.Items[0])
		}
		l, err := e.db.FindInvoiceItems(ctx, e.scope, store.InvoiceItemFilter{Customer: cus, Pending: ptr(true)}, pay.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := sorted(amounts(l.Data)); !slices.Equal(got, []int64{-406, 677}) || l.Data[0].Created != t0+10*86400 {
			t.Fatalf("pending %v, dated %d", got, l.Data[0].Created)
		}

		// Past the period's end and the hour before the charge: a's
		// renewal takes them; b's does not.
		e.advance(t, clock, a.CurrentPeriodEnd+2*3600)
		renewal := func(sub *pay.Subscription) *pay.Invoice {
			invs := e.invoicesOf(t, e.sub(t, sub.ID))
			inv := invs[len(invs)-1]
			if inv.BillingReason != pay.BillingReasonSubscriptionCycle || inv.Status != pay.InvoiceStatusPaid {
				t.Fatalf("%s's renewal: %s %s", sub.ID, inv.BillingReason, inv.Status)
			}
			return inv
		}
		if inv := renewal(a); !slices.Equal(sorted(lineAmounts(inv)), []int64{-406, 677, 1000}) || inv.AmountPaid != 1271 {
			t.Errorf("a's renewal lines %v paid %d", lineAmounts(inv), inv.AmountPaid)
		}
		if inv := renewal(b); !slices.Equal(lineAmounts(inv), []int64{1000}) {
			t.Errorf("b's renewal lines %v", lineAmounts(inv))
		}

		// A declined always_invoice change is past_due, and the scheduler
		// retries its invoice on the dunning schedule.
		declined := e.clockCustomer(t, clock, "pm_card_visa")
		c, _ := e.subscribe(t, billing.SubscriptionParams{Customer: declined, Items: []billing.SubscriptionItemParams{{Price: gold}}})
		e.setCard(t, declined, "pm_card_chargeCustomerFail")
		c = ok[*pay.Subscription](t, "declined upgrade")(e.bill.UpdateSubscription(ctx, e.plain(), c.ID, billing.SubscriptionParams{
			Changes: billing.Changes{ProrationBehavior: billing.AlwaysInvoice, ItemChanges: []billing.ItemChange{{ID: c.Items[0].ID, Price: platinum}}}}))
		if c.Status != pay.SubscriptionPastDue {
			t.Errorf("declined upgrade: %s", c.Status)
		}
		e.advance(t, clock, a.CurrentPeriodEnd+5*3600)
		if inv, _ := e.db.FindInvoice(ctx, e.scope, c.LatestInvoice); inv.AttemptCount < 2 || inv.Status != pay.InvoiceStatusOpen {
			t.Errorf("the scheduler did not retry the change's invoice: %d attempts, %s", inv.AttemptCount, inv.Status)
		}

		// A trial ending without a payment method pauses its subscription
		// (trial_settings pause); with a card, resuming bills a new period
		// from the clock's time.
		bare := e.clockCustomer(t, clock, "")
		now := a.CurrentPeriodEnd + 5*3600
		trial, _ := e.subscribe(t, billing.SubscriptionParams{Customer: bare, TrialPeriodDays: ptr[int64](1), TrialMissingPaymentMethod: pay.TrialEndPause,
			Items: []billing.SubscriptionItemParams{{Price: gold}}})
		e.advance(t, clock, now+2*86400)
		if got := e.sub(t, trial.ID); got.Status != pay.SubscriptionPaused {
			t.Fatalf("after the trial: %s", got.Status)
		}
		e.setCard(t, bare, "pm_card_visa")
		r := ok[*pay.Subscription](t, "resume")(e.bill.ResumeSubscription(ctx, e.plain(), trial.ID, billing.ResumeParams{}))
		inv, err := e.db.FindInvoice(ctx, e.scope, r.LatestInvoice)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != pay.SubscriptionActive || r.CurrentPeriodStart != now+2*86400 || inv.Status != pay.InvoiceStatusPaid || inv.AmountPaid != 600 ||
			inv.Created != now+2*86400 {
			t.Errorf("resumed %s from %d; invoice %s paid %d created %d", r.Status, r.CurrentPeriodStart, inv.Status, inv.AmountPaid, inv.Created)
		}
		if e.count(t, "customer.subscription.resumed", trial.ID) != 1 {
			t.Error("no customer.subscription.resumed")
		}
		// The scheduler has nothing left to do with the paid invoice.
		e.advance(t, clock, now+3*86400)
		if got, _ := e.db.FindInvoice(ctx, e.scope, inv.ID); got.AttemptCount != 1 || len(got.Payments) != 1 {
			t.Errorf("resumption invoice after the scheduler ran: %d attempts", got.AttemptCount)
		}
	})
}
