package api_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// changeJan1 is 2026-01-01T00:00:00Z: a monthly subscription started then
// has a 31-day first period, to 1 February.
const changeJan1 int64 = 1767225600

// changeServer is a server on each database whose clock the test moves:
// it starts at changeJan1.
func eachChangeServer(t *testing.T, fn func(t *testing.T, srv *apitest.Server, at func(days int64))) {
	t.Helper()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			var clock atomic.Int64
			clock.Store(changeJan1)
			srv := apitest.Start(t, apitest.Options{Postgres: pg, Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
			fn(t, srv, func(days int64) { clock.Store(changeJan1 + days*86400) })
		})
	}
}

// pendingItems lists a customer's pending invoice items, oldest first.
func pendingItems(t *testing.T, sc *stripe.Client, cus string) []*stripe.InvoiceItem {
	t.Helper()
	ctx := context.Background()
	var out []*stripe.InvoiceItem
	for ii, err := range sc.V1InvoiceItems.List(ctx, &stripe.InvoiceItemListParams{Customer: stripe.String(cus), Pending: stripe.Bool(true)}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ii)
	}
	slices.Reverse(out)
	return out
}

func itemAmounts(items []*stripe.InvoiceItem) []int64 {
	var out []int64
	for _, ii := range items {
		out = append(out, ii.Amount)
	}
	slices.Sort(out)
	return out
}

