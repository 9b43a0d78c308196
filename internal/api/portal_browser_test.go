package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/browsertest"
)

// TestPortalInBrowser drives the customer portal in a real headless
// Chromium: the merchant makes the configuration and the session with
// stripe-go; the customer opens the url, downloads an invoice's PDF,
// cancels at the period's end with a reason and resumes, switches price
// (prorated), replaces the card on the gateway's hosted page (a VERIFY on
// the sandbox, its own origin), after which the next renewal charges the
// new card; a form posted from another site is refused, and a session 24
// hours old shows only that it expired, with the return link.
func TestPortalInBrowser(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			var offset atomic.Int64
			srv := apitest.Start(t, apitest.Options{Postgres: pg, Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
			testPortalInBrowser(t, srv, &offset)
		})
	}
}

func testPortalInBrowser(t *testing.T, srv *apitest.Server, offset *atomic.Int64) {
	ctx := context.Background()
	f := newPortalFixture(t, srv)
	sc := f.sc
	ps := f.session(t, f.ada.ID)
	sub := f.adaSub.ID

	tab := browsertest.New(t, 90*time.Second)
	tab.Do(chromedp.Navigate(ps.URL))
	if got := tab.Text("#customer"); got != "ada@example.com" {
		t.Errorf("signed in as %q", got)
	}
	if got := tab.Text("#subscription-" + sub + " .next"); !strings.HasPrefix(got, "Next payment: £10.00 (before tax) on ") {
		t.Errorf("next payment: %q", got)
	}
	if got := tab.Text("#card"); !strings.HasPrefix(got, "mastercard ending 4444") {
		t.Errorf("card: %q", got)
	}
	if href, _ := chromedp.Run(tab.Context(), chromedp.Evaluate[string](`document.querySelector("#return").href`)); href != "https://shop.example.com/billing" {
		t.Errorf("return link: %q", href)
	}

	// The first invoice's PDF, downloaded by the browser.
	inv := f.adaSub.LatestInvoice.ID
	if got := tab.Text("#invoice-" + inv + " .status"); got != "Paid" {
		t.Errorf("invoice status: %q", got)
	}
	href, err := chromedp.Run(tab.Context(), chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector("#invoice-%s a.pdf").href`, inv)))
	if err != nil || !strings.HasSuffix(href, "/pdf") {
		t.Fatalf("PDF link: %q %v", href, err)
	}
	downloadPDF(t, tab, href)
	tab.Do(chromedp.Navigate(ps.URL))

	// Cancel at the period's end, with a reason; then resume.
	tab.Do(chromedp.SetValue(chromedp.CSS("#reason-"+sub), "too_expensive"), chromedp.Click(chromedp.CSS("#cancel-"+sub)))
	waitAt(t, tab, ps.URL+"?done=cancel_at_period_end")
	if got := tab.Text("#notice"); !strings.Contains(got, "will end at the end of the current period") {
		t.Errorf("notice after cancel: %q", got)
	}
	if got := tab.Text("#subscription-" + sub + " .ends"); !strings.Contains(got, "will not renew") {
		t.Errorf("after cancel: %q", got)
	}
	if s := f.sub(t, sub); !s.CancelAtPeriodEnd || s.CancellationDetails.Feedback != "too_expensive" {
		t.Fatalf("after cancel: cancel_at_period_end %v, feedback %q", s.CancelAtPeriodEnd, s.CancellationDetails.Feedback)
	}
	tab.Do(chromedp.Click(chromedp.CSS("#resume-" + sub)))
	waitAt(t, tab, ps.URL+"?done=resumed")
	if got := tab.Text("#notice"); !strings.Contains(got, "no longer set to end") {
		t.Errorf("notice after resume: %q", got)
	}
	if s := f.sub(t, sub); s.CancelAtPeriodEnd {
		t.Fatal("still set to cancel after resume")
	}

	// Switch to the premium price, prorated.
	tab.Do(chromedp.SetValue(chromedp.CSS("#price-"+sub), f.premium.ID), chromedp.Click(chromedp.CSS("#switch-"+sub)))
	waitAt(t, tab, ps.URL+"?done=switched")
	if got := tab.Text("#notice"); !strings.Contains(got, "plan was changed") {
		t.Errorf("notice after switch: %q", got)
	}
	if got := tab.Text("#subscription-" + sub + " h3"); got != "Gold plan: £20.00 every month" {
		t.Errorf("plan after switch: %q", got)
	}
	pending := 0
	for ii, err := range sc.V1InvoiceItems.List(ctx, &stripe.InvoiceItemListParams{Customer: stripe.String(f.ada.ID), Pending: stripe.Bool(true)}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if !ii.Proration {
			t.Errorf("pending item %s is not a proration", ii.ID)
		}
		pending++
	}
	if pending != 2 {
		t.Errorf("%d proration items after the switch, want 2", pending)
	}

	// A form posted from another site (another origin) is refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form method="post" action="%s/subscriptions/%s/cancel"><input name="reason" value="other"></form><script>document.forms[0].submit()</script>`,
			ps.URL, sub)
	}))
	defer evil.Close()
	tab.Do(chromedp.Navigate(evil.URL))
	if got := tab.Text("h1"); got != "Not changed" {
		t.Errorf("cross-site post answered %q", got)
	}
	if s := f.sub(t, sub); s.CancelAtPeriodEnd {
		t.Fatal("a cross-site post cancelled the subscription")
	}

	// Replace the card on the gateway's hosted page.
	tab.Do(chromedp.Navigate(ps.URL), chromedp.Click(chromedp.CSS("#replace-card")), chromedp.WaitVisible(chromedp.CSS("#cardNumber")))
	if loc := tab.Location(); !strings.HasPrefix(loc, srv.SandboxURL+"/hosted/") {
		t.Fatalf("replace card led to %s, not the gateway's hosted page at %s", loc, srv.SandboxURL)
	}
	tab.Do(
		chromedp.SendKeys(chromedp.CSS("#cardNumber"), "4242 4242 4242 4242"),
		chromedp.SetValue(chromedp.CSS("#cardExpiryMonth"), "12"),
		chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), fmt.Sprint(time.Now().Year()%100+2)),
		chromedp.SendKeys(chromedp.CSS("#cardCVV"), "123"),
		chromedp.Click(chromedp.CSS(`button[value="pay"]`)),
	)
	waitAt(t, tab, ps.URL+"?card=updated")
	if got := tab.Text("#notice"); !strings.Contains(got, "new card was saved") {
		t.Errorf("notice after the new card: %q", got)
	}
	if got := tab.Text("#card"); !strings.HasPrefix(got, "visa ending 4242, expires ") {
		t.Errorf("card after replacing it: %q", got)
	}
	c, err := sc.V1Customers.Retrieve(ctx, f.ada.ID, nil)
	if err != nil || c.InvoiceSettings.DefaultPaymentMethod == nil {
		t.Fatalf("customer: %v", err)
	}
	newPM := c.InvoiceSettings.DefaultPaymentMethod.ID

	// The next renewal charges the new card.
	end := f.sub(t, sub).Items.Data[0].CurrentPeriodEnd
	if _, err := sc.V1TestHelpersTestClocks.Advance(ctx, f.clock.ID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(end + 2*3600)}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, sc, f.clock.ID)
	renewal, err := sc.V1Invoices.Retrieve(ctx, f.sub(t, sub).LatestInvoice.ID, nil)
	if err != nil || renewal.Status != stripe.InvoiceStatusPaid || renewal.Payments == nil || len(renewal.Payments.Data) != 1 {
		t.Fatalf("renewal: %+v %v", renewal, err)
	}
	if renewal.Total != 2000+1000 {
		t.Errorf("renewal total %d, want £20 for the new period and the £10 net proration", renewal.Total)
	}
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, renewal.Payments.Data[0].Payment.PaymentIntent.ID, nil)
	if err != nil || pi.PaymentMethod == nil || pi.PaymentMethod.ID != newPM {
		t.Errorf("renewal charged %v, want the new card %s", pi.PaymentMethod, newPM)
	}
	tab.Do(chromedp.Navigate(ps.URL))
	if got := tab.Text("#invoice-" + renewal.ID + " .status"); got != "Paid" {
		t.Errorf("the renewal's row says %q", got)
	}

	// 24 hours later the link has expired: the return link and nothing else.
	offset.Add(int64(24*time.Hour + time.Minute))
	tab.Do(chromedp.Navigate(ps.URL))
	if got := tab.Text("h1"); got != "Link expired" {
		t.Errorf("expired session: %q", got)
	}
	for _, gone := range []string{"#customer", "#card", "#subscription-" + sub, "form"} {
		if tab.Has(gone) {
			t.Errorf("the expired page shows %s", gone)
		}
	}
	if href, _ := chromedp.Run(tab.Context(), chromedp.Evaluate[string](`document.querySelector("a").href`)); href != "https://shop.example.com/billing" {
		t.Errorf("expired page's link: %q", href)
	}
}

