package billing_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// recurring makes an active recurring price of a new product.
func (e *invEnv) recurring(t *testing.T, currency string, amount int64, interval string, count int64) string {
	t.Helper()
	p := ok[*pay.Price](t, "create price")(e.bill.CreatePrice(context.Background(), e.plain(), billing.PriceParams{
		PriceData:   billing.PriceData{Currency: currency, UnitAmount: amount, Recurring: &pay.Recurring{Interval: interval, IntervalCount: count}},
		ProductData: &billing.ProductParams{Product: pay.ProductUpdate{Name: ptr("Plan")}}}))
	return p.ID
}

func (e *invEnv) subscribe(t *testing.T, p billing.SubscriptionParams) (*pay.Subscription, *pay.Invoice) {
	t.Helper()
	ctx := context.Background()
	sub := ok[*pay.Subscription](t, "create subscription")(e.bill.CreateSubscription(ctx, e.plain(), p))
	inv, err := e.db.FindInvoice(ctx, e.scope, sub.LatestInvoice)
	if err != nil {
		t.Fatal(err)
	}
	return sub, inv
}

func subEventTypes(evs []*pay.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestCreateSubscription(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		monthly := e.recurring(t, "gbp", 1000, "month", 1)
		seats := e.recurring(t, "gbp", 250, "month", 1)
		vat := e.rate(t, 20*pay.PercentUnit, false)

		t.Run("paid on-session", func(t *testing.T) {
			cus := e.customer(t, "pm_card_visa")
			sub, inv := e.subscribe(t, billing.SubscriptionParams{Customer: cus, DefaultTaxRates: &[]string{vat},
				Items: []billing.SubscriptionItemParams{{Price: monthly}, {Price: seats, Quantity: ptr[int64](3)}}})
			if sub.Status != pay.SubscriptionActive || inv.Status != pay.InvoiceStatusPaid {
				t.Fatalf("status %s, invoice %s", sub.Status, inv.Status)
			}
			if inv.Total != (1000+750)*120/100 || inv.BillingReason != pay.BillingReasonSubscriptionCreate || inv.Subscription != sub.ID {
				t.Errorf("invoice total %d reason %q subscription %q", inv.Total, inv.BillingReason, inv.Subscription)
			}
			if len(inv.Lines) != 2 || inv.Lines[1].SubscriptionItem != sub.Items[1].ID || inv.Lines[1].PeriodEnd != sub.CurrentPeriodEnd {
				t.Errorf("lines %+v", inv.Lines)
			}
			if want := pay.AddIntervals(sub.CurrentPeriodStart, "month", 1, 1); sub.CurrentPeriodEnd != want || sub.NextActionAt != want-pay.UpcomingNotice {
				t.Errorf("period end %d next %d, want %d", sub.CurrentPeriodEnd, sub.NextActionAt, want)
			}
			pi, err := e.db.FindPaymentIntent(ctx, e.scope, inv.Payments[0].PaymentIntent)
			if err != nil || pi.Status != pay.StatusSucceeded {
				t.Errorf("payment intent %+v %v: want succeeded", pi, err)
			}
			types := subEventTypes(e.events(t, ""))
			for _, want := range []string{"customer.subscription.created", "customer.subscription.updated", "invoice.created",
				"invoice.finalized", "invoice.paid", "invoice.payment_succeeded"} {
				if !slices.Contains(types, want) {
					t.Errorf("no %s event in %v", want, types)
				}
			}
		})

		t.Run("trial", func(t *testing.T) {
			cus := e.customer(t, "")
			sub, inv := e.subscribe(t, billing.SubscriptionParams{Customer: cus, TrialPeriodDays: ptr[int64](14),
				Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			if sub.Status != pay.SubscriptionTrialing || sub.TrialEnd != sub.TrialStart+14*86400 || sub.CurrentPeriodEnd != sub.TrialEnd ||
				sub.NextActionAt != sub.TrialEnd-pay.UpcomingNotice {
				t.Errorf("trial subscription %+v", sub)
			}
			if inv.Total != 0 || inv.Status != pay.InvoiceStatusPaid {
				t.Errorf("trial invoice %d %s", inv.Total, inv.Status)
			}
		})

		t.Run("send_invoice", func(t *testing.T) {
			cus := e.customer(t, "")
			sub, inv := e.subscribe(t, billing.SubscriptionParams{Customer: cus, CollectionMethod: pay.CollectSend, DaysUntilDue: ptr[int64](30),
				Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			if sub.Status != pay.SubscriptionActive || inv.Status != pay.InvoiceStatusOpen || inv.DueDate != inv.Created+30*86400 {
				t.Errorf("send_invoice: %s, invoice %s due %d", sub.Status, inv.Status, inv.DueDate)
			}
		})

		t.Run("default_incomplete", func(t *testing.T) {
			cus := e.customer(t, "")
			sub, inv := e.subscribe(t, billing.SubscriptionParams{Customer: cus, PaymentBehavior: billing.DefaultIncomplete,
				Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			if sub.Status != pay.SubscriptionIncomplete || inv.Status != pay.InvoiceStatusOpen || inv.Attempted ||
				sub.NextActionAt != sub.Created+pay.IncompleteExpiry {
				t.Errorf("default_incomplete: %s next %d, invoice %s", sub.Status, sub.NextActionAt, inv.Status)
			}
			// Paying its invoice activates it.
			if _, err := e.bill.PayInvoice(ctx, e.plain(), inv.ID, billing.PayParams{PaymentMethod: "pm_card_visa"}); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.db.FindSubscription(ctx, e.scope, sub.ID); got.Status != pay.SubscriptionActive || got.NextActionAt != got.CurrentPeriodEnd-pay.UpcomingNotice {
				t.Errorf("after paying the invoice: %s next %d", got.Status, got.NextActionAt)
			}
		})

		t.Run("decline", func(t *testing.T) {
			cus := e.customer(t, "pm_card_chargeCustomerFail")
			sub, inv := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			if sub.Status != pay.SubscriptionIncomplete || inv.Status != pay.InvoiceStatusOpen || inv.AttemptCount != 1 {
				t.Errorf("allow_incomplete decline: %s, invoice %s attempts %d", sub.Status, inv.Status, inv.AttemptCount)
			}
			_, err := e.bill.CreateSubscription(ctx, e.plain(), billing.SubscriptionParams{Customer: cus, PaymentBehavior: billing.ErrorIfIncomplete,
				Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			a, err2 := e.bill.CreateSubscription(ctx, e.plain(), billing.SubscriptionParams{Customer: cus, PaymentBehavior: billing.ErrorIfIncomplete,
				Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			if err != nil || err2 != nil || a.Err == nil || a.Err.Status != http.StatusPaymentRequired {
				t.Fatalf("error_if_incomplete: %v %v %+v", err, err2, a)
			}
			l, err := e.db.FindSubscriptions(ctx, e.scope, store.SubscriptionFilter{Customer: cus, Status: "ended"}, pay.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			expired := 0
			for _, s := range l.Data {
				if s.Status == pay.SubscriptionIncompleteExpired {
					expired++
					if inv, _ := e.db.FindInvoice(ctx, e.scope, s.LatestInvoice); inv.Status != pay.InvoiceStatusVoid {
						t.Errorf("expired subscription's invoice is %s", inv.Status)
					}
				}
			}
			if expired != 2 {
				t.Errorf("%d incomplete_expired subscriptions, want 2", expired)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			cus := e.customer(t, "pm_card_visa")
			oneOff := ok[*pay.Price](t, "one-off price")(e.bill.CreatePrice(ctx, e.plain(), billing.PriceParams{
				PriceData: billing.PriceData{Currency: "gbp", UnitAmount: 100}, ProductData: &billing.ProductParams{Product: pay.ProductUpdate{Name: ptr("X")}}})).ID
			inactive := ok[*pay.Price](t, "inactive price")(e.bill.CreatePrice(ctx, e.plain(), billing.PriceParams{Active: ptr(false),
				PriceData:   billing.PriceData{Currency: "gbp", UnitAmount: 100, Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}},
				ProductData: &billing.ProductParams{Product: pay.ProductUpdate{Name: ptr("X")}}})).ID
			// A price in another currency, written directly: the project
			// charges only gbp, so billing refuses to make one.
			usdPrice := &pay.Price{Scope: e.scope, Product: "prod_x", Active: true, Currency: "usd", UnitAmount: 100,
				Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}, TaxBehavior: pay.TaxBehaviorUnspecified}
			if err := e.db.Tx(ctx, func(tx *store.Tx) error { return tx.CreatePrice(ctx, usdPrice) }); err != nil {
				t.Fatal(err)
			}
			eur := usdPrice.ID
			yearly := e.recurring(t, "gbp", 100, "year", 1)
			before := len(e.events(t, ""))
			for _, c := range []struct {
				name   string
				p      billing.SubscriptionParams
				status int
				param  string
			}{
				{"one-time price", billing.SubscriptionParams{Items: []billing.SubscriptionItemParams{{Price: oneOff}}}, 400, "items[0][price]"},
				{"inactive price", billing.SubscriptionParams{Items: []billing.SubscriptionItemParams{{Price: inactive}}}, 400, "items[0][price]"},
				{"two currencies", billing.SubscriptionParams{Items: []billing.SubscriptionItemParams{{Price: monthly}, {Price: eur}}}, 400, "items[1][price]"},
				{"two intervals", billing.SubscriptionParams{Items: []billing.SubscriptionItemParams{{Price: monthly}, {Price: yearly}}}, 400, "items[1][price]"},
				{"quantity 0", billing.SubscriptionParams{Items: []billing.SubscriptionItemParams{{Price: monthly, Quantity: ptr[int64](0)}}}, 400, "items[0][quantity]"},
				{"no such price", billing.SubscriptionParams{Items: []billing.SubscriptionItemParams{{Price: "price_nope"}}}, 404, "items[0][price]"},
				{"trial_end in the past", billing.SubscriptionParams{TrialEnd: ptr[int64](1000), Items: []billing.SubscriptionItemParams{{Price: monthly}}}, 400, "trial_end"},
				{"anchor too far", billing.SubscriptionParams{BillingCycleAnchor: ptr[int64](4102444800), Items: []billing.SubscriptionItemParams{{Price: monthly}}}, 400, "billing_cycle_anchor"},
			} {
				c.p.Customer = cus
				_, err := e.bill.CreateSubscription(ctx, e.plain(), c.p)
				refused(t, c.name, err, c.status, c.param)
			}
			_, err := e.bill.CreateSubscription(ctx, e.plain(), billing.SubscriptionParams{Customer: e.customer(t, ""),
				Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			if pe, _ := pay.AsError(err); pe == nil || pe.Status != 400 || pe.Code != "resource_missing" {
				t.Errorf("no payment method: %v", err)
			}
			if after := len(e.events(t, "")); after != before+1 { // the second customer's customer.created
				t.Errorf("refused creates wrote %d events", after-before)
			}
		})

		t.Run("one currency per customer", func(t *testing.T) {
			if err := e.db.Tx(ctx, func(tx *store.Tx) error {
				return tx.SetProjectCurrencies(ctx, e.scope.ProjectID, []string{"gbp", "usd"})
			}); err != nil {
				t.Fatal(err)
			}
			refresh, stop := context.WithCancel(ctx)
			defer stop()
			go e.pay.RefreshSettings(refresh)
			for deadline := time.Now().Add(5 * time.Second); !e.pay.CurrencyAllowed(e.scope, "usd"); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("usd never allowed")
				}
			}
			cus := e.customer(t, "pm_card_visa")
			e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			_, err := e.bill.CreateSubscription(ctx, e.plain(), billing.SubscriptionParams{Customer: cus,
				Items: []billing.SubscriptionItemParams{{Price: e.recurring(t, "usd", 900, "month", 1)}}})
			refused(t, "a second currency for one customer", err, 400, "items[0][price]")
		})

		t.Run("update and cancel", func(t *testing.T) {
			cus := e.customer(t, "pm_card_visa")
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: monthly}}})
			up := ok[*pay.Subscription](t, "update")(e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, billing.SubscriptionParams{
				CancelAtPeriodEnd: ptr(true), Description: ptr("Gold"), Metadata: pay.MetadataUpdate{Set: map[string]string{"a": "b"}}}))
			if !up.CancelAtPeriodEnd || up.CancelAt != sub.CurrentPeriodEnd || up.Description != "Gold" || up.Metadata["a"] != "b" {
				t.Errorf("updated %+v", up)
			}
			_, err := e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, billing.SubscriptionParams{CancelAt: ptr[int64](1000)})
			refused(t, "cancel_at in the past", err, 400, "cancel_at")
			c := ok[*pay.Subscription](t, "cancel")(e.bill.CancelSubscription(ctx, e.plain(), sub.ID, billing.CancelParams{}))
			if c.Status != pay.SubscriptionCanceled || c.CanceledAt == 0 || c.EndedAt == 0 || c.NextActionAt != 0 {
				t.Errorf("canceled %+v", c)
			}
			if len(e.events(t, "customer.subscription.deleted")) == 0 {
				t.Error("no customer.subscription.deleted")
			}
			_, err = e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, billing.SubscriptionParams{Description: ptr("x")})
			refused(t, "update a canceled subscription", err, 400, "")
			ok[*pay.Subscription](t, "metadata of a canceled subscription")(e.bill.UpdateSubscription(ctx, e.plain(), sub.ID,
				billing.SubscriptionParams{Metadata: pay.MetadataUpdate{Set: map[string]string{"c": "d"}}}))
		})
	})
}
