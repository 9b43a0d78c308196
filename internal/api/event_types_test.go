package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
)

// TestEveryEmittedEventIsSubscribable subscribes an endpoint to every type
// of pay.EventTypes by name, runs the flows that emit each of them, and
// finds every event queued for the endpoint: nothing the API emits is a
// type an endpoint cannot name.
func TestEveryEmittedEventIsSubscribable(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		subscribe := url.Values{"url": {"https://hooks.example.com/every-type"}}
		for _, typ := range pay.EventTypes() {
			subscribe.Add("enabled_events[]", typ.String())
		}
		if a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", body: subscribe.Encode()}); a.status != 200 {
			t.Fatalf("subscribing to every type by name: %d %s", a.status, a.raw)
		}
		emitEveryEventType(t, srv)

		sc := payClient(t, srv, "")
		ctx := context.Background()
		seen := map[string]bool{}
		for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			seen[string(e.Type)] = true
			if e.PendingWebhooks != 1 {
				t.Errorf("%s event %s is queued for %d endpoints, want 1", e.Type, e.ID, e.PendingWebhooks)
			}
		}
		for _, typ := range pay.EventTypes() {
			if !seen[typ.String()] {
				t.Errorf("no %s event: the flows below do not cover every type", typ)
			}
		}
	})
}

// emitEveryEventType runs API flows that, between them, emit an event of
// every type.
func emitEveryEventType(t *testing.T, srv *apitest.Server) {
	t.Helper()
	sc := payClient(t, srv, "")
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("events@example.com")})
	must(cus, err)
	must(sc.V1Customers.Update(ctx, cus.ID, &stripe.CustomerUpdateParams{Name: stripe.String("Events")}))
	bps, err := sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID)})
	must(bps, err)
	must(sc.V1BillingPortalConfigurations.Update(ctx, bps.Configuration.ID, &stripe.BillingPortalConfigurationUpdateParams{Name: stripe.String("Events")}))
	txr, err := sc.V1TaxRates.Create(ctx, &stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"), Percentage: stripe.Float64(20),
		Inclusive: stripe.Bool(false)})
	must(txr, err)
	must(sc.V1TaxRates.Update(ctx, txr.ID, &stripe.TaxRateUpdateParams{Active: stripe.Bool(false)}))
	pm, err := sc.V1PaymentMethods.Attach(ctx, "pm_card_visa", &stripe.PaymentMethodAttachParams{Customer: stripe.String(cus.ID)})
	must(pm, err)
	must(sc.V1PaymentMethods.Update(ctx, pm.ID, &stripe.PaymentMethodUpdateParams{Metadata: map[string]string{"k": "v"}}))
	emitInvoiceEvents(t, sc)
	emitSubscriptionEvents(t, sc)
	emitResumedEvent(t, srv, sc)

	pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
		Customer: stripe.String(cus.ID), PaymentMethod: stripe.String(pm.ID)})
	must(pi, err)
	must(sc.V1PaymentIntents.Update(ctx, pi.ID, &stripe.PaymentIntentUpdateParams{Description: stripe.String("updated")}))
	pi, err = sc.V1PaymentIntents.Confirm(ctx, pi.ID, nil)
	must(pi, err)
	must(sc.V1Charges.Update(ctx, pi.LatestCharge.ID, &stripe.ChargeUpdateParams{Description: stripe.String("a note on the charge")}))
	must(sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID)}))

	// A decline (the simulator declines 100.00), an authorisation, a cancel.
	_, err = sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(10000), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 402 {
		t.Fatalf("decline: %v", err)
	}
	auth, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String(pm.ID), CaptureMethod: stripe.String("manual"), Confirm: stripe.Bool(true)})
	must(auth, err)
	must(sc.V1PaymentIntents.Cancel(ctx, auth.ID, nil))
	// Setup intents: created, succeeded, requires_action, setup_failed, canceled.
	must(sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)}))
	must(sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true)}))
	if _, err := sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{PaymentMethod: stripe.String("pm_card_chargeDeclined"),
		Confirm: stripe.Bool(true)}); stripeErr(t, err).HTTPStatusCode != 402 {
		t.Fatalf("declined setup: %v", err)
	}
	seti, err := sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{})
	must(seti, err)
	must(sc.V1SetupIntents.Cancel(ctx, seti.ID, nil))
	// A card that needs 3-D Secure: payment_intent.requires_action.
	must(sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String("pm_card_threeDSecure2Required"), Confirm: stripe.Bool(true)}))
	must(sc.V1PaymentMethods.Detach(ctx, pm.ID, nil))
	must(sc.V1Customers.Delete(ctx, cus.ID, nil))

	emitCatalogEvents(t, sc)
	must(sc.V1CheckoutSessions.Expire(ctx, newSession(t, sc, 1000, nil).ID, nil))
	newBrowser(t).pay(newSession(t, sc, 1000, nil).URL, "4929421234600821", "356", "pay")

	clock, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(clockFrozen)})
	must(clock, err)
	must(sc.V1TestHelpersTestClocks.Advance(ctx, clock.ID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(clockFrozen + 86400)}))
	waitReady(t, sc, clock.ID)
	must(sc.V1TestHelpersTestClocks.Delete(ctx, clock.ID, nil))
}

// Deleting a customer detaches its payment methods, each with its
// payment_method.detached event, in the deletion's transaction.
func TestCustomerDeleteDetachesWithEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		var attached []string
		for range 2 {
			pm, err := sc.V1PaymentMethods.Attach(ctx, "pm_card_visa", &stripe.PaymentMethodAttachParams{Customer: stripe.String(cus.ID)})
			if err != nil {
				t.Fatal(err)
			}
			attached = append(attached, pm.ID)
		}
		other, _ := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
		kept, err := sc.V1PaymentMethods.Attach(ctx, "pm_card_visa", &stripe.PaymentMethodAttachParams{Customer: stripe.String(other.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.V1Customers.Delete(ctx, cus.ID, nil); err != nil {
			t.Fatal(err)
		}
		var detached []string
		for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("payment_method.detached")}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			var pm stripe.PaymentMethod
			if err := json.Unmarshal(e.Data.Raw, &pm); err != nil {
				t.Fatal(err)
			}
			if pm.Customer != nil {
				t.Errorf("detached event of %s shows customer %s", pm.ID, pm.Customer.ID)
			}
			detached = append(detached, pm.ID)
		}
		slices.Sort(attached)
		slices.Sort(detached)
		if !slices.Equal(detached, attached) {
			t.Errorf("payment_method.detached events for %v, want one for each of %v", detached, attached)
		}
		for _, id := range attached {
			if pm, err := sc.V1PaymentMethods.Retrieve(ctx, id, nil); err != nil || pm.Customer != nil {
				t.Errorf("after the delete %s = %+v, %v, want detached", id, pm, err)
			}
		}
		if pm, err := sc.V1PaymentMethods.Retrieve(ctx, kept.ID, nil); err != nil || pm.Customer == nil || pm.Customer.ID != other.ID {
			t.Errorf("another customer's card = %+v, %v", pm, err)
		}
	})
}