func TestSubscriptionUpdateSDK(t *testing.T) {
	t.Parallel()
	eachChangeServer(t, func(t *testing.T, srv *apitest.Server, at func(int64)) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		gold := monthlyPrice(t, sc, 1000, "month")
		platinum := monthlyPrice(t, sc, 2000, "month")
		subscribe := func(t *testing.T, cus string, vat *stripe.TaxRate) *stripe.Subscription {
			t.Helper()
			at(0)
			p := &stripe.SubscriptionCreateParams{Customer: stripe.String(cus), Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(gold.ID)}}}
			if vat != nil {
				p.DefaultTaxRates = []*string{stripe.String(vat.ID)}
			}
			sub, err := sc.V1Subscriptions.Create(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			at(10) // 21 of the period's 31 days remain
			return sub
		}

		t.Run("upgrade with prorations", func(t *testing.T) {
			f := newInvoiceFixture(t, sc, "pm_card_visa")
			sub := subscribe(t, f.cus.ID, f.vat)
			si := sub.Items.Data[0]
			up, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{
				Items: []*stripe.SubscriptionUpdateItemParams{{ID: stripe.String(si.ID), Price: stripe.String(platinum.ID)}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(up.Items.Data) != 1 || up.Items.Data[0].ID != si.ID || up.Items.Data[0].Price.ID != platinum.ID ||
				up.Items.Data[0].CurrentPeriodEnd != si.CurrentPeriodEnd || up.LatestInvoice.ID != sub.LatestInvoice.ID {
				t.Fatalf("updated %+v", up.Items.Data[0])
			}
			items := pendingItems(t, sc, f.cus.ID)
			if got := itemAmounts(items); !slices.Equal(got, []int64{-677, 1355}) { // 1000 and 2000 × 21/31
				t.Fatalf("prorations %v, want [-677 1355]", got)
			}
			for _, ii := range items {
				want := "Remaining time on Gold after 11 Jan 2026"
				if ii.Amount < 0 {
					want = "Unused time on Gold after 11 Jan 2026"
				}
				if !ii.Proration || ii.Description != want || ii.Parent == nil || ii.Parent.Type != "subscription_details" ||
					ii.Parent.SubscriptionDetails.Subscription != sub.ID || ii.Parent.SubscriptionDetails.SubscriptionItem != si.ID ||
					ii.Period.Start != changeJan1+10*86400 || ii.Period.End != si.CurrentPeriodEnd || ii.Invoice != nil {
					t.Errorf("proration %+v", ii)
				}
			}
			// customer.subscription.updated names the old items.
			found := false
			for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("customer.subscription.updated")}).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if ev.Data.Object["id"] == sub.ID && ev.Data.PreviousAttributes["items"] != nil {
					found = true
				}
			}
			if !found {
				t.Error("no customer.subscription.updated with previous_attributes.items")
			}
		})

		t.Run("always_invoice charges at once, once per key", func(t *testing.T) {
			f := newInvoiceFixture(t, sc, "pm_card_visa")
			sub := subscribe(t, f.cus.ID, nil)
			update := func() (*stripe.Subscription, error) {
				p := &stripe.SubscriptionUpdateParams{ProrationBehavior: stripe.String("always_invoice"),
					Items: []*stripe.SubscriptionUpdateItemParams{{ID: stripe.String(sub.Items.Data[0].ID), Quantity: stripe.Int64(3)}}}
				p.AddExpand("latest_invoice")
				p.SetIdempotencyKey("seats-" + sub.ID)
				return sc.V1Subscriptions.Update(ctx, sub.ID, p)
			}
			up, err := update()
			if err != nil {
				t.Fatal(err)
			}
			inv := up.LatestInvoice
			if up.Status != stripe.SubscriptionStatusActive || inv.ID == sub.LatestInvoice.ID || inv.BillingReason != "subscription_update" ||
				inv.Status != stripe.InvoiceStatusPaid || inv.AmountPaid != 1355 || inv.Subtotal != 1355 { // 3000 × 21/31 − 1000 × 21/31
				t.Fatalf("invoice %s %s paid %d subtotal %d", inv.BillingReason, inv.Status, inv.AmountPaid, inv.Subtotal)
			}
			var lines []int64
			for _, l := range inv.Lines.Data {
				lines = append(lines, l.Amount)
				if d := l.Parent.SubscriptionItemDetails; d == nil || !d.Proration || d.InvoiceItem == "" || d.SubscriptionItem != sub.Items.Data[0].ID {
					t.Errorf("line %+v", l.Parent)
				}
			}
			if slices.Sort(lines); !slices.Equal(lines, []int64{-677, 2032}) {
				t.Errorf("lines %v", lines)
			}
			again, err := update()
			if err != nil || again.LatestInvoice.ID != inv.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry: %v %v", again, err)
			}
			charges := 0
			for _, err := range sc.V1PaymentIntents.List(ctx, &stripe.PaymentIntentListParams{Customer: stripe.String(f.cus.ID)}).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				charges++
			}
			if charges != 2 {
				t.Errorf("%d payment intents, want the first invoice's and the update's", charges)
			}
		})

		t.Run("quantity change with create_prorations", func(t *testing.T) {
			f := newInvoiceFixture(t, sc, "pm_card_visa")
			sub := subscribe(t, f.cus.ID, nil)
			up, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{
				Items: []*stripe.SubscriptionUpdateItemParams{{ID: stripe.String(sub.Items.Data[0].ID), Quantity: stripe.Int64(2)}}})
			if err != nil || up.Items.Data[0].Quantity != 2 {
				t.Fatalf("update %+v %v", up, err)
			}
			items := pendingItems(t, sc, f.cus.ID)
			if got := itemAmounts(items); !slices.Equal(got, []int64{-677, 1355}) {
				t.Errorf("prorations %v", got)
			}
			for _, ii := range items {
				if ii.Amount > 0 && (ii.Quantity != 2 || ii.Description != "Remaining time on 2 × Gold after 11 Jan 2026") {
					t.Errorf("debit %+v", ii)
				}
			}
		})

		t.Run("cancel with invoice_now and prorate", func(t *testing.T) {
			f := newInvoiceFixture(t, sc, "pm_card_visa")
			sub := subscribe(t, f.cus.ID, nil)
			// First an upgrade, whose prorations wait for the next invoice.
			if _, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{
				Items: []*stripe.SubscriptionUpdateItemParams{{ID: stripe.String(sub.Items.Data[0].ID), Price: stripe.String(platinum.ID)}}}); err != nil {
				t.Fatal(err)
			}
			p := &stripe.SubscriptionCancelParams{InvoiceNow: stripe.Bool(true), Prorate: stripe.Bool(true),
				CancellationDetails: &stripe.SubscriptionCancelCancellationDetailsParams{Comment: stripe.String("Moving on"), Feedback: stripe.String("unused")}}
			p.AddExpand("latest_invoice")
			c, err := sc.V1Subscriptions.Cancel(ctx, sub.ID, p)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != stripe.SubscriptionStatusCanceled || c.CancellationDetails.Reason != "cancellation_requested" ||
				c.CancellationDetails.Comment != "Moving on" || c.CancellationDetails.Feedback != "unused" || c.CanceledAt != changeJan1+10*86400 {
				t.Errorf("canceled %+v", c.CancellationDetails)
			}
			// The final invoice: the credit for platinum's unused 21 days
			// and the upgrade's prorations, −1355 − 677 + 1355.
			inv := c.LatestInvoice
			var lines []int64
			for _, l := range inv.Lines.Data {
				lines = append(lines, l.Amount)
			}
			if slices.Sort(lines); inv.ID == sub.LatestInvoice.ID || !slices.Equal(lines, []int64{-1355, -677, 1355}) || inv.Total != -677 ||
				inv.AmountDue != 0 || inv.Status != stripe.InvoiceStatusPaid {
				t.Errorf("final invoice lines %v total %d due %d %s", lines, inv.Total, inv.AmountDue, inv.Status)
			}
			if n := len(pendingItems(t, sc, f.cus.ID)); n != 0 {
				t.Errorf("%d items left pending", n)
			}
		})

		t.Run("pause_collection and trial settings", func(t *testing.T) {
			f := newInvoiceFixture(t, sc, "pm_card_visa")
			sub := subscribe(t, f.cus.ID, nil)
			up, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{
				PauseCollection: &stripe.SubscriptionUpdatePauseCollectionParams{Behavior: stripe.String("void"), ResumesAt: stripe.Int64(changeJan1 + 20*86400)},
				TrialSettings: &stripe.SubscriptionUpdateTrialSettingsParams{EndBehavior: &stripe.SubscriptionUpdateTrialSettingsEndBehaviorParams{
					MissingPaymentMethod: stripe.String("pause")}}})
			if err != nil || up.PauseCollection == nil || up.PauseCollection.Behavior != "void" || up.PauseCollection.ResumesAt != changeJan1+20*86400 ||
				up.TrialSettings.EndBehavior.MissingPaymentMethod != "pause" {
				t.Fatalf("paused collection %+v %v", up, err)
			}
			p := &stripe.SubscriptionUpdateParams{}
			p.AddUnsetField(stripe.SubscriptionUpdateParamsUnsetFieldPauseCollection)
			if up, err = sc.V1Subscriptions.Update(ctx, sub.ID, p); err != nil || up.PauseCollection != nil {
				t.Errorf("unpaused %+v %v", up.PauseCollection, err)
			}
			if _, err := sc.V1Subscriptions.Resume(ctx, sub.ID, nil); stripeErr(t, err).HTTPStatusCode != 400 {
				t.Errorf("resume an active subscription: %v", err)
			}
		})
	})
}

