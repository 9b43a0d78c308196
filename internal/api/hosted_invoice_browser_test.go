package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/browsertest"
)

// TestHostedInvoicePaymentInBrowser pays a manual invoice from its hosted
// invoice page in a real headless Chromium: the merchant makes it with
// stripe-go, the customer opens hosted_invoice_url, presses Pay, types a
// declining card on the gateway's hosted page (the in-process sandbox, on
// its own origin), comes back to the invoice page told so, tries again with
// Stripe's 4242 card, and lands on the invoice page showing it paid. The
// invoice, its payment and the events are then read back with stripe-go.
func TestHostedInvoicePaymentInBrowser(t *testing.T) {
	t.Parallel()
	eachStore(t, testHostedInvoicePaymentInBrowser)
}

func testHostedInvoicePaymentInBrowser(t *testing.T, srv *apitest.Server) {
	sc := payClient(t, srv, "")
	ctx := context.Background()
	inv := manualInvoice(t, sc)
	if inv.Status != stripe.InvoiceStatusOpen || inv.AmountDue != 1200 || inv.HostedInvoiceURL == "" {
		t.Fatalf("finalized invoice: %s %d %q", inv.Status, inv.AmountDue, inv.HostedInvoiceURL)
	}

	tab := browsertest.New(t, 60*time.Second)
	tab.Do(chromedp.Navigate(inv.HostedInvoiceURL))
	if got := tab.Text("#pay"); got != "Pay £12.00" {
		t.Fatalf("pay button says %q", got)
	}
	if got := tab.Text("#status"); got != "Open" {
		t.Errorf("status before paying: %q", got)
	}

	// A declined card: back on the invoice page, still open, told so.
	payOnGatewayPage(t, tab, srv, "4000 0000 0000 0002")
	if loc := tab.Location(); loc != inv.HostedInvoiceURL+"?payment=declined" {
		t.Errorf("after a decline the shopper is at %s", loc)
	}
	if got := tab.Text("#notice"); !strings.Contains(got, "declined") || !strings.Contains(got, "try again") {
		t.Errorf("notice after a decline: %q", got)
	}
	if got := tab.Text("#status"); got != "Open" {
		t.Errorf("status after a decline: %q", got)
	}

	// Stripe's test card pays it.
	payOnGatewayPage(t, tab, srv, "4242 4242 4242 4242")
	if loc := tab.Location(); loc != inv.HostedInvoiceURL+"?payment=paid" {
		t.Errorf("after paying the shopper is at %s", loc)
	}
	for sel, want := range map[string]string{"#status": "Paid", "#amount-paid": "£12.00", "#amount-remaining": "£0.00"} {
		if got := tab.Text(sel); got != want {
			t.Errorf("%s after paying: %q, want %q", sel, got, want)
		}
	}
	if got := tab.Text("#payments li"); !strings.HasPrefix(got, "£12.00 paid on ") || !strings.HasSuffix(got, "by visa card ending 4242") {
		t.Errorf("receipt: %q", got)
	}
	if tab.Has("#pay") {
		t.Error("a paid invoice still offers to pay")
	}

	// The PDF still works, and says paid.
	res, err := http.Get(inv.InvoicePDF)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(body), "%PDF") {
		t.Errorf("PDF after paying: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	// The merchant's view, through stripe-go.
	got, err := sc.V1Invoices.Retrieve(ctx, inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != stripe.InvoiceStatusPaid || got.AmountPaid != 1200 || got.AmountRemaining != 0 || got.AttemptCount != 2 ||
		!got.Attempted || got.StatusTransitions == nil || got.StatusTransitions.PaidAt == 0 {
		t.Errorf("paid invoice: status %s paid %d remaining %d attempts %d", got.Status, got.AmountPaid, got.AmountRemaining, got.AttemptCount)
	}
	if got.Payments == nil || len(got.Payments.Data) != 1 {
		t.Fatalf("invoice payments: %+v", got.Payments)
	}
	ip := got.Payments.Data[0]
	if ip.Status != "paid" || ip.AmountPaid != 1200 || ip.Payment == nil || ip.Payment.PaymentIntent == nil {
		t.Fatalf("invoice payment: %+v", ip)
	}
	pi, err := sc.V1PaymentIntents.Retrieve(ctx, ip.Payment.PaymentIntent.ID, nil)
	if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded || pi.Amount != 1200 || pi.Customer == nil ||
		pi.Customer.ID != inv.Customer.ID || pi.Metadata["invoice"] != inv.ID {
		t.Errorf("payment intent: %+v, %v", pi, err)
	}
	counts := map[string]int{}
	for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		counts[string(ev.Type)]++
		if ev.Type == "invoice.paid" {
			if v, ok := ev.Data.Object["status"]; !ok || v != "paid" {
				t.Errorf("invoice.paid shows status %v", v)
			}
		}
	}
	for typ, want := range map[string]int{"invoice.finalized": 1, "invoice.payment_failed": 1, "invoice.paid": 1,
		"invoice.payment_succeeded": 1, "payment_intent.succeeded": 1, "checkout.session.completed": 0, "refund.created": 0} {
		if counts[typ] != want {
			t.Errorf("%d %s events, want %d (all: %v)", counts[typ], typ, want, counts)
		}
	}
}

// manualInvoice makes, with stripe-go, a customer, an invoice item of
// £10.00 at 20 % VAT and a send_invoice invoice with it, finalized: £12.00.
func manualInvoice(t *testing.T, sc *stripe.Client) *stripe.Invoice {
	t.Helper()
	ctx := context.Background()
	cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String("Ada Lovelace"), Email: stripe.String("ada@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	vat, err := sc.V1TaxRates.Create(ctx, &stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"), Percentage: stripe.Float64(20),
		Inclusive: stripe.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1InvoiceItems.Create(ctx, &stripe.InvoiceItemCreateParams{Customer: stripe.String(cus.ID), Amount: stripe.Int64(1000),
		Currency: stripe.String("gbp"), Description: stripe.String("Consulting"), TaxRates: []*string{stripe.String(vat.ID)}}); err != nil {
		t.Fatal(err)
	}
	inv, err := sc.V1Invoices.Create(ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID),
		CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(14),
		PendingInvoiceItemsBehavior: stripe.String("include")})
	if err != nil {
		t.Fatal(err)
	}
	if inv, err = sc.V1Invoices.FinalizeInvoice(ctx, inv.ID, nil); err != nil {
		t.Fatal(err)
	}
	return inv
}

// payOnGatewayPage presses Pay on the invoice page the tab shows, and on the
// gateway's hosted page types card (any future expiry, any CVC, as Stripe's
// test cards take) and presses Pay, then waits to be back on the invoice
// page.
func payOnGatewayPage(t *testing.T, tab *browsertest.Tab, srv *apitest.Server, card string) {
	t.Helper()
	tab.Do(chromedp.Click(chromedp.CSS("#pay")), chromedp.WaitVisible(chromedp.CSS("#cardNumber")))
	if loc := tab.Location(); !strings.HasPrefix(loc, srv.SandboxURL+"/hosted/") {
		t.Fatalf("Pay led to %s, not the gateway's hosted page at %s", loc, srv.SandboxURL)
	}
	tab.Do(
		chromedp.SendKeys(chromedp.CSS("#cardNumber"), card),
		chromedp.SetValue(chromedp.CSS("#cardExpiryMonth"), "12"),
		chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), fmt.Sprint(time.Now().Year()%100+2)),
		chromedp.SendKeys(chromedp.CSS("#cardCVV"), "123"),
		chromedp.Click(chromedp.CSS(`button[value="pay"]`)),
		chromedp.WaitVisible(chromedp.CSS("#notice")),
	)
}
