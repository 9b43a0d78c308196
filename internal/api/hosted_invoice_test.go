package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// payInvoicePage presses Pay on an invoice page (a same-origin form POST)
// and goes through the gateway's hosted page with a card, as a browser
// would without running scripts. It returns the hosted form's fields and
// the callback's answer to the browser.
func (b *browser) payInvoicePage(invoiceURL, number string) (url.Values, int, http.Header) {
	b.t.Helper()
	status, hdr, body := b.page("POST", invoiceURL+"/pay", nil)
	if status != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'nonce-") {
		b.t.Fatalf("pay: %d %v\n%s", status, hdr, body)
	}
	action, fields := b.form(invoiceURL, body)
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
	return fields, status, hdr
}

// TestHostedInvoicePage: the invoice page's Pay button over plain HTTP
// (the browser test drives it in Chromium): its headers, its protection
// against cross-site posts, the payment, and the internal session.
func TestHostedInvoicePage(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		inv := manualInvoice(t, sc)
		b := newBrowser(t)
		status, hdr, body := b.page("GET", inv.HostedInvoiceURL, nil)
		if status != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "form-action 'self'") ||
			hdr.Get("X-Robots-Tag") != "noindex, nofollow" || !strings.Contains(body, `<meta name="robots" content="noindex, nofollow">`) ||
			!strings.Contains(body, `action="`+inv.HostedInvoiceURL+`/pay"`) || !strings.Contains(body, "Pay £12.00") {
			t.Fatalf("invoice page: %d %v\n%s", status, hdr, body)
		}

		// Another site cannot make the shopper's browser press Pay: nothing
		// starts.
		for name, h := range map[string]http.Header{
			"cross-site": {"Sec-Fetch-Site": {"cross-site"}},
			"same-site":  {"Sec-Fetch-Site": {"same-site"}},
			"origin":     {"Origin": {"https://evil.example"}},
		} {
			req, _ := http.NewRequest("POST", inv.HostedInvoiceURL+"/pay", nil)
			req.Header = h
			res, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s POST: %d, want 403", name, res.StatusCode)
			}
		}
		if err := srv.DB.Tx(ctx, func(tx *store.Tx) error {
			_, err := tx.FindOpenInvoiceSession(ctx, inv.ID, 0)
			return err
		}); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("a refused POST started a payment: %v", err)
		}

		fields, status, hdr := b.payInvoicePage(inv.HostedInvoiceURL, "4242424242424242")
		if status != http.StatusSeeOther || hdr.Get("Location") != inv.HostedInvoiceURL+"?payment=paid" {
			t.Fatalf("callback: %d %s", status, hdr.Get("Location"))
		}
		if fields.Get("amount") != "1200" || fields.Get("currencyCode") != "826" || fields.Get("action") != "SALE" {
			t.Errorf("hosted form: %v", fields)
		}
		_, _, body = b.page("GET", inv.HostedInvoiceURL+"?payment=paid", nil)
		for _, want := range []string{`<strong id="status">Paid</strong>`, "Thank you", `<span id="amount-remaining">£0.00</span>`, "visa card ending 4242"} {
			if !strings.Contains(body, want) {
				t.Errorf("paid page lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, `id="pay"`) {
			t.Error("a paid invoice offers to pay")
		}
		if status, _, body := b.page("POST", inv.HostedInvoiceURL+"/pay", nil); status != http.StatusConflict || !strings.Contains(body, "cannot be paid online") {
			t.Errorf("pay a paid invoice: %d %s", status, body)
		}

		// The invoice's checkout session is internal.
		session := fields.Get("orderRef")
		if status, _, _ := b.page("GET", srv.URL+"/checkout/"+session, nil); status != http.StatusNotFound {
			t.Errorf("the invoice session's checkout page: %d", status)
		}
		if _, err := sc.V1CheckoutSessions.Retrieve(ctx, session, nil); stripeErr(t, err).HTTPStatusCode != 404 {
			t.Errorf("retrieve the invoice session: %v", err)
		}
		for s, err := range sc.V1CheckoutSessions.List(ctx, &stripe.CheckoutSessionListParams{}).All(ctx) {
			t.Errorf("listed session %v, %v", s, err)
		}
	})
}

// TestHostedInvoicePageChargeInFlight: while a card charge of the invoice
// has no outcome, the page offers no Pay button and refuses to start one.
func TestHostedInvoicePageChargeInFlight(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	inv := manualInvoice(t, sc)
	// As PayInvoice leaves it between recording its attempt and charging.
	if err := srv.DB.Tx(ctx, func(tx *store.Tx) error {
		got, err := tx.FindInvoice(ctx, pay.Scope{ProjectID: srv.Project}, inv.ID)
		if err != nil {
			return err
		}
		got.PayAttempt = 1
		return tx.UpdateInvoice(ctx, got)
	}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	if _, _, body := b.page("GET", inv.HostedInvoiceURL, nil); strings.Contains(body, `id="pay"`) || !strings.Contains(body, "being processed") {
		t.Errorf("page with a charge in flight:\n%s", body)
	}
	if status, _, body := b.page("POST", inv.HostedInvoiceURL+"/pay", nil); status != http.StatusConflict || !strings.Contains(body, "already being processed") {
		t.Errorf("pay with a charge in flight: %d %s", status, body)
	}
}
