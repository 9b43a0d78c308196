package api_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

func monthlyPrice(t *testing.T, sc *stripe.Client, amount int64, interval string) *stripe.Price {
	t.Helper()
	p, err := sc.V1Prices.Create(context.Background(), &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(amount),
		Recurring:   &stripe.PriceCreateRecurringParams{Interval: stripe.String(interval)},
		ProductData: &stripe.PriceCreateProductDataParams{Name: stripe.String("Gold")}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSubscriptionsSDK(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		f := newInvoiceFixture(t, sc, "pm_card_visa")
		price := monthlyPrice(t, sc, 1000, "month")
		seats := monthlyPrice(t, sc, 250, "month")

		params := &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID), DefaultTaxRates: []*string{stripe.String(f.vat.ID)},
			Items:    []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}, {Price: stripe.String(seats.ID), Quantity: stripe.Int64(2)}},
			Metadata: map[string]string{"plan": "gold"}}
		params.AddExpand("latest_invoice")
		sub, err := sc.V1Subscriptions.Create(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Status != stripe.SubscriptionStatusActive || sub.Customer.ID != f.cus.ID || sub.Currency != "gbp" ||
			sub.BillingMode == nil || sub.BillingMode.Type != "classic" || sub.Metadata["plan"] != "gold" || len(sub.DefaultTaxRates) != 1 {
			t.Fatalf("created %+v", sub)
		}
		if sub.Items == nil || len(sub.Items.Data) != 2 || sub.Items.Data[1].Quantity != 2 || sub.Items.Data[1].Price.ID != seats.ID ||
			sub.Items.Data[1].Price.UnitAmount != 250 || sub.Items.Data[1].Plan == nil || sub.Items.Data[1].Plan.Amount != 250 ||
			sub.Items.Data[1].Plan.Interval != "month" || sub.Items.Data[0].CurrentPeriodEnd <= sub.Items.Data[0].CurrentPeriodStart {
			t.Fatalf("items %+v", sub.Items)
		}
		inv := sub.LatestInvoice
		if inv == nil || inv.Status != stripe.InvoiceStatusPaid || inv.Total != 1500*120/100 || inv.BillingReason != "subscription_create" ||
			inv.Parent == nil || inv.Parent.SubscriptionDetails == nil || inv.Parent.SubscriptionDetails.Subscription.ID != sub.ID {
			t.Fatalf("latest invoice %+v", inv)
		}
		if l := inv.Lines.Data[0]; l.Parent == nil || l.Parent.SubscriptionItemDetails == nil ||
			l.Parent.SubscriptionItemDetails.SubscriptionItem != sub.Items.Data[0].ID || l.Period.End != sub.Items.Data[0].CurrentPeriodEnd {
			t.Errorf("line %+v", l)
		}
		// Raw nulls: no trial, no cancellation.
		raw := do(t, srv, call{method: "GET", path: "/v1/subscriptions/" + sub.ID})
		for _, k := range []string{"trial_end", "trial_start", "cancel_at", "canceled_at", "ended_at", "days_until_due", "description", "test_clock"} {
			if v, ok := raw.body[k]; !ok || v != nil {
				t.Errorf("%s = %v, want null", k, v)
			}
		}

		// A retry under the same Idempotency-Key answers the same
		// subscription and charges nothing more.
		keyed := func() *stripe.SubscriptionCreateParams {
			p := &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID),
				Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(seats.ID)}}}
			p.SetIdempotencyKey("sub-create-1")
			return p
		}
		k1, err := sc.V1Subscriptions.Create(ctx, keyed())
		if err != nil {
			t.Fatal(err)
		}
		k2, err := sc.V1Subscriptions.Create(ctx, keyed())
		if err != nil || k2.ID != k1.ID || k2.LatestInvoice.ID != k1.LatestInvoice.ID {
			t.Fatalf("replay: %+v %v, want %s", k2, err, k1.ID)
		}
		if _, err := sc.V1Subscriptions.Cancel(ctx, k1.ID, nil); err != nil {
			t.Fatal(err)
		}

		got, err := sc.V1Subscriptions.Retrieve(ctx, sub.ID, nil)
		if err != nil || got.ID != sub.ID || got.LatestInvoice.ID != inv.ID {
			t.Fatalf("retrieve %+v %v", got, err)
		}

		// Trial, then send_invoice, for the lists.
		trial, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID),
			TrialPeriodDays: stripe.Int64(7), Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}}})
		if err != nil || trial.Status != stripe.SubscriptionStatusTrialing || trial.TrialEnd != trial.TrialStart+7*86400 {
			t.Fatalf("trial %+v %v", trial, err)
		}
		sent, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID),
			CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(14),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(seats.ID)}}})
		if err != nil || sent.Status != stripe.SubscriptionStatusActive || sent.DaysUntilDue != 14 {
			t.Fatalf("send_invoice %+v %v", sent, err)
		}

		list := func(p *stripe.SubscriptionListParams) []string {
			var ids []string
			for s, err := range sc.V1Subscriptions.List(ctx, p).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, s.ID)
			}
			return ids
		}
		if ids := list(&stripe.SubscriptionListParams{Price: stripe.String(seats.ID)}); len(ids) != 2 || ids[0] != sent.ID {
			t.Errorf("by price: %v", ids)
		}
		if ids := list(&stripe.SubscriptionListParams{Status: stripe.String("trialing"), Customer: stripe.String(f.cus.ID)}); len(ids) != 1 || ids[0] != trial.ID {
			t.Errorf("trialing: %v", ids)
		}

		// Update, cancel, and a canceled subscription refuses changes.
		up, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{CancelAtPeriodEnd: stripe.Bool(true),
			Description: stripe.String("Gold plan")})
		if err != nil || !up.CancelAtPeriodEnd || up.CancelAt != up.Items.Data[0].CurrentPeriodEnd || up.Description != "Gold plan" {
			t.Fatalf("update %+v %v", up, err)
		}
		// Its items already bill seats: a second item of the same price is
		// refused (the changes themselves: subscription_update_sdk_test.go).
		if _, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{
			Items: []*stripe.SubscriptionUpdateItemParams{{Price: stripe.String(seats.ID)}}}); stripeErr(t, err).Param != "items[0][price]" {
			t.Errorf("items update: %v", err)
		}
		canceled, err := sc.V1Subscriptions.Cancel(ctx, sub.ID, nil)
		if err != nil || canceled.Status != stripe.SubscriptionStatusCanceled || canceled.CanceledAt == 0 || canceled.EndedAt == 0 {
			t.Fatalf("cancel %+v %v", canceled, err)
		}
		// A trial has nothing to invoice: invoice_now makes no invoice.
		if c, err := sc.V1Subscriptions.Cancel(ctx, trial.ID, &stripe.SubscriptionCancelParams{InvoiceNow: stripe.Bool(true),
			Prorate: stripe.Bool(true)}); err != nil || c.LatestInvoice.ID != trial.LatestInvoice.ID {
			t.Errorf("invoice_now on a trial: %+v %v", c, err)
		}
		if _, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{Description: stripe.String("x")}); stripeErr(t, err).HTTPStatusCode != 400 {
			t.Errorf("update a canceled subscription: %v", err)
		}
		if ids := list(&stripe.SubscriptionListParams{Customer: stripe.String(f.cus.ID)}); len(ids) != 1 || ids[0] != sent.ID {
			t.Errorf("default list hides canceled: %v", ids)
		}
		if ids := list(&stripe.SubscriptionListParams{Status: stripe.String("ended")}); len(ids) != 3 || ids[0] != trial.ID || ids[1] != k1.ID || ids[2] != sub.ID {
			t.Errorf("ended: %v", ids)
		}

		// Events.
		want := map[string]bool{"customer.subscription.created": false, "customer.subscription.updated": false,
			"customer.subscription.deleted": false, "invoice.created": false, "invoice.finalized": false, "invoice.paid": false}
		for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := want[string(ev.Type)]; ok {
				want[string(ev.Type)] = true
			}
		}
		for typ, seen := range want {
			if !seen {
				t.Errorf("no %s event", typ)
			}
		}

		// Another project's subscription and price do not exist.
		_, otherKey := apitest.NewProject(t, srv.DB)
		osc := payClient(t, srv, otherKey)
		if _, err := osc.V1Subscriptions.Retrieve(ctx, sub.ID, nil); stripeCode(err) != "resource_missing" {
			t.Errorf("another project's subscription: %v", err)
		}
	})
}

