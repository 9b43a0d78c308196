package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/browsertest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/seed"
)

func TestMoneyPagesInBrowser(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ada := shop(t, srv, srv.Key, "ada@example.com", "Ada Lovelace")
	bob := shop(t, srv, srv.Key, "bob@example.com", "Bob Babbage")
	sub := subscribe(t, srv, ada)
	p1 := pay1(t, srv, srv.Key, ada, "1250")
	pay1(t, srv, srv.Key, bob, "4999")
	pay1(t, srv, srv.Key, "", "500")
	admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)

	tab := browsertest.New(t, 90*time.Second)
	// The overview: the takings and a bar per day of the last 30, each
	// with its title; today's bar shows today's takings.
	openAs(tab, srv, admin.cookie, "/dashboard/")
	if got := tab.Text("#payment-count"); got != "4" {
		t.Errorf("payment count card: %q", got)
	}
	if got := tab.Text(".card.revenue .figure"); got != "£77.49" {
		t.Errorf("revenue card: %q; want £77.49 (10.00 + 12.50 + 49.99 + 5.00)", got)
	}
	bars, err := chromedp.Run(tab.Context(), chromedp.Evaluate[int]("document.querySelectorAll('svg rect.bar').length"))
	if err != nil || bars != 30 {
		t.Errorf("chart bars: %d (%v); want 30", bars, err)
	}
	last, err := chromedp.Run(tab.Context(), chromedp.Evaluate[string]("[...document.querySelectorAll('svg rect.bar title')].pop().textContent"))
	if err != nil || !strings.Contains(last, "£77.49 from 4 payments") {
		t.Errorf("today's bar title: %q (%v)", last, err)
	}
	if got := tab.Text(".chart table caption"); got == "" {
		t.Error("the chart has no text alternative")
	}
	if got := tab.Text("main table tbody tr .badge"); got != "succeeded" {
		t.Errorf("recent payment badge: %q", got)
	}

	// Refund part of a payment from its page: a bad amount is refused,
	// naming the field, then £2.50 is refunded and shown.
	tab.Do(chromedp.Navigate(srv.URL+"/dashboard/payments/"+p1),
		chromedp.SendKeys(chromedp.CSS("#r-amount"), "2.5.0"),
		chromedp.Click(chromedp.CSS(".refund button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#r-error")))
	if got := tab.Text("#r-error"); !strings.Contains(got, "Amount") {
		t.Errorf("bad amount: %q", got)
	}
	if _, err := chromedp.Run(tab.Context(), chromedp.Evaluate[any](`document.querySelector('#r-amount').value = ''`)); err != nil {
		t.Fatal(err)
	}
	tab.Do(chromedp.SendKeys(chromedp.CSS("#r-amount"), "2.50"),
		chromedp.SendKeys(chromedp.CSS("#r-reason"), "requested by customer"),
		chromedp.Click(chromedp.CSS(".refund button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := tab.Text(".notice"); got != "Refunded £2.50 (succeeded)." {
		t.Errorf("notice after the refund: %q", got)
	}
	if got := tab.Text("table.refunds tbody tr"); !strings.Contains(got, "£2.50") || !strings.Contains(got, "succeeded") {
		t.Errorf("refunds on the page: %q", got)
	}
	if got := tab.Text(".timeline"); !strings.Contains(got, "Gateway refund") || !strings.Contains(got, "refund.created") {
		t.Errorf("timeline after the refund: %q", got)
	}
	if r := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+p1, nil); len(r["data"].([]any)) != 1 {
		t.Errorf("refunds of %s: %v", p1, r["data"])
	}

	// Cancel the subscription from the customer's page.
	tab.Do(chromedp.Navigate(srv.URL+"/dashboard/customers/"+ada),
		chromedp.Click(chromedp.CSS("table.subscriptions button.danger")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := tab.Text(".notice"); got != "Subscription "+sub+" is canceled." {
		t.Errorf("notice after cancelling: %q", got)
	}
	if got := tab.Text("table.subscriptions tbody tr .badge"); got != "canceled" {
		t.Errorf("subscription badge after cancelling: %q", got)
	}
	if s := v1OK(t, srv, "GET", "/v1/subscriptions/"+sub, nil); s["status"] != "canceled" {
		t.Errorf("subscription after cancelling: %v", s["status"])
	}
	if tab.Has("table.subscriptions form") {
		t.Error("a canceled subscription still offers to cancel")
	}

	// The payments list filtered by customer email, from its form.
	tab.Do(chromedp.Navigate(srv.URL+"/dashboard/payments"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "bob@example.com"),
		chromedp.Click(chromedp.CSS(".filters button[type=submit]")))
	waitLocation(t, tab, "email=bob%40example.com")
	if got := tab.Text("main table tbody"); !strings.Contains(got, "£49.99") || strings.Contains(got, "£12.50") {
		t.Errorf("payments of bob@example.com: %q", got)
	}
}

// waitLocation waits for the tab's address to contain part (a form's GET
// submitted).
func waitLocation(t *testing.T, tab *browsertest.Tab, part string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		loc := tab.Location()
		if strings.Contains(loc, part) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tab is at %s, not at an address with %s", loc, part)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMoneyScreenshots saves each money page, 360 and 1280 px wide, of a
// project seeded with realistic data (internal/seed, scaled down), for a
// person to look at. It runs only when CALMONY_SCREENSHOTS names a
// directory (see screenshot).
func TestMoneyScreenshots(t *testing.T) {
	dir := os.Getenv("CALMONY_SCREENSHOTS")
	if dir == "" {
		t.Skip("set CALMONY_SCREENSHOTS to a directory to take the money pages' screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := apitest.Start(t, apitest.Options{})
	if _, err := seed.Run(context.Background(), srv.DB, seed.Options{Project: srv.Project, Customers: 300, Payments: 3000, Subscriptions: 40, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	ada := shop(t, srv, srv.Key, "ada@example.com", "Ada Lovelace")
	subscribe(t, srv, ada)
	payment := pay1(t, srv, srv.Key, ada, "1250")
	customer := ada
	admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
	if status, e := admin.mutate("payments.refund", map[string]any{"id": payment, "amount": 250, "idempotencyKey": "shot"}); status != 200 {
		t.Fatalf("refund: %d %+v", status, e.Error)
	}
	tab := browsertest.New(t, 3*time.Minute)
	openAs(tab, srv, admin.cookie, "/dashboard/")
	pages := map[string]string{
		"overview": "/dashboard/", "payments": "/dashboard/payments", "payment": "/dashboard/payments/" + payment,
		"customers": "/dashboard/customers", "customer": "/dashboard/customers/" + customer,
		"subscriptions": "/dashboard/subscriptions", "invoices": "/dashboard/invoices",
		"payments-bad-filter": "/dashboard/payments?min=abc",
	}
	for name, path := range pages {
		tab.Do(chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		screenshot(t, tab, name)
	}
}

// TestMoneyPageForms checks the page forms' role rules and bad input over
// plain HTTP: a viewer sees no refund or cancel form and is refused when
// posting one anyway; nothing changes.
func TestMoneyPageForms(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ada := shop(t, srv, srv.Key, "ada@example.com", "Ada Lovelace")
	sub := subscribe(t, srv, ada)
	p1 := pay1(t, srv, srv.Key, ada, "1250")
	admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
	form := "application/x-www-form-urlencoded"

	for _, role := range []pay.Role{pay.RoleViewer, pay.RoleDeveloper} {
		c := signIn(t, srv, string(role)+"@example.com", role)
		status, body := c.do("GET", "/dashboard/payments/"+p1, "", nil)
		if status != 200 || strings.Contains(string(body), `id="r-amount"`) || !strings.Contains(string(body), "£12.50") {
			t.Errorf("%s: payment page = %d, refund form shown: %v", role, status, strings.Contains(string(body), `id="r-amount"`))
		}
		status, body = c.do("GET", "/dashboard/customers/"+ada, "", nil)
		if status != 200 || strings.Contains(string(body), "/cancel") {
			t.Errorf("%s: customer page = %d, cancel form shown: %v", role, status, strings.Contains(string(body), "/cancel"))
		}
		status, _ = c.do("POST", "/dashboard/payments/"+p1+"/refund", form, strings.NewReader("idempotencyKey=k1&amount=1.00"))
		if status != http.StatusForbidden {
			t.Errorf("%s: refund form post = %d; want 403", role, status)
		}
		status, _ = c.do("POST", "/dashboard/subscriptions/"+sub+"/cancel", form, strings.NewReader("idempotencyKey=k2&when=now"))
		if status != http.StatusForbidden {
			t.Errorf("%s: cancel form post = %d; want 403", role, status)
		}
	}
	if r := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+p1, nil); len(r["data"].([]any)) != 0 {
		t.Errorf("refused form posts refunded: %v", r["data"])
	}
	if s := v1OK(t, srv, "GET", "/v1/subscriptions/"+sub, nil); s["status"] != "active" {
		t.Errorf("refused form posts canceled: %v", s["status"])
	}

	// An admin's bad amounts: the page again, 400, naming the field.
	for _, amount := range []string{"12.345", "-1", "1e3", "12,50", "99999999999999"} {
		status, body := admin.do("POST", "/dashboard/payments/"+p1+"/refund", form,
			strings.NewReader(url.Values{"idempotencyKey": {"k-" + amount}, "amount": {amount}}.Encode()))
		if status != http.StatusBadRequest || !strings.Contains(string(body), "Amount must be an amount like 12.50") {
			t.Errorf("refund of %q = %d", amount, status)
		}
	}
	// Too much: the operation's message, on the page.
	status, body := admin.do("POST", "/dashboard/payments/"+p1+"/refund", form, strings.NewReader("idempotencyKey=k-big&amount=12.51"))
	if status != http.StatusBadRequest || !strings.Contains(string(body), "Amount: Refund amount (1251) is greater than") {
		t.Errorf("refund of 12.51 = %d %s", status, body)
	}
	// A form posted twice (a double click): one refund.
	for range 2 {
		status, _ := admin.do("POST", "/dashboard/payments/"+p1+"/refund", form, strings.NewReader("idempotencyKey=k-once&amount=1.05"))
		if status != http.StatusSeeOther {
			t.Errorf("refund post = %d; want 303", status)
		}
	}
	r := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+p1, nil)
	if data := r["data"].([]any); len(data) != 1 || data[0].(map[string]any)["amount"] != float64(105) {
		t.Errorf("refunds after a double post: %v", data)
	}
	// Filters that are not amounts or dates name the field.
	for q, want := range map[string]string{"min=abc": "Minimum amount", "max=1.234": "Maximum amount", "from=yesterday": "From must be a date",
		"status=paid": "status must be one of", "min=5&max=4": "amountMax must not be less"} {
		status, body := admin.do("GET", "/dashboard/payments?"+q, "", nil)
		if status != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("payments?%s = %d; want 400 saying %q", q, status, want)
		}
	}
	// Amounts in major units filter exactly.
	status, body = admin.do("GET", "/dashboard/payments?min=12.50&max=12.50", "", nil)
	if status != 200 || !strings.Contains(string(body), p1) {
		t.Errorf("payments of exactly 12.50 = %d", status)
	}
}