func TestSubscriptionItemsSDK(t *testing.T) {
	t.Parallel()
	eachChangeServer(t, func(t *testing.T, srv *apitest.Server, at func(int64)) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		f := newInvoiceFixture(t, sc, "pm_card_visa")
		gold := monthlyPrice(t, sc, 1000, "month")
		seats := monthlyPrice(t, sc, 300, "month")
		sub, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(gold.ID)}}})
		if err != nil {
			t.Fatal(err)
		}
		at(10)
		it, err := sc.V1SubscriptionItems.Create(ctx, &stripe.SubscriptionItemCreateParams{Subscription: stripe.String(sub.ID),
			Price: stripe.String(seats.ID), Quantity: stripe.Int64(2), Metadata: map[string]string{"team": "a"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(it.ID, "si_") || it.Object != "subscription_item" || it.Subscription != sub.ID || it.Quantity != 2 ||
			it.Price.ID != seats.ID || it.Metadata["team"] != "a" || it.CurrentPeriodEnd != sub.Items.Data[0].CurrentPeriodEnd {
			t.Fatalf("created %+v", it)
		}
		got, err := sc.V1SubscriptionItems.Retrieve(ctx, it.ID, nil)
		if err != nil || got.ID != it.ID || got.Quantity != 2 || got.CurrentPeriodStart != sub.Items.Data[0].CurrentPeriodStart {
			t.Fatalf("retrieved %+v %v", got, err)
		}
		up, err := sc.V1SubscriptionItems.Update(ctx, it.ID, &stripe.SubscriptionItemUpdateParams{Quantity: stripe.Int64(4),
			ProrationBehavior: stripe.String("none")})
		if err != nil || up.Quantity != 4 {
			t.Fatalf("updated %+v %v", up, err)
		}
		var ids []string
		for si, err := range sc.V1SubscriptionItems.List(ctx, &stripe.SubscriptionItemListParams{Subscription: stripe.String(sub.ID)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, si.ID)
		}
		if !slices.Equal(ids, []string{sub.Items.Data[0].ID, it.ID}) {
			t.Errorf("listed %v", ids)
		}
		del, err := sc.V1SubscriptionItems.Delete(ctx, it.ID, nil)
		if err != nil || !del.Deleted || del.ID != it.ID {
			t.Fatalf("deleted %+v %v", del, err)
		}
		// 600 a month added for 21 of 31 days (+406), then 1200 removed
		// (−813): proration_behavior=none made none for the change between.
		if got := itemAmounts(pendingItems(t, sc, f.cus.ID)); !slices.Equal(got, []int64{-813, 406}) {
			t.Errorf("prorations %v", got)
		}
		if _, err := sc.V1SubscriptionItems.Retrieve(ctx, it.ID, nil); stripeCode(err) != "resource_missing" {
			t.Errorf("a deleted item: %v", err)
		}
		// A subscription keeps at least one item.
		if _, err := sc.V1SubscriptionItems.Delete(ctx, sub.Items.Data[0].ID, nil); stripeErr(t, err).HTTPStatusCode != 400 {
			t.Errorf("delete the last item: %v", err)
		}
		if a := do(t, srv, call{method: "GET", path: "/v1/subscription_items"}); a.status != 400 || a.err("param") != "subscription" {
			t.Errorf("list without subscription: %d %s", a.status, a.raw)
		}
		_, otherKey := apitest.NewProject(t, srv.DB)
		if _, err := payClient(t, srv, otherKey).V1SubscriptionItems.Retrieve(ctx, sub.Items.Data[0].ID, nil); stripeCode(err) != "resource_missing" {
			t.Errorf("another project's item: %v", err)
		}
	})
}