func TestSubscriptionBadInputSDK(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		f := newInvoiceFixture(t, sc, "pm_card_visa")
		price := monthlyPrice(t, sc, 1000, "month")
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
		_, otherKey := apitest.NewProject(t, srv.DB)
		otherPrice := monthlyPrice(t, payClient(t, srv, otherKey), 1000, "month")
		bare, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String("No card")})
		if err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-time.Hour).Unix()
		cus := "customer=" + f.cus.ID
		for _, c := range []struct {
			name, body string
			status     int
			param      string
		}{
			{"one-time price", cus + "&items[0][price]=" + oneOff.ID, 400, "items[0][price]"},
			{"inactive price", cus + "&items[0][price]=" + inactive.ID, 400, "items[0][price]"},
			{"two intervals", cus + "&items[0][price]=" + price.ID + "&items[1][price]=" + yearly.ID, 400, "items[1][price]"},
			{"quantity 0", cus + "&items[0][price]=" + price.ID + "&items[0][quantity]=0", 400, "items[0][quantity]"},
			{"trial_end in the past", cus + "&items[0][price]=" + price.ID + "&trial_end=" + strconv.FormatInt(past, 10), 400, "trial_end"},
			{"another project's price", cus + "&items[0][price]=" + otherPrice.ID, 404, "items[0][price]"},
			{"no items", cus, 400, "items"},
			{"unknown parameter", cus + "&items[0][price]=" + price.ID + "&colour=red", 400, "colour"},
			{"send_invoice without days", cus + "&items[0][price]=" + price.ID + "&collection_method=send_invoice", 400, "days_until_due"},
			{"bad payment_behavior", cus + "&items[0][price]=" + price.ID + "&payment_behavior=sometimes", 400, "payment_behavior"},
		} {
			a := do(t, srv, call{method: "POST", path: "/v1/subscriptions", body: c.body})
			if a.status != c.status || a.err("param") != c.param {
				t.Errorf("%s: %d %s, want %d naming %s", c.name, a.status, a.raw, c.status, c.param)
			}
		}
		// Stripe refuses a charge_automatically subscription for a customer
		// with no payment method, unless default_incomplete.
		_, err = sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(bare.ID),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}}})
		if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Code != "resource_missing" {
			t.Errorf("no payment method: %v", err)
		}
		inc, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(bare.ID),
			PaymentBehavior: stripe.String("default_incomplete"), Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}}})
		if err != nil || inc.Status != stripe.SubscriptionStatusIncomplete {
			t.Errorf("default_incomplete: %+v %v", inc, err)
		}
		// A declined first charge: incomplete (allow_incomplete), or a 402
		// (error_if_incomplete).
		declining := newInvoiceFixture(t, sc, "pm_card_chargeCustomerFail")
		dec, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(declining.cus.ID),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}}})
		if err != nil || dec.Status != stripe.SubscriptionStatusIncomplete {
			t.Errorf("declined, allow_incomplete: %+v %v", dec, err)
		}
		_, err = sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(declining.cus.ID),
			PaymentBehavior: stripe.String("error_if_incomplete"), Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}}})
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != 402 || se.Type != "card_error" {
			t.Errorf("declined, error_if_incomplete: %v", err)
		}
	})
}

