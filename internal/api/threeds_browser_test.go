package api_test

import (
	"context"
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
