package billing

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// ---- invoice items ----

// ItemPriceData is an invoice item's inline price (price_data): a new,
// inactive one-time price of an existing product.
type ItemPriceData struct {
	Currency   string
	Product    string
	UnitAmount int64
}

// ItemParams are an invoice item's parameters; nil fields are not sent.
// One of Price, Amount (with Currency) or PriceData says what it costs.
type ItemParams struct {
	Customer    string // create only
	Price       *string
	Amount      *int64
	Currency    *string
	PriceData   *ItemPriceData
	Quantity    *int64
	Description *string
	Period      *[2]int64 // start, end
	TaxRates    *[]string
	Invoice     string // create only: a draft of the same customer
	Metadata    pay.MetadataUpdate
}

// checkTaxRates locks and returns the scope's active rates of ids.
func checkTaxRates(ctx context.Context, tx *store.Tx, scope pay.Scope, ids []string, param string) ([]*pay.TaxRate, error) {
	var out []*pay.TaxRate
	for _, id := range ids {
		t, err := tx.FindTaxRate(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "tax rate", id, param)
		}
		if !t.Active {
			return nil, pay.InvalidParam(param, "Tax rate %s is archived (active=false) and cannot be applied.", id)
		}
		out = append(out, t)
	}
	return out, nil
}

// applyItem sets the sent fields of p on ii and checks the result.
func (s *Service) applyItem(ctx context.Context, tx *store.Tx, ii *pay.InvoiceItem, p ItemParams) error {
	scope := ii.Scope
	switch {
	case p.Price != nil:
		price, err := tx.FindPrice(ctx, scope, *p.Price)
		if err != nil {
			return pay.NotFoundAs(err, "price", *p.Price, "price")
		}
		if !price.Active {
			return pay.InvalidParam("price", "The price %s is not active: invoice items need an active price.", price.ID)
		}
		ii.Price, ii.Product, ii.Currency, ii.UnitAmount = price.ID, price.Product, price.Currency, price.UnitAmount
	case p.PriceData != nil:
		d := p.PriceData
		if _, err := tx.FindProduct(ctx, scope, d.Product); err != nil {
			return pay.NotFoundAs(err, "product", d.Product, "price_data[product]")
		}
		if !s.payments.CurrencyAllowed(scope, d.Currency) {
			return pay.InvalidParam("price_data[currency]", "Currency %q is not enabled for this project.", pay.Clip(d.Currency, 10))
		}
		price := &pay.Price{Scope: scope, Product: d.Product, Currency: d.Currency, UnitAmount: d.UnitAmount, TaxBehavior: pay.TaxBehaviorUnspecified}
		if err := tx.CreatePrice(ctx, price); err != nil {
			return err
		}
		if err := payments.Emit(ctx, tx, scope, pay.EventPriceCreated, price.ID, pay.PriceView(price), nil); err != nil {
			return err
		}
		ii.Price, ii.Product, ii.Currency, ii.UnitAmount = price.ID, price.Product, price.Currency, price.UnitAmount
	case p.Amount != nil:
		ii.Price, ii.Product, ii.UnitAmount = "", "", *p.Amount
		if p.Currency != nil {
			ii.Currency = *p.Currency
		}
	}
	if p.Currency != nil && p.Amount == nil && *p.Currency != ii.Currency {
		return pay.InvalidParam("currency", "currency may only be sent with amount: a price sets its own currency.")
	}
	if !s.payments.CurrencyAllowed(scope, ii.Currency) {
		return pay.InvalidParam("currency", "Currency %q is not enabled for this project.", pay.Clip(ii.Currency, 10))
	}
	if p.Quantity != nil {
		ii.Quantity = *p.Quantity
	}
	if p.Description != nil {
		ii.Description = *p.Description
	}
	if p.Period != nil {
		ii.PeriodStart, ii.PeriodEnd = p.Period[0], p.Period[1]
	}
	if p.TaxRates != nil {
		rates, err := checkTaxRates(ctx, tx, scope, *p.TaxRates, "tax_rates")
		if err != nil {
			return err
		}
		ii.TaxRates = rates
	}
	ii.Metadata = p.Metadata.Apply(ii.Metadata)
	if err := pay.CheckMetadata(ii.Metadata); err != nil {
		return err
	}
	if ii.Proration && p.Price == nil && p.PriceData == nil && p.Amount == nil && p.Quantity == nil {
		return nil // a proration keeps its prorated amount
	}
	ii.Amount = ii.Quantity * ii.UnitAmount
	if ii.Quantity > 0 && ii.Amount/ii.Quantity != ii.UnitAmount || ii.Amount > 99999999999 || ii.Amount < -99999999999 {
		return pay.InvalidParam("quantity", "The item's amount (quantity × unit amount) is too large.")
	}
	return nil
}

// takeItems puts pending invoice items on inv, a draft, each with
// invoiceitem.updated; the caller recomputes inv.
func takeItems(ctx context.Context, tx *store.Tx, inv *pay.Invoice, items []*pay.InvoiceItem) error {
	for _, ii := range items {
		before := pay.InvoiceItemView(ii)
		ii.Invoice = inv.ID
		if err := tx.UpdateInvoiceItem(ctx, ii); err != nil {
			return err
		}
		if err := payments.EmitUpdate(ctx, tx, inv.Scope, pay.EventInvoiceItemUpdated, ii.ID, before, pay.InvoiceItemView(ii)); err != nil {
			return err
		}
	}
	return nil
}

