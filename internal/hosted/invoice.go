package hosted

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/pdf"
)

// invoiceCSP is the invoice page's policy: nothing but the page itself (no
// script, no style, no form).
const invoiceCSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

var invoicePage = template.Must(template.New("invoice").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invoice {{.Number}}</title></head>
<body><main>
<h1>{{if .Business}}{{.Business}}: {{end}}Invoice {{.Number}}</h1>
<p>Status: <strong>{{.Status}}</strong>{{if .Due}} · Due {{.Due}}{{end}} · Issued {{.Issued}}</p>
{{if .Customer}}<p>Billed to {{.Customer}}</p>{{end}}
{{if .Description}}<p>{{.Description}}</p>{{end}}
<table>
<thead><tr><th>Description</th><th>Qty</th><th>Unit price</th><th>Amount</th></tr></thead>
<tbody>{{range .Lines}}<tr><td>{{.Description}}</td><td>{{.Quantity}}</td><td>{{.Unit}}</td><td>{{.Amount}}</td></tr>
{{end}}</tbody></table>
<p>Subtotal: {{.Subtotal}}</p>
{{range .Taxes}}<p>{{.}}</p>
{{end}}<p><strong>Total: {{.Total}}</strong></p>
<p>Amount paid: {{.Paid}}</p>
<p><strong>Amount remaining: {{.Remaining}}</strong></p>
{{if .Footer}}<p>{{.Footer}}</p>{{end}}
<p><a href="{{.PDF}}">Download the invoice (PDF)</a></p>
{{if .Payable}}<p>Pay online: not available yet. Please pay as the merchant's payment terms say.</p>{{end}}
</main></body></html>
`))

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

// invoicePage shows a finalised invoice to its customer.
func (h *Pages) invoicePage(w http.ResponseWriter, r *http.Request) {
	inv, ok := h.findInvoice(w, r)
	if !ok {
		return
	}
	money := func(n int64) string { return pdf.Money(n, inv.Currency) }
	v := struct {
		Number, Status, Due, Issued, Customer, Description, Footer, Business string
		Subtotal, Total, Paid, Remaining, PDF                                string
		Lines                                                                []invoiceLineRow
		Taxes                                                                []string
		Payable                                                              bool
	}{Number: inv.Number, Status: inv.Status, Issued: day(inv.FinalizedAt), Customer: inv.CustomerName, Description: inv.Description,
		Footer: inv.Footer, Business: inv.AccountName, Subtotal: money(inv.Subtotal), Total: money(inv.Total),
		Paid: money(inv.AmountPaid), Remaining: money(inv.AmountRemaining), PDF: pay.InvoicePDFURL(inv, h.payments.PublicURL()),
		Payable: inv.Payable()}
	if inv.DueDate != 0 {
		v.Due = day(inv.DueDate)
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
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", invoiceCSP)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	if err := invoicePage.Execute(w, v); err != nil {
		h.log.ErrorContext(r.Context(), "invoice page: render", "err", err)
	}
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
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", `inline; filename="`+inv.Number+`.pdf"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Write(b)
}
