package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/calmony/calmonypay/internal/browsertest"
	"github.com/calmony/calmonypay/internal/pay"
)

// TestDashboardJourneyInBrowser follows, in one real headless Chromium,
// the path a merchant's staff take (the issue's own): follow a sign-in
// link, see the overview with its chart, refund a payment, cancel a
// subscription, create and roll an API key, retry a webhook delivery, and
// invite a member who signs in through OpenID Connect as a viewer and is
// refused a refund, in the page and through /api/trpc.
func TestDashboardJourneyInBrowser(t *testing.T) {
	t.Parallel()
	env := newAuthEnv(t, authOptions{OIDC: true, Webhooks: true})
	srv := env.srv
	var deliveries atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { deliveries.Add(1) }))
	t.Cleanup(recv.Close)
	v1OK(t, srv, "POST", "/v1/webhook_endpoints", url.Values{"url": {recv.URL + "/hook"}, "enabled_events[]": {"charge.refunded"}})
	cus := shop(t, srv, srv.Key, "jenny@example.com", "Jenny Rosen")
	sub := subscribe(t, srv, cus)
	payment := pay1(t, srv, srv.Key, cus, "2000")

	// A sign-in link: one click, signed in, the overview and its chart.
	tab := browsertest.New(t, 120*time.Second)
	tab.Do(chromedp.Navigate(env.URL + env.link("ada@example.com", pay.RoleAdmin)))
	if got := tab.Text("main h1"); got != "Overview" {
		t.Fatalf("after the sign-in link the browser shows %q", got)
	}
	bars, err := chromedp.Run(tab.Context(), chromedp.Evaluate[int]("document.querySelectorAll('svg rect.bar').length"))
	if err != nil || bars != 30 {
		t.Errorf("the overview's chart has %d bars (%v); want 30", bars, err)
	}
	if got := tab.Text(".card.revenue .figure"); got != "£30.00" {
		t.Errorf("revenue card %q; want £30.00 (the subscription's £10.00 and the £20.00 payment)", got)
	}

	// Refund the payment in full from its page.
	tab.Do(chromedp.Navigate(env.URL+"/dashboard/payments/"+payment),
		chromedp.Click(chromedp.CSS(".refund button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := tab.Text(".notice"); !strings.HasPrefix(got, "Refunded £20.00") {
		t.Errorf("after the refund: %q", got)
	}
	if pi := v1OK(t, srv, "GET", "/v1/charges?payment_intent="+payment, nil)["data"].([]any); len(pi) != 1 ||
		pi[0].(map[string]any)["amount_refunded"] != float64(2000) {
		t.Errorf("the charge after the refund: %v", pi)
	}

	// Cancel the subscription from the customer's page.
	tab.Do(chromedp.Navigate(env.URL+"/dashboard/customers/"+cus),
		chromedp.Click(chromedp.CSS("table.subscriptions button.danger")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := v1OK(t, srv, "GET", "/v1/subscriptions/"+sub, nil); s["status"] != "canceled" {
		t.Errorf("the subscription after cancelling: %v", s["status"])
	}

	// Create an API key, then roll it: each secret once, each working.
	tab.Do(chromedp.Navigate(env.URL+"/dashboard/developers"),
		chromedp.SetValue(chromedp.CSS("#key-mode"), "test"), chromedp.Click(chromedp.CSS("#create-key button")))
	secret := tab.Text("#secret")
	if !strings.HasPrefix(secret, pay.SecretKeyTestPrefix) || keyAuthenticates(t, srv, secret) != 200 {
		t.Fatalf("the new key %q does not authenticate", secret)
	}
	hint := pay.SecretKeyTestPrefix + "…" + secret[len(secret)-4:]
	tab.Do(chromedp.Click(chromedp.CSS("a.button")))
	if jar, err := chromedp.Run(tab.Context(), chromedp.Evaluate[string](`document.cookie`)); err != nil || strings.Contains(jar, "calmony_session") {
		t.Errorf("the session cookie is readable from script: %q (%v)", jar, err)
	}
	admin := signIn(t, srv, "ada@example.com", pay.RoleAdmin) // a second session of hers, for tRPC reads
	keyID := keyIDByHint(t, admin, hint)
	tab.Do(chromedp.Click(chromedp.CSS("#key-" + keyID + " form button")))
	rolled := tab.Text("#secret")
	if !strings.HasPrefix(rolled, pay.SecretKeyTestPrefix) || rolled == secret || keyAuthenticates(t, srv, rolled) != 200 ||
		keyAuthenticates(t, srv, secret) != 200 {
		t.Fatalf("after rolling: new %q; both should work during the grace", rolled)
	}

	// Retry the refund's webhook delivery: the receiver gets it again.
	for deadline := time.Now().Add(10 * time.Second); deliveries.Load() < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the charge.refunded delivery never came")
		}
	}
	waitDeliveryRecorded(t, admin)
	tab.Do(chromedp.Navigate(env.URL+"/dashboard/developers"), chromedp.Click(chromedp.CSS("button.retry")))
	waitText(t, tab, ".notice", "Sending charge.refunded")
	for deadline := time.Now().Add(10 * time.Second); deliveries.Load() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the retried delivery never came")
		}
	}

	// Invite a viewer; she signs in through the identity provider.
	tab.Do(chromedp.Navigate(env.URL+"/dashboard/team"),
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "viv@example.com"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "viewer"),
		chromedp.Click(chromedp.CSS("#invite button")))
	invite := tab.Text("#secret")
	if !strings.HasPrefix(invite, env.URL+"/api/auth/invite?token=") {
		t.Fatalf("the invitation shows %q", invite)
	}
	viv := browsertest.New(t, 60*time.Second)
	env.idp.QueueUser(user("viv-sub", "viv@example.com", true))
	viv.Do(chromedp.Navigate(invite))
	if who := viv.Text(".who"); !strings.Contains(who, "viv@example.com") || !strings.Contains(who, "viewer") {
		t.Fatalf("after the invitation and the provider: %q at %s", who, viv.Location())
	}
	// No refund form for her, and the procedure refuses her.
	other := pay1(t, srv, srv.Key, cus, "700")
	viv.Do(chromedp.Navigate(env.URL + "/dashboard/payments/" + other))
	if viv.Text("main h1") == "" || viv.Has(".refund") {
		t.Error("a viewer is offered a refund form")
	}
	answer, err := chromedp.Run(viv.Context(), chromedp.Evaluate[string](`fetch("/api/trpc/payments.refund", {method: "POST",
		headers: {"Content-Type": "application/json"}, body: JSON.stringify({id: "`+other+`", idempotencyKey: "viv-1"})})
		.then(r => r.json().then(b => r.status + " " + b.error.data.code)).catch(e => String(e))`, chromedp.EvalAwaitPromise))
	if err != nil || answer != "403 FORBIDDEN" {
		t.Errorf("a viewer's refund through /api/trpc: %q (%v); want 403", answer, err)
	}
	if r := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+other, nil)["data"].([]any); len(r) != 0 {
		t.Errorf("the viewer's refund went through: %v", r)
	}
	if got := auditOf(t, srv.DB, srv.Project, "member.joined"); len(got) != 1 || got[0].ActorEmail != "viv@example.com" {
		t.Errorf("member.joined audit: %+v", got)
	}
}

// waitDeliveryRecorded waits for the webhook endpoint's first attempt to
// be recorded (after the receiver answered).
func waitDeliveryRecorded(t *testing.T, c *client) {
	t.Helper()
	var eps struct{ Data []struct{ ID string } }
	c.ok(false, "webhooks.list", nil, &eps)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var l struct{ Data []any }
		c.ok(false, "webhooks.deliveries", map[string]any{"endpoint": eps.Data[0].ID}, &l)
		if len(l.Data) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery attempt was never recorded")
		}
	}
}