// CreateInvoiceItem creates an invoice item, pending or on a draft invoice
// of its customer (whose totals it updates), with invoiceitem.created.
func (s *Service) CreateInvoiceItem(ctx context.Context, call payments.Call, p ItemParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		scope := call.Scope
		cus, err := tx.FindCustomer(ctx, scope, p.Customer)
		if err != nil || cus.Deleted {
			return nil, pay.NotFoundAs(cmpErr(err), "customer", p.Customer, "customer")
		}
		now, err := s.clockTime(ctx, tx, scope, cus.TestClock, 0)
		if err != nil {
			return nil, err
		}
		ii := &pay.InvoiceItem{Scope: scope, Customer: cus.ID, Quantity: 1, PeriodStart: now, PeriodEnd: now, TestClock: cus.TestClock}
		if err := s.applyItem(ctx, tx, ii, p); err != nil {
			return nil, err
		}
		var inv *pay.Invoice
		if p.Invoice != "" {
			if inv, err = s.draftOf(ctx, tx, scope, p.Invoice, "invoice"); err != nil {
				return nil, err
			}
			if inv.Customer != ii.Customer {
				return nil, pay.InvalidParam("invoice", "Invoice %s belongs to another customer.", inv.ID)
			}
			if inv.Currency != ii.Currency {
				return nil, pay.InvalidParam("currency", "The item's currency %s differs from invoice %s's (%s).", ii.Currency, inv.ID, inv.Currency)
			}
			ii.Invoice = inv.ID
		}
		if err := tx.CreateInvoiceItem(ctx, ii); err != nil {
			return nil, err
		}
		if err := payments.Emit(ctx, tx, scope, pay.EventInvoiceItemCreated, ii.ID, pay.InvoiceItemView(ii), nil); err != nil {
			return nil, err
		}
		if inv != nil {
			if err := s.refresh(ctx, tx, inv); err != nil {
				return nil, err
			}
		}
		return ii, nil
	})
}

func cmpErr(err error) error {
	if err == nil {
		return pay.ErrNotFound
	}
	return err
}

// editableItem locks an item and the invoice it is on, if any, and refuses
// unless it is pending or on a draft.
func (s *Service) editableItem(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) (*pay.InvoiceItem, *pay.Invoice, error) {
	peek, err := tx.FindInvoiceItem(ctx, scope, id)
	if err != nil {
		return nil, nil, pay.NotFoundAs(err, "invoice item", id, "id")
	}
	if peek.Invoice == "" {
		return peek, nil, nil
	}
	inv, err := tx.FindInvoice(ctx, scope, peek.Invoice)
	if err != nil {
		return nil, nil, err
	}
	if !inv.Editable() {
		return nil, nil, pay.InvalidRequest("invoice_not_editable", "",
			"Invoice item %s is on invoice %s, which is %s: only the items of draft invoices can be changed.", id, inv.ID, inv.Status)
	}
	return peek, inv, nil
}

// UpdateInvoiceItem changes an item that is pending or on a draft, with
// invoiceitem.updated.
func (s *Service) UpdateInvoiceItem(ctx context.Context, call payments.Call, id string, p ItemParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		ii, inv, err := s.editableItem(ctx, tx, call.Scope, id)
		if err != nil {
			return nil, err
		}
		before := pay.InvoiceItemView(ii)
		if err := s.applyItem(ctx, tx, ii, p); err != nil {
			return nil, err
		}
		if inv != nil && inv.Currency != ii.Currency {
			return nil, pay.InvalidParam("currency", "The item's currency must stay %s, its invoice's.", inv.Currency)
		}
		if err := tx.UpdateInvoiceItem(ctx, ii); err != nil {
			return nil, err
		}
		if err := payments.EmitUpdate(ctx, tx, call.Scope, pay.EventInvoiceItemUpdated, ii.ID, before, pay.InvoiceItemView(ii)); err != nil {
			return nil, err
		}
		if inv != nil {
			return ii, s.refresh(ctx, tx, inv)
		}
		return ii, nil
	})
}

// DeleteInvoiceItem deletes an item that is pending or on a draft, with
// invoiceitem.deleted.
func (s *Service) DeleteInvoiceItem(ctx context.Context, call payments.Call, id string) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		ii, inv, err := s.editableItem(ctx, tx, call.Scope, id)
		if err != nil {
			return nil, err
		}
		if err := tx.DeleteInvoiceItem(ctx, call.Scope, id); err != nil {
			return nil, err
		}
		if err := payments.Emit(ctx, tx, call.Scope, pay.EventInvoiceItemDeleted, ii.ID, pay.InvoiceItemView(ii), nil); err != nil {
			return nil, err
		}
		if inv != nil {
			if err := s.refresh(ctx, tx, inv); err != nil {
				return nil, err
			}
		}
		ii.Deleted = true
		return ii, nil
	})
}

// ---- invoices ----

// InvoiceParams are an invoice's parameters; nil fields are not sent.
type InvoiceParams struct {
	Customer             string // create only
	Currency             string // create only; "" is the project's first currency
	IncludePending       bool   // create only: pending_invoice_items_behavior=include
	AutoAdvance          *bool
	CollectionMethod     *string
	DaysUntilDue         *int64
	DueDate              *int64
	DefaultPaymentMethod *string
	DefaultTaxRates      *[]string
	Description, Footer  *string
	Metadata             pay.MetadataUpdate
}

// onlyNotes reports whether p changes nothing but what a finalised invoice
// may still change: metadata, description and footer.
func (p InvoiceParams) onlyNotes() bool {
	return p.AutoAdvance == nil && p.CollectionMethod == nil && p.DaysUntilDue == nil && p.DueDate == nil &&
		p.DefaultPaymentMethod == nil && p.DefaultTaxRates == nil
}

const day = 86400

