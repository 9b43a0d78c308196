package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
)

// portalFixture is a merchant with a product of three monthly prices (two
// offered in the portal), a customer on a test clock subscribed to the
// cheapest with a Mastercard, and another customer with a subscription of
// their own.
type portalFixture struct {
	sc                     *stripe.Client
	prod                   *stripe.Product
	basic, premium, hidden *stripe.Price
	clock                  *stripe.TestHelpersTestClock
	ada, bob               *stripe.Customer
	adaSub, bobSub         *stripe.Subscription
	config                 *stripe.BillingPortalConfiguration
	t0                     int64
}

func newPortalFixture(t *testing.T, srv *apitest.Server) *portalFixture {
	t.Helper()
	ctx := context.Background()
	f := &portalFixture{sc: payClient(t, srv, "")}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.prod, err = f.sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("Gold plan")})
	must(err)
	price := func(amount int64) *stripe.Price {
		p, err := f.sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Product: stripe.String(f.prod.ID), Currency: stripe.String("gbp"),
			UnitAmount: stripe.Int64(amount), Recurring: &stripe.PriceCreateRecurringParams{Interval: stripe.String("month")}})
		must(err)
		return p
	}
	f.basic, f.premium, f.hidden = price(1000), price(2000), price(3000)
	f.t0 = time.Now().Truncate(time.Hour).Unix()
	f.clock, err = f.sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(f.t0)})
	must(err)
	customer := func(name, card string) (*stripe.Customer, *stripe.Subscription) {
		c, err := f.sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String(name), Email: stripe.String(strings.ToLower(name) + "@example.com"),
			TestClock: stripe.String(f.clock.ID)})
		must(err)
		setDefaultCard(t, f.sc, c.ID, card)
		s, err := f.sc.V1Subscriptions.Create(ctx, &stripe.SubscriptionCreateParams{Customer: stripe.String(c.ID),
			Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(f.basic.ID)}}})
		must(err)
		if s.Status != stripe.SubscriptionStatusActive {
			t.Fatalf("subscription of %s: %s", name, s.Status)
		}
		return c, s
	}
	f.ada, f.adaSub = customer("Ada", "pm_card_mastercard")
	f.bob, f.bobSub = customer("Bob", "pm_card_visa")
	f.config, err = f.sc.V1BillingPortalConfigurations.Create(ctx, &stripe.BillingPortalConfigurationCreateParams{
		BusinessProfile:  &stripe.BillingPortalConfigurationCreateBusinessProfileParams{Headline: stripe.String("Gold plans: manage yours")},
		DefaultReturnURL: stripe.String("https://shop.example.com/account"),
		Features: &stripe.BillingPortalConfigurationCreateFeaturesParams{
			CustomerUpdate: &stripe.BillingPortalConfigurationCreateFeaturesCustomerUpdateParams{Enabled: stripe.Bool(true),
				AllowedUpdates: []*string{stripe.String("email"), stripe.String("address")}},
			InvoiceHistory:      &stripe.BillingPortalConfigurationCreateFeaturesInvoiceHistoryParams{Enabled: stripe.Bool(true)},
			PaymentMethodUpdate: &stripe.BillingPortalConfigurationCreateFeaturesPaymentMethodUpdateParams{Enabled: stripe.Bool(true)},
			SubscriptionCancel: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionCancelParams{Enabled: stripe.Bool(true),
				Mode: stripe.String("at_period_end"),
				CancellationReason: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionCancelCancellationReasonParams{
					Enabled: stripe.Bool(true), Options: []*string{stripe.String("too_expensive"), stripe.String("other")}}},
			SubscriptionUpdate: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionUpdateParams{Enabled: stripe.Bool(true),
				DefaultAllowedUpdates: []*string{stripe.String("price")}, ProrationBehavior: stripe.String("create_prorations"),
				Products: []*stripe.BillingPortalConfigurationCreateFeaturesSubscriptionUpdateProductParams{{Product: stripe.String(f.prod.ID),
					Prices: []*string{stripe.String(f.basic.ID), stripe.String(f.premium.ID)}}}},
		}})
	must(err)
	return f
}

