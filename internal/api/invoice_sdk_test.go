package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

// invoiceFixture is a customer with a card and a 20 % exclusive VAT rate.
type invoiceFixture struct {
	cus *stripe.Customer
	vat *stripe.TaxRate
}

func newInvoiceFixture(t *testing.T, sc *stripe.Client, pm string) invoiceFixture {
	t.Helper()
	ctx := context.Background()
	cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String("Ada Lovelace"), Email: stripe.String("ada@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if pm != "" {
		card, err := sc.V1PaymentMethods.Attach(ctx, pm, &stripe.PaymentMethodAttachParams{Customer: stripe.String(cus.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.V1Customers.Update(ctx, cus.ID, &stripe.CustomerUpdateParams{
			InvoiceSettings: &stripe.CustomerUpdateInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(card.ID)}}); err != nil {
			t.Fatal(err)
		}
	}
	vat, err := sc.V1TaxRates.Create(ctx, &stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"), Percentage: stripe.Float64(20),
		Inclusive: stripe.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	return invoiceFixture{cus: cus, vat: vat}
}

// openInvoice makes a draft with two items (2 × 10.00 at 20 % VAT, and 5.00
// with no tax) and finalises it if finalize.
func (f invoiceFixture) openInvoice(t *testing.T, sc *stripe.Client, finalize bool) *stripe.Invoice {
	t.Helper()
	ctx := context.Background()
	inv, err := sc.V1Invoices.Create(ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(f.cus.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1InvoiceItems.Create(ctx, &stripe.InvoiceItemCreateParams{Customer: stripe.String(f.cus.ID), Invoice: stripe.String(inv.ID),
		Amount: stripe.Int64(1000), Currency: stripe.String("gbp"), Quantity: stripe.Int64(2), Description: stripe.String("Widgets"),
		TaxRates: []*string{stripe.String(f.vat.ID)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1InvoiceItems.Create(ctx, &stripe.InvoiceItemCreateParams{Customer: stripe.String(f.cus.ID), Invoice: stripe.String(inv.ID),
		Amount: stripe.Int64(500), Currency: stripe.String("gbp"), Description: stripe.String("Delivery")}); err != nil {
		t.Fatal(err)
	}
	if finalize {
		if inv, err = sc.V1Invoices.FinalizeInvoice(ctx, inv.ID, nil); err != nil {
			t.Fatal(err)
		}
	} else if inv, err = sc.V1Invoices.Retrieve(ctx, inv.ID, nil); err != nil {
		t.Fatal(err)
	}
	return inv
}

// emitInvoiceEvents runs the invoice flows that emit every invoice and
// invoice item event type.
func emitInvoiceEvents(t *testing.T, sc *stripe.Client) {
	t.Helper()
	ctx := context.Background()
	f := newInvoiceFixture(t, sc, "pm_card_visa")
	draft := f.openInvoice(t, sc, false)
	for l, err := range sc.V1Invoices.ListLines(ctx, &stripe.InvoiceListLinesParams{Invoice: stripe.String(draft.ID)}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		iid := l.Parent.InvoiceItemDetails.InvoiceItem
		if _, err := sc.V1InvoiceItems.Update(ctx, iid, &stripe.InvoiceItemUpdateParams{Description: stripe.String("Changed")}); err != nil {
			t.Fatal(err)
		}
		if _, err := sc.V1InvoiceItems.Delete(ctx, iid, nil); err != nil {
			t.Fatal(err)
		}
		break
	}
	if _, err := sc.V1Invoices.Delete(ctx, draft.ID, nil); err != nil {
		t.Fatal(err)
	}
	paid := f.openInvoice(t, sc, true)
	if _, err := sc.V1Invoices.Pay(ctx, paid.ID, nil); err != nil {
		t.Fatal(err)
	}
	void := f.openInvoice(t, sc, true)
	if _, err := sc.V1Invoices.VoidInvoice(ctx, void.ID, nil); err != nil {
		t.Fatal(err)
	}
	bad := f.openInvoice(t, sc, true)
	if _, err := sc.V1Invoices.MarkUncollectible(ctx, bad.ID, nil); err != nil {
		t.Fatal(err)
	}
	declined := newInvoiceFixture(t, sc, "pm_card_chargeCustomerFail").openInvoice(t, sc, true)
	if _, err := sc.V1Invoices.Pay(ctx, declined.ID, nil); err == nil {
		t.Fatal("a declining card paid")
	}
	sent, err := sc.V1Invoices.Create(ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(f.cus.ID),
		CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(30)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1InvoiceItems.Create(ctx, &stripe.InvoiceItemCreateParams{Customer: stripe.String(f.cus.ID), Invoice: stripe.String(sent.ID),
		Amount: stripe.Int64(100), Currency: stripe.String("gbp")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Invoices.FinalizeInvoice(ctx, sent.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Invoices.SendInvoice(ctx, sent.ID, nil); err != nil {
		t.Fatal(err)
	}
}

func TestInvoiceLifecycleSDK(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		f := newInvoiceFixture(t, sc, "pm_card_visa")
		draft := f.openInvoice(t, sc, false)
		// 2 × 10.00 + 20 % VAT (4.00) + 5.00 untaxed.
		if draft.Status != "draft" || draft.Subtotal != 2500 || draft.Total != 2900 || draft.AmountDue != 2900 || draft.Number != "" ||
			draft.InvoicePDF != "" || draft.HostedInvoiceURL != "" || len(draft.TotalTaxes) != 1 || draft.TotalTaxes[0].Amount != 400 {
			t.Fatalf("draft = %+v", draft)
		}
		if draft.Lines == nil || len(draft.Lines.Data) != 2 || draft.Lines.Data[0].Amount != 2000 || draft.Lines.Data[0].Taxes[0].Amount != 400 ||
			draft.Lines.Data[0].Parent.InvoiceItemDetails.InvoiceItem == "" {
			t.Fatalf("draft lines = %+v", draft.Lines)
		}
		// Stripe's null conventions on a draft, read raw.
		raw := do(t, srv, call{method: "GET", path: "/v1/invoices/" + draft.ID})
		for _, field := range []string{"number", "hosted_invoice_url", "invoice_pdf", "due_date", "effective_at", "ending_balance",
			"default_payment_method", "description", "footer", "parent", "confirmation_secret", "test_clock"} {
			if v, present := raw.body[field]; !present || v != nil {
				t.Errorf("draft %s = %v (present %v), want null", field, v, present)
			}
		}
		for _, field := range []string{"paid", "payment_intent", "charge", "subscription"} {
			if _, present := raw.body[field]; present {
				t.Errorf("draft has %s, which the 2025 invoice has not", field)
			}
		}
		// An idempotent create is replayed, not repeated.
		k := &stripe.InvoiceCreateParams{Customer: stripe.String(f.cus.ID), Params: stripe.Params{IdempotencyKey: stripe.String("inv-create-1")}}
		first, err := sc.V1Invoices.Create(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		k2 := &stripe.InvoiceCreateParams{Customer: stripe.String(f.cus.ID), Params: stripe.Params{IdempotencyKey: stripe.String("inv-create-1")}}
		if second, err := sc.V1Invoices.Create(ctx, k2); err != nil || second.ID != first.ID {
			t.Errorf("replayed create: %v %v, want %s", second, err, first.ID)
		}
		if _, err := sc.V1Invoices.Delete(ctx, first.ID, nil); err != nil {
			t.Fatal(err)
		}
		inv, err := sc.V1Invoices.FinalizeInvoice(ctx, draft.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Status != "open" || !strings.HasSuffix(inv.Number, "-0001") || len(inv.Number) != 13 || inv.StatusTransitions.FinalizedAt == 0 ||
			inv.HostedInvoiceURL == "" || inv.InvoicePDF == "" || inv.CustomerName != "Ada Lovelace" {
			t.Fatalf("finalized = %+v", inv)
		}
		// Finalizing twice and editing lines are refused.
		if _, err := sc.V1Invoices.FinalizeInvoice(ctx, inv.ID, nil); stripeCode(err) != "invoice_unexpected_state" {
			t.Errorf("finalize twice: %v", err)
		}
		if _, err := sc.V1InvoiceItems.Create(ctx, &stripe.InvoiceItemCreateParams{Customer: stripe.String(f.cus.ID), Invoice: stripe.String(inv.ID),
			Amount: stripe.Int64(1), Currency: stripe.String("gbp")}); stripeCode(err) != "invoice_not_editable" {
			t.Errorf("adding to an open invoice: %v", err)
		}
		if _, err := sc.V1Invoices.Update(ctx, inv.ID, &stripe.InvoiceUpdateParams{Footer: stripe.String("Thanks")}); err != nil {
			t.Errorf("footer after finalize: %v", err)
		}
		// The hosted page and the PDF.
		res, err := http.Get(inv.HostedInvoiceURL)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), inv.Number) || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("hosted page: %d %s", res.StatusCode, page)
		}
		if res, err := http.Get(inv.HostedInvoiceURL + "x"); err != nil || res.StatusCode != 404 {
			t.Errorf("unknown token: %v %v", res, err)
		}
		var pdfURL struct {
			URL string `json:"url"`
		}
		if a := do(t, srv, call{method: "GET", path: "/v1/invoices/" + inv.ID + "/pdf"}); a.status != 200 || json.Unmarshal([]byte(a.raw), &pdfURL) != nil || pdfURL.URL != inv.InvoicePDF {
			t.Errorf("pdf route: %d %s", a.status, a.raw)
		}
		res, err = http.Get(inv.InvoicePDF)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(doc), "%PDF") {
			t.Errorf("pdf: %d %s", res.StatusCode, res.Header)
		}
		if bin, err := exec.LookPath("pdftotext"); err != nil {
			t.Log("pdftotext is not installed: the PDF's text is not checked")
		} else {
			cmd := exec.Command(bin, "-", "-")
			cmd.Stdin = strings.NewReader(string(doc))
			out, err := cmd.Output()
			if err != nil || !strings.Contains(string(out), inv.Number) || !strings.Contains(string(out), "29.00") {
				t.Errorf("pdf text (%v): %s", err, out)
			}
		}
		// Pay with the customer's default card, idempotently.
		paid, err := sc.V1Invoices.Pay(ctx, inv.ID, &stripe.InvoicePayParams{Params: stripe.Params{IdempotencyKey: stripe.String("pay-1")}})
		if err != nil {
			t.Fatal(err)
		}
		if paid.Status != "paid" || paid.AmountPaid != 2900 || paid.AmountRemaining != 0 || paid.StatusTransitions.PaidAt == 0 ||
			paid.Payments == nil || len(paid.Payments.Data) != 1 || paid.Payments.Data[0].Payment.PaymentIntent == nil {
			t.Fatalf("paid = %+v", paid)
		}
		again, err := sc.V1Invoices.Pay(ctx, inv.ID, &stripe.InvoicePayParams{Params: stripe.Params{IdempotencyKey: stripe.String("pay-1")}})
		if err != nil || again.Status != "paid" {
			t.Errorf("replayed pay: %v %v", again, err)
		}
		pis := 0
		for _, err := range sc.V1PaymentIntents.List(ctx, &stripe.PaymentIntentListParams{Customer: stripe.String(f.cus.ID)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			pis++
		}
		if pis != 1 {
			t.Errorf("%d payment intents, want 1", pis)
		}
		if _, err := sc.V1Invoices.VoidInvoice(ctx, inv.ID, nil); stripeCode(err) != "invoice_unexpected_state" {
			t.Errorf("void a paid invoice: %v", err)
		}
		// Void, then pay a void invoice.
		v := f.openInvoice(t, sc, true)
		if !strings.HasSuffix(v.Number, "-0002") {
			t.Errorf("second number %s", v.Number)
		}
		if v, err = sc.V1Invoices.VoidInvoice(ctx, v.ID, nil); err != nil || v.Status != "void" {
			t.Fatal(v, err)
		}
		if _, err := sc.V1Invoices.Pay(ctx, v.ID, nil); stripeCode(err) != "invoice_unexpected_state" {
			t.Errorf("pay a void invoice: %v", err)
		}
		// Out of band, after marking uncollectible.
		u := f.openInvoice(t, sc, true)
		if u, err = sc.V1Invoices.MarkUncollectible(ctx, u.ID, nil); err != nil || u.Status != "uncollectible" {
			t.Fatal(u, err)
		}
		if u, err = sc.V1Invoices.Pay(ctx, u.ID, &stripe.InvoicePayParams{PaidOutOfBand: stripe.Bool(true)}); err != nil || u.Status != "paid" {
			t.Fatal(u, err)
		}
		// Lists.
		n := 0
		for _, err := range sc.V1Invoices.List(ctx, &stripe.InvoiceListParams{Customer: stripe.String(f.cus.ID), Status: stripe.String("paid")}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d paid invoices, want 2", n)
		}
		// Another project's invoice does not exist.
		_, otherKey := apitest.NewProject(t, srv.DB)
		if _, err := payClient(t, srv, otherKey).V1Invoices.Retrieve(ctx, inv.ID, nil); stripeCode(err) != "resource_missing" {
			t.Errorf("another project's invoice: %v", err)
		}
	})
}

func TestInvoiceDeclineAndBadInput(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		f := newInvoiceFixture(t, sc, "pm_card_chargeCustomerFail")
		inv := f.openInvoice(t, sc, true)
		_, err := sc.V1Invoices.Pay(ctx, inv.ID, nil)
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != 402 || se.Type != "card_error" {
			t.Fatalf("declined pay: %v", err)
		}
		inv, err = sc.V1Invoices.Retrieve(ctx, inv.ID, nil)
		if err != nil || inv.Status != "open" || inv.AttemptCount != 1 || !inv.Attempted {
			t.Fatalf("after a decline: %+v %v", inv, err)
		}
		// A draft is deleted; its items become pending.
		draft := f.openInvoice(t, sc, false)
		if d, err := sc.V1Invoices.Delete(ctx, draft.ID, nil); err != nil || !d.Deleted {
			t.Fatal(d, err)
		}
		if _, err := sc.V1Invoices.Delete(ctx, inv.ID, nil); stripeCode(err) != "invoice_not_editable" {
			t.Errorf("delete an open invoice: %v", err)
		}
		pending, err := sc.V1Invoices.Create(ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(f.cus.ID),
			PendingInvoiceItemsBehavior: stripe.String("include")})
		if err != nil || pending.Subtotal != 2500 {
			t.Errorf("invoice with the pending items: %+v %v", pending, err)
		}
		other, err := payClient(t, srv, func() string { _, k := apitest.NewProject(t, srv.DB); return k }()).V1TaxRates.Create(ctx,
			&stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"), Percentage: stripe.Float64(20), Inclusive: stripe.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		inactive, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(100),
			Active: stripe.Bool(false), ProductData: &stripe.PriceCreateProductDataParams{Name: stripe.String("Old")}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, body, param string
		}{
			{"missing customer", "amount=100&currency=gbp", "customer"},
			{"price and amount", "customer=" + f.cus.ID + "&amount=100&currency=gbp&price=" + inactive.ID, "price"},
			{"negative quantity", "customer=" + f.cus.ID + "&amount=100&currency=gbp&quantity=-1", "quantity"},
			{"inactive price", "customer=" + f.cus.ID + "&price=" + inactive.ID, "price"},
			{"another project's tax rate", "customer=" + f.cus.ID + "&amount=100&currency=gbp&tax_rates[]=" + other.ID, "tax_rates"},
			{"disabled currency", "customer=" + f.cus.ID + "&amount=100&currency=jpy", "currency"},
		} {
			a := do(t, srv, call{method: "POST", path: "/v1/invoiceitems", body: c.body})
			if a.status/100 != 4 || a.err("param") != c.param {
				t.Errorf("%s: %d %s, want a 4xx naming %s", c.name, a.status, a.raw, c.param)
			}
		}
		if a := do(t, srv, call{method: "POST", path: "/v1/invoices", body: ""}); a.status != 400 || !strings.Contains(a.raw, "customer") {
			t.Errorf("invoice without customer: %d %s", a.status, a.raw)
		}
	})
}

func stripeCode(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	return ""
}