func (s *Service) applyInvoice(ctx context.Context, tx *store.Tx, inv *pay.Invoice, p InvoiceParams) error {
	if p.AutoAdvance != nil {
		inv.AutoAdvance = *p.AutoAdvance
	}
	if p.CollectionMethod != nil {
		inv.CollectionMethod = *p.CollectionMethod
	}
	switch {
	case p.DaysUntilDue != nil:
		inv.DueDate = s.now().Unix() + *p.DaysUntilDue*day
	case p.DueDate != nil:
		inv.DueDate = *p.DueDate
	}
	if inv.CollectionMethod == pay.CollectCharge {
		if p.DaysUntilDue != nil || p.DueDate != nil {
			param := "due_date"
			if p.DaysUntilDue != nil {
				param = "days_until_due"
			}
			return pay.InvalidParam(param, "%s can only be set when collection_method is send_invoice.", param)
		}
		inv.DueDate = 0
	} else if inv.DueDate == 0 {
		return pay.InvalidParam("days_until_due", "An invoice with collection_method=send_invoice needs days_until_due or due_date.")
	}
	if p.DefaultPaymentMethod != nil {
		if *p.DefaultPaymentMethod != "" {
			pm, err := tx.FindPaymentMethod(ctx, inv.Scope, *p.DefaultPaymentMethod)
			if err != nil {
				return pay.NotFoundAs(err, "payment method", *p.DefaultPaymentMethod, "default_payment_method")
			}
			if pm.Customer != inv.Customer {
				return pay.InvalidParam("default_payment_method", "The payment method %s is not attached to customer %s.", pm.ID, inv.Customer)
			}
		}
		inv.DefaultPaymentMethod = *p.DefaultPaymentMethod
	}
	if p.DefaultTaxRates != nil {
		rates, err := checkTaxRates(ctx, tx, inv.Scope, *p.DefaultTaxRates, "default_tax_rates")
		if err != nil {
			return err
		}
		inv.DefaultTaxRates = rates
	}
	if p.Description != nil {
		inv.Description = *p.Description
	}
	if p.Footer != nil {
		inv.Footer = *p.Footer
	}
	inv.Metadata = p.Metadata.Apply(inv.Metadata)
	return pay.CheckMetadata(inv.Metadata)
}

// CreateInvoice creates a draft invoice for a customer, with its pending
// items in its currency if p.IncludePending, and invoice.created.
func (s *Service) CreateInvoice(ctx context.Context, call payments.Call, p InvoiceParams) (*payments.Answer, error) {
	scope := call.Scope
	currency := p.Currency
	if currency == "" {
		currency = "gbp"
		if proj, err := s.db.FindProject(ctx, scope.ProjectID); err == nil && len(proj.Currencies) > 0 {
			currency = proj.Currencies[0]
		}
	}
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		cus, err := tx.FindCustomer(ctx, scope, p.Customer)
		if err != nil || cus.Deleted {
			return nil, pay.NotFoundAs(cmpErr(err), "customer", p.Customer, "customer")
		}
		if !s.payments.CurrencyAllowed(scope, currency) {
			return nil, pay.InvalidParam("currency", "Currency %q is not enabled for this project.", pay.Clip(currency, 10))
		}
		now, err := s.clockTime(ctx, tx, scope, cus.TestClock, 0)
		if err != nil {
			return nil, err
		}
		inv := &pay.Invoice{Scope: scope, Status: pay.InvoiceStatusDraft, Currency: currency, Customer: cus.ID,
			CollectionMethod: pay.CollectCharge, PeriodStart: now, PeriodEnd: now, TestClock: cus.TestClock, Created: now}
		if err := s.applyInvoice(ctx, tx, inv, p); err != nil {
			return nil, err
		}
		if err := tx.CreateInvoice(ctx, inv); err != nil {
			return nil, err
		}
		if p.IncludePending {
			items, err := tx.FindPendingInvoiceItems(ctx, scope, cus.ID, currency, "")
			if err != nil {
				return nil, err
			}
			if err := takeItems(ctx, tx, inv, items); err != nil {
				return nil, err
			}
			if err := s.compute(ctx, tx, inv); err != nil {
				return nil, err
			}
			if err := tx.UpdateInvoice(ctx, inv); err != nil {
				return nil, err
			}
		}
		return inv, payments.Emit(ctx, tx, scope, pay.EventInvoiceCreated, inv.ID, s.view(inv), nil)
	})
}

func (s *Service) view(inv *pay.Invoice) any { return pay.InvoiceView(inv, s.payments.PublicURL()) }

// compute sets inv's lines and totals from its items: each line's amount
// is quantity × unit amount, taxed at its own rates or else the invoice's
// default rates (pay.ComputeLineTax). Subscription lines, fixed when the
// invoice was made, are kept first. Amount due is never negative: a net
// credit leaves 0 due (there is no customer credit balance to carry the
// rest, as Stripe's ending_balance would).
func (s *Service) compute(ctx context.Context, tx *store.Tx, inv *pay.Invoice) error {
	items, err := tx.FindInvoiceItemsOf(ctx, inv.Scope, inv.ID)
	if err != nil {
		return err
	}
	computeWith(inv, items)
	return nil
}

// computeWith is compute, with items, the invoice items on inv (oldest
// first), already read.
func computeWith(inv *pay.Invoice, items []*pay.InvoiceItem) {
	lines := slices.DeleteFunc(inv.Lines, func(l pay.InvoiceLine) bool { return l.SubscriptionItem == "" || l.InvoiceItem != "" })
	inv.Lines = append(lines, itemLines(inv, items)...)
	computeTotals(inv)
}

// itemLines returns the lines of invoice items on inv, each taxed at its
// own rates or else the invoice's default rates.
func itemLines(inv *pay.Invoice, items []*pay.InvoiceItem) []pay.InvoiceLine {
	var lines []pay.InvoiceLine
	for _, ii := range items {
		rates := ii.TaxRates
		if len(rates) == 0 {
			rates = inv.DefaultTaxRates
		}
		lines = append(lines, taxedLine(pay.InvoiceLine{ID: ii.LineID, Description: ii.Description, Quantity: ii.Quantity,
			UnitAmount: ii.UnitAmount, Amount: ii.Amount, PeriodStart: ii.PeriodStart, PeriodEnd: ii.PeriodEnd, InvoiceItem: ii.ID,
			Price: ii.Price, Product: ii.Product, Metadata: ii.Metadata, Proration: ii.Proration, SubscriptionItem: ii.SubscriptionItem}, rates))
	}
	return lines
}

