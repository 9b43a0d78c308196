package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// Payment behaviours of a subscription's creation (Stripe's
// payment_behavior).
const (
	AllowIncomplete   = "allow_incomplete"
	DefaultIncomplete = "default_incomplete"
	ErrorIfIncomplete = "error_if_incomplete"
)

// SubscriptionItemParams is one entry of items[] at creation.
type SubscriptionItemParams struct {
	Price    string
	Quantity *int64 // nil: 1
	TaxRates *[]string
	Metadata map[string]string
}

// SubscriptionParams are a subscription's create or update parameters;
// nil fields are not sent. The create-only ones are marked.
type SubscriptionParams struct {
	Customer           string                   // create only
	Items              []SubscriptionItemParams // create only
	TrialPeriodDays    *int64                   // create only
	TrialEnd           *int64                   // with TrialEndNow, "now"
	TrialEndNow        bool                     //
	BillingCycleAnchor *int64                   // create only
	CollectionMethod   string                   // create only; "" is charge_automatically
	DaysUntilDue       *int64                   // create only
	PaymentBehavior    string                   // "" is allow_incomplete

	DefaultPaymentMethod *string // "" unsets
	DefaultTaxRates      *[]string
	Description          *string
	Metadata             pay.MetadataUpdate
	// TrialMissingPaymentMethod is
	// trial_settings[end_behavior][missing_payment_method] ("": unchanged).
	TrialMissingPaymentMethod string
	CancelAtPeriodEnd         *bool  // update only
	CancelAt                  *int64 // update only; 0 unsets

	// The update-only changes of subscription_update.go.
	Changes
}

// subscriptionKey derives the key under which a keyed create's first step
// (the subscription and its first invoice) is kept, so that a retry finds
// the subscription it made instead of making another.
func subscriptionKey(call payments.Call) *payments.IdempotencyKey {
	if call.Key == nil {
		return nil
	}
	k := *call.Key
	k.Key.Key = "subscription-create:" + k.Key.Key
	k.Path = "/billing/subscriptions/create"
	return &k
}

// CreateSubscription starts a subscription: in one transaction the
// subscription, its items and its first invoice (finalized), with
// customer.subscription.created, invoice.created and invoice.finalized;
// then, unless it is trialing, collected by sending invoices or created
// with default_incomplete, the invoice is charged on-session (the customer
// is present) and the subscription becomes active, or stays incomplete if
// the card is declined. With error_if_incomplete a decline answers the 402
// card error, and the subscription, already written, is expired at once
// (incomplete_expired) and its invoice voided.
func (s *Service) CreateSubscription(ctx context.Context, call payments.Call, p SubscriptionParams) (*payments.Answer, error) {
	scope := call.Scope
	first, err := s.payments.Write(ctx, payments.Call{Scope: scope, Key: subscriptionKey(call)}, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.createSubscription(ctx, tx, scope, p)
	})
	if err != nil {
		return nil, err
	}
	subID, err := answerID(first)
	if err != nil {
		return nil, err
	}
	sub, err := s.db.FindSubscription(ctx, scope, subID)
	if err != nil {
		return nil, err
	}
	inv, err := s.db.FindInvoice(ctx, scope, sub.LatestInvoice)
	if err != nil {
		return nil, err
	}
	var decline *pay.Error
	// Charged once: a retry of this create after a decline answers the
	// outcome it had rather than charging again.
	if sub.Status == pay.SubscriptionIncomplete && p.PaymentBehavior != DefaultIncomplete && sub.CollectionMethod == pay.CollectCharge &&
		(!inv.Attempted || inv.PayAttempt != 0) {
		off := false
		a, err := s.PayInvoice(ctx, payments.Plain(scope), sub.LatestInvoice, PayParams{OffSession: &off})
		switch {
		case err != nil:
			var pe *pay.Error
			if !errors.As(err, &pe) || pe.Code != "invoice_unexpected_state" {
				return nil, err
			}
			// Paid, or settled by a retry of this create: read on.
		case a.Err != nil:
			decline = a.Err
		}
	}
	// default_incomplete: the payment intent the customer confirms, whose
	// client secret is the invoice's confirmation_secret. Its key names the
	// invoice, so a retry finds the same intent.
	var confirm *pay.PaymentIntent
	if p.PaymentBehavior == DefaultIncomplete && sub.CollectionMethod == pay.CollectCharge && inv.Status == pay.InvoiceStatusOpen &&
		inv.AmountRemaining > 0 && inv.ConfirmationIntent == "" {
		if confirm, err = s.confirmationIntent(ctx, inv); err != nil {
			return nil, err
		}
	}
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		sub, err := tx.FindSubscription(ctx, scope, subID)
		if err != nil {
			return nil, err
		}
		inv, err := tx.FindInvoice(ctx, scope, sub.LatestInvoice)
		if err != nil {
			return nil, err
		}
		if confirm != nil && inv.ConfirmationIntent == "" {
			inv.ConfirmationIntent, inv.ConfirmationSecret = confirm.ID, confirm.ClientSecret
			if err := tx.UpdateInvoice(ctx, inv); err != nil {
				return nil, err
			}
		}
		before := pay.SubscriptionView(sub)
		now, err := s.clockTime(ctx, tx, scope, sub.TestClock, 0)
		if err != nil {
			return nil, err
		}
		if sub.Status == pay.SubscriptionIncomplete {
			switch {
			case inv.Status == pay.InvoiceStatusPaid:
				sub.Status = pay.SubscriptionActive
			case decline != nil && p.PaymentBehavior == ErrorIfIncomplete:
				sub.Status, sub.EndedAt = pay.SubscriptionIncompleteExpired, now
				if inv.Payable() && inv.PayAttempt == 0 {
					invBefore := s.view(inv)
					inv.Status, inv.VoidedAt = pay.InvoiceStatusVoid, now
					if err := tx.UpdateInvoice(ctx, inv); err != nil {
						return nil, err
					}
					after := s.view(inv)
					if err := payments.Emit(ctx, tx, scope, pay.EventInvoiceVoided, inv.ID, after, nil); err != nil {
						return nil, err
					}
					if err := payments.EmitUpdate(ctx, tx, scope, pay.EventInvoiceUpdated, inv.ID, invBefore, after); err != nil {
						return nil, err
					}
				}
			}
		}
		if err := s.saveSubscription(ctx, tx, sub, before); err != nil {
			return nil, err
		}
		if sub.Status == pay.SubscriptionIncompleteExpired && decline != nil {
			return nil, payments.KeepError(decline)
		}
		return sub, nil
	})
}

