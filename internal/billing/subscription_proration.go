package billing

import (
	"context"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// proration is one credit (unused time of what was billed) or debit
// (remaining time of what will be) a change makes, before its amount.
type proration struct {
	credit   bool
	item     string // the subscription item's ID
	price    *pay.Price
	quantity int64
	rates    []*pay.TaxRate // the item's own, else the subscription's default
}

// ratesOr returns rates, or fallback when there are none.
func ratesOr(rates, fallback []*pay.TaxRate) []*pay.TaxRate {
	if len(rates) > 0 {
		return rates
	}
	return fallback
}

// credits are the credits for the unused time of items, as old billed
// them.
func credits(old subSnap, items []itemSnap) []proration {
	var out []proration
	for _, it := range items {
		out = append(out, proration{credit: true, item: it.id, price: it.price, quantity: it.quantity, rates: ratesOr(it.rates, old.defaultRates)})
	}
	return out
}

// itemProrations are the prorations of a change within the period: for
// each item removed, a credit; for each item whose price or quantity
// changed, a credit for the old and a debit for the new; for each item
// added, a debit (as Stripe itemizes them).
func itemProrations(old subSnap, sub *pay.Subscription) []proration {
	var out []proration
	debit := func(it *pay.SubscriptionItem) {
		out = append(out, proration{item: it.ID, price: it.Price, quantity: it.Quantity, rates: ratesOr(it.TaxRates, sub.DefaultTaxRates)})
	}
	was := map[string]bool{}
	for _, o := range old.items {
		was[o.id] = true
		var now *pay.SubscriptionItem
		for _, it := range sub.Items {
			if it.ID == o.id {
				now = it
			}
		}
		switch {
		case now == nil:
			out = append(out, credits(old, []itemSnap{o})...)
		case now.Price.ID != o.price.ID || now.Quantity != o.quantity:
			out = append(out, credits(old, []itemSnap{o})...)
			debit(now)
		}
	}
	for _, it := range sub.Items {
		if !was[it.ID] {
			debit(it)
		}
	}
	return out
}

// productNames reads the names of products, once each.
type productNames map[string]string

func (n productNames) of(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) (string, error) {
	if name, ok := n[id]; ok {
		return name, nil
	}
	p, err := tx.FindProduct(ctx, scope, id)
	if err != nil {
		return "", fmt.Errorf("product %s: %w", id, err)
	}
	n[id] = p.Name
	return p.Name, nil
}

// periodLines are the lines of sub's current period for each of its items
// at full price, taxed: what a change that starts a new period invoices.
func (s *Service) periodLines(ctx context.Context, tx *store.Tx, sub *pay.Subscription) ([]pay.InvoiceLine, error) {
	names := productNames{}
	var lines []pay.InvoiceLine
	for _, it := range sub.Items {
		name, err := names.of(ctx, tx, sub.Scope, it.Price.Product)
		if err != nil {
			return nil, err
		}
		line := pay.InvoiceLine{ID: pay.NewID(pay.PrefixInvoiceLine), Description: fmt.Sprintf("%d × %s", it.Quantity, name),
			Quantity: it.Quantity, UnitAmount: it.Price.UnitAmount, Amount: it.Quantity * it.Price.UnitAmount,
			PeriodStart: sub.CurrentPeriodStart, PeriodEnd: sub.CurrentPeriodEnd, Price: it.Price.ID, Product: it.Price.Product,
			SubscriptionItem: it.ID}
		lines = append(lines, taxedLine(line, ratesOr(it.TaxRates, sub.DefaultTaxRates)))
	}
	return lines, nil
}

// prorationItems returns a change's prorations as invoice items of sub,
// not yet written, and their sum: each is the part of its whole-period
// amount that the time from at to the old period's end is worth
// (pay.Prorate), negative for a credit; one worth 0 is left out.
func prorationItems(ctx context.Context, tx *store.Tx, sub *pay.Subscription, old subSnap, at int64, lines []proration, now int64) ([]*pay.InvoiceItem, int64, error) {
	names := productNames{}
	var (
		items []*pay.InvoiceItem
		net   int64
	)
	for _, l := range lines {
		amount := pay.Prorate(l.quantity*l.price.UnitAmount, old.periodEnd-at, old.periodLength)
		if amount == 0 {
			continue
		}
		if l.credit {
			amount = -amount
		}
		name, err := names.of(ctx, tx, sub.Scope, l.price.Product)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, &pay.InvoiceItem{Scope: sub.Scope, Created: now, Customer: sub.Customer, Price: l.price.ID,
			Product: l.price.Product, Currency: sub.Currency, UnitAmount: l.price.UnitAmount, Quantity: l.quantity, Amount: amount,
			Description: pay.ProrationDescription(l.credit, l.quantity, name, at), PeriodStart: at, PeriodEnd: old.periodEnd,
			TaxRates: l.rates, TestClock: sub.TestClock, Subscription: sub.ID, SubscriptionItem: l.item, Proration: true})
		net += amount
	}
	return items, net, nil
}