// computeTotals sets inv's totals from its lines.
func computeTotals(inv *pay.Invoice) {
	inv.Subtotal, inv.Tax, inv.Total = 0, 0, 0
	for _, l := range inv.Lines {
		var incl, excl int64
		for _, t := range l.Taxes {
			if t.Inclusive {
				incl += t.Amount
			} else {
				excl += t.Amount
			}
		}
		inv.Subtotal += l.Amount
		inv.Tax += incl + excl
		inv.Total += l.Amount + excl
	}
	inv.AmountDue = max(inv.Total, 0)
	inv.AmountRemaining = inv.AmountDue - inv.AmountPaid
}

// taxedLine returns line with its taxes at rates.
func taxedLine(line pay.InvoiceLine, rates []*pay.TaxRate) pay.InvoiceLine {
	lt := pay.ComputeLineTax(line.Amount, rates)
	line.Taxes = nil
	for i, t := range lt.Taxes {
		line.Taxes = append(line.Taxes, pay.LineTax{TaxRate: t.TaxRate, DisplayName: rates[i].DisplayName, Percentage: rates[i].Percentage,
			Inclusive: t.Inclusive, Amount: t.Amount, TaxableAmount: t.TaxableAmount})
	}
	return line
}

// refresh recomputes a draft's lines and totals and writes it, with
// invoice.updated if anything shown changed.
func (s *Service) refresh(ctx context.Context, tx *store.Tx, inv *pay.Invoice) error {
	before := s.view(inv)
	if err := s.compute(ctx, tx, inv); err != nil {
		return err
	}
	if err := tx.UpdateInvoice(ctx, inv); err != nil {
		return err
	}
	return payments.EmitUpdate(ctx, tx, inv.Scope, pay.EventInvoiceUpdated, inv.ID, before, s.view(inv))
}

// draftOf locks an invoice and refuses unless it is a draft.
func (s *Service) draftOf(ctx context.Context, tx *store.Tx, scope pay.Scope, id, param string) (*pay.Invoice, error) {
	inv, err := tx.FindInvoice(ctx, scope, id)
	if err != nil {
		return nil, pay.NotFoundAs(err, "invoice", id, param)
	}
	if !inv.Editable() {
		return nil, notEditable(inv)
	}
	return inv, nil
}

func notEditable(inv *pay.Invoice) error {
	return pay.InvalidRequest("invoice_not_editable", "", "This invoice can no longer be modified: it is %s, and only draft invoices can be edited.", inv.Status)
}

func unexpectedState(format string, args ...any) error {
	return pay.InvalidRequest("invoice_unexpected_state", "", format, args...)
}

// UpdateInvoice changes a draft; after finalisation only its metadata,
// description and footer may change. Emits invoice.updated.
func (s *Service) UpdateInvoice(ctx context.Context, call payments.Call, id string, p InvoiceParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		inv, err := tx.FindInvoice(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "invoice", id, "id")
		}
		if !inv.Editable() && !p.onlyNotes() {
			return nil, notEditable(inv)
		}
		before := s.view(inv)
		if err := s.applyInvoice(ctx, tx, inv, p); err != nil {
			return nil, err
		}
		if inv.Editable() {
			if err := s.compute(ctx, tx, inv); err != nil {
				return nil, err
			}
		}
		if err := tx.UpdateInvoice(ctx, inv); err != nil {
			return nil, err
		}
		return inv, payments.EmitUpdate(ctx, tx, call.Scope, pay.EventInvoiceUpdated, inv.ID, before, s.view(inv))
	})
}

// DeleteInvoice deletes a draft; its items become pending again. Emits
// invoice.deleted.
func (s *Service) DeleteInvoice(ctx context.Context, call payments.Call, id string) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		inv, err := tx.FindInvoice(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "invoice", id, "id")
		}
		if !inv.Editable() {
			return nil, pay.InvalidRequest("invoice_not_editable", "", "You can only delete draft invoices: this one is %s. Void it instead.", inv.Status)
		}
		items, err := tx.FindInvoiceItemsOf(ctx, call.Scope, id)
		if err != nil {
			return nil, err
		}
		for _, ii := range items {
			ii.Invoice = ""
			if err := tx.UpdateInvoiceItem(ctx, ii); err != nil {
				return nil, err
			}
		}
		if err := tx.DeleteInvoice(ctx, call.Scope, id); err != nil {
			return nil, err
		}
		if err := payments.Emit(ctx, tx, call.Scope, pay.EventInvoiceDeleted, id, s.view(inv), nil); err != nil {
			return nil, err
		}
		return pay.DeletedObject{ID: id, Object: "invoice", Deleted: true}, nil
	})
}

// takeNumber numbers inv, of customer cus, with the next number of the
// customer's sequence (NextInvoiceNumber). Prefixes are drawn from the
// customers' IDs, so two customers may share one: if another's invoice
// has the number already, the customer is given a prefix of its own, drawn
// at random, and its sequence goes on under it.
func takeNumber(ctx context.Context, tx *store.Tx, inv *pay.Invoice, cus *pay.Customer) error {
	prefix, n, err := tx.NextInvoiceNumber(ctx, inv.Scope, inv.Customer)
	if err != nil {
		return err
	}
	c := pay.Customer{ID: cus.ID, InvoicePrefix: prefix}
	prefix = c.NumberPrefix()
	for range 8 {
		number := fmt.Sprintf("%s-%04d", prefix, n)
		taken, err := tx.InvoiceNumberTaken(ctx, inv.Scope, number)
		if err != nil || !taken {
			inv.Number = number
			return err
		}
		prefix = pay.NewInvoicePrefix()
		if err := tx.SetInvoicePrefix(ctx, inv.Scope, inv.Customer, prefix); err != nil {
			return err
		}
	}
	return fmt.Errorf("no free invoice number for customer %s", inv.Customer)
}