// confirmationIntent makes (or, retried, finds) the payment intent the
// customer of inv confirms to pay it: what remains of it, for the
// invoice's customer, saving the card for the subscription's renewals
// (setup_future_usage=off_session).
func (s *Service) confirmationIntent(ctx context.Context, inv *pay.Invoice) (*pay.PaymentIntent, error) {
	k := "invoice:" + inv.ID + ":confirmation"
	key := &payments.IdempotencyKey{Key: store.IdemKey{Scope: inv.Scope, Key: k}, Method: "POST", Path: "/billing/invoices/confirmation", Fingerprint: k}
	amount, desc, offSession := inv.AmountRemaining, "Invoice "+inv.Number, "off_session"
	a, err := s.payments.CreatePaymentIntent(ctx, payments.Call{Scope: inv.Scope, Key: key}, pay.PaymentIntentUpdate{Amount: &amount,
		Currency: &inv.Currency, Customer: &inv.Customer, Description: &desc, SetupFutureUsage: &offSession,
		Metadata: pay.MetadataUpdate{Set: map[string]string{"invoice": inv.ID}}}, false, payments.ConfirmParams{})
	if err != nil {
		return nil, err
	}
	if a.Err != nil {
		return nil, a.Err
	}
	if pi, ok := a.Object.(*pay.PaymentIntent); ok {
		return pi, nil
	}
	id, err := answerID(a)
	if err != nil {
		return nil, err
	}
	return s.db.FindPaymentIntent(ctx, inv.Scope, id)
}

// answerID reads the ID of the object an answer carries.
func answerID(a *payments.Answer) (string, error) {
	if sub, ok := a.Object.(*pay.Subscription); ok {
		return sub.ID, nil
	}
	var body struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(a.Body, &body); err != nil || body.ID == "" {
		return "", fmt.Errorf("billing: no subscription in answer %s", a.Body)
	}
	return body.ID, nil
}

// saveSubscription writes sub with its next action time, and emits
// customer.subscription.updated if its view changed from before.
func (s *Service) saveSubscription(ctx context.Context, tx *store.Tx, sub *pay.Subscription, before any) error {
	sub.ComputeNextActionAt()
	if err := tx.UpdateSubscription(ctx, sub); err != nil {
		return err
	}
	return payments.EmitUpdate(ctx, tx, sub.Scope, pay.EventCustomerSubscriptionUpdated, sub.ID, before, pay.SubscriptionView(sub))
}

