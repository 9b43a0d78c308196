package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// readItemParams reads an invoice item's create or update parameters.
func readItemParams(p *params, create bool) billing.ItemParams {
	var ip billing.ItemParams
	ip.Price = p.OptString("price")
	if ip.Amount = p.OptInt64("amount"); ip.Amount != nil && (*ip.Amount < -99999999 || *ip.Amount > 99999999) {
		p.Fail("amount", "parameter_invalid_integer", "amount must be between -99999999 and 99999999 minor units.")
	}
	if ip.Currency = p.OptString("currency"); ip.Currency != nil {
		c := strings.ToLower(*ip.Currency)
		ip.Currency = &c
	}
	if pd, ok := p.Sub("price_data"); ok {
		d := &billing.ItemPriceData{}
		d.Currency = strings.ToLower(pd.RequireString("currency"))
		d.Product = pd.RequireString("product")
		d.UnitAmount = pd.RequireInt64("unit_amount")
		if d.UnitAmount < 0 || d.UnitAmount > pay.MaxUnitAmount {
			pd.Fail("unit_amount", "parameter_invalid_integer", "price_data[unit_amount] must be between 0 and 99999999.")
		}
		ip.PriceData = d
	}
	sent := 0
	for _, b := range []bool{ip.Price != nil, ip.Amount != nil, ip.PriceData != nil} {
		if b {
			sent++
		}
	}
	switch {
	case sent > 1:
		p.Fail("price", "parameter_invalid", "Pass only one of price, amount and price_data.")
	case create && sent == 0:
		p.Fail("amount", "parameter_missing", "Pass one of price, amount (with currency) or price_data to say what the item costs.")
	case ip.Amount != nil && ip.Currency == nil && create:
		p.Missing("currency")
	}
	if ip.Quantity = p.OptInt64("quantity"); ip.Quantity != nil && (*ip.Quantity < 1 || *ip.Quantity > 1000000) {
		p.Fail("quantity", "parameter_invalid_integer", "quantity must be a whole number from 1 to 1000000.")
	}
	ip.Description = readText(p, "description", 500)
	if per, ok := p.Sub("period"); ok {
		start, end := per.RequireInt64("start"), per.RequireInt64("end")
		if end < start {
			per.Fail("end", "parameter_invalid", "period[end] must not be before period[start].")
		}
		ip.Period = &[2]int64{start, end}
	}
	ip.TaxRates = readIDList(p, "tax_rates")
	ip.Metadata = readMetadata(p)
	return ip
}

func (s *Server) createInvoiceItem(r *http.Request, p *params) (opFunc, error) {
	ip := readItemParams(p, true)
	ip.Customer = p.RequireString("customer")
	ip.Invoice, _ = p.String("invoice")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreateInvoiceItem(ctx, call, ip)
	}, nil
}

func (s *Server) updateInvoiceItem(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	ip := readItemParams(p, false)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdateInvoiceItem(ctx, call, id, ip)
	}, nil
}

func (s *Server) deleteInvoiceItem(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.DeleteInvoiceItem(ctx, call, id)
	}, nil
}

func (s *Server) listInvoiceItems(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.InvoiceItemFilter
	f.Customer, _ = p.String("customer")
	f.Invoice, _ = p.String("invoice")
	f.Pending = p.OptBool("pending")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindInvoiceItems(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("invoiceitem", "/v1/invoiceitems", l, pay.InvoiceItemView), nil
	}, nil
}

// readInvoiceParams reads an invoice's create or update parameters.
func readInvoiceParams(p *params) billing.InvoiceParams {
	var ip billing.InvoiceParams
	ip.AutoAdvance = p.OptBool("auto_advance")
	if ip.CollectionMethod = p.OptString("collection_method"); ip.CollectionMethod != nil &&
		!oneOf(*ip.CollectionMethod, []string{pay.CollectCharge, pay.CollectSend}) {
		p.Fail("collection_method", "parameter_invalid", "collection_method must be charge_automatically or send_invoice.")
	}
	if ip.DaysUntilDue = p.OptInt64("days_until_due"); ip.DaysUntilDue != nil && (*ip.DaysUntilDue < 0 || *ip.DaysUntilDue > 1825) {
		p.Fail("days_until_due", "parameter_invalid_integer", "days_until_due must be between 0 and 1825.")
	}
	if ip.DueDate = p.OptInt64("due_date"); ip.DueDate != nil && *ip.DueDate <= 0 {
		p.Fail("due_date", "parameter_invalid_integer", "due_date must be a unix timestamp.")
	}
	if ip.DaysUntilDue != nil && ip.DueDate != nil {
		p.Fail("due_date", "parameter_invalid", "Pass only one of days_until_due and due_date.")
	}
	ip.DefaultPaymentMethod = readClearableString(p, "default_payment_method")
	ip.DefaultTaxRates = readIDList(p, "default_tax_rates")
	ip.Description = readText(p, "description", 1500)
	ip.Footer = readText(p, "footer", 5000)
	ip.Metadata = readMetadata(p)
	return ip
}