// transition locks an invoice, runs fn on it if allowed(inv), writes it
// and emits invoice.updated and the events fn names.
func (s *Service) transition(ctx context.Context, call payments.Call, id string, refuse func(*pay.Invoice) error,
	fn func(tx *store.Tx, inv *pay.Invoice) ([]pay.EventType, error)) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		inv, err := tx.FindInvoice(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "invoice", id, "id")
		}
		if err := refuse(inv); err != nil {
			return nil, err
		}
		before := s.view(inv)
		events, err := fn(tx, inv)
		if err != nil {
			return nil, err
		}
		if err := tx.UpdateInvoice(ctx, inv); err != nil {
			return nil, err
		}
		after := s.view(inv)
		for _, e := range events {
			if err := payments.Emit(ctx, tx, call.Scope, e, inv.ID, after, nil); err != nil {
				return nil, err
			}
		}
		return inv, payments.EmitUpdate(ctx, tx, call.Scope, pay.EventInvoiceUpdated, inv.ID, before, after)
	})
}

// FinalizeInvoice turns a draft into an open invoice: its number from the
// project's sequence, its hosted page and PDF, the customer's details
// copied. An invoice of 0 is paid at once. Emits invoice.finalized (and
// invoice.paid).
func (s *Service) FinalizeInvoice(ctx context.Context, call payments.Call, id string, autoAdvance *bool) (*payments.Answer, error) {
	return s.transition(ctx, call, id, func(inv *pay.Invoice) error {
		if inv.Status != pay.InvoiceStatusDraft {
			return unexpectedState("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
		}
		return nil
	}, func(tx *store.Tx, inv *pay.Invoice) ([]pay.EventType, error) {
		now, err := s.clockTime(ctx, tx, inv.Scope, inv.TestClock, 0)
		if err != nil {
			return nil, err
		}
		if autoAdvance != nil {
			inv.AutoAdvance = *autoAdvance
		}
		events, err := s.finalize(ctx, tx, inv, now)
		if err == nil && inv.Status == pay.InvoiceStatusOpen && inv.CollectionMethod == pay.CollectCharge && inv.AutoAdvance {
			// The scheduler charges it, as Stripe does an auto-advancing
			// invoice finalised by hand.
			inv.NextPaymentAttempt = now
		}
		return events, err
	})
}

// finalize does FinalizeInvoice's work at now on a draft locked in tx,
// without writing it: the caller writes it and emits the events returned.
func (s *Service) finalize(ctx context.Context, tx *store.Tx, inv *pay.Invoice, now int64) ([]pay.EventType, error) {
	f, err := s.startFinalize(ctx, tx, inv)
	if err != nil {
		return nil, err
	}
	return f.finish(ctx, tx, inv, now)
}

// finalizing is a finalisation read and computed but not yet numbered.
type finalizing struct {
	cus  *pay.Customer
	proj *pay.Project
}

// startFinalize computes a draft's lines and totals and reads what its
// finalisation copies. Taking the number (finish) comes last: on
// PostgreSQL it holds the project's sequence, and every other
// finalisation with it, until the transaction ends.
func (s *Service) startFinalize(ctx context.Context, tx *store.Tx, inv *pay.Invoice) (*finalizing, error) {
	if err := s.compute(ctx, tx, inv); err != nil {
		return nil, err
	}
	cus, err := tx.FindCustomer(ctx, inv.Scope, inv.Customer)
	if err != nil {
		return nil, err
	}
	proj, err := tx.FindProject(ctx, inv.Scope.ProjectID)
	if err != nil {
		return nil, err
	}
	return &finalizing{cus: cus, proj: proj}, nil
}

// finish finalises inv at now: its number, hosted page token, the
// customer's and merchant's details; an invoice of 0 is paid at once. It
// returns the events to emit.
func (f *finalizing) finish(ctx context.Context, tx *store.Tx, inv *pay.Invoice, now int64) ([]pay.EventType, error) {
	if err := takeNumber(ctx, tx, inv, f.cus); err != nil {
		return nil, err
	}
	inv.Token = newToken()
	inv.Status, inv.FinalizedAt = pay.InvoiceStatusOpen, now
	inv.CustomerName, inv.CustomerEmail, inv.CustomerAddress = f.cus.Name, f.cus.Email, f.cus.Address
	inv.AccountName, inv.AccountCountry = f.proj.Business.Name, f.proj.Business.Address.Country
	events := []pay.EventType{pay.EventInvoiceFinalized}
	if inv.AmountDue == 0 {
		inv.Status, inv.PaidAt = pay.InvoiceStatusPaid, now
		events = append(events, pay.EventInvoicePaid)
	}
	return events, nil
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "inv_" + base64.RawURLEncoding.EncodeToString(b)
}

// VoidInvoice voids an open or uncollectible invoice (invoice.voided).
func (s *Service) VoidInvoice(ctx context.Context, call payments.Call, id string) (*payments.Answer, error) {
	return s.transition(ctx, call, id, func(inv *pay.Invoice) error {
		if !inv.Payable() {
			return unexpectedState("You can only void an open or uncollectible invoice: this one is %s.", inv.Status)
		}
		if inv.PayAttempt != 0 {
			return unexpectedState("A payment of this invoice is in progress: retry once it has an outcome.")
		}
		return nil
	}, func(tx *store.Tx, inv *pay.Invoice) ([]pay.EventType, error) {
		now, err := s.clockTime(ctx, tx, inv.Scope, inv.TestClock, 0)
		inv.Status, inv.VoidedAt = pay.InvoiceStatusVoid, now
		return []pay.EventType{pay.EventInvoiceVoided}, err
	})
}

// MarkUncollectible marks an open invoice uncollectible
// (invoice.marked_uncollectible).
func (s *Service) MarkUncollectible(ctx context.Context, call payments.Call, id string) (*payments.Answer, error) {
	return s.transition(ctx, call, id, func(inv *pay.Invoice) error {
		if inv.Status != pay.InvoiceStatusOpen {
			return unexpectedState("You can only mark an open invoice as uncollectible: this one is %s.", inv.Status)
		}
		return nil
	}, func(tx *store.Tx, inv *pay.Invoice) ([]pay.EventType, error) {
		now, err := s.clockTime(ctx, tx, inv.Scope, inv.TestClock, 0)
		inv.Status, inv.MarkedUncollectibleAt = pay.InvoiceStatusUncollectible, now
		return []pay.EventType{pay.EventInvoiceMarkedUncollectible}, err
	})
}

// SendInvoice emits invoice.sent for an open send_invoice invoice. No email
// is sent: the merchant's webhook handler sends it.
func (s *Service) SendInvoice(ctx context.Context, call payments.Call, id string) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		inv, err := tx.FindInvoice(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "invoice", id, "id")
		}
		if inv.Status != pay.InvoiceStatusOpen {
			return nil, unexpectedState("You can only send an open invoice: this one is %s.", inv.Status)
		}
		if inv.CollectionMethod != pay.CollectSend {
			return nil, pay.InvalidRequest("invoice_unexpected_state", "", "Only invoices with collection_method=send_invoice can be sent.")
		}
		return inv, payments.Emit(ctx, tx, call.Scope, pay.EventInvoiceSent, inv.ID, s.view(inv), nil)
	})
}

