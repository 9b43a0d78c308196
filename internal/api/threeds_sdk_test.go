package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/cardstream"
)

// noFollow is a client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form[^>]*method="post" action="([^"]*)"`)
)

// postForm posts fields to target without following a redirect and returns
// the status, the Location and the body.
func postForm(t *testing.T, target string, fields url.Values) (int, string, string) {
	t.Helper()
	res, err := noFollow.PostForm(target, fields)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

// acsAnswer does, without a browser, what the 3-D Secure page makes the
// customer's browser do: open next_action's url, post its form to the ACS
// (the sandbox's test ACS), and pick letter there. It returns the address
// the ACS's form posts to (ours) and the fields it posts, unsent.
func acsAnswer(t *testing.T, pageURL, letter string) (string, url.Values) {
	t.Helper()
	res, err := http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(b)
	csp := res.Header.Get("Content-Security-Policy")
	m := formAction.FindStringSubmatch(page)
	if res.StatusCode != 200 || m == nil || !strings.Contains(csp, "form-action ") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("3-D Secure page %d (CSP %q): %s", res.StatusCode, csp, page)
	}
	acs := html.UnescapeString(m[1])
	fields := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(page, -1) {
		fields.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	status, _, acsPage := postForm(t, acs, fields)
	back := formAction.FindStringSubmatch(acsPage)
	cres := regexp.MustCompile(`name="cres" value="([^"]*:` + letter + `)"`).FindStringSubmatch(acsPage)
	if status != 200 || back == nil || cres == nil {
		t.Fatalf("ACS page %d: %s", status, acsPage)
	}
	return html.UnescapeString(back[1]), url.Values{"cres": {html.UnescapeString(cres[1])}}
}

// challenge answers pi's challenge with letter and returns where our return
// address sends the browser.
func challenge(t *testing.T, pi *stripe.PaymentIntent, letter string) string {
	t.Helper()
	if pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction == nil || pi.NextAction.RedirectToURL == nil {
		t.Fatalf("intent %s is %s with next_action %+v", pi.ID, pi.Status, pi.NextAction)
	}
	back, fields := acsAnswer(t, pi.NextAction.RedirectToURL.URL, letter)
	return onward(t, back, fields)
}

var continueLink = regexp.MustCompile(`<a id="continue" href="([^"]*)">`)

// onward posts the ACS's answer to our return address and returns where
// the page it answers sends the browser on to.
func onward(t *testing.T, back string, fields url.Values) string {
	t.Helper()
	status, _, body := postForm(t, back, fields)
	m := continueLink.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil || !strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatalf("return from the ACS: %d %s", status, body)
	}
	return html.UnescapeString(m[1])
}

