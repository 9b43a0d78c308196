package api_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/browsertest"
	"github.com/calmony/calmonypay/internal/pay"
)

// sdkReceiver is a merchant's webhook endpoint: it checks every delivery
// with stripe-go's own signature check (webhook.ConstructEvent) and keeps
// the events.
type sdkReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	events map[string]stripe.Event
	bad    []string
}

func newSDKReceiver(t *testing.T) *sdkReceiver {
	rc := &sdkReceiver{events: map[string]stripe.Event{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		ev, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), rc.secret)
		if err != nil {
			rc.bad = append(rc.bad, err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.events[ev.ID] = ev
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// received returns the events verified so far and the failures.
func (rc *sdkReceiver) received() (map[string]stripe.Event, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return maps.Clone(rc.events), slices.Clone(rc.bad)
}

// TestBillingEndToEndSDK is the billing scenario driven with
// stripe-go v85 alone: a product and prices, a customer on a test clock
// with a default card, a subscription with a trial and VAT, clock advances
// through the trial's end and several renewals, a card that starts
// declining and dunning to the final action, a subscription cancelled at
// its period's end, a manual invoice with its PDF paid on its hosted page
// in a real browser, and every webhook verified with stripe-go's signature
// check.
func TestBillingEndToEndSDK(t *testing.T) {
	t.Parallel()
	eachStoreWith(t, apitest.Options{Webhooks: true, AllowPrivateWebhookURLs: true}, func(t *testing.T, srv *apitest.Server) {
		ctx := context.Background()
		sc := payClient(t, srv, "")
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		rc := newSDKReceiver(t)
		ep, err := sc.V1WebhookEndpoints.Create(ctx, &stripe.WebhookEndpointCreateParams{URL: stripe.String(rc.srv.URL),
			EnabledEvents: []*string{stripe.String("*")}})
		must(err)
		rc.mu.Lock()
		rc.secret = ep.Secret
		rc.mu.Unlock()

		vat, err := sc.V1TaxRates.Create(ctx, &stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"), Percentage: stripe.Float64(20),
			Inclusive: stripe.Bool(false), Country: stripe.String("GB"), TaxType: stripe.String("vat")})
		must(err)
		prod, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("Gold plan")})
		must(err)
		monthly, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Product: stripe.String(prod.ID), Currency: stripe.String("gbp"),
			UnitAmount: stripe.Int64(1000), Recurring: &stripe.PriceCreateRecurringParams{Interval: stripe.String("month")}})
		must(err)

		t0 := time.Now().Truncate(time.Hour).Unix()
		clock, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(t0),
			Name: stripe.String("billing end to end")})
		must(err)
		advance := func(to int64) {
			t.Helper()
			_, err := sc.V1TestHelpersTestClocks.Advance(ctx, clock.ID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(to)})
			must(err)
			waitReady(t, sc, clock.ID)
		}
		customer := func(card string) *stripe.Customer {
			t.Helper()
			cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String("Ada Lovelace"),
				Email: stripe.String("ada@example.com"), TestClock: stripe.String(clock.ID)})
			must(err)
			if card != "" {
				setDefaultCard(t, sc, cus.ID, card)
			}
			return cus
		}
		sub := func(id string) *stripe.Subscription {
			t.Helper()
			s, err := sc.V1Subscriptions.Retrieve(ctx, id, &stripe.SubscriptionRetrieveParams{Expand: []*string{stripe.String("latest_invoice")}})
			must(err)
			return s
		}

		// A subscription with a fourteen-day trial and VAT, and another
		// that ends at its first period's end.
		ada := customer("pm_card_visa")
		gold, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(ada.ID),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(monthly.ID)}}, TrialPeriodDays: stripe.Int64(14),
			DefaultTaxRates: []*string{stripe.String(vat.ID)}})
		must(err)
		if gold.Status != stripe.SubscriptionStatusTrialing || gold.TrialEnd != t0+14*86400 || gold.StartDate != t0 {
			t.Fatalf("trialing subscription: %+v", gold)
		}
		bob := customer("pm_card_visa")
		short, err := sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(bob.ID),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(monthly.ID)}}})
		must(err)
		_, err = sc.V1Subscriptions.Update(ctx, short.ID, &stripe.SubscriptionUpdateParams{CancelAtPeriodEnd: stripe.Bool(true)})
		must(err)

		// Through the trial's end: the first paid period, £10 + £2 VAT,
		// invoiced and, an hour later, charged off-session.
		trialEnd := gold.TrialEnd
		advance(trialEnd + 2*3600)
		got := sub(gold.ID)
		inv := got.LatestInvoice
		if got.Status != stripe.SubscriptionStatusActive || inv.Status != stripe.InvoiceStatusPaid || inv.Total != 1200 ||
			inv.AmountPaid != 1200 || inv.BillingReason != stripe.InvoiceBillingReasonSubscriptionCycle ||
			inv.Parent == nil || inv.Parent.SubscriptionDetails == nil || inv.Parent.SubscriptionDetails.Subscription.ID != gold.ID {
			t.Fatalf("after the trial: %s, invoice %+v", got.Status, inv)
		}
		if it := got.Items.Data[0]; it.CurrentPeriodStart != trialEnd || got.BillingCycleAnchor != trialEnd {
			t.Errorf("period after the trial: %d, anchor %d", it.CurrentPeriodStart, got.BillingCycleAnchor)
		}

		// Two more renewals; meanwhile the other subscription ended at its
		// period's end. They fall on the anchor's day of the month, clamped
		// to the month's end (from 30 January: 28 February, 30 March).
		secondEnd := pay.AddIntervals(trialEnd, pay.IntervalMonth, 1, 2)
		advance(secondEnd + 2*3600)
		got = sub(gold.ID)
		if got.Status != stripe.SubscriptionStatusActive || got.LatestInvoice.Status != stripe.InvoiceStatusPaid ||
			got.Items.Data[0].CurrentPeriodStart != secondEnd {
			t.Fatalf("after two renewals: %s, latest %s, period from %d (want %d)", got.Status, got.LatestInvoice.Status,
				got.Items.Data[0].CurrentPeriodStart, secondEnd)
		}
		paid := 0
		for inv, err := range sc.V1Invoices.List(ctx, &stripe.InvoiceListParams{Subscription: stripe.String(gold.ID)}).All(ctx) {
			must(err)
			if inv.Status == stripe.InvoiceStatusPaid && inv.AmountPaid == 1200 {
				paid++
			}
		}
		if paid != 3 {
			t.Errorf("%d renewal invoices paid, want 3", paid)
		}
		if s := sub(short.ID); s.Status != stripe.SubscriptionStatusCanceled || s.EndedAt != short.Items.Data[0].CurrentPeriodEnd {
			t.Errorf("cancel at period end: %s ended %d", s.Status, s.EndedAt)
		}

		// Mid-period, an upgrade to a £20 price, invoiced and charged at
		// once: the unused time of the old price credited, the rest of the
		// period at the new one, with VAT.
		premium, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Product: stripe.String(prod.ID), Currency: stripe.String("gbp"),
			UnitAmount: stripe.Int64(2000), Recurring: &stripe.PriceCreateRecurringParams{Interval: stripe.String("month")}})
		must(err)
		periodStart, periodEnd := got.Items.Data[0].CurrentPeriodStart, got.Items.Data[0].CurrentPeriodEnd
		mid := periodStart + (periodEnd-periodStart)/2
		advance(mid)
		up, err := sc.V1Subscriptions.Update(ctx, gold.ID, &stripe.SubscriptionUpdateParams{
			Items:             []*stripe.SubscriptionUpdateItemParams{{ID: stripe.String(got.Items.Data[0].ID), Price: stripe.String(premium.ID)}},
			ProrationBehavior: stripe.String("always_invoice"), Expand: []*string{stripe.String("latest_invoice")}})
		must(err)
		credit, debit := -pay.Prorate(1000, periodEnd-mid, periodEnd-periodStart), pay.Prorate(2000, periodEnd-mid, periodEnd-periodStart)
		if inv := up.LatestInvoice; inv.BillingReason != stripe.InvoiceBillingReasonSubscriptionUpdate || inv.Status != stripe.InvoiceStatusPaid ||
			inv.Subtotal != debit+credit || inv.Total != inv.Subtotal+pay.ComputeLineTax(debit, []*pay.TaxRate{{Percentage: 200000}}).Exclusive+
			pay.ComputeLineTax(credit, []*pay.TaxRate{{Percentage: 200000}}).Exclusive {
			t.Errorf("upgrade invoice: %s %s subtotal %d total %d (credit %d, debit %d)", inv.BillingReason, inv.Status, inv.Subtotal, inv.Total,
				credit, debit)
		}

		// The card starts declining: past due at the next renewal, then
		// the default schedule (an hour, a day, three days), then cancelled.
		setDefaultCard(t, sc, ada.ID, "pm_card_chargeCustomerFail")
		next := got.Items.Data[0].CurrentPeriodEnd
		advance(next + 3600 + 1800)
		got = sub(gold.ID)
		failing := got.LatestInvoice
		if got.Status != stripe.SubscriptionStatusPastDue || failing.Status != stripe.InvoiceStatusOpen || failing.AttemptCount != 1 ||
			failing.NextPaymentAttempt == 0 {
			t.Fatalf("after the first decline: %s, invoice %s attempts %d next %d", got.Status, failing.Status, failing.AttemptCount,
				failing.NextPaymentAttempt)
		}
		advance(next + 6*86400)
		got = sub(gold.ID)
		if got.Status != stripe.SubscriptionStatusCanceled || got.CancellationDetails == nil ||
			got.CancellationDetails.Reason != stripe.SubscriptionCancellationDetailsReasonPaymentFailed || got.LatestInvoice.AttemptCount != 4 {
			t.Fatalf("after dunning: %s %+v, attempts %d", got.Status, got.CancellationDetails, got.LatestInvoice.AttemptCount)
		}

		// A manual invoice: two items at VAT, its PDF.
		cleo := customer("")
		for _, d := range []string{"Darjeeling", "Assam"} {
			_, err := sc.V1InvoiceItems.Create(ctx, &stripe.InvoiceItemCreateParams{Customer: stripe.String(cleo.ID), Amount: stripe.Int64(1500),
				Currency: stripe.String("gbp"), Description: stripe.String(d), TaxRates: []*string{stripe.String(vat.ID)}})
			must(err)
		}
		manual, err := sc.V1Invoices.Create(ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cleo.ID),
			CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(30),
			PendingInvoiceItemsBehavior: stripe.String("include")})
		must(err)
		manual, err = sc.V1Invoices.FinalizeInvoice(ctx, manual.ID, nil)
		must(err)
		if manual.Total != 3600 || manual.HostedInvoiceURL == "" {
			t.Fatalf("manual invoice: %+v", manual)
		}
		if text := pdfText(t, manual.InvoicePDF); text != "" {
			for _, want := range []string{manual.Number, "Darjeeling", "Assam", "£36.00", "VAT"} {
				if !strings.Contains(text, want) {
					t.Errorf("the PDF has no %q:\n%s", want, text)
				}
			}
		}

		// The customer pays it on its hosted invoice page, in a browser.
		tab := browsertest.New(t, 60*time.Second)
		tab.Do(chromedp.Navigate(manual.HostedInvoiceURL))
		payOnGatewayPage(t, tab, srv, "4242 4242 4242 4242")
		if got := tab.Text("#status"); got != "Paid" {
			t.Errorf("the hosted page after paying says %q", got)
		}
		manual, err = sc.V1Invoices.Retrieve(ctx, manual.ID, nil)
		must(err)
		if manual.Status != stripe.InvoiceStatusPaid || manual.AmountPaid != 3600 {
			t.Errorf("manual invoice after the hosted payment: %s, paid %d", manual.Status, manual.AmountPaid)
		}

		// Every event was delivered, and verified by stripe-go.
		var all []*stripe.Event
		for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
			must(err)
			all = append(all, e)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, bad := rc.received()
			if len(bad) > 0 {
				t.Fatalf("deliveries stripe-go refused: %v", bad)
			}
			missing := 0
			for _, e := range all {
				if _, ok := got[e.ID]; !ok {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events not delivered after 30 s", missing, len(all))
			}
			time.Sleep(50 * time.Millisecond)
		}
		seen := map[stripe.EventType]bool{}
		for _, e := range all {
			seen[e.Type] = true
		}
		for _, want := range []stripe.EventType{"customer.subscription.created", "customer.subscription.updated",
			"customer.subscription.trial_will_end", "customer.subscription.deleted", "invoice.upcoming", "invoice.created",
			"invoice.finalized", "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed", "payment_intent.succeeded",
			"payment_intent.payment_failed", "test_helpers.test_clock.ready", "invoiceitem.created"} {
			if !seen[want] {
				t.Errorf("no %s event", want)
			}
		}
	})
}

// setDefaultCard attaches a Stripe test payment method to a customer and
// makes it the default for invoices.
func setDefaultCard(t *testing.T, sc *stripe.Client, cus, card string) {
	t.Helper()
	ctx := context.Background()
	pm, err := sc.V1PaymentMethods.Attach(ctx, card, &stripe.PaymentMethodAttachParams{Customer: stripe.String(cus)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Customers.Update(ctx, cus, &stripe.CustomerUpdateParams{InvoiceSettings: &stripe.CustomerUpdateInvoiceSettingsParams{
		DefaultPaymentMethod: stripe.String(pm.ID)}}); err != nil {
		t.Fatal(err)
	}
}

// pdfText fetches a PDF and returns its text (pdftotext), or "" with a
// visible line when pdftotext is not installed.
func pdfText(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(string(doc), "%PDF") {
		t.Fatalf("PDF %s: %d", u, res.StatusCode)
	}
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Log("pdftotext is not installed: the PDF's text is not checked")
		return ""
	}
	cmd := exec.Command(bin, "-layout", "-", "-")
	cmd.Stdin = strings.NewReader(string(doc))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
