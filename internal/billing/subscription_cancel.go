package billing

import (
	"context"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// CancelParams are a cancellation's parameters (DELETE
// /v1/subscriptions/{id}).
type CancelParams struct {
	// InvoiceNow makes a final invoice of the subscription's pending items
	// (with the credit of Prorate), charged at once if anything is due.
	InvoiceNow bool
	// Prorate credits the unused time of the period.
	Prorate bool
	// Comment and Feedback set cancellation_details.
	Comment, Feedback *string
}

// CancelSubscription cancels a subscription at once: status canceled,
// cancellation_details.reason cancellation_requested, with
// customer.subscription.deleted. With p.Prorate, the unused time of the
// period is credited (invoice items of the subscription); with
// p.InvoiceNow, those and its other pending items are invoiced at once
// (charged off-session if anything is due); with neither, its pending
// prorations are deleted, as Stripe does. Its open invoices stay as they
// are.
func (s *Service) CancelSubscription(ctx context.Context, call payments.Call, id string, p CancelParams) (*payments.Answer, error) {
	return s.changeSubscription(ctx, call, id, "subscription-cancel", p.InvoiceNow, "",
		func(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, st *changeStep) error {
			return s.cancel(ctx, tx, sub, now, p, st)
		},
		func(sub *pay.Subscription, st *changeStep) (any, error) { return sub, nil })
}

func (s *Service) cancel(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, p CancelParams, st *changeStep) error {
	scope := sub.Scope
	if sub.Ended() {
		return pay.InvalidRequest("resource_missing", "id", "No such subscription: '%s': it is already %s.", sub.ID, sub.Status)
	}
	old := snapshot(sub)
	sub.Status, sub.CanceledAt, sub.EndedAt = pay.SubscriptionCanceled, now, now
	sub.CancellationReason = pay.CancellationRequested
	setCancellationDetails(sub, p.Comment, p.Feedback)
	var items []*pay.InvoiceItem
	if p.Prorate && billed(old.status) {
		var err error
		if items, _, err = s.prorationItems(ctx, tx, sub, old, now, credits(old, old.items), now); err != nil {
			return err
		}
	}
	own, err := tx.FindPendingSubscriptionItems(ctx, scope, sub.ID)
	if err != nil {
		return err
	}
	switch {
	case p.InvoiceNow && len(items)+len(own) > 0:
		inv, err := s.openSubscriptionInvoice(ctx, tx, sub, now, false)
		if err != nil {
			return err
		}
		if err := insertItems(ctx, tx, items, inv); err != nil {
			return err
		}
		if err := s.closeSubscriptionInvoice(ctx, tx, sub, inv, own, now, st.collect); err != nil {
			return err
		}
		st.Invoice = inv.ID
	case p.Prorate:
		// The credit stays pending: the customer's next invoice takes it
		// (the items of an ended subscription are anyone's).
		if err := insertItems(ctx, tx, items, nil); err != nil {
			return err
		}
	case !p.InvoiceNow:
		for _, ii := range own {
			if !ii.Proration {
				continue
			}
			if err := tx.DeleteInvoiceItem(ctx, scope, ii.ID); err != nil {
				return err
			}
			ii.Deleted = true
			if err := payments.Emit(ctx, tx, scope, pay.EventInvoiceItemDeleted, ii.ID, pay.InvoiceItemView(ii), nil); err != nil {
				return err
			}
		}
	}
	sub.ComputeNextActionAt()
	if err := tx.UpdateSubscription(ctx, sub); err != nil {
		return err
	}
	return payments.Emit(ctx, tx, scope, pay.EventCustomerSubscriptionDeleted, sub.ID, pay.SubscriptionView(sub), nil)
}

// ResumeParams are a resumption's parameters (POST
// /v1/subscriptions/{id}/resume).
type ResumeParams struct {
	// BillingCycleAnchorUnchanged keeps the billing cycle (the remaining
	// time to its next date prorated); else a new period starts now and
	// is invoiced at once.
	BillingCycleAnchorUnchanged bool
	ProrationBehavior           string // CreateProrations ("" too), NoProrations or AlwaysInvoice
	ProrationDate               *int64
}

// ResumeSubscription resumes a paused subscription (one whose trial ended
// without a payment method, with trial_settings pause), as Stripe does: by
// default a new period starts now and is invoiced at once
// (billing_reason subscription_update) and charged off-session; with
// billing_cycle_anchor=unchanged the period runs to the cycle's next date
// and the remaining time is prorated (pending, or invoiced and charged at
// once with always_invoice). The subscription becomes active, or
// past_due if its invoice is not paid. Emits customer.subscription.resumed
// and customer.subscription.updated.
func (s *Service) ResumeSubscription(ctx context.Context, call payments.Call, id string, p ResumeParams) (*payments.Answer, error) {
	return s.changeSubscription(ctx, call, id, "subscription-resume", true, "",
		func(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, st *changeStep) error {
			return s.resume(ctx, tx, sub, now, p, st)
		},
		func(sub *pay.Subscription, st *changeStep) (any, error) { return sub, nil })
}

func (s *Service) resume(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, p ResumeParams, st *changeStep) error {
	if sub.Status != pay.SubscriptionPaused {
		return pay.InvalidRequest("", "", "Only a paused subscription can be resumed: %s is %s.", sub.ID, sub.Status)
	}
	before := pay.SubscriptionView(sub)
	rec := sub.Recurring()
	sub.Status = pay.SubscriptionActive
	if !p.BillingCycleAnchorUnchanged {
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, pay.AddIntervals(now, rec.Interval, rec.IntervalCount, 1)
		sub.BillingCycleAnchor = now
		if err := s.writeProrations(ctx, tx, sub, subSnap{}, now, nil, true, true, now, st); err != nil {
			return err
		}
	} else {
		end := pay.PeriodEndAfter(sub.BillingCycleAnchor, now, rec.Interval, rec.IntervalCount)
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, end
		at := now
		if p.ProrationDate != nil {
			if at = *p.ProrationDate; at < now || at > end {
				return pay.InvalidParam("proration_date", "proration_date must be within the period the subscription resumes in.")
			}
		}
		if p.ProrationBehavior != NoProrations {
			// The debit of the time to the cycle's next date, measured
			// against a whole interval.
			period := subSnap{periodEnd: end, periodLength: end - pay.AddIntervals(end, rec.Interval, rec.IntervalCount, -1)}
			var lines []proration
			for _, it := range sub.Items {
				lines = append(lines, proration{item: it.ID, price: it.Price, quantity: it.Quantity, rates: ratesOr(it.TaxRates, sub.DefaultTaxRates)})
			}
			if err := s.writeProrations(ctx, tx, sub, period, at, lines, false, p.ProrationBehavior == AlwaysInvoice, now, st); err != nil {
				return err
			}
		}
	}
	if sub.CancelAtPeriodEnd {
		sub.CancelAt = sub.CurrentPeriodEnd
	}
	if err := s.saveSubscription(ctx, tx, sub, before); err != nil {
		return err
	}
	return payments.Emit(ctx, tx, sub.Scope, pay.EventCustomerSubscriptionResumed, sub.ID, pay.SubscriptionView(sub), nil)
}