// shopReturnURL starts the shop's return_url page.
func shopReturnURL(t *testing.T) string {
	t.Helper()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>Shop</title><p id="back">back at the shop: `+html.EscapeString(r.URL.Query().Get("redirect_status"))+`</p>`)
	}))
	t.Cleanup(shop.Close)
	return shop.URL + "/order/7?lang=en"
}

func TestSDKThreeDSecure(t *testing.T) {
	t.Parallel()
	returnURL := shopReturnURL(t)
	eachStoreWith(t, apitest.Options{AllowLocalhostURLs: true}, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		create := func(pm string, extra func(*stripe.PaymentIntentCreateParams)) (*stripe.PaymentIntent, error) {
			p := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500), Currency: stripe.String("gbp"), PaymentMethod: stripe.String(pm),
				Confirm: stripe.Bool(true), ReturnURL: stripe.String(returnURL)}
			if extra != nil {
				extra(p)
			}
			return sc.V1PaymentIntents.Create(ctx, p)
		}
		charge := func(pi *stripe.PaymentIntent) *stripe.Charge {
			t.Helper()
			pi, err := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil)
			if err != nil || pi.LatestCharge == nil {
				t.Fatalf("intent %+v, %v", pi, err)
			}
			ch, err := sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}

		for _, pm := range []string{"pm_card_threeDSecure2Required", "pm_card_authenticationRequired", "pm_card_threeDSecureRequired",
			"pm_card_authenticationRequiredOnSetup", "pm_card_authenticationRequiredSetupForOffSession"} {
			// Challenge passed.
			pi, err := create(pm, nil)
			if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction.Type != "redirect_to_url" ||
				pi.NextAction.RedirectToURL.ReturnURL != returnURL || !strings.HasPrefix(pi.NextAction.RedirectToURL.URL, srv.URL+"/3ds/"+pi.ID+"?token=") {
				t.Fatalf("%s: %+v, %v", pm, pi, err)
			}
			loc := challenge(t, pi, "Y")
			u, _ := url.Parse(loc)
			if q := u.Query(); !strings.HasPrefix(loc, strings.Split(returnURL, "?")[0]+"?") || q.Get("lang") != "en" || q.Get("payment_intent") != pi.ID ||
				q.Get("payment_intent_client_secret") != pi.ClientSecret || q.Get("redirect_status") != "succeeded" {
				t.Errorf("%s: sent back to %s", pm, loc)
			}
			got, err := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, &stripe.PaymentIntentRetrieveParams{ClientSecret: stripe.String(pi.ClientSecret)})
			if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded || got.AmountReceived != 1500 || got.NextAction != nil {
				t.Fatalf("%s after the challenge: %+v, %v", pm, got, err)
			}
			tds := charge(got).PaymentMethodDetails.Card.ThreeDSecure
			if tds == nil || tds.Result != "authenticated" || tds.AuthenticationFlow != "challenge" || tds.ElectronicCommerceIndicator != "05" || tds.Version != "2.2.0" {
				t.Errorf("%s: three_d_secure %+v", pm, tds)
			}
		}

		// Challenge failed.
		pi, err := create("pm_card_threeDSecure2Required", nil)
		if err != nil {
			t.Fatal(err)
		}
		back, fields := acsAnswer(t, pi.NextAction.RedirectToURL.URL, "N")
		if u, _ := url.Parse(onward(t, back, fields)); u.Query().Get("redirect_status") != "failed" {
			t.Errorf("failed challenge: sent to %s", u)
		}
		got, err := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil)
		if err != nil || got.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || got.LastPaymentError == nil ||
			got.LastPaymentError.Code != "payment_intent_authentication_failure" {
			t.Fatalf("after a failed challenge: %+v, %v", got, err)
		}
		if tds := charge(got).PaymentMethodDetails.Card.ThreeDSecure; tds == nil || tds.Result != "failed" {
			t.Errorf("failed challenge's three_d_secure: %+v", tds)
		}
		// The same answer again (a replay), and a forged one: refused, nothing changes.
		for _, f := range []url.Values{fields, {"cres": {"forged:Y"}}} {
			if status, _, _ := postForm(t, back, f); status != http.StatusBadRequest {
				t.Errorf("replayed continuation: %d", status)
			}
		}
		if again, _ := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil); again.Status != got.Status || again.LatestCharge.ID != got.LatestCharge.ID {
			t.Errorf("a replay changed the intent: %+v", again)
		}
		// It can be confirmed again, and passes this time.
		pi, err = sc.V1PaymentIntents.Confirm(ctx, pi.ID, &stripe.PaymentIntentConfirmParams{ReturnURL: stripe.String(returnURL)})
		if err != nil {
			t.Fatal(err)
		}
		if loc := challenge(t, pi, "Y"); !strings.Contains(loc, "redirect_status=succeeded") {
			t.Errorf("second attempt: %s", loc)
		}

		// Frictionless: authenticated inside the confirm call.
		pi, err = create("pm_card_threeDSecureOptional", nil)
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded || pi.NextAction != nil {
			t.Fatalf("frictionless: %+v, %v", pi, err)
		}
		if tds := charge(pi).PaymentMethodDetails.Card.ThreeDSecure; tds == nil || tds.Result != "authenticated" || tds.AuthenticationFlow != "frictionless" {
			t.Errorf("frictionless three_d_secure: %+v", tds)
		}
		// Not enrolled (4242 with request_three_d_secure=any): no challenge.
		pi, err = create("pm_card_visa", func(p *stripe.PaymentIntentCreateParams) {
			p.PaymentMethodOptions = &stripe.PaymentIntentCreatePaymentMethodOptionsParams{
				Card: &stripe.PaymentIntentCreatePaymentMethodOptionsCardParams{RequestThreeDSecure: stripe.String("any")}}
		})
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded || pi.PaymentMethodOptions.Card.RequestThreeDSecure != "any" {
			t.Fatalf("not enrolled: %+v, %v", pi, err)
		}
		if tds := charge(pi).PaymentMethodDetails.Card.ThreeDSecure; tds == nil || tds.Result != "not_supported" || tds.ResultReason != "card_not_enrolled" {
			t.Errorf("not enrolled three_d_secure: %+v", tds)
		}
		// An ordinary card is not challenged, and shows no 3-D Secure.
		pi, err = create("pm_card_visa", nil)
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded || charge(pi).PaymentMethodDetails.Card.ThreeDSecure != nil {
			t.Fatalf("pm_card_visa: %+v, %v", pi, err)
		}
		// request_three_d_secure=challenge challenges even the frictionless card.
		pi, err = create("pm_card_threeDSecureOptional", func(p *stripe.PaymentIntentCreateParams) {
			p.PaymentMethodOptions = &stripe.PaymentIntentCreatePaymentMethodOptionsParams{
				Card: &stripe.PaymentIntentCreatePaymentMethodOptionsCardParams{RequestThreeDSecure: stripe.String("challenge")}}
		})
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction {
			t.Fatalf("challenge requested: %+v, %v", pi, err)
		}

		// Without return_url: use_stripe_sdk, and the page ends on ours.
		pi, err = sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true)})
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction.Type != "use_stripe_sdk" || pi.NextAction.UseStripeSDK == nil {
			t.Fatalf("without return_url: %+v, %v", pi, err)
		}

		// A continuation for another intent (A's answer at B's address):
		// refused by the gateway, nothing changes; each then completes.
		a, errA := create("pm_card_threeDSecure2Required", nil)
		b, errB := create("pm_card_threeDSecure2Required", func(p *stripe.PaymentIntentCreateParams) { p.CaptureMethod = stripe.String("manual") })
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		_, answerA := acsAnswer(t, a.NextAction.RedirectToURL.URL, "Y")
		backB, _ := acsAnswer(t, b.NextAction.RedirectToURL.URL, "Y")
		if status, loc, _ := postForm(t, backB, answerA); status != http.StatusSeeOther || loc != b.NextAction.RedirectToURL.URL {
			t.Errorf("A's answer at B's address: %d %s", status, loc)
		}
		for _, pi := range []*stripe.PaymentIntent{a, b} {
			if got, _ := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil); got.Status != stripe.PaymentIntentStatusRequiresAction || got.LatestCharge != nil {
				t.Errorf("after a crossed answer %s is %s", pi.ID, got.Status)
			}
		}
		if loc := challenge(t, a, "Y"); !strings.Contains(loc, "redirect_status=succeeded") {
			t.Errorf("A: %s", loc)
		}
		if loc := challenge(t, b, "A"); !strings.Contains(loc, "redirect_status=succeeded") {
			t.Errorf("B: %s", loc)
		}
		if got, _ := sc.V1PaymentIntents.Retrieve(ctx, b.ID, nil); got.Status != stripe.PaymentIntentStatusRequiresCapture || got.AmountCapturable != 1500 {
			t.Errorf("manual capture after 3-D Secure: %s %d", got.Status, got.AmountCapturable)
		} else if tds := charge(got).PaymentMethodDetails.Card.ThreeDSecure; tds.Result != "attempt_acknowledged" || tds.ElectronicCommerceIndicator != "06" {
			t.Errorf("attempted: %+v", tds)
		}

		// error_on_requires_action: authentication_required instead.
		_, err = create("pm_card_authenticationRequired", func(p *stripe.PaymentIntentCreateParams) { p.ErrorOnRequiresAction = stripe.Bool(true) })
		if se := stripeErr(t, err); se.Code != "authentication_required" || se.PaymentIntent == nil ||
			se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
			t.Errorf("error_on_requires_action: %+v", se)
		}

		// Tampering: a wrong token, a wrong client secret.
		pi, err = create("pm_card_authenticationRequired", nil)
		if err != nil {
			t.Fatal(err)
		}
		page := pi.NextAction.RedirectToURL.URL
		if res, err := http.Get(page[:len(page)-4] + "AAAA"); err != nil || res.StatusCode != http.StatusNotFound {
			t.Errorf("page with a wrong token: %v %v", res.StatusCode, err)
		}
		back, fields = acsAnswer(t, page, "Y")
		if status, _, _ := postForm(t, strings.Replace(back, "token=", "token=x", 1), fields); status != http.StatusBadRequest {
			t.Errorf("return with a wrong token: %d", status)
		}
		if _, err := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, &stripe.PaymentIntentRetrieveParams{ClientSecret: stripe.String(pi.ClientSecret + "x")}); stripeErr(t, err).Param != "client_secret" {
			t.Errorf("tampered client secret: %v", err)
		}
		if got, _ := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil); got.Status != stripe.PaymentIntentStatusRequiresAction {
			t.Errorf("tampering changed the intent: %s", got.Status)
		}

		// Off-session: authentication_required, then on-session later.
		_, err = create("pm_card_authenticationRequired", func(p *stripe.PaymentIntentCreateParams) { p.OffSession, p.ReturnURL = stripe.Bool(true), nil })
		se := stripeErr(t, err)
		if se.Code != "authentication_required" || se.DeclineCode != "authentication_required" || se.PaymentIntent == nil ||
			se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
			t.Fatalf("off-session: %+v", se)
		}
		pi, err = sc.V1PaymentIntents.Confirm(ctx, se.PaymentIntent.ID, &stripe.PaymentIntentConfirmParams{ReturnURL: stripe.String(returnURL)})
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction {
			t.Fatalf("on-session after off-session: %+v, %v", pi, err)
		}

		// Set up once (setup_future_usage=off_session), then exempt.
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		pi, err = create("pm_card_authenticationRequiredOnSetup", func(p *stripe.PaymentIntentCreateParams) {
			p.Customer, p.SetupFutureUsage = stripe.String(cus.ID), stripe.String("off_session")
		})
		if err != nil {
			t.Fatal(err)
		}
		saved := pi.PaymentMethod.ID
		offSession := func(pm string) (*stripe.PaymentIntent, error) {
			return sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(900), Currency: stripe.String("gbp"),
				Customer: stripe.String(cus.ID), PaymentMethod: stripe.String(pm), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true)})
		}
		if _, err := offSession(saved); stripeErr(t, err).Code != "authentication_required" {
			t.Errorf("off-session before the set-up: %v", err)
		}
		if loc := challenge(t, pi, "Y"); !strings.Contains(loc, "redirect_status=succeeded") {
			t.Fatalf("set-up payment: %s", loc)
		}
		if pi, err := offSession(saved); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Errorf("off-session after the set-up: %+v, %v", pi, err)
		}
		if pi, err := offSession("pm_card_authenticationRequiredSetupForOffSession"); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Errorf("off-session, already set up: %+v, %v", pi, err)
		}

		counts := map[string]int{}
		for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			counts[string(ev.Type)]++
		}
		if counts["payment_intent.requires_action"] < 10 {
			t.Errorf("events: %v", counts)
		}
	})
}

// TestSubscriptionThreeDSecure: a subscription whose first payment needs
// authentication is incomplete, its invoice open with its payment intent in
// requires_action (the invoice's confirmation_secret); authenticating it
// pays the invoice and activates the subscription. Its renewals are
// off-session and the card, set up by that payment, is exempt.
func TestSubscriptionThreeDSecure(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		f := newInvoiceFixture(t, sc, "pm_card_authenticationRequiredOnSetup")
		price := monthlyPrice(t, sc, 1000, "month")
		params := &stripe.SubscriptionCreateParams{Customer: stripe.String(f.cus.ID), Items: []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}}}
		params.AddExpand("latest_invoice.confirmation_secret")
		sub, err := sc.V1Subscriptions.Create(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		inv := sub.LatestInvoice
		if sub.Status != stripe.SubscriptionStatusIncomplete || inv == nil || inv.Status != stripe.InvoiceStatusOpen || inv.ConfirmationSecret == nil {
			t.Fatalf("subscription %s, invoice %+v", sub.Status, inv)
		}
		piID, _, _ := strings.Cut(inv.ConfirmationSecret.ClientSecret, "_secret_")
		pi, err := sc.V1PaymentIntents.Retrieve(ctx, piID, nil)
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction == nil || pi.NextAction.Type != "use_stripe_sdk" {
			t.Fatalf("first payment %+v, %v", pi, err)
		}
		var raw struct {
			NextAction struct {
				UseStripeSDK struct {
					StripeJS string `json:"stripe_js"`
				} `json:"use_stripe_sdk"`
			} `json:"next_action"`
		}
		if err := json.Unmarshal(pi.LastResponse.RawJSON, &raw); err != nil || raw.NextAction.UseStripeSDK.StripeJS == "" {
			t.Fatalf("use_stripe_sdk: %s", pi.LastResponse.RawJSON)
		}
		back, fields := acsAnswer(t, raw.NextAction.UseStripeSDK.StripeJS, "Y")
		if status, _, body := postForm(t, back, fields); status != http.StatusOK || !strings.Contains(body, "Payment authenticated") {
			t.Fatalf("return without return_url: %d %s", status, body)
		}
		got, err := sc.V1Subscriptions.Retrieve(ctx, sub.ID, nil)
		if err != nil || got.Status != stripe.SubscriptionStatusActive {
			t.Fatalf("after authenticating: %+v, %v", got, err)
		}
		paid, err := sc.V1Invoices.Retrieve(ctx, inv.ID, nil)
		if err != nil || paid.Status != stripe.InvoiceStatusPaid || paid.AmountPaid != inv.AmountDue {
			t.Fatalf("invoice after authenticating: %+v, %v", paid, err)
		}
		// The card was authenticated for off-session use: an off-session
		// payment with it (as a renewal's) goes through.
		pm := pi.PaymentMethod.ID
		off, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
			Customer: stripe.String(f.cus.ID), PaymentMethod: stripe.String(pm), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true)})
		if err != nil || off.Status != stripe.PaymentIntentStatusSucceeded {
			t.Errorf("off-session after the subscription's first payment: %+v, %v", off, err)
		}
	})
}

// TestThreeDSContinuationCrash kills the 3-D Secure continuation after it
// was recorded and before it reached the gateway, then after the gateway
// answered and before the answer was recorded: the intent stays
// processing, the ACS's answer posted again is refused (nothing sent), and
// the reconciler finishes the continuation (sending it, or finding with a
// QUERY that it landed) with exactly one authorisation at the gateway.
func TestThreeDSContinuationCrash(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			if db == "postgres" && testing.Short() {
				t.Skip()
			}
			rig := newFaultRig(t, db == "postgres", apitest.Options{AllowLocalhostURLs: true})
			ctx := context.Background()
			for i, point := range []string{"prepared", "called"} {
				pi, err := rig.sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500), Currency: stripe.String("gbp"),
					PaymentMethod: stripe.String("pm_card_threeDSecure2Required"), Confirm: stripe.Bool(true), ReturnURL: stripe.String("https://shop.example/done")})
				if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction {
					t.Fatalf("%s: %+v, %v", point, pi, err)
				}
				back, fields := acsAnswer(t, pi.NextAction.RedirectToURL.URL, "Y")
				rig.armed.Store(point)
				if status, _, _ := postForm(t, back, fields); status != http.StatusInternalServerError {
					t.Errorf("%s: crashed continuation answered %d", point, status)
				}
				if got, _ := rig.sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil); got.Status != stripe.PaymentIntentStatusProcessing {
					t.Errorf("%s: after the crash the intent is %s", point, got.Status)
				}
				if status, _, _ := postForm(t, back, fields); status != http.StatusBadRequest {
					t.Errorf("%s: the answer posted again: %d", point, status)
				}
				rig.later(t)
				got, err := rig.sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil)
				if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded || got.AmountReceived != 1500 {
					t.Fatalf("%s: reconciled intent %+v, %v", point, got, err)
				}
				ch, err := rig.sc.V1Charges.Retrieve(ctx, got.LatestCharge.ID, nil)
				if err != nil || ch.PaymentMethodDetails.Card.ThreeDSecure == nil || ch.PaymentMethodDetails.Card.ThreeDSecure.Result != "authenticated" {
					t.Errorf("%s: charge %+v, %v", point, ch, err)
				}
				if _, approved := rig.gw.counts("3DS"); approved != i+1 {
					t.Errorf("%s: %d continuations approved at the gateway, want %d", point, approved, i+1)
				}
			}
		})
	}
}

// TestCheckoutThreeDSecure: Stripe's 3-D Secure test cards typed on the
// sandbox's hosted payment page are challenged there (the test ACS), and
// the callback records the result: the charge shows three_d_secure; a
// failed challenge is a decline that leaves the session open.
func TestCheckoutThreeDSecure(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		b := newBrowser(t)
		for _, tt := range []struct {
			letter string
			paid   bool
		}{{"N", false}, {"Y", true}} {
			sess := newSession(t, sc, 1800, nil)
			status, _, body := b.page("GET", sess.URL, nil)
			if status != 200 {
				t.Fatalf("checkout page %d", status)
			}
			action, fields := b.form(sess.URL, body)
			_, _, body = b.page("POST", action, fields)
			cardAction, card := b.form(action, body)
			card.Set("cardNumber", "4000 0027 6000 3184")
			card.Set("cardExpiryMonth", "12")
			card.Set("cardExpiryYear", "34")
			card.Set("cardCVV", "123")
			card.Set("op", "pay")
			_, hdr, acs := b.page("POST", cardAction, card)
			cres := regexp.MustCompile(`name="cres" value="([^"]*:` + tt.letter + `)"`).FindStringSubmatch(acs)
			if cres == nil || !strings.Contains(acs, "3-D Secure test ACS") || !strings.Contains(hdr.Get("Content-Security-Policy"), srv.SandboxURL) {
				t.Fatalf("%s: the hosted page shows no challenge (CSP %q):\n%s", tt.letter, hdr.Get("Content-Security-Policy"), acs)
			}
			acsAction, _ := b.form(cardAction, acs)
			_, _, body = b.page("POST", acsAction, url.Values{"cres": {html.UnescapeString(cres[1])}})
			back, result := b.form(acsAction, body)
			// The ACS's answer again: the challenge is over.
			if status, _, _ := b.page("POST", acsAction, url.Values{"cres": {html.UnescapeString(cres[1])}}); status != http.StatusGone {
				t.Errorf("%s: the ACS's answer posted again: %d", tt.letter, status)
			}
			status, hdr, _ = b.page("POST", back, result)
			got, err := sc.V1CheckoutSessions.Retrieve(ctx, sess.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.paid {
				if result.Get("responseCode") != "65803" || got.Status != stripe.CheckoutSessionStatusOpen || got.PaymentIntent != nil {
					t.Errorf("failed challenge: response %s, session %s, %d %s", result.Get("responseCode"), got.Status, status, hdr.Get("Location"))
				}
				continue
			}
			if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "https://shop.example.com/thanks") ||
				got.Status != stripe.CheckoutSessionStatusComplete || got.PaymentIntent == nil {
				t.Fatalf("passed challenge: %d %s, session %+v", status, hdr.Get("Location"), got)
			}
			pi, err := sc.V1PaymentIntents.Retrieve(ctx, got.PaymentIntent.ID, nil)
			if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
				t.Fatalf("payment %+v, %v", pi, err)
			}
			ch, err := sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
			if tds := ch.PaymentMethodDetails.Card.ThreeDSecure; err != nil || tds == nil || tds.Result != "authenticated" || tds.ElectronicCommerceIndicator != "05" ||
				ch.PaymentMethodDetails.Card.Last4 != "3184" {
				t.Errorf("charge %+v, %v", ch.PaymentMethodDetails.Card, err)
			}
		}
	})
}