// waitAt waits until the tab is at loc (a form's answer has arrived). A
// read during a navigation may fail ("Inspected target navigated"): it is
// tried again.
func waitAt(t *testing.T, tab *browsertest.Tab, loc string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := chromedp.Run(tab.Context(), chromedp.Location())
		if err == nil && got == loc {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tab is at %s (%v), want %s", got, err, loc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// downloadPDF has the browser fetch a PDF link and checks what it got.
func downloadPDF(t *testing.T, tab *browsertest.Tab, href string) {
	t.Helper()
	res, err := chromedp.Run(tab.Context(), chromedp.NavigateResponse(href))
	if err != nil && strings.Contains(err.Error(), "net::ERR_ABORTED") {
		// This Chromium downloads the PDF rather than showing it: fetch it
		// as the browser would have, to check it.
		checkPDF(t, href)
		return
	}
	if err != nil {
		t.Fatalf("PDF: %v", err)
	}
	if res.Status != 200 || res.MimeType != "application/pdf" {
		t.Errorf("PDF: %d %s", res.Status, res.MimeType)
	}
	checkPDF(t, href)
}

func checkPDF(t *testing.T, href string) {
	t.Helper()
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 4)
	n, _ := resp.Body.Read(head)
	if resp.StatusCode != 200 || string(head[:n]) != "%PDF" {
		t.Errorf("PDF %s: %d %q", href, resp.StatusCode, head[:n])
	}
}