// PayParams are a payment's parameters.
type PayParams struct {
	PaymentMethod string // "" : the invoice's, else the customer's default
	PaidOutOfBand bool
	// OffSession: the customer is not present (the default, as Stripe's).
	OffSession *bool

	// at is the billing scheduler's time for its charges (0: now, or the
	// invoice's test clock's time).
	at int64
}

// payKey is the idempotency key of an invoice's attempt-th charge.
func payKey(inv *pay.Invoice, attempt int64) *payments.IdempotencyKey {
	k := "invoice:" + inv.ID + ":" + strconv.FormatInt(attempt, 10)
	return &payments.IdempotencyKey{Key: store.IdemKey{Scope: inv.Scope, Key: k}, Method: "POST", Path: "/billing/invoices/pay", Fingerprint: k}
}

// PayInvoice pays an open or uncollectible invoice: out of band, or by
// charging a card off-session. The attempt's number is committed before
// the charge and the charge is made under a key naming the invoice and that
// number, so a retry after a crash, or a concurrent pay, reuses the charge
// instead of making another. Success: invoice.paid and
// invoice.payment_succeeded. Decline: invoice.payment_failed, the invoice
// stays open, and the answer is the 402 card error (kept under call's key).
func (s *Service) PayInvoice(ctx context.Context, call payments.Call, id string, p PayParams) (*payments.Answer, error) {
	attempt, inv, err := s.beginPayment(ctx, call.Scope, id, p)
	if err != nil {
		// A replay of a pay that finished answers as it did.
		if call.Key != nil {
			if a, rerr := s.settlePayment(ctx, call, id, -1, "", p); rerr == nil && a.Replayed {
				return a, nil
			}
		}
		return nil, err
	}
	if err := s.crashAt("attempt-recorded"); err != nil {
		return nil, err
	}
	piID := ""
	if attempt != 0 {
		if piID, err = s.charge(ctx, inv, attempt, p, nil); err != nil {
			return nil, err
		}
	}
	return s.settlePayment(ctx, call, id, attempt, piID, p)
}

// beginPayment checks that the invoice can be paid and records the number
// of the attempt to charge (0: no charge, paid out of band), committed.
func (s *Service) beginPayment(ctx context.Context, scope pay.Scope, id string, p PayParams) (int64, *pay.Invoice, error) {
	var (
		attempt int64
		out     *pay.Invoice
	)
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		inv, err := tx.FindInvoice(ctx, scope, id)
		if err != nil {
			return pay.NotFoundAs(err, "invoice", id, "id")
		}
		if !inv.Payable() {
			return unexpectedState("You can only pay an invoice that is open or uncollectible: this one is %s.", inv.Status)
		}
		out = inv
		if p.PaidOutOfBand {
			if inv.PayAttempt != 0 {
				return unexpectedState("A card payment of this invoice is in progress: retry once it has an outcome.")
			}
			attempt = 0
			return nil
		}
		inFlight := inv.PayAttempt != 0 // the same charge: nothing to write
		if attempt, err = s.beginAttempt(ctx, tx, inv, p); err != nil || inFlight {
			return err
		}
		return tx.UpdateInvoice(ctx, inv)
	})
	return attempt, out, err
}

// beginAttempt returns the number of the card attempt to charge on a
// payable invoice locked in tx: the attempt in flight if there is one (the
// same charge), else a new one, recorded on inv with its payment, for the
// caller to write. It refuses an invoice with no card it can charge.
func (s *Service) beginAttempt(ctx context.Context, tx *store.Tx, inv *pay.Invoice, p PayParams) (int64, error) {
	if inv.PayAttempt != 0 {
		return inv.PayAttempt, nil
	}
	pm, err := s.attemptCard(ctx, tx, inv, p, nil)
	if err != nil {
		return 0, err
	}
	now, err := s.clockTime(ctx, tx, inv.Scope, inv.TestClock, p.at)
	if err != nil {
		return 0, err
	}
	return recordAttempt(inv, pm, now), nil
}

