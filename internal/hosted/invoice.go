package hosted

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/pdf"
)

// invoiceCSP is the invoice page's policy: nothing but the page itself (no
// script, no style) and its one form, the Pay button, posting to itself.
const invoiceCSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

var invoicePage = template.Must(template.New("invoice").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Invoice {{.Number}}</title></head>
<body><main>
<h1>{{if .Business}}{{.Business}}: {{end}}Invoice {{.Number}}</h1>
{{with .Notice}}<p id="notice" role="status"><strong>{{.}}</strong></p>
{{end}}<p>Status: <strong id="status">{{.Status}}</strong>{{if .Due}} · Due {{.Due}}{{end}} · Issued {{.Issued}}{{if .PaidOn}} · Paid {{.PaidOn}}{{end}}</p>
{{if .Customer}}<p>Billed to {{.Customer}}</p>{{end}}
{{if .Description}}<p>{{.Description}}</p>{{end}}
<table>
<thead><tr><th>Description</th><th>Qty</th><th>Unit price</th><th>Amount</th></tr></thead>
<tbody>{{range .Lines}}<tr><td>{{.Description}}</td><td>{{.Quantity}}</td><td>{{.Unit}}</td><td>{{.Amount}}</td></tr>
{{end}}</tbody></table>
<p>Subtotal: {{.Subtotal}}</p>
{{range .Taxes}}<p>{{.}}</p>
{{end}}<p><strong>Total: {{.Total}}</strong></p>
<p>Amount paid: <span id="amount-paid">{{.Paid}}</span></p>
<p><strong>Amount remaining: <span id="amount-remaining">{{.Remaining}}</span></strong></p>
{{if .Receipts}}<h2>Payments</h2>
<ul id="payments">{{range .Receipts}}<li>{{.}}</li>
{{end}}</ul>
{{end}}{{if .Footer}}<p>{{.Footer}}</p>{{end}}
<p><a href="{{.PDF}}">Download the invoice (PDF)</a></p>
{{if .PayAction}}<form method="post" action="{{.PayAction}}"><button id="pay" type="submit">Pay {{.Remaining}}</button></form>
<p>You will enter your card on our payment provider's secure page.</p>
{{else if .InFlight}}<p>A payment of this invoice is being processed. Reload this page in a moment to see its outcome.</p>
{{end}}</main></body></html>
`))

// invoiceNotices are what the invoice page says of a payment's result
// (?payment=…, payments.InvoicePage*) while the invoice is still payable.
var invoiceNotices = map[string]string{
	payments.InvoicePageDeclined:    "Your payment did not go through: the card was declined, and no money was taken. You can try again, with this card or another.",
	payments.InvoicePageCancelled:   "The payment was cancelled, and no money was taken. You can try again.",
	payments.InvoicePageUnconfirmed: "The result of the payment could not be confirmed, so it was not recorded. You can try again.",
	payments.InvoicePageRefunded:    "Your payment could not be applied to this invoice and was refunded in full.",
}

// invoiceNotice is what the page says above the invoice, given the result
// in the query: its status speaks for itself, so a result is only named
// when it says more.
func invoiceNotice(inv *pay.Invoice, result string) string {
	switch {
	case result == payments.InvoicePageRefunded:
		return "This invoice was already " + inv.Status + " when your payment arrived, so your payment was refunded in full."
	case inv.Status == pay.InvoiceStatusPaid && result == payments.InvoicePagePaid:
		return "Thank you: your payment was received."
	case inv.PayableOnline():
		return invoiceNotices[result]
	}
	return ""
}

// statusLabel is how the page names an invoice's status.
func statusLabel(status string) string {
	switch status {
	case pay.InvoiceStatusOpen:
		return "Open"
	case pay.InvoiceStatusPaid:
		return "Paid"
	case pay.InvoiceStatusVoid:
		return "Void"
	case pay.InvoiceStatusUncollectible:
		return "Uncollectible"
	}
	return status
}

type invoiceLineRow struct{ Description, Unit, Amount, Quantity string }

// findInvoice reads the invoice of the token in the path, answering the
// shopper itself when there is none.
func (h *Pages) findInvoice(w http.ResponseWriter, r *http.Request) (*pay.Invoice, bool) {
	if form.CheckRequestText(r) != nil {
		writePage(w, http.StatusNotFound, "Invoice not found", "This invoice link is not valid.", "")
		return nil, false
	}
	ctx := r.Context()
	inv, err := h.db.FindInvoiceByToken(ctx, r.PathValue("token"))
	switch {
	case errors.Is(err, pay.ErrNotFound):
		writePage(w, http.StatusNotFound, "Invoice not found", "This invoice does not exist.", "")
		return nil, false
	case err != nil:
		h.log.ErrorContext(ctx, "invoice page", "request_id", middleware.RequestIDFrom(ctx), "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return nil, false
	}
	return inv, true
}

func day(unix int64) string { return time.Unix(unix, 0).UTC().Format("2 January 2006") }

// invoicePage shows a finalised invoice to its customer, with a Pay button
// while it can be paid online.
func (h *Pages) invoicePage(w http.ResponseWriter, r *http.Request) {
	inv, ok := h.findInvoice(w, r)
	if !ok {
		return
	}
	money := func(n int64) string { return pdf.Money(n, inv.Currency) }
	v := struct {
		Number, Status, Due, Issued, PaidOn, Customer, Description, Footer, Business string
		Subtotal, Total, Paid, Remaining, PDF, Notice, PayAction                     string
		Lines                                                                        []invoiceLineRow
		Taxes, Receipts                                                              []string
		InFlight                                                                     bool
	}{Number: inv.Number, Status: statusLabel(inv.Status), Issued: day(inv.FinalizedAt), Customer: inv.CustomerName, Description: inv.Description,
		Footer: inv.Footer, Business: inv.AccountName, Subtotal: money(inv.Subtotal), Total: money(inv.Total),
		Paid: money(inv.AmountPaid), Remaining: money(inv.AmountRemaining), PDF: pay.InvoicePDFURL(inv, h.payments.PublicURL()),
		Notice: invoiceNotice(inv, r.URL.Query().Get("payment")), InFlight: inv.Payable() && inv.PayAttempt != 0}
	if inv.PayableOnline() {
		v.PayAction = pay.InvoicePageURL(inv, h.payments.PublicURL()) + "/pay"
	}
	if inv.DueDate != 0 {
		v.Due = day(inv.DueDate)
	}
	if inv.Status == pay.InvoiceStatusPaid && inv.PaidAt != 0 {
		v.PaidOn = day(inv.PaidAt)
	}
	for _, l := range inv.Lines {
		v.Lines = append(v.Lines, invoiceLineRow{Description: l.Description, Unit: money(l.UnitAmount), Amount: money(l.Amount),
			Quantity: strconv.FormatInt(l.Quantity, 10)})
	}
	for _, t := range inv.TotalTaxes() {
		kind := "exclusive"
		if t.Inclusive {
			kind = "included"
		}
		v.Taxes = append(v.Taxes, t.DisplayName+" "+t.Percent()+" ("+kind+"): "+money(t.Amount))
	}
	v.Receipts = h.receipts(r.Context(), inv)
	setInvoiceHeaders(w.Header())
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", invoiceCSP)
	if err := invoicePage.Execute(w, v); err != nil {
		h.log.ErrorContext(r.Context(), "invoice page: render", "err", err)
	}
}

// setInvoiceHeaders sets what every invoice page and PDF carries: never
// cached, never indexed (the address is the credential; the middleware's
// Referrer-Policy, strict-origin-when-cross-origin, keeps it from other
// sites, the gateway's page among them).
func setInvoiceHeaders(hd http.Header) {
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Robots-Tag", "noindex, nofollow")
}

// receipts describes the invoice's payments that paid: amount, date and
// card ("£12.00 paid on 2 March 2026 by visa ending 4242").
func (h *Pages) receipts(ctx context.Context, inv *pay.Invoice) []string {
	var out []string
	for _, p := range inv.Payments {
		if p.Status != "paid" {
			continue
		}
		line := pdf.Money(p.AmountPaid, inv.Currency) + " paid on " + day(p.PaidAt)
		if p.PaymentMethod == "" {
			line += " outside this page (out of band)"
		} else if pm, err := h.db.FindPaymentMethod(ctx, inv.Scope, p.PaymentMethod); err == nil && pm.Card.Last4 != "" {
			line += " by " + pm.Card.Brand + " card ending " + pm.Card.Last4
		}
		out = append(out, line)
	}
	return out
}

// payInvoice is the page's Pay button: it starts a hosted card payment of
// what remains of the invoice (billing.Service.StartHostedPayment) and
// sends the shopper's browser to the gateway's hosted page with it. It is
// behind cross-origin protection (invoiceCSRF): another site cannot make a
// shopper's browser press it.
func (h *Pages) payInvoice(w http.ResponseWriter, r *http.Request) {
	inv, ok := h.findInvoice(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	page := pay.InvoicePageURL(inv, h.payments.PublicURL())
	cs, err := h.billing.StartHostedPayment(ctx, inv.Scope, inv.ID)
	switch {
	case errors.Is(err, billing.ErrInvoicePaymentInFlight):
		writePageLink(w, http.StatusConflict, "Payment in progress",
			"A payment of this invoice is already being processed. Return to the invoice in a moment to see its outcome.", page, "Return to the invoice")
		return
	case errors.Is(err, billing.ErrInvoiceNotPayable):
		writePageLink(w, http.StatusConflict, "Nothing to pay", "This invoice cannot be paid online: it is "+statusLabel(inv.Status)+".",
			page, "Return to the invoice")
		return
	case err != nil:
		h.log.ErrorContext(ctx, "invoice page: start payment", "invoice", inv.ID, "request_id", middleware.RequestIDFrom(ctx), "err", err)
		writePageLink(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", page, "Return to the invoice")
		return
	}
	h.toGateway(w, r, cs, page, "Return to the invoice")
}

// invoiceCSRF refuses a cross-site POST to the Pay button (the shopper's
// browser says where the form was: Sec-Fetch-Site, else Origin) with a page
// of ours.
func invoiceCSRF(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writePage(w, http.StatusForbidden, "Request refused", "This payment must be started from the invoice's own page.", "")
	}))
	return cop.Handler(next)
}

// invoicePDF renders the invoice's PDF from the stored invoice and the
// project's business details, on demand.
func (h *Pages) invoicePDF(w http.ResponseWriter, r *http.Request) {
	inv, ok := h.findInvoice(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	proj, err := h.db.FindProject(ctx, inv.Scope.ProjectID)
	if err != nil {
		h.log.ErrorContext(ctx, "invoice pdf: project", "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	b, err := pdf.Invoice(inv, proj.Business)
	if err != nil {
		h.log.ErrorContext(ctx, "invoice pdf: render", "invoice", inv.ID, "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	hd := w.Header()
	setInvoiceHeaders(hd)
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", `inline; filename="`+inv.Number+`.pdf"`)
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Write(b)
}
