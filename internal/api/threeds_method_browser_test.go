package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/browsertest"
)

// methodCardPayment confirms, with stripe-go, a payment of the SDK 3-D
// Secure test card (whose 3-D Secure starts with the sandbox's method step)
// expiring in month, with request_three_d_secure=any.
func methodCardPayment(t *testing.T, sc *stripe.Client, month int64, returnURL string) *stripe.PaymentIntent {
	t.Helper()
	ctx := context.Background()
	pm, err := sc.V1PaymentMethods.Create(ctx, &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
		Card: &stripe.PaymentMethodCreateCardParams{Number: stripe.String("4012001037141112"), ExpMonth: stripe.Int64(month),
			ExpYear: stripe.Int64(int64(time.Now().Year() + 2)), CVC: stripe.String("083")}})
	if err != nil {
		t.Fatal(err)
	}
	pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true), ReturnURL: stripe.String(returnURL),
		PaymentMethodOptions: &stripe.PaymentIntentCreatePaymentMethodOptionsParams{
			Card: &stripe.PaymentIntentCreatePaymentMethodOptionsCardParams{RequestThreeDSecure: stripe.String("any")}}})
	if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction == nil || pi.NextAction.RedirectToURL == nil {
		t.Fatalf("confirm: %+v, %v", pi, err)
	}
	return pi
}

// waitUntil polls the tab until the JavaScript expression js is true, failing
// the test after within.
func waitUntil(t *testing.T, tab *browsertest.Tab, js string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ok, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: not %s; at %s", within, js, tab.Location())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const acsShown = `(document.querySelector("h1") || {}).textContent === "3-D Secure test ACS"`

// checkPaid reads the intent back with stripe-go: succeeded, its charge
// authenticated by 3-D Secure in flow.
func checkPaid(t *testing.T, sc *stripe.Client, pi *stripe.PaymentIntent, flow string) {
	t.Helper()
	ctx := context.Background()
	got, err := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, &stripe.PaymentIntentRetrieveParams{ClientSecret: stripe.String(pi.ClientSecret)})
	if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded || got.LatestCharge == nil {
		t.Fatalf("after the browser: %+v, %v", got, err)
	}
	ch, err := sc.V1Charges.Retrieve(ctx, got.LatestCharge.ID, nil)
	if err != nil || ch.PaymentMethodDetails.Card.ThreeDSecure == nil || ch.PaymentMethodDetails.Card.ThreeDSecure.Result != "authenticated" ||
		string(ch.PaymentMethodDetails.Card.ThreeDSecure.AuthenticationFlow) != flow {
		t.Errorf("charge %+v, %v", ch.PaymentMethodDetails.Card.ThreeDSecure, err)
	}
}

// checkLanded checks that the tab shows the shop's return_url for pi with
// redirect_status=succeeded.
func checkLanded(t *testing.T, tab *browsertest.Tab, pi *stripe.PaymentIntent) {
	t.Helper()
	if got := tab.Text("#back"); got != "back at the shop: succeeded" {
		t.Errorf("the shop shows %q", got)
	}
	u, _ := url.Parse(tab.Location())
	if q := u.Query(); q.Get("payment_intent") != pi.ID || q.Get("payment_intent_client_secret") != pi.ClientSecret || q.Get("redirect_status") != "succeeded" {
		t.Errorf("landed on %s", u)
	}
}

// TestThreeDSecureMethodStepInBrowser follows next_action.redirect_to_url
// in headless Chromium for the SDK 3-D Secure test card: our page posts
// the method step (threeDSMethodData) to the sandbox's method page in a
// hidden iframe, whose post-back to our return address (in the frame)
// continues, and the frame sends the window on: to the challenge, shown at
// the top level at the test ACS and passed (expiry month 12), or straight
// to the shop's return_url (month 01, frictionless). The method timeout is
// far longer than the test takes, so the answer came from the frame.
func TestThreeDSecureMethodStepInBrowser(t *testing.T) {
	t.Parallel()
	returnURL := shopReturnURL(t)
	eachStoreWith(t, apitest.Options{AllowLocalhostURLs: true, ThreeDSMethodTimeout: time.Minute}, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		tab := browsertest.New(t, 60*time.Second)

		pi := methodCardPayment(t, sc, 12, returnURL)
		start := time.Now()
		tab.Do(chromedp.Navigate(pi.NextAction.RedirectToURL.URL))
		waitUntil(t, tab, acsShown, 20*time.Second)
		if loc := tab.Location(); !strings.HasPrefix(loc, srv.SandboxURL+"/acs/") || strings.Contains(loc, "method") {
			t.Errorf("the challenge is at %s", loc)
		}
		tab.Do(chromedp.Click(chromedp.CSS(`button[value$=":Y"]`)))
		checkLanded(t, tab, pi)
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("took %s: the method timeout may have run", d)
		}
		checkPaid(t, sc, pi, "challenge")

		pi = methodCardPayment(t, sc, 1, returnURL)
		tab.Do(chromedp.Navigate(pi.NextAction.RedirectToURL.URL))
		waitUntil(t, tab, `!!document.querySelector("#back")`, 20*time.Second)
		checkLanded(t, tab, pi)
		checkPaid(t, sc, pi, "frictionless")
	})
}

// TestThreeDSecureMethodTimeoutInBrowser: the ACS's method page never
// answers (the test holds its request): our page waits, showing itself with the
// method frame hidden, then after the method timeout posts
// threeDSMethodData=timeout at the top level; the gateway then asks for
// the challenge, which the customer passes at the test ACS.
func TestThreeDSecureMethodTimeoutInBrowser(t *testing.T) {
	t.Parallel()
	returnURL := shopReturnURL(t)
	var held atomic.Int32
	release := make(chan struct{})
	// The sandbox's method page never answers.
	hold := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/acs/method" {
				held.Add(1)
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := apitest.Start(t, apitest.Options{AllowLocalhostURLs: true, ThreeDSMethodTimeout: 2 * time.Second, SandboxPages: hold})
	t.Cleanup(func() { close(release) }) // before the server closes
	sc := payClient(t, srv, "")
	tab := browsertest.New(t, 60*time.Second)
	pi := methodCardPayment(t, sc, 12, returnURL)
	start := time.Now()
	// Navigate without waiting for the page's load, which waits for its
	// frame.
	if _, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool](fmt.Sprintf("location.href = %q, true", pi.NextAction.RedirectToURL.URL))); err != nil {
		t.Fatal(err)
	}
	// Waiting for the method step: our page, its frame hidden.
	waitUntil(t, tab, `(function () { var f = document.getElementById("threeds-method");
		return !!f && f.hidden && f.offsetWidth === 0 && f.offsetHeight === 0 && document.querySelector("h1").textContent === "Authenticating your payment"; })()`,
		1500*time.Millisecond)
	if loc := tab.Location(); loc != pi.NextAction.RedirectToURL.URL {
		t.Errorf("during the method step the tab is at %s", loc)
	}
	waitUntil(t, tab, acsShown, 20*time.Second)
	if d := time.Since(start); d < 2*time.Second || held.Load() != 1 {
		t.Errorf("the challenge came after %s (the method timeout is 2 s), %d method requests held", d, held.Load())
	}
	tab.Do(chromedp.Click(chromedp.CSS(`button[value$=":Y"]`)))
	checkLanded(t, tab, pi)
	checkPaid(t, sc, pi, "challenge")
}