// attemptCard returns the card a new attempt on inv charges: p's, else the
// invoice's default, else its customer's (cus, if the caller has read it
// in tx), checked; a *pay.Error if there is none it can charge.
func (s *Service) attemptCard(ctx context.Context, tx *store.Tx, inv *pay.Invoice, p PayParams, cus *pay.Customer) (string, error) {
	pm := cmp.Or(p.PaymentMethod, inv.DefaultPaymentMethod)
	if pm == "" {
		if cus == nil || cus.ID != inv.Customer {
			var err error
			if cus, err = tx.FindCustomer(ctx, inv.Scope, inv.Customer); err != nil {
				return "", err
			}
		}
		pm = cus.DefaultPaymentMethod
	}
	if pm == "" {
		return "", pay.InvalidRequest("invoice_no_payment_method", "payment_method",
			"This invoice has no payment method to charge: pass payment_method, set the invoice's default_payment_method or the customer's invoice_settings.default_payment_method, or pay with paid_out_of_band=true.")
	}
	if !payments.IsTestPaymentMethodID(pm) {
		m, err := tx.FindPaymentMethod(ctx, inv.Scope, pm)
		if err != nil {
			return "", pay.NotFoundAs(err, "payment method", pm, "payment_method")
		}
		if m.Customer != inv.Customer {
			return "", pay.InvalidParam("payment_method", "The payment method %s is not attached to customer %s.", pm, inv.Customer)
		}
	}
	return pm, nil
}

// recordAttempt records on inv its next card attempt, charging pm at now,
// and returns its number.
func recordAttempt(inv *pay.Invoice, pm string, now int64) int64 {
	inv.PayAttempt = inv.AttemptCount + 1
	inv.PayResumeAt, inv.PayResumeDelay = 0, 0
	inv.Payments = append(inv.Payments, pay.InvoicePayment{ID: pay.NewID(pay.PrefixInvoicePayment), AmountRequested: inv.AmountRemaining,
		Status: "open", Created: now, PaymentMethod: pm})
	return inv.PayAttempt
}

// ownChargeKey marks the context of an invoice's own card charge (charge)
// with an *ownCharge: the payment's settlement then tells the invoice hooks
// (InvoiceIntentSettled) that it is not the payment of the invoice's
// confirmation_secret without their reading the invoice, whose payer
// (PayInvoice, the scheduler) settles it itself.
type ownChargeKey struct{}

// ownCharge is an invoice's own card charge in flight. When the scheduler
// makes it (attempt set), the invoice hooks record the attempt's outcome
// in the transaction that records the payment's (settleAttempt), and say
// so here, so that the scheduler needs no transaction of its own for it:
// the invoice and its payment then change together.
type ownCharge struct {
	invoice string
	attempt int64 // the scheduler's attempt to settle in the payment's transaction; 0: none
	p       PayParams

	// Set by the hooks: the attempt's outcome, recorded.
	settled bool
	inv     *pay.Invoice
	decline *pay.Error
}

// charge makes the attempt's charge (or replays it) and returns its
// payment intent's ID. own, if not nil, is the scheduler's charge, whose
// outcome the invoice hooks record (ownCharge).
func (s *Service) charge(ctx context.Context, inv *pay.Invoice, attempt int64, p PayParams, own *ownCharge) (string, error) {
	last := inv.Payments[len(inv.Payments)-1]
	pm := last.PaymentMethod
	amount, currency, customer := last.AmountRequested, inv.Currency, inv.Customer
	desc := "Invoice " + inv.Number
	upd := pay.PaymentIntentUpdate{Amount: &amount, Currency: &currency, Customer: &customer, PaymentMethod: &pm, Description: &desc,
		Metadata: pay.MetadataUpdate{Set: map[string]string{"invoice": inv.ID}}}
	off := true
	if p.OffSession != nil {
		off = *p.OffSession
	}
	if !off && inv.Subscription != "" {
		// The customer is present for a subscription's payment (its
		// first): authenticated now (3-D Secure), the card is set up for
		// the renewals, which are off-session, as Stripe's.
		sfu := "off_session"
		upd.SetupFutureUsage = &sfu
	}
	if own == nil {
		own = &ownCharge{}
	}
	own.invoice = inv.ID
	ctx = context.WithValue(ctx, ownChargeKey{}, own)
	a, err := s.payments.CreatePaymentIntent(ctx, payments.Call{Scope: inv.Scope, Key: payKey(inv, attempt)}, upd, true,
		payments.ConfirmParams{OffSession: off, Recurring: inv.Subscription != ""})
	if err != nil {
		return "", err
	}
	var body struct {
		ID    string `json:"id"`
		Error struct {
			PaymentIntent struct {
				ID string `json:"id"`
			} `json:"payment_intent"`
		} `json:"error"`
	}
	if err := json.Unmarshal(a.Body, &body); err != nil {
		return "", err
	}
	if body.ID == "" {
		body.ID = body.Error.PaymentIntent.ID
	}
	if body.ID == "" {
		return "", &pay.Error{Status: a.Status, Type: pay.ErrorTypeInvalidRequest, Message: "The invoice's payment could not be made: " + string(a.Body)}
	}
	return body.ID, nil
}

// settlePayment records the attempt's outcome under call's key.
func (s *Service) settlePayment(ctx context.Context, call payments.Call, id string, attempt int64, piID string, p PayParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		if attempt < 0 {
			// Only looking for an earlier answer under the key.
			return nil, unexpectedState("You can only pay an invoice that is open or uncollectible.")
		}
		inv, decline, err := s.settleAttempt(ctx, tx, call.Scope, id, attempt, piID, nil, p)
		switch {
		case err != nil:
			return nil, err
		case decline != nil:
			return nil, payments.KeepError(decline)
		}
		return inv, nil
	})
}