// TestThreeDSContinuationAnswerLost: the continuation reaches the gateway
// and is approved, but its answer is lost: the browser is sent back with
// redirect_status=processing, and the reconciler finds with a QUERY that it
// was approved, once.
func TestThreeDSContinuationAnswerLost(t *testing.T) {
	t.Parallel()
	rig := newFaultRig(t, false, apitest.Options{AllowLocalhostURLs: true})
	ctx := context.Background()
	rig.gw.hook = func(action string, req any) (bool, any, error) {
		if action != "3DS" {
			return false, nil, nil
		}
		if _, err := rig.gw.Gateway.ContinueThreeDS(ctx, req.(cardstream.ThreeDSContinueRequest)); err != nil {
			t.Error(err)
		}
		return true, nil, errors.New("read tcp: connection reset by peer")
	}
	pi, err := rig.sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true), ReturnURL: stripe.String("https://shop.example/done")})
	if err != nil {
		t.Fatal(err)
	}
	if loc := challenge(t, pi, "Y"); !strings.Contains(loc, "redirect_status=processing") {
		t.Errorf("with the answer lost the browser goes to %s", loc)
	}
	rig.later(t)
	got, err := rig.sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil)
	if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded || got.AmountReceived != 1500 {
		t.Fatalf("reconciled: %+v, %v", got, err)
	}
	if sent, _ := rig.gw.counts("3DS"); sent != 0 {
		t.Errorf("the reconciler sent the continuation again (%d)", sent)
	}
}

