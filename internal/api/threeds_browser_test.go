package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/browsertest"
)

// TestThreeDSecureInBrowser follows next_action.redirect_to_url in a real
// headless Chromium: our 3-D Secure page posts the challenge to the
// sandbox's test ACS (on its own origin), the customer completes it (and,
// on a second payment, fails it) there, and the browser lands on the
// shop's return_url with redirect_status as Stripe's; the intents are then
// read back with stripe-go.
func TestThreeDSecureInBrowser(t *testing.T) {
	t.Parallel()
	returnURL := shopReturnURL(t)
	eachStoreWith(t, apitest.Options{AllowLocalhostURLs: true}, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		tab := browsertest.New(t, 60*time.Second)
		for _, tt := range []struct {
			pm, letter, redirect string
			status               stripe.PaymentIntentStatus
		}{
			{"pm_card_threeDSecure2Required", "Y", "succeeded", stripe.PaymentIntentStatusSucceeded},
			{"pm_card_authenticationRequired", "N", "failed", stripe.PaymentIntentStatusRequiresPaymentMethod},
		} {
			pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("gbp"),
				PaymentMethod: stripe.String(tt.pm), Confirm: stripe.Bool(true), ReturnURL: stripe.String(returnURL)})
			if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction {
				t.Fatalf("%s: %+v, %v", tt.pm, pi, err)
			}
			tab.Do(chromedp.Navigate(pi.NextAction.RedirectToURL.URL))
			// The page sends the browser on to the ACS at once.
			if got := tab.Text("h1"); got != "3-D Secure test ACS" {
				t.Fatalf("%s: the browser shows %q", tt.pm, got)
			}
			if loc := tab.Location(); !strings.HasPrefix(loc, srv.SandboxURL+"/acs/") {
				t.Errorf("%s: the ACS is at %s", tt.pm, loc)
			}
			tab.Do(chromedp.Click(chromedp.CSS(`button[value$=":` + tt.letter + `"]`)))
			if got := tab.Text("#back"); got != "back at the shop: "+tt.redirect {
				t.Errorf("%s: the shop shows %q", tt.pm, got)
			}
			u, _ := url.Parse(tab.Location())
			if q := u.Query(); q.Get("payment_intent") != pi.ID || q.Get("payment_intent_client_secret") != pi.ClientSecret ||
				q.Get("redirect_status") != tt.redirect || q.Get("lang") != "en" {
				t.Errorf("%s: landed on %s", tt.pm, u)
			}
			got, err := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, &stripe.PaymentIntentRetrieveParams{ClientSecret: stripe.String(pi.ClientSecret)})
			if err != nil || got.Status != tt.status {
				t.Errorf("%s: after the browser: %+v, %v", tt.pm, got, err)
			}
			// Back to the page: it is over.
			tab.Do(chromedp.Navigate(pi.NextAction.RedirectToURL.URL))
			if got := tab.Text("h1"); got != "Authentication not found" {
				t.Errorf("%s: the page again shows %q", tt.pm, got)
			}
		}
	})
}

// TestHostedInvoiceThreeDSecureInBrowser pays an invoice from its hosted
// page with Stripe's 4000002760003184 in a real headless Chromium: the
// gateway's hosted page shows its test ACS, the customer first fails the
// challenge (back on the invoice page, still open), then passes it (paid),
// and the charge keeps the 3-D Secure result.
func TestHostedInvoiceThreeDSecureInBrowser(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		inv := manualInvoice(t, sc)
		tab := browsertest.New(t, 60*time.Second)
		tab.Do(chromedp.Navigate(inv.HostedInvoiceURL))
		for _, tt := range []struct{ letter, landing string }{{"R", "?payment=declined"}, {"Y", "?payment=paid"}} {
			tab.Do(chromedp.Click(chromedp.CSS("#pay")), chromedp.WaitVisible(chromedp.CSS("#cardNumber")))
			tab.Do(
				chromedp.SendKeys(chromedp.CSS("#cardNumber"), "4000 0027 6000 3184"),
				chromedp.SetValue(chromedp.CSS("#cardExpiryMonth"), "12"),
				chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), fmt.Sprint(time.Now().Year()%100+2)),
				chromedp.SendKeys(chromedp.CSS("#cardCVV"), "123"),
				chromedp.Click(chromedp.CSS(`button[value="pay"]`)),
				chromedp.WaitVisible(chromedp.CSS(`button[value$=":`+tt.letter+`"]`)),
			)
			if got := tab.Text("h1"); got != "3-D Secure test ACS" {
				t.Fatalf("%s: after Pay the browser shows %q", tt.letter, got)
			}
			tab.Do(chromedp.Click(chromedp.CSS(`button[value$=":`+tt.letter+`"]`)), chromedp.WaitVisible(chromedp.CSS("#notice")))
			if loc := tab.Location(); loc != inv.HostedInvoiceURL+tt.landing {
				t.Errorf("%s: landed on %s", tt.letter, loc)
			}
		}
		got, err := sc.V1Invoices.Retrieve(ctx, inv.ID, nil)
		if err != nil || got.Status != stripe.InvoiceStatusPaid || got.Payments == nil || len(got.Payments.Data) != 1 {
			t.Fatalf("invoice %+v, %v", got, err)
		}
		pi, err := sc.V1PaymentIntents.Retrieve(ctx, got.Payments.Data[0].Payment.PaymentIntent.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
		if err != nil || ch.PaymentMethodDetails.Card.ThreeDSecure == nil || ch.PaymentMethodDetails.Card.ThreeDSecure.Result != "authenticated" {
			t.Errorf("charge %+v, %v", ch.PaymentMethodDetails.Card, err)
		}
	})
}