// settleAttempt records, in tx, the outcome of the invoice's attempt (0:
// paid out of band) whose payment intent is piID, and returns the invoice
// and, if the card was declined, the card error to answer. pi, if not nil,
// is that payment intent as tx has it.
func (s *Service) settleAttempt(ctx context.Context, tx *store.Tx, scope pay.Scope, id string, attempt int64, piID string, pi *pay.PaymentIntent, p PayParams) (*pay.Invoice, *pay.Error, error) {
	inv, err := tx.FindInvoice(ctx, scope, id)
	if err != nil {
		return nil, nil, pay.NotFoundAs(err, "invoice", id, "id")
	}
	if attempt != 0 && inv.PayAttempt != attempt {
		// A concurrent pay recorded this attempt's outcome already.
		if slices.ContainsFunc(inv.Payments, func(ip pay.InvoicePayment) bool { return ip.PaymentIntent == piID && ip.Status == "paid" }) {
			return inv, nil, nil
		}
		return nil, nil, unexpectedState("This invoice's payment attempt was settled by another request: it is %s.", inv.Status)
	}
	if !inv.Payable() {
		return nil, nil, unexpectedState("You can only pay an invoice that is open or uncollectible: this one is %s.", inv.Status)
	}
	before := s.view(inv)
	now, err := s.clockTime(ctx, tx, scope, inv.TestClock, p.at)
	if err != nil {
		return nil, nil, err
	}
	emit := func(types ...pay.EventType) error { return s.emitInvoice(ctx, tx, inv, before, s.view(inv), types...) }
	if attempt == 0 && inv.PayAttempt != 0 {
		return nil, nil, unexpectedState("A card payment of this invoice is in progress: retry once it has an outcome.")
	}
	if attempt == 0 { // paid out of band
		inv.Payments = append(inv.Payments, pay.InvoicePayment{ID: pay.NewID(pay.PrefixInvoicePayment), AmountRequested: inv.AmountRemaining,
			AmountPaid: inv.AmountRemaining, Status: "paid", Created: now, PaidAt: now})
		inv.AmountPaid += inv.AmountRemaining
		inv.AmountRemaining = 0
		inv.Status, inv.PaidAt = pay.InvoiceStatusPaid, now
		// The subscription first: on PostgreSQL the invoice's update then
		// travels with the first event (deferred.go).
		if err := s.subscriptionInvoicePaid(ctx, tx, inv); err != nil {
			return nil, nil, err
		}
		if err := tx.UpdateInvoice(ctx, inv); err != nil {
			return nil, nil, err
		}
		return inv, nil, emit(pay.EventInvoicePaid)
	}
	if pi == nil {
		if pi, err = tx.FindPaymentIntent(ctx, scope, piID); err != nil {
			return nil, nil, err
		}
	}
	ip := &inv.Payments[len(inv.Payments)-1]
	ip.PaymentIntent = pi.ID
	switch pi.Status {
	case pay.StatusSucceeded:
		ip.Status, ip.AmountPaid, ip.PaidAt = "paid", pi.AmountReceived, now
		inv.AmountPaid += pi.AmountReceived
		inv.AmountRemaining = inv.AmountDue - inv.AmountPaid
		inv.AttemptCount, inv.Attempted, inv.PayAttempt, inv.NextPaymentAttempt = attempt, true, 0, 0
		inv.Status, inv.PaidAt = pay.InvoiceStatusPaid, now
		// The subscription first: on PostgreSQL the invoice's update then
		// travels with the first event (deferred.go).
		if err := s.subscriptionInvoicePaid(ctx, tx, inv); err != nil {
			return nil, nil, err
		}
		if err := tx.UpdateInvoice(ctx, inv); err != nil {
			return nil, nil, err
		}
		return inv, nil, emit(pay.EventInvoicePaid, pay.EventInvoicePaymentSucceeded)
	case pay.StatusProcessing:
		// The outcome is not known yet: the attempt stays in flight.
		if err := tx.UpdateInvoice(ctx, inv); err != nil {
			return nil, nil, err
		}
		return inv, nil, nil
	case pay.StatusRequiresAction:
		// The customer must authenticate (3-D Secure), as Stripe's: the
		// invoice stays open and its payment intent becomes the one the
		// customer confirms (confirmation_secret). Once authenticated, its
		// settlement pays the invoice through the hooks
		// (InvoiceIntentSettled), which also activate the subscription.
		inv.Payments = inv.Payments[:len(inv.Payments)-1]
		inv.AttemptCount, inv.Attempted, inv.PayAttempt = attempt, true, 0
		inv.ConfirmationIntent, inv.ConfirmationSecret = pi.ID, pi.ClientSecret
		inv.LastFailure = "authentication_required"
		if err := tx.UpdateInvoice(ctx, inv); err != nil {
			return nil, nil, err
		}
		return inv, nil, nil
	}
	ip.Status, ip.CanceledAt = "canceled", now
	inv.AttemptCount, inv.Attempted, inv.PayAttempt = attempt, true, 0
	inv.LastFailure = "card_declined"
	if le := pi.LastError; le != nil {
		inv.LastFailure = cmp.Or(le.DeclineCode, le.Code, inv.LastFailure)
	}
	if err := tx.UpdateInvoice(ctx, inv); err != nil {
		return nil, nil, err
	}
	if err := emit(pay.EventInvoicePaymentFailed); err != nil {
		return nil, nil, err
	}
	e := &pay.Error{Status: http.StatusPaymentRequired, Type: pay.ErrorTypeCard, Code: "card_declined",
		Message: "Your card was declined.", PaymentIntent: pay.PaymentIntentView(pi)}
	if le := pi.LastError; le != nil {
		e.Code, e.DeclineCode, e.Message = le.Code, le.DeclineCode, le.Message
	}
	return inv, e, nil
}