// TestThreeDSecureBadInput: 3-D Secure's parameters are checked before
// anything is written: a 400 naming the parameter, and no intent.
func TestThreeDSecureBadInput(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	base := "amount=1000&currency=gbp&payment_method=pm_card_threeDSecure2Required&confirm=true&"
	for _, tt := range []struct{ body, param string }{
		{base + "return_url=javascript:alert(1)", "return_url"},
		{base + "return_url=http://127.0.0.1/back", "return_url"},
		{"amount=1000&currency=gbp&return_url=https://shop.example/back", "return_url"},
		{base + "payment_method_options[card][request_three_d_secure]=always", "payment_method_options[card][request_three_d_secure]"},
		{base + "payment_method_options[card][nope]=1", "payment_method_options[card][nope]"},
		{base + "payment_method_options=x", "payment_method_options"},
		{base + "error_on_requires_action=maybe", "error_on_requires_action"},
	} {
		a := do(t, srv, call{method: "POST", path: "/v1/payment_intents", body: tt.body})
		e, _ := a.body["error"].(map[string]any)
		if a.status != 400 || e == nil || e["param"] != tt.param {
			t.Errorf("%s: %d %s", tt.body, a.status, a.raw)
		}
	}
	if a := do(t, srv, call{method: "GET", path: "/v1/payment_intents"}); a.status != 200 || len(a.body["data"].([]any)) != 0 {
		t.Errorf("refused requests wrote intents: %s", a.raw)
	}
	for _, path := range []string{"/3ds/pi_nope?token=x", "/3ds/pi_nope"} {
		res, err := http.Get(srv.URL + path)
		if err != nil || res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %v %v", path, res.StatusCode, err)
		}
	}
	if status, _, _ := postForm(t, srv.URL+"/3ds/pi_nope/return?token=x", url.Values{"cres": {"a:Y"}}); status != http.StatusBadRequest {
		t.Errorf("return for an unknown intent: %d", status)
	}
	if status, _, _ := postForm(t, srv.URL+"/3ds/pi_nope/return?token=x", url.Values{}); status != http.StatusBadRequest {
		t.Errorf("empty return: %d", status)
	}
}