func TestSubscriptionUpdateBadInput(t *testing.T) {
	t.Parallel()
	eachChangeServer(t, func(t *testing.T, srv *apitest.Server, at func(int64)) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		f := newInvoiceFixture(t, sc, "pm_card_visa")
		gold := monthlyPrice(t, sc, 1000, "month")
		yearly := monthlyPrice(t, sc, 1000, "year")
		oneOff, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(100),
			ProductData: &stripe.PriceCreateProductDataParams{Name: stripe.String("Once")}})
		if err != nil {
			t.Fatal(err)
		}
		inactive, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(100),
			Active: stripe.Bool(false), Recurring: &stripe.PriceCreateRecurringParams{Interval: stripe.String("month")},
			ProductData: &stripe.PriceCreateProductDataParams{Name: stripe.String("Old")}})
		if err != nil {
			t.Fatal(err)
		}
		// A price in another currency, written directly: the project
		// charges only gbp, so the API refuses to make one.
		usd := &pay.Price{Scope: pay.Scope{ProjectID: srv.Project}, Product: gold.Product.ID, Active: true, Currency: "usd", UnitAmount: 100,
			Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}, TaxBehavior: pay.TaxBehaviorUnspecified}
		if err := srv.DB.Tx(ctx, func(tx *store.Tx) error { return tx.CreatePrice(ctx, usd) }); err != nil {
			t.Fatal(err)
		}
		sub, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(gold.ID)}}})
		if err != nil {
			t.Fatal(err)
		}
		at(10)
		si := "items[0][id]=" + sub.Items.Data[0].ID
		events := func() int {
			n := 0
			for _, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			return n
		}
		before := events()
		past := strconv.FormatInt(changeJan1, 10)
		for _, c := range []struct {
			name, body string
			status     int
			param      string
		}{
			{"quantity 0", si + "&items[0][quantity]=0", 400, "items[0][quantity]"},
			{"unknown item", "items[0][id]=si_nope&items[0][quantity]=2", 404, "items[0][id]"},
			{"the last item removed", si + "&items[0][deleted]=true", 400, "items[0][deleted]"},
			{"inactive price", si + "&items[0][price]=" + inactive.ID, 400, "items[0][price]"},
			{"one-time price", si + "&items[0][price]=" + oneOff.ID, 400, "items[0][price]"},
			{"another currency", si + "&items[0][price]=" + usd.ID, 400, "items[0][price]"},
			{"two intervals", "items[0][price]=" + yearly.ID, 400, "items[0][price]"},
			{"trial_end in the past", "trial_end=" + past, 400, "trial_end"},
			{"proration_date outside the period", si + "&items[0][quantity]=2&proration_date=" + past + "0", 400, "proration_date"},
			{"bad proration_behavior", si + "&items[0][quantity]=2&proration_behavior=sometimes", 400, "proration_behavior"},
			{"error_if_incomplete", si + "&items[0][quantity]=2&payment_behavior=error_if_incomplete", 400, "payment_behavior"},
			{"billing_cycle_anchor a time", "billing_cycle_anchor=" + past, 400, "billing_cycle_anchor"},
			{"pause_collection behaviour", "pause_collection[behavior]=stop", 400, "pause_collection[behavior]"},
			{"trial_settings behaviour", "trial_settings[end_behavior][missing_payment_method]=retry", 400,
				"trial_settings[end_behavior][missing_payment_method]"},
			{"cancellation feedback", "cancellation_details[feedback]=bored", 400, "cancellation_details[feedback]"},
			{"unknown item parameter", si + "&items[0][colour]=red", 400, "items[0][colour]"},
		} {
			a := do(t, srv, call{method: "POST", path: "/v1/subscriptions/" + sub.ID, body: c.body})
			if a.status != c.status || a.err("param") != c.param {
				t.Errorf("%s: %d %s, want %d naming %s", c.name, a.status, a.raw, c.status, c.param)
			}
		}
		if after := events(); after != before {
			t.Errorf("refused updates wrote %d events", after-before)
		}
		got, err := sc.V1Subscriptions.Retrieve(ctx, sub.ID, nil)
		if err != nil || len(got.Items.Data) != 1 || got.Items.Data[0].Quantity != 1 || got.Items.Data[0].Price.ID != gold.ID {
			t.Errorf("after refused updates: %+v %v", got, err)
		}
		if n := len(pendingItems(t, sc, f.cus.ID)); n != 0 {
			t.Errorf("%d invoice items written", n)
		}
		if _, err := sc.V1Subscriptions.Cancel(ctx, sub.ID, nil); err != nil {
			t.Fatal(err)
		}
		a := do(t, srv, call{method: "POST", path: "/v1/subscriptions/" + sub.ID, body: si + "&items[0][quantity]=2"})
		if a.status != http.StatusBadRequest {
			t.Errorf("update a canceled subscription: %d %s", a.status, a.raw)
		}
	})
}