// session makes a portal session for customer with stripe-go.
func (f *portalFixture) session(t *testing.T, customer string) *stripe.BillingPortalSession {
	t.Helper()
	s, err := f.sc.V1BillingPortalSessions.Create(context.Background(), &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(customer),
		ReturnURL: stripe.String("https://shop.example.com/billing")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *portalFixture) sub(t *testing.T, id string) *stripe.Subscription {
	t.Helper()
	s, err := f.sc.V1Subscriptions.Retrieve(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// post posts a portal form as the page's own browser would (same-origin
// fetch metadata) and returns the answer, unfollowed.
func portalPost(t *testing.T, target string, form url.Values, site string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", site)
	b := newBrowser(t)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, sb.String()
}

// replaceCard presses "replace card" on a portal page and goes through the
// gateway's hosted page (a VERIFY) with a card, as a browser would without
// scripts. It returns the signed result the gateway sent through the
// browser and the callback's answer.
func (b *browser) replaceCard(portalURL, number string) (url.Values, int, http.Header) {
	b.t.Helper()
	status, hdr, body := b.page("POST", portalURL+"/card", nil)
	if status != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'nonce-") {
		b.t.Fatalf("replace card: %d %v\n%s", status, hdr, body)
	}
	action, fields := b.form(portalURL, body)
	if fields.Get("action") != "VERIFY" || fields.Get("amount") != "0" {
		b.t.Fatalf("the hosted form is a %s of %s, want a VERIFY of 0", fields.Get("action"), fields.Get("amount"))
	}
	_, _, body = b.page("POST", action, fields)
	cardAction, card := b.form(action, body)
	card.Set("cardNumber", number)
	card.Set("cardExpiryMonth", "12")
	card.Set("cardExpiryYear", fmt.Sprint(time.Now().Year()%100+2))
	card.Set("cardCVV", "123")
	card.Set("op", "pay")
	_, _, body = b.page("POST", cardAction, card)
	back, result := b.form(cardAction, body)
	status, hdr, _ = b.page("POST", back, result)
	return result, status, hdr
}

// TestPortalSDK drives the customer portal over HTTP, as a browser would
// without scripts, after making its configuration and session with
// stripe-go: the page and its headers, cancel at period end with a reason
// and resume, a price switch with prorations, billing details, a card
// replaced through the gateway's hosted VERIFY (declined, then saved,
// replayed, forged) that the next renewal charges, and the events.
func TestPortalSDK(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		ctx := context.Background()
		f := newPortalFixture(t, srv)
		sc := f.sc
		if !f.config.IsDefault || !f.config.Active || f.config.Features.SubscriptionCancel.Mode != "at_period_end" ||
			len(f.config.Features.SubscriptionUpdate.Products) != 1 || len(f.config.Features.SubscriptionUpdate.Products[0].Prices) != 2 ||
			f.config.DefaultReturnURL != "https://shop.example.com/account" || f.config.BusinessProfile.Headline != "Gold plans: manage yours" {
			t.Fatalf("configuration: %+v", f.config)
		}
		ps := f.session(t, f.ada.ID)
		if ps.Customer != f.ada.ID || ps.Configuration == nil || ps.Configuration.ID != f.config.ID || ps.ReturnURL != "https://shop.example.com/billing" ||
			!strings.HasPrefix(ps.URL, srv.URL+"/portal/") || len(strings.TrimPrefix(ps.URL, srv.URL+"/portal/")) != 43 || ps.Livemode {
			t.Fatalf("session: %+v", ps)
		}
		// A retry with the same idempotency key answers the same session;
		// expand[]=configuration shows the configuration.
		again := func() *stripe.BillingPortalSession {
			p := &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(f.ada.ID)}
			p.SetIdempotencyKey("portal-" + f.ada.ID)
			p.AddExpand("configuration")
			s, err := sc.V1BillingPortalSessions.Create(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		first, second := again(), again()
		if first.ID != second.ID || first.URL != second.URL || first.URL == ps.URL || first.Configuration.Features == nil ||
			!first.Configuration.Features.InvoiceHistory.Enabled || first.ReturnURL != "https://shop.example.com/account" {
			t.Errorf("keyed sessions: %+v, %+v", first, second)
		}
		// An open invoice offers "Pay now" through its hosted page.
		if _, err := sc.V1InvoiceItems.Create(ctx, &stripe.InvoiceItemCreateParams{Customer: stripe.String(f.ada.ID), Amount: stripe.Int64(700),
			Currency: stripe.String("gbp"), Description: stripe.String("Setup fee")}); err != nil {
			t.Fatal(err)
		}
		open, err := sc.V1Invoices.Create(ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(f.ada.ID), CollectionMethod: stripe.String("send_invoice"),
			DaysUntilDue: stripe.Int64(7), PendingInvoiceItemsBehavior: stripe.String("include")})
		if err != nil {
			t.Fatal(err)
		}
		if open, err = sc.V1Invoices.FinalizeInvoice(ctx, open.ID, nil); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		status, hdr, body := b.page("GET", ps.URL, nil)
		if status != 200 {
			t.Fatalf("portal page: %d\n%s", status, body)
		}
		for k, want := range map[string]string{"X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
			if hdr.Get(k) != want {
				t.Errorf("portal page %s = %q, want %q", k, hdr.Get(k), want)
			}
		}
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, "script-src") {
			t.Errorf("portal page CSP = %q", csp)
		}
		for _, want := range []string{`name="robots" content="noindex`, `name="referrer" content="no-referrer"`, f.adaSub.ID, "Gold plan: £10.00 every month", "Next payment: £10.00",
			"mastercard ending 4444", "https://shop.example.com/billing", "Gold plans: manage yours", "/pdf", f.premium.ID,
			`<a class="pay" href="` + open.HostedInvoiceURL + `">Pay now</a>`, "£7.00"} {
			if !strings.Contains(body, want) {
				t.Errorf("portal page lacks %q", want)
			}
		}
		for _, leak := range []string{f.bob.ID, f.bobSub.ID, "bob@example.com", f.hidden.ID} {
			if strings.Contains(body, leak) {
				t.Errorf("portal page shows %q", leak)
			}
		}

		subURL := ps.URL + "/subscriptions/" + f.adaSub.ID
		// A cross-site post is refused and changes nothing.
		if st, _, _ := portalPost(t, subURL+"/cancel", url.Values{"reason": {"other"}}, "cross-site"); st != http.StatusForbidden {
			t.Errorf("cross-site cancel: %d, want 403", st)
		}
		if s := f.sub(t, f.adaSub.ID); s.CancelAtPeriodEnd {
			t.Fatal("a cross-site post cancelled the subscription")
		}
		// Another customer's subscription does not exist for this session.
		if st, _, _ := portalPost(t, ps.URL+"/subscriptions/"+f.bobSub.ID+"/cancel", nil, "same-origin"); st != http.StatusNotFound {
			t.Errorf("cancelling another customer's subscription: %d, want 404", st)
		}
		if s := f.sub(t, f.bobSub.ID); s.CancelAtPeriodEnd || s.Status != stripe.SubscriptionStatusActive {
			t.Fatal("another customer's subscription changed")
		}
		// A reason not offered is refused.
		if st, _, _ := portalPost(t, subURL+"/cancel", url.Values{"reason": {"low_quality"}}, "same-origin"); st != http.StatusBadRequest {
			t.Errorf("a reason not offered: %d, want 400", st)
		}
		// Cancel at the period's end, with a reason, then resume.
		st, hdr, _ := portalPost(t, subURL+"/cancel", url.Values{"reason": {"too_expensive"}}, "same-origin")
		if st != http.StatusSeeOther || hdr.Get("Location") != ps.URL+"?done=cancel_at_period_end" {
			t.Fatalf("cancel: %d %s", st, hdr.Get("Location"))
		}
		if s := f.sub(t, f.adaSub.ID); !s.CancelAtPeriodEnd || s.Status != stripe.SubscriptionStatusActive || s.CancellationDetails == nil ||
			s.CancellationDetails.Feedback != "too_expensive" {
			t.Fatalf("after cancel: %+v", s)
		}
		if _, _, body = b.page("GET", ps.URL+"?done=cancel_at_period_end", nil); !strings.Contains(body, "will not renew") ||
			!strings.Contains(body, "resume-"+f.adaSub.ID) {
			t.Error("the page does not offer to resume a subscription set to end")
		}
		if st, hdr, _ = portalPost(t, subURL+"/resume", nil, "same-origin"); st != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), "?done=resumed") {
			t.Fatalf("resume: %d %s", st, hdr.Get("Location"))
		}
		if s := f.sub(t, f.adaSub.ID); s.CancelAtPeriodEnd || s.Status != stripe.SubscriptionStatusActive {
			t.Fatalf("after resume: %+v", s)
		}

		// A price the configuration does not list is refused; a listed one
		// switches, with prorations.
		if st, _, _ = portalPost(t, subURL+"/switch", url.Values{"price": {f.hidden.ID}}, "same-origin"); st != http.StatusBadRequest {
			t.Errorf("switch to an unlisted price: %d, want 400", st)
		}
		if s := f.sub(t, f.adaSub.ID); s.Items.Data[0].Price.ID != f.basic.ID {
			t.Fatal("an unlisted price was switched to")
		}
		if st, hdr, _ = portalPost(t, subURL+"/switch", url.Values{"price": {f.premium.ID}}, "same-origin"); st != http.StatusSeeOther ||
			!strings.HasSuffix(hdr.Get("Location"), "?done=switched") {
			t.Fatalf("switch: %d %s", st, hdr.Get("Location"))
		}
		if s := f.sub(t, f.adaSub.ID); s.Items.Data[0].Price.ID != f.premium.ID {
			t.Fatalf("after switch the price is %s", s.Items.Data[0].Price.ID)
		}
		var prorations []int64
		for ii, err := range sc.V1InvoiceItems.List(ctx, &stripe.InvoiceItemListParams{Customer: stripe.String(f.ada.ID),
			Pending: stripe.Bool(true)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			prorations = append(prorations, ii.Amount)
		}
		if len(prorations) != 2 || prorations[0]+prorations[1] != 1000 {
			t.Errorf("prorations of a switch at the period's start: %v, want a credit of £10 and a debit of £20", prorations)
		}

		// Billing details.
		if st, _, _ = portalPost(t, ps.URL+"/details", url.Values{"email": {"ada@lovelace.example"}, "line1": {"1 High Street"},
			"city": {"London"}, "postal_code": {"E1 6AN"}, "country": {"gb"}}, "same-origin"); st != http.StatusSeeOther {
			t.Fatalf("details: %d", st)
		}
		if c, err := sc.V1Customers.Retrieve(ctx, f.ada.ID, nil); err != nil || c.Email != "ada@lovelace.example" || c.Address == nil ||
			c.Address.Line1 != "1 High Street" || c.Address.Country != "GB" {
			t.Errorf("customer after details: %+v %v", c, err)
		}

		// Replace the card: declined first, then Stripe's 4242 card.
		if _, st, hdr := b.replaceCard(ps.URL, "4000 0000 0000 0002"); st != http.StatusSeeOther || hdr.Get("Location") != ps.URL+"?card=declined" {
			t.Fatalf("declined card: %d %s", st, hdr.Get("Location"))
		}
		result, st, hdr := b.replaceCard(ps.URL, "4242 4242 4242 4242")
		if st != http.StatusSeeOther || hdr.Get("Location") != ps.URL+"?card=updated" {
			t.Fatalf("new card: %d %s", st, hdr.Get("Location"))
		}
		c, err := sc.V1Customers.Retrieve(ctx, f.ada.ID, nil)
		if err != nil || c.InvoiceSettings.DefaultPaymentMethod == nil {
			t.Fatalf("customer after the new card: %+v %v", c, err)
		}
		newPM := c.InvoiceSettings.DefaultPaymentMethod.ID
		pm, err := sc.V1PaymentMethods.Retrieve(ctx, newPM, nil)
		if err != nil || pm.Card.Last4 != "4242" || pm.Card.Brand != "visa" || pm.Customer == nil || pm.Customer.ID != f.ada.ID {
			t.Fatalf("new payment method: %+v %v", pm, err)
		}
		if s := f.sub(t, f.adaSub.ID); s.DefaultPaymentMethod == nil || s.DefaultPaymentMethod.ID != newPM {
			t.Errorf("the subscription's default payment method is %v, want %s", s.DefaultPaymentMethod, newPM)
		}
		if s := f.sub(t, f.bobSub.ID); s.DefaultPaymentMethod != nil {
			t.Errorf("another customer's subscription took a payment method: %v", s.DefaultPaymentMethod)
		}
		if _, _, body = b.page("GET", ps.URL+"?card=updated", nil); !strings.Contains(body, "visa ending 4242") {
			t.Error("the page does not show the new card")
		}
		// The same result again (the browser's copy replayed) changes
		// nothing; a forged one is refused.
		back := srv.URL + "/v1/checkout/sessions/callback?session_id=" + result.Get("orderRef")
		if st, hdr, _ := b.page("POST", back, result); st != http.StatusSeeOther || hdr.Get("Location") != ps.URL+"?card=updated" {
			t.Errorf("replayed result: %d %s", st, hdr.Get("Location"))
		}
		// Four copies of it at once: still recorded once.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if st, _ := rawPost(t, back+"&channel=callback", result.Encode()); st != http.StatusOK {
					t.Errorf("concurrent copy: %d", st)
				}
			})
		}
		wg.Wait()
		forged := url.Values{}
		for k, v := range result {
			forged[k] = v
		}
		forged.Set("xref", "26112612FORGEDXREF0000")
		if st, hdr, _ := b.page("POST", back, forged); st != http.StatusSeeOther || hdr.Get("Location") != ps.URL+"?card=unconfirmed" {
			t.Errorf("forged result: %d %s", st, hdr.Get("Location"))
		}
		n := 0
		for _, err := range sc.V1PaymentMethods.List(ctx, &stripe.PaymentMethodListParams{Customer: stripe.String(f.ada.ID)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("ada has %d payment methods, want 2 (the replay and the forgery saved none)", n)
		}

		// The next renewal charges the new card.
		now := f.t0
		if _, err := sc.V1TestHelpersTestClocks.Advance(ctx, f.clock.ID, &stripe.TestHelpersTestClockAdvanceParams{
			FrozenTime: stripe.Int64(f.sub(t, f.adaSub.ID).Items.Data[0].CurrentPeriodEnd + 2*3600)}); err != nil {
			t.Fatal(err)
		}
		waitReady(t, sc, f.clock.ID)
		_ = now
		renewed := f.sub(t, f.adaSub.ID)
		inv, err := sc.V1Invoices.Retrieve(ctx, renewed.LatestInvoice.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Status != stripe.InvoiceStatusPaid || inv.BillingReason != "subscription_cycle" || inv.Payments == nil || len(inv.Payments.Data) != 1 {
			t.Fatalf("renewal invoice: %s %s %+v", inv.Status, inv.BillingReason, inv.Payments)
		}
		pi, err := sc.V1PaymentIntents.Retrieve(ctx, inv.Payments.Data[0].Payment.PaymentIntent.ID, nil)
		if err != nil || pi.PaymentMethod == nil || pi.PaymentMethod.ID != newPM {
			t.Errorf("the renewal was charged to %v, want the new card %s (%v)", pi.PaymentMethod, newPM, err)
		}

		// Events: as the API's, and the session's shows no url.
		counts := map[string]int{}
		for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			counts[string(ev.Type)]++
			if ev.Type == "billing_portal.session.created" {
				if u, ok := ev.Data.Object["url"]; !ok || u != nil {
					t.Errorf("billing_portal.session.created shows url %v", u)
				}
				if ev.Data.Object["customer"] != f.ada.ID {
					t.Errorf("billing_portal.session.created for %v", ev.Data.Object["customer"])
				}
			}
		}
		for typ, atLeast := range map[string]int{"billing_portal.configuration.created": 1, "billing_portal.session.created": 1,
			"payment_method.attached": 3, "customer.updated": 1, "customer.subscription.updated": 4, "invoiceitem.created": 2} {
			if counts[typ] < atLeast {
				t.Errorf("%d %s events, want at least %d", counts[typ], typ, atLeast)
			}
		}
	})
}