func (s *Server) createInvoice(r *http.Request, p *params) (opFunc, error) {
	ip := readInvoiceParams(p)
	ip.Customer = p.RequireString("customer")
	if c, ok := p.String("currency"); ok {
		ip.Currency = strings.ToLower(c)
	}
	if b, ok := p.String("pending_invoice_items_behavior"); ok {
		if !oneOf(b, []string{"include", "exclude"}) {
			p.Fail("pending_invoice_items_behavior", "parameter_invalid", "pending_invoice_items_behavior must be include or exclude.")
		}
		ip.IncludePending = b == "include"
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreateInvoice(ctx, call, ip)
	}, nil
}

func (s *Server) updateInvoice(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	ip := readInvoiceParams(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdateInvoice(ctx, call, id, ip)
	}, nil
}

func (s *Server) deleteInvoice(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.DeleteInvoice(ctx, call, id)
	}, nil
}

func (s *Server) listInvoices(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.InvoiceFilter
	f.Customer, _ = p.String("customer")
	f.Subscription, _ = p.String("subscription")
	if f.Status, _ = p.String("status"); f.Status != "" && !oneOf(f.Status, []string{pay.InvoiceStatusDraft, pay.InvoiceStatusOpen,
		pay.InvoiceStatusPaid, pay.InvoiceStatusUncollectible, pay.InvoiceStatusVoid}) {
		p.Fail("status", "parameter_invalid", "status must be one of draft, open, paid, uncollectible, void.")
	}
	if f.CollectionMethod, _ = p.String("collection_method"); f.CollectionMethod != "" &&
		!oneOf(f.CollectionMethod, []string{pay.CollectCharge, pay.CollectSend}) {
		p.Fail("collection_method", "parameter_invalid", "collection_method must be charge_automatically or send_invoice.")
	}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindInvoices(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("invoice", "/v1/invoices", l, func(inv *pay.Invoice) any { return pay.InvoiceView(inv, s.publicURL) }), nil
	}, nil
}

func (s *Server) listInvoiceLines(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	page := readCursor(p)
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		inv, err := s.db.FindInvoice(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "invoice", id, "id")
		}
		return pay.InvoiceLineList(inv, page.StartingAfter, page.Limit), nil
	}, nil
}

// invoicePDF answers the address of the invoice's PDF (the original
// product's route): a shopper-facing, unguessable URL. Drafts have none.
func (s *Server) invoicePDF(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		inv, err := s.db.FindInvoice(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "invoice", id, "id")
		}
		if inv.Token == "" {
			return nil, pay.InvalidRequest("invoice_not_finalized", "", "A draft invoice has no PDF: finalize it first.")
		}
		return map[string]any{"url": pay.InvoicePDFURL(inv, s.publicURL)}, nil
	}, nil
}

func (s *Server) finalizeInvoice(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	auto := p.OptBool("auto_advance")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.FinalizeInvoice(ctx, call, id, auto)
	}, nil
}

func (s *Server) payInvoice(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var pp billing.PayParams
	pp.PaymentMethod, _ = p.String("payment_method")
	pp.PaidOutOfBand, _ = p.Bool("paid_out_of_band")
	pp.OffSession = p.OptBool("off_session")
	if pp.PaidOutOfBand && pp.PaymentMethod != "" {
		p.Fail("payment_method", "parameter_invalid", "payment_method cannot be used with paid_out_of_band=true.")
	}
	p.stagedAs = "invoice"
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.PayInvoice(ctx, call, id, pp)
	}, nil
}

// invoiceStep adapts a lifecycle operation with no parameters.
func (s *Server) invoiceStep(op func(*billing.Service) func(context.Context, payments.Call, string) (*payments.Answer, error)) opHandler {
	return func(r *http.Request, p *params) (opFunc, error) {
		id := r.PathValue("id")
		return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
			return op(s.billing)(ctx, call, id)
		}, nil
	}
}
