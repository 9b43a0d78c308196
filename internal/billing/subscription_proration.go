package billing

import (
	"context"

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

// prorationItems returns a change's prorations as invoice items of sub,
// not yet written, and their sum: each is the part of its whole-period
// amount that the time from at to the old period's end is worth
// (pay.Prorate), negative for a credit; one worth 0 is left out.
func (s *Service) prorationItems(ctx context.Context, tx *store.Tx, sub *pay.Subscription, old subSnap, at int64, lines []proration, now int64) ([]*pay.InvoiceItem, int64, error) {
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
		name, err := s.productName(ctx, tx, sub.Scope, l.price.Product)
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
// (billing_reason subscription_update), with the lines of sub's current
// period if the change starts one (newPeriod), and the other pending items
// sub's invoices take, finalized; else they stay pending for sub's next
// invoice. An always_invoice change within the period that would collect
// nothing (a net credit: Calmony Pay keeps no customer credit balance to
// hold it) makes no invoice and leaves its items pending, so that the
// credit reduces the next invoice instead of being lost.
func (s *Service) writeProrations(ctx context.Context, tx *store.Tx, sub *pay.Subscription, old subSnap, at int64, lines []proration,
	newPeriod, invoiceNow bool, now int64, st *changeStep) error {
	items, net, err := s.prorationItems(ctx, tx, sub, old, at, lines, now)
	if err != nil {
		return err
	}
	if invoiceNow && !newPeriod {
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
	inv, err := s.openSubscriptionInvoice(ctx, tx, sub, now, newPeriod)
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
	return s.closeSubscriptionInvoice(ctx, tx, sub, inv, pending, now, st.collect)
}

// openSubscriptionInvoice writes a draft invoice of sub made by a change at
// now (billing_reason subscription_update), with a line per item for its
// current period if withPeriod (the scheduler's cycle invoice lines).
func (s *Service) openSubscriptionInvoice(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, withPeriod bool) (*pay.Invoice, error) {
	inv, err := s.buildCycleInvoice(ctx, tx, sub, pay.BillingReasonSubscriptionUpdate, now, now, now)
	if err != nil {
		return nil, err
	}
	if !withPeriod {
		inv.Lines = nil
	}
	if sub.CollectionMethod == pay.CollectSend {
		inv.DueDate = now + sub.DaysUntilDue*day // finalized at once, not an hour later
	}
	return inv, tx.CreateInvoice(ctx, inv)
}

// closeSubscriptionInvoice takes the pending items onto inv, totals it,
// emits invoice.created and finalizes it at now, with its events; inv
// becomes sub's latest invoice. If collect, a charge_automatically invoice
// left open is due for its payment attempt now: the change charges it at
// once, and the scheduler would if the change stopped first (a crash), the
// attempt's key keeping it to one charge either way.
func (s *Service) closeSubscriptionInvoice(ctx context.Context, tx *store.Tx, sub *pay.Subscription, inv *pay.Invoice, pending []*pay.InvoiceItem,
	now int64, collect bool) error {
	scope := sub.Scope
	if err := takeItems(ctx, tx, inv, pending); err != nil {
		return err
	}
	if err := s.compute(ctx, tx, inv); err != nil {
		return err
	}
	if err := payments.Emit(ctx, tx, scope, pay.EventInvoiceCreated, inv.ID, s.view(inv), nil); err != nil {
		return err
	}
	events, err := s.finalize(ctx, tx, inv, now)
	if err != nil {
		return err
	}
	if collect && inv.Status == pay.InvoiceStatusOpen && inv.CollectionMethod == pay.CollectCharge {
		inv.NextPaymentAttempt = now
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