// TestPortalBadInputSDK: the errors of session and configuration creation,
// token guessing, and expired and revoked sessions.
func TestPortalBadInputSDK(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			var offset atomic.Int64
			srv := apitest.Start(t, apitest.Options{Postgres: pg, Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
			testPortalBadInput(t, srv, &offset)
		})
	}
}

func testPortalBadInput(t *testing.T, srv *apitest.Server, offset *atomic.Int64) {
	{
		ctx := context.Background()
		sc := payClient(t, srv, "")
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("carol@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		create := func(p *stripe.BillingPortalSessionCreateParams) error {
			_, err := sc.V1BillingPortalSessions.Create(ctx, p)
			return err
		}
		for _, tt := range []struct {
			name   string
			params *stripe.BillingPortalSessionCreateParams
			want   sdkWant
		}{
			{"no customer", &stripe.BillingPortalSessionCreateParams{}, sdkWant{400, "invalid_request_error", "parameter_missing", "customer"}},
			{"unknown customer", &stripe.BillingPortalSessionCreateParams{Customer: stripe.String("cus_nope")}, sdkWant{404, "invalid_request_error", "resource_missing", "customer"}},
			{"loopback return_url", &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID), ReturnURL: stripe.String("https://127.0.0.1/x")},
				sdkWant{400, "invalid_request_error", "url_invalid", "return_url"}},
			{"http return_url", &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID), ReturnURL: stripe.String("http://shop.example.com/")},
				sdkWant{400, "invalid_request_error", "url_invalid", "return_url"}},
			{"metadata endpoint", &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID), ReturnURL: stripe.String("https://169.254.169.254/")},
				sdkWant{400, "invalid_request_error", "url_invalid", "return_url"}},
			{"unknown configuration", &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID), Configuration: stripe.String("bpc_nope")},
				sdkWant{404, "invalid_request_error", "resource_missing", "configuration"}},
		} {
			sdkCheckError(t, tt.name, create(tt.params), tt.want)
		}

		// Without a configuration, a default one is made once.
		ps, err := sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID)})
		if err != nil || ps.Configuration == nil || ps.ReturnURL != "" {
			t.Fatalf("session with the default configuration: %+v %v", ps, err)
		}
		def, err := sc.V1BillingPortalConfigurations.Retrieve(ctx, ps.Configuration.ID, nil)
		if err != nil || !def.IsDefault || !def.Features.InvoiceHistory.Enabled || !def.Features.PaymentMethodUpdate.Enabled ||
			def.Features.SubscriptionUpdate.Enabled {
			t.Fatalf("default configuration: %+v %v", def, err)
		}
		if _, err := sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID)}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range sc.V1BillingPortalConfigurations.List(ctx, &stripe.BillingPortalConfigurationListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 1 {
			t.Errorf("%d configurations after two sessions, want the one default", n)
		}
		sdkCheckError(t, "deactivating the default", func() error {
			_, err := sc.V1BillingPortalConfigurations.Update(ctx, def.ID, &stripe.BillingPortalConfigurationUpdateParams{Active: stripe.Bool(false)})
			return err
		}(), sdkWant{400, "invalid_request_error", "parameter_invalid", "active"})

		// An inactive configuration, and another project's.
		other, err := sc.V1BillingPortalConfigurations.Create(ctx, &stripe.BillingPortalConfigurationCreateParams{Name: stripe.String("other"),
			Features: &stripe.BillingPortalConfigurationCreateFeaturesParams{
				InvoiceHistory: &stripe.BillingPortalConfigurationCreateFeaturesInvoiceHistoryParams{Enabled: stripe.Bool(true)}}})
		if err != nil || other.IsDefault {
			t.Fatalf("second configuration: %+v %v", other, err)
		}
		if upd, err := sc.V1BillingPortalConfigurations.Update(ctx, other.ID, &stripe.BillingPortalConfigurationUpdateParams{Active: stripe.Bool(false)}); err != nil || upd.Active {
			t.Fatalf("deactivate: %+v %v", upd, err)
		}
		// is_default=true moves the default; the old one may then be
		// deactivated.
		moved, err := sc.V1BillingPortalConfigurations.Create(ctx, &stripe.BillingPortalConfigurationCreateParams{Name: stripe.String("new default")})
		if err != nil || moved.IsDefault {
			t.Fatalf("third configuration: %+v %v", moved, err)
		}
		if err := doForm(t, srv, "/v1/billing_portal/configurations/"+moved.ID, "is_default=true"); err != nil {
			t.Fatal(err)
		}
		if old, err := sc.V1BillingPortalConfigurations.Retrieve(ctx, def.ID, nil); err != nil || old.IsDefault {
			t.Errorf("the old default after moving it: %+v %v", old, err)
		}
		if old, err := sc.V1BillingPortalConfigurations.Update(ctx, def.ID, &stripe.BillingPortalConfigurationUpdateParams{Active: stripe.Bool(false)}); err != nil || old.Active {
			t.Errorf("deactivating the old default: %+v %v", old, err)
		}
		if s, err := sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID)}); err != nil ||
			s.Configuration.ID != moved.ID {
			t.Errorf("a session after moving the default: %+v %v", s, err)
		}
		sdkCheckError(t, "inactive configuration", create(&stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID),
			Configuration: stripe.String(other.ID)}), sdkWant{400, "invalid_request_error", "parameter_invalid", "configuration"})
		_, otherKey := apitest.NewProject(t, srv.DB)
		foreign, err := payClient(t, srv, otherKey).V1BillingPortalConfigurations.Create(ctx, &stripe.BillingPortalConfigurationCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		sdkCheckError(t, "another project's configuration", create(&stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID),
			Configuration: stripe.String(foreign.ID)}), sdkWant{404, "invalid_request_error", "resource_missing", "configuration"})
		if _, err := sc.V1BillingPortalConfigurations.Retrieve(ctx, foreign.ID, nil); err == nil {
			t.Error("another project's configuration can be read")
		}
		sdkCheckError(t, "another project's customer", func() error {
			_, err := payClient(t, srv, otherKey).V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID)})
			return err
		}(), sdkWant{404, "invalid_request_error", "resource_missing", "customer"})
		// A configuration listing a price of another product.
		prod, _ := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("A")})
		price := monthlyPrice(t, sc, 500, "month")
		_, err = sc.V1BillingPortalConfigurations.Create(ctx, &stripe.BillingPortalConfigurationCreateParams{
			Features: &stripe.BillingPortalConfigurationCreateFeaturesParams{
				SubscriptionUpdate: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionUpdateParams{Enabled: stripe.Bool(true),
					DefaultAllowedUpdates: []*string{stripe.String("price")},
					Products: []*stripe.BillingPortalConfigurationCreateFeaturesSubscriptionUpdateProductParams{{Product: stripe.String(prod.ID),
						Prices: []*string{stripe.String(price.ID)}}}}}})
		sdkCheckError(t, "a price of another product", err, sdkWant{400, "invalid_request_error", "parameter_invalid", "features[subscription_update][products][0][prices][0]"})

		// PortalLink, the dashboard's operation: SEC-10 on the return URL,
		// and a working address.
		if _, _, err := srv.Billing.PortalLink(ctx, pay.Scope{ProjectID: srv.Project}, billing.PortalSessionParams{Customer: cus.ID,
			ReturnURL: "https://10.0.0.1/"}); err == nil {
			t.Error("PortalLink took a private return URL")
		} else if e, ok := pay.AsError(err); !ok || e.Code != "url_invalid" || e.Param != "return_url" {
			t.Errorf("PortalLink with a private return URL: %v", err)
		}
		lps, link, err := srv.Billing.PortalLink(ctx, pay.Scope{ProjectID: srv.Project}, billing.PortalSessionParams{Customer: cus.ID})
		if err != nil || lps.Customer != cus.ID || !strings.HasPrefix(link, srv.URL+"/portal/") {
			t.Fatalf("PortalLink: %+v %q %v", lps, link, err)
		}
		if st, _, _ := newBrowser(t).page("GET", link, nil); st != 200 {
			t.Errorf("PortalLink's page: %d", st)
		}

		// Token guessing: a well-formed token that was never issued, and
		// malformed ones, show nothing but "not valid".
		b := newBrowser(t)
		for _, guess := range []string{pay.NewPortalToken(), "short", strings.Repeat("A", 43), strings.TrimPrefix(ps.URL, srv.URL+"/portal/")[:42] + "x"} {
			st, hdr, body := b.page("GET", srv.URL+"/portal/"+guess, nil)
			if st != http.StatusNotFound || !strings.Contains(body, "not valid") || strings.Contains(body, "carol") || hdr.Get("X-Robots-Tag") == "" {
				t.Errorf("guessed token %q: %d\n%s", guess, st, body)
			}
		}
		// A deleted customer: no new session, and the old page has expired.
		live, err := sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID),
			ReturnURL: stripe.String("https://shop.example.com/account")})
		if err != nil {
			t.Fatal(err)
		}
		if st, _, _ := b.page("GET", live.URL, nil); st != 200 {
			t.Fatalf("fresh session page: %d", st)
		}
		// Revoked: the page shows the return link and nothing else.
		if n, err := srv.Billing.RevokePortalSessions(ctx, pay.Scope{ProjectID: srv.Project}, cus.ID); err != nil || n != 5 {
			t.Errorf("revoke: %d %v, want 5 sessions", n, err)
		}
		st, _, body := b.page("GET", live.URL, nil)
		if st != http.StatusGone || !strings.Contains(body, `href="https://shop.example.com/account"`) || strings.Contains(body, "carol") ||
			strings.Contains(body, "<form") {
			t.Errorf("revoked session page: %d\n%s", st, body)
		}
		if st, _, _ := portalPost(t, live.URL+"/details", url.Values{"email": {"mallory@example.com"}}, "same-origin"); st != http.StatusGone {
			t.Errorf("post to a revoked session: %d, want 410", st)
		}
		// Expired: 24 hours later.
		fresh, err := sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID)})
		if err != nil {
			t.Fatal(err)
		}
		offset.Add(int64(24*time.Hour + time.Second))
		if st, _, body := b.page("GET", fresh.URL, nil); st != http.StatusGone || !strings.Contains(body, "expired") {
			t.Errorf("expired session page: %d\n%s", st, body)
		}
		if c, _ := sc.V1Customers.Retrieve(ctx, cus.ID, nil); c.Email != "carol@example.com" {
			t.Errorf("the customer changed: %s", c.Email)
		}
		if _, err := sc.V1Customers.Delete(ctx, cus.ID, nil); err != nil {
			t.Fatal(err)
		}
		sdkCheckError(t, "deleted customer", create(&stripe.BillingPortalSessionCreateParams{Customer: stripe.String(cus.ID)}),
			sdkWant{404, "invalid_request_error", "resource_missing", "customer"})
	}
}

// doForm posts a form body to the API with the server's key (for the
// parameters stripe-go has no field for) and fails unless it answers 200.
func doForm(t *testing.T, srv *apitest.Server, path, body string) error {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.SetBasicAuth(srv.Key, "")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST %s %s: %d", path, body, resp.StatusCode)
	}
	return nil
}