// emitSubscriptionEvents runs the subscription flows that emit every
// customer.subscription event type.
func emitSubscriptionEvents(t *testing.T, sc *stripe.Client) {
	t.Helper()
	ctx := context.Background()
	f := newInvoiceFixture(t, sc, "pm_card_visa")
	sub, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID),
		Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(monthlyPrice(t, sc, 500, "month").ID)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Subscriptions.Update(ctx, sub.ID, &stripe.SubscriptionUpdateParams{Metadata: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Subscriptions.Cancel(ctx, sub.ID, nil); err != nil {
		t.Fatal(err)
	}
	// A ten-day trial on a test clock advanced nine days: the scheduler's
	// invoice.upcoming (seven days before) and trial_will_end (three).
	now := time.Now().Unix()
	clock, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(now)})
	if err != nil {
		t.Fatal(err)
	}
	cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{TestClock: stripe.String(clock.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(cus.ID),
		TrialPeriodDays: stripe.Int64(10), Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(monthlyPrice(t, sc, 500, "month").ID)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1TestHelpersTestClocks.Advance(ctx, clock.ID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(now + 9*86400)}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, sc, clock.ID)
}

// TestSubscriptionConfirmationSecretSDK: a default_incomplete subscription's
// first invoice carries, when expanded, the client secret of the payment
// intent the customer confirms; a declined confirmation is a failed
// attempt, a successful one pays the invoice, activates the subscription
// and saves the card for its renewals.
func TestSubscriptionConfirmationSecretSDK(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		price := monthlyPrice(t, sc, 1500, "month")
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("confirm@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(cus.ID),
			PaymentBehavior: stripe.String("default_incomplete"), Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}},
			Expand: []*string{stripe.String("latest_invoice.confirmation_secret")}})
		if err != nil {
			t.Fatal(err)
		}
		inv := sub.LatestInvoice
		if sub.Status != stripe.SubscriptionStatusIncomplete || inv == nil || inv.ConfirmationSecret == nil ||
			inv.ConfirmationSecret.Type != "payment_intent" || !strings.Contains(inv.ConfirmationSecret.ClientSecret, "_secret_") {
			t.Fatalf("default_incomplete subscription: %s, invoice %+v", sub.Status, inv)
		}
		// Not shown unless expanded, as Stripe's includable fields.
		plain, err := sc.V1Invoices.Retrieve(ctx, inv.ID, nil)
		if err != nil || plain.ConfirmationSecret != nil {
			t.Errorf("unexpanded confirmation_secret: %+v %v", plain.ConfirmationSecret, err)
		}
		piID, _, _ := strings.Cut(inv.ConfirmationSecret.ClientSecret, "_secret_")
		pi, err := sc.V1PaymentIntents.Retrieve(ctx, piID, nil)
		if err != nil || pi.Amount != 1500 || pi.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || pi.Metadata["invoice"] != inv.ID {
			t.Fatalf("the confirmation's payment intent: %+v %v", pi, err)
		}

		// A declined card: the invoice stays open, one failed attempt.
		_, err = sc.V1PaymentIntents.Confirm(ctx, piID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_chargeDeclined")})
		if se := stripeErr(t, err); se.HTTPStatusCode != 402 {
			t.Fatalf("declined confirmation: %v", err)
		}
		if got, _ := sc.V1Invoices.Retrieve(ctx, inv.ID, nil); got.Status != stripe.InvoiceStatusOpen || got.AttemptCount != 1 {
			t.Errorf("after a declined confirmation: %s, %d attempts", got.Status, got.AttemptCount)
		}

		// The customer confirms with a good card.
		pi, err = sc.V1PaymentIntents.Confirm(ctx, piID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")})
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("confirmation: %+v %v", pi, err)
		}
		got, err := sc.V1Subscriptions.Retrieve(ctx, sub.ID, &stripe.SubscriptionRetrieveParams{Expand: []*string{stripe.String("latest_invoice")}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != stripe.SubscriptionStatusActive || got.LatestInvoice.Status != stripe.InvoiceStatusPaid ||
			got.LatestInvoice.AmountPaid != 1500 || got.DefaultPaymentMethod == nil || got.DefaultPaymentMethod.ID != pi.PaymentMethod.ID {
			t.Fatalf("after the confirmation: %s, invoice %s paid %d, default payment method %+v", got.Status, got.LatestInvoice.Status,
				got.LatestInvoice.AmountPaid, got.DefaultPaymentMethod)
		}
		pm, err := sc.V1PaymentMethods.Retrieve(ctx, pi.PaymentMethod.ID, nil)
		if err != nil || pm.Customer == nil || pm.Customer.ID != cus.ID {
			t.Errorf("the card paid with is not saved to the customer: %+v %v", pm, err)
		}
	})
}