// insertItems writes items, on inv if it is not nil (else pending), with
// invoiceitem.created.
func insertItems(ctx context.Context, tx *store.Tx, items []*pay.InvoiceItem, inv *pay.Invoice) error {
	for _, ii := range items {
		if inv != nil {
			ii.Invoice = inv.ID
		}
		if err := tx.CreateInvoiceItem(ctx, ii); err != nil {
			return err
		}
		if err := payments.Emit(ctx, tx, ii.Scope, pay.EventInvoiceItemCreated, ii.ID, pay.InvoiceItemView(ii), nil); err != nil {
			return err
		}
	}
	return nil
}

// writeProrations writes a change's prorations (prorationItems), with
// invoiceitem.created. With invoiceNow they go on an invoice made at once
// (billing_reason subscription_update) with full (the lines of a new
// period, if the change starts one) and the other pending items sub's
// invoices take, finalized; else they stay pending for sub's next invoice.
// An always_invoice change within the period that would collect nothing (a
// net credit: Calmony Pay keeps no customer credit balance to hold it)
// makes no invoice and leaves its items pending, so that the credit
// reduces the next invoice instead of being lost.
func (s *Service) writeProrations(ctx context.Context, tx *store.Tx, sub *pay.Subscription, old subSnap, at int64, lines []proration,
	full []pay.InvoiceLine, invoiceNow bool, now int64, st *changeStep) error {
	items, net, err := prorationItems(ctx, tx, sub, old, at, lines, now)
	if err != nil {
		return err
	}
	if invoiceNow && len(full) == 0 {
		pending, err := tx.FindPendingInvoiceItems(ctx, sub.Scope, sub.Customer, sub.Currency, sub.ID)
		if err != nil {
			return err
		}
		for _, ii := range pending {
			net += ii.Amount
		}
		invoiceNow = len(items)+len(pending) > 0 && net > 0
	}
	if !invoiceNow {
		return insertItems(ctx, tx, items, nil)
	}
	inv, err := s.openSubscriptionInvoice(ctx, tx, sub, now, full)
	if err != nil {
		return err
	}
	if err := insertItems(ctx, tx, items, inv); err != nil {
		return err
	}
	pending, err := tx.FindPendingInvoiceItems(ctx, sub.Scope, sub.Customer, sub.Currency, sub.ID)
	if err != nil {
		return err
	}
	st.Invoice = inv.ID
	return s.closeSubscriptionInvoice(ctx, tx, sub, inv, pending)
}

// openSubscriptionInvoice writes a draft invoice of sub made by a change
// (billing_reason subscription_update), with lines.
func (s *Service) openSubscriptionInvoice(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, lines []pay.InvoiceLine) (*pay.Invoice, error) {
	inv := &pay.Invoice{Scope: sub.Scope, Status: pay.InvoiceStatusDraft, Currency: sub.Currency, Customer: sub.Customer,
		CollectionMethod: sub.CollectionMethod, AutoAdvance: true, PeriodStart: now, PeriodEnd: now, TestClock: sub.TestClock,
		DefaultPaymentMethod: sub.DefaultPaymentMethod, DefaultTaxRates: sub.DefaultTaxRates, Description: sub.Description,
		Subscription: sub.ID, BillingReason: pay.BillingReasonSubscriptionUpdate, Lines: lines}
	if sub.CollectionMethod == pay.CollectSend {
		inv.DueDate = now + sub.DaysUntilDue*day
	}
	return inv, tx.CreateInvoice(ctx, inv)
}

// closeSubscriptionInvoice takes the pending items onto inv, totals it,
// emits invoice.created and finalizes it, with its events; inv becomes
// sub's latest invoice.
func (s *Service) closeSubscriptionInvoice(ctx context.Context, tx *store.Tx, sub *pay.Subscription, inv *pay.Invoice, pending []*pay.InvoiceItem) error {
	scope := sub.Scope
	for _, ii := range pending {
		before := pay.InvoiceItemView(ii)
		ii.Invoice = inv.ID
		if err := tx.UpdateInvoiceItem(ctx, ii); err != nil {
			return err
		}
		if err := payments.EmitUpdate(ctx, tx, scope, pay.EventInvoiceItemUpdated, ii.ID, before, pay.InvoiceItemView(ii)); err != nil {
			return err
		}
	}
	if err := s.compute(ctx, tx, inv); err != nil {
		return err
	}
	if err := payments.Emit(ctx, tx, scope, pay.EventInvoiceCreated, inv.ID, s.view(inv), nil); err != nil {
		return err
	}
	events, err := s.finalize(ctx, tx, inv, nil)
	if err != nil {
		return err
	}
	if err := tx.UpdateInvoice(ctx, inv); err != nil {
		return err
	}
	after := s.view(inv)
	for _, e := range events {
		if err := payments.Emit(ctx, tx, scope, e, inv.ID, after, nil); err != nil {
			return err
		}
	}
	sub.LatestInvoice = inv.ID
	return nil
}