// emitResumedEvent pauses a subscription as the scheduler does (a trial on
// a test clock ending without a payment method, with trial_settings pause:
// customer.subscription.paused) and resumes it once the customer has a card.
func emitResumedEvent(t *testing.T, srv *apitest.Server, sc *stripe.Client) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Unix()
	clock, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(now)})
	if err != nil {
		t.Fatal(err)
	}
	cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{TestClock: stripe.String(clock.ID)})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(cus.ID), TrialPeriodDays: stripe.Int64(1),
		TrialSettings: &stripe.SubscriptionCreateTrialSettingsParams{EndBehavior: &stripe.SubscriptionCreateTrialSettingsEndBehaviorParams{
			MissingPaymentMethod: stripe.String("pause")}},
		Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(monthlyPrice(t, sc, 700, "month").ID)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1TestHelpersTestClocks.Advance(ctx, clock.ID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(now + 2*86400)}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, sc, clock.ID)
	if got, err := sc.V1Subscriptions.Retrieve(ctx, sub.ID, nil); err != nil || got.Status != stripe.SubscriptionStatusPaused {
		t.Fatalf("after the trial without a payment method: %+v %v", got, err)
	}
	setDefaultCard(t, sc, cus.ID, "pm_card_visa")
	r, err := sc.V1Subscriptions.Resume(ctx, sub.ID, &stripe.SubscriptionResumeParams{BillingCycleAnchor: stripe.String("now")})
	if err != nil || r.Status != stripe.SubscriptionStatusActive {
		t.Fatalf("resume: %+v %v", r, err)
	}
}