// createSubscription writes the subscription, its items and its first
// invoice, finalized.
func (s *Service) createSubscription(ctx context.Context, tx *store.Tx, scope pay.Scope, p SubscriptionParams) (*pay.Subscription, error) {
	cus, err := tx.FindCustomer(ctx, scope, p.Customer)
	if err != nil || cus.Deleted {
		return nil, pay.NotFoundAs(cmpErr(err), "customer", p.Customer, "customer")
	}
	now, err := s.clockTime(ctx, tx, scope, cus.TestClock, 0)
	if err != nil {
		return nil, err
	}
	sub := &pay.Subscription{Scope: scope, Customer: cus.ID, Status: pay.SubscriptionIncomplete, CollectionMethod: pay.CollectCharge,
		StartDate: now, Created: now, TestClock: cus.TestClock}
	if p.CollectionMethod != "" {
		sub.CollectionMethod = p.CollectionMethod
	}
	switch {
	case sub.CollectionMethod == pay.CollectSend && p.DaysUntilDue == nil:
		return nil, pay.InvalidParam("days_until_due", "Subscriptions with collection_method=send_invoice need days_until_due.")
	case sub.CollectionMethod == pay.CollectCharge && p.DaysUntilDue != nil:
		return nil, pay.InvalidParam("days_until_due", "days_until_due can only be set when collection_method is send_invoice.")
	case p.DaysUntilDue != nil:
		sub.DaysUntilDue = *p.DaysUntilDue
	}

	// Items: active recurring prices of the scope, one currency and one
	// interval.
	if len(p.Items) == 0 {
		return nil, pay.InvalidRequest("parameter_missing", "items", "Missing required param: items.")
	}
	if len(p.Items) > pay.MaxSubscriptionItems {
		return nil, pay.InvalidParam("items", "A subscription can have at most %d items.", pay.MaxSubscriptionItems)
	}
	var rec *pay.Recurring
	seen := map[string]bool{}
	for i, ip := range p.Items {
		param := fmt.Sprintf("items[%d][price]", i)
		price, err := tx.FindPrice(ctx, scope, ip.Price)
		if err != nil {
			return nil, pay.NotFoundAs(err, "price", ip.Price, param)
		}
		switch {
		case !price.Active:
			return nil, pay.InvalidParam(param, "The price specified is inactive. This field only accepts active prices.")
		case price.Recurring == nil:
			return nil, pay.InvalidParam(param, "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.")
		case seen[price.ID]:
			return nil, pay.InvalidParam(param, "Cannot add multiple subscription items with the same price: %s.", price.ID)
		case sub.Currency != "" && price.Currency != sub.Currency:
			return nil, pay.InvalidParam(param, "The price specified has currency %s, but the subscription's other items have %s: all items must have the same currency.", price.Currency, sub.Currency)
		case rec != nil && (price.Recurring.Interval != rec.Interval || price.Recurring.IntervalCount != rec.IntervalCount):
			return nil, pay.InvalidParam(param, "The price specified bills every %d %s, but the subscription's other items bill every %d %s: all items must have the same recurring interval.",
				price.Recurring.IntervalCount, price.Recurring.Interval, rec.IntervalCount, rec.Interval)
		}
		seen[price.ID], sub.Currency, rec = true, price.Currency, price.Recurring
		it := &pay.SubscriptionItem{Price: price, Quantity: 1, Metadata: ip.Metadata}
		if ip.Quantity != nil {
			if *ip.Quantity < 1 {
				return nil, pay.InvalidParam(fmt.Sprintf("items[%d][quantity]", i), "Quantity must be at least 1.")
			}
			it.Quantity = *ip.Quantity
		}
		if ip.TaxRates != nil {
			if it.TaxRates, err = checkTaxRates(ctx, tx, scope, *ip.TaxRates, fmt.Sprintf("items[%d][tax_rates]", i)); err != nil {
				return nil, err
			}
		}
		if err := pay.CheckMetadata(it.Metadata); err != nil {
			return nil, err
		}
		sub.Items = append(sub.Items, it)
	}
	if !s.payments.CurrencyAllowed(scope, sub.Currency) {
		return nil, pay.InvalidParam("items[0][price]", "Currency %q is not enabled for this project.", sub.Currency)
	}
	others, err := tx.LiveSubscriptionCurrencies(ctx, scope, cus.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range others {
		if c != sub.Currency {
			return nil, pay.InvalidParam("items[0][price]", "You cannot combine currencies on a single customer. This customer has an active subscription in %s, and the price is in %s.", c, sub.Currency)
		}
	}
	if err := s.applySubscription(ctx, tx, sub, p); err != nil {
		return nil, err
	}

	// The first period: a trial, else from now to the anchor's next date.
	trialEnd := int64(0)
	switch {
	case p.TrialEnd != nil && !p.TrialEndNow:
		if *p.TrialEnd <= now {
			return nil, pay.InvalidParam("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future.")
		}
		trialEnd = *p.TrialEnd
	case p.TrialPeriodDays != nil && *p.TrialPeriodDays > 0:
		trialEnd = now + *p.TrialPeriodDays*day
	}
	if sub.DefaultPaymentMethod == "" && sub.CollectionMethod == pay.CollectCharge && p.PaymentBehavior != DefaultIncomplete && trialEnd == 0 {
		if cus.DefaultPaymentMethod == "" {
			return nil, pay.InvalidRequest("resource_missing", "",
				"This customer has no attached payment source or default payment method. Please consider adding a default payment method, or create the subscription with payment_behavior=default_incomplete.")
		}
	}
	anchor := now
	if trialEnd != 0 {
		if p.BillingCycleAnchor != nil {
			return nil, pay.InvalidParam("billing_cycle_anchor", "billing_cycle_anchor with a trial is not supported yet.")
		}
		anchor = trialEnd
		sub.Status, sub.TrialStart, sub.TrialEnd = pay.SubscriptionTrialing, now, trialEnd
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, trialEnd
	} else {
		if p.BillingCycleAnchor != nil {
			a := *p.BillingCycleAnchor
			if a < now || a > pay.AddIntervals(now, rec.Interval, rec.IntervalCount, 1) {
				return nil, pay.InvalidParam("billing_cycle_anchor", "billing_cycle_anchor must be in the future and within one billing period of now.")
			}
			anchor = a
		}
		sub.CurrentPeriodStart = now
		sub.CurrentPeriodEnd = pay.PeriodEndAfter(anchor, now, rec.Interval, rec.IntervalCount)
	}
	sub.BillingCycleAnchor = anchor
	if sub.CollectionMethod == pay.CollectSend && sub.Status == pay.SubscriptionIncomplete {
		sub.Status = pay.SubscriptionActive // its invoice is sent, not charged
	}
	if err := tx.CreateSubscription(ctx, sub); err != nil {
		return nil, err
	}

	// The first invoice, through the invoice operations' own steps.
	inv := &pay.Invoice{Scope: scope, Status: pay.InvoiceStatusDraft, Currency: sub.Currency, Customer: cus.ID,
		CollectionMethod: sub.CollectionMethod, AutoAdvance: true, PeriodStart: now, PeriodEnd: now, TestClock: cus.TestClock, Created: now,
		DefaultPaymentMethod: sub.DefaultPaymentMethod, DefaultTaxRates: sub.DefaultTaxRates, Description: sub.Description,
		Subscription: sub.ID, BillingReason: pay.BillingReasonSubscriptionCreate}
	if sub.CollectionMethod == pay.CollectSend {
		inv.DueDate = now + sub.DaysUntilDue*day
	}
	for _, it := range sub.Items {
		line := pay.InvoiceLine{ID: pay.NewID(pay.PrefixInvoiceLine), Quantity: it.Quantity, UnitAmount: it.Price.UnitAmount,
			PeriodStart: sub.CurrentPeriodStart, PeriodEnd: sub.CurrentPeriodEnd, Price: it.Price.ID, Product: it.Price.Product,
			SubscriptionItem: it.ID}
		full := it.Quantity * it.Price.UnitAmount
		switch {
		case sub.Status == pay.SubscriptionTrialing:
			line.Amount, line.UnitAmount = 0, 0
			line.Description = fmt.Sprintf("Trial period for %s", it.Price.Product)
		case anchor > now:
			// A first period shorter than a whole one is prorated.
			prev := pay.AddIntervals(anchor, rec.Interval, rec.IntervalCount, -1)
			line.Amount = (full*(anchor-now)*2 + (anchor - prev)) / ((anchor - prev) * 2)
			line.Proration = true
			line.Description = fmt.Sprintf("Remaining time on %d × %s", it.Quantity, it.Price.Product)
		default:
			line.Amount = full
			line.Description = fmt.Sprintf("%d × %s", it.Quantity, it.Price.Product)
		}
		rates := it.TaxRates
		if len(rates) == 0 {
			rates = sub.DefaultTaxRates
		}
		inv.Lines = append(inv.Lines, taxedLine(line, rates))
	}
	if err := tx.CreateInvoice(ctx, inv); err != nil {
		return nil, err
	}
	if err := s.compute(ctx, tx, inv); err != nil {
		return nil, err
	}
	if err := payments.Emit(ctx, tx, scope, pay.EventInvoiceCreated, inv.ID, s.view(inv), nil); err != nil {
		return nil, err
	}
	events, err := s.finalize(ctx, tx, inv, now)
	if err != nil {
		return nil, err
	}
	if err := tx.UpdateInvoice(ctx, inv); err != nil {
		return nil, err
	}
	after := s.view(inv)
	for _, e := range events {
		if err := payments.Emit(ctx, tx, scope, e, inv.ID, after, nil); err != nil {
			return nil, err
		}
	}
	sub.LatestInvoice = inv.ID
	sub.ComputeNextActionAt()
	if err := tx.UpdateSubscription(ctx, sub); err != nil {
		return nil, err
	}
	return sub, payments.Emit(ctx, tx, scope, pay.EventCustomerSubscriptionCreated, sub.ID, pay.SubscriptionView(sub), nil)
}

// applySubscription sets the fields of p that create and update share.
func (s *Service) applySubscription(ctx context.Context, tx *store.Tx, sub *pay.Subscription, p SubscriptionParams) error {
	if p.DefaultPaymentMethod != nil {
		if pm := *p.DefaultPaymentMethod; pm != "" && !payments.IsTestPaymentMethodID(pm) {
			m, err := tx.FindPaymentMethod(ctx, sub.Scope, pm)
			if err != nil {
				return pay.NotFoundAs(err, "payment method", pm, "default_payment_method")
			}
			if m.Customer != sub.Customer {
				return pay.InvalidParam("default_payment_method", "The payment method %s is not attached to customer %s.", pm, sub.Customer)
			}
		}
		sub.DefaultPaymentMethod = *p.DefaultPaymentMethod
	}
	if p.DefaultTaxRates != nil {
		rates, err := checkTaxRates(ctx, tx, sub.Scope, *p.DefaultTaxRates, "default_tax_rates")
		if err != nil {
			return err
		}
		sub.DefaultTaxRates = rates
	}
	if p.Description != nil {
		sub.Description = *p.Description
	}
	if p.TrialMissingPaymentMethod != "" {
		sub.TrialMissingPaymentMethod = p.TrialMissingPaymentMethod
	}
	sub.Metadata = p.Metadata.Apply(sub.Metadata)
	return pay.CheckMetadata(sub.Metadata)
}

// subscriptionInvoicePaid makes active the incomplete, past_due or unpaid
// subscription whose latest invoice inv, just paid, is (by the scheduler's
// retry, through POST /v1/invoices/{id}/pay, for example after
// default_incomplete, or on the hosted invoice page), with
// customer.subscription.updated, in the payment's transaction.
func (s *Service) subscriptionInvoicePaid(ctx context.Context, tx *store.Tx, inv *pay.Invoice) error {
	if inv.Subscription == "" {
		return nil
	}
	// Most paid invoices are an active subscription's: its status alone
	// says so.
	switch status, err := tx.SubscriptionStatus(ctx, inv.Scope, inv.Subscription); {
	case err != nil:
		return err
	case status != pay.SubscriptionIncomplete && status != pay.SubscriptionPastDue && status != pay.SubscriptionUnpaid:
		return nil
	}
	sub, err := tx.FindSubscription(ctx, inv.Scope, inv.Subscription)
	if err != nil {
		return err
	}
	switch {
	case sub.LatestInvoice != inv.ID:
		return nil
	case sub.Status == pay.SubscriptionIncomplete, sub.Status == pay.SubscriptionPastDue, sub.Status == pay.SubscriptionUnpaid:
	default:
		return nil
	}
	before := pay.SubscriptionView(sub)
	sub.Status = pay.SubscriptionActive
	return s.saveSubscription(ctx, tx, sub, before)
}
