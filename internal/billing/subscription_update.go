package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// Proration behaviours of a subscription change (Stripe's
// proration_behavior).
const (
	CreateProrations = "create_prorations"
	NoProrations     = "none"
	AlwaysInvoice    = "always_invoice"
)

// Changes are the parameters of a subscription update that change what it
// bills; nil and zero fields are not sent.
type Changes struct {
	// ItemChanges are the changes to its items (items[] on an update, or
	// one /v1/subscription_items write).
	ItemChanges []ItemChange
	// ProrationBehavior is CreateProrations ("" too), NoProrations or
	// AlwaysInvoice.
	ProrationBehavior string
	// ProrationDate, if set, is when the prorations are computed as of:
	// a time within the current period.
	ProrationDate *int64
	// BillingCycleAnchorNow: billing_cycle_anchor=now, a new period from
	// now, invoiced at once.
	BillingCycleAnchorNow bool
	// PauseCollection, if not nil, sets pause_collection (nil inside:
	// unsets it, "pause_collection=").
	PauseCollection **pay.PauseCollection
	// CancellationComment and CancellationFeedback set
	// cancellation_details ("" unsets).
	CancellationComment, CancellationFeedback *string
}

// invoicing reports whether the changes may make prorations or an
// invoice, which take the update's longer path (changeSubscription).
func (c Changes) invoicing(p SubscriptionParams) bool {
	return len(c.ItemChanges) > 0 || c.BillingCycleAnchorNow || p.TrialEnd != nil
}

// ItemChange is one change to a subscription's items.
type ItemChange struct {
	ID        string // the item changed; "" adds one
	Price     string // "" keeps the item's price (or PriceData sets one)
	PriceData *RecurringPriceData
	Quantity  *int64
	Deleted   bool
	TaxRates  *[]string
	Metadata  pay.MetadataUpdate
	// Prefix is what its parameters' names begin with: "items[0]" for an
	// entry of items[], "" for a subscription item's own parameters.
	Prefix string
}

// param names the change's parameter name as the request sent it.
func (c ItemChange) param(name string) string {
	if c.Prefix == "" {
		return name
	}
	return c.Prefix + "[" + name + "]"
}

// RecurringPriceData is an item's inline price (price_data): a new,
// inactive recurring price of an existing product.
type RecurringPriceData struct {
	Currency    string
	Product     string
	UnitAmount  int64
	Recurring   pay.Recurring
	TaxBehavior string
}

// UpdateSubscription changes a subscription, as POST /v1/subscriptions/{id}
// does: its terms, its items (prorated as p.ProrationBehavior says), its
// trial, its billing cycle, pause_collection and cancellation. A change
// that invoices at once (always_invoice, a new interval,
// billing_cycle_anchor=now, trial_end=now) charges the invoice off-session
// before answering; a decline leaves the subscription past_due. Emits
// customer.subscription.updated, invoiceitem.created for each proration
// and the events of the invoice it makes.
func (s *Service) UpdateSubscription(ctx context.Context, call payments.Call, id string, p SubscriptionParams) (*payments.Answer, error) {
	return s.changeSubscription(ctx, call, id, "subscription-update", p.invoicing(p), p.PaymentBehavior,
		func(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, st *changeStep) error {
			return s.applyUpdate(ctx, tx, sub, now, p, st)
		},
		func(sub *pay.Subscription, st *changeStep) (any, error) { return sub, nil })
}

// UpdateSubscriptionItem makes one item change to subscription subID
// through UpdateSubscription's operation, and answers the item (a deleted
// object for a deletion).
func (s *Service) UpdateSubscriptionItem(ctx context.Context, call payments.Call, subID string, p SubscriptionParams) (*payments.Answer, error) {
	if len(p.ItemChanges) != 1 {
		return nil, errors.New("billing: UpdateSubscriptionItem takes one item change")
	}
	return s.changeSubscription(ctx, call, subID, "subscription-item", true, p.PaymentBehavior,
		func(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, st *changeStep) error {
			return s.applyUpdate(ctx, tx, sub, now, p, st)
		},
		func(sub *pay.Subscription, st *changeStep) (any, error) {
			id := st.Items[0]
			if p.ItemChanges[0].Deleted {
				return &pay.SubscriptionItem{ID: id, Subscription: sub.ID, Deleted: true}, nil
			}
			for _, it := range sub.Items {
				if it.ID == id {
					return it, nil
				}
			}
			return nil, pay.NoSuch("subscription item", id, "id") // deleted since
		})
}

// changeStep is what the first step of a change hands to the next ones,
// and keeps, rendered, under a key derived from the call's, so that a
// retry finds it.
type changeStep struct {
	Object       string `json:"object"` // "subscription_change"
	Subscription string `json:"subscription"`
	// Invoice is the invoice the change made to collect at once, if any.
	Invoice string `json:"invoice,omitempty"`
	// Items are the IDs of the items the change named, in order (new
	// ones included).
	Items []string `json:"items,omitempty"`
	// collect: the invoice the change makes is charged at once (not with
	// payment_behavior=default_incomplete).
	collect bool
}

// stepKey derives the key under which a keyed operation's first step is
// kept.
func stepKey(call payments.Call, op string) *payments.IdempotencyKey {
	if call.Key == nil {
		return nil
	}
	k := *call.Key
	k.Key.Key = op + ":" + k.Key.Key
	k.Path = "/billing/subscriptions/" + op
	return &k
}

// changeFunc applies a change to sub, locked in tx, at now (the
// subscription's clock), and says in st what it made.
type changeFunc func(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, st *changeStep) error

// changeSubscription runs a subscription change. A change that cannot
// invoice (invoicing false) is one write under call's key: apply, then
// answer. Otherwise, first, under a key derived from call's (op), apply:
// the subscription, its prorations and the invoice it makes at once,
// finalized, written in one transaction; then that invoice is charged
// off-session (PayInvoice: the attempt is committed before the charge and
// the charge is keyed by the invoice and attempt, so a retry never charges
// twice), unless paymentBehavior is default_incomplete; last, under call's
// key, a charge_automatically subscription whose invoice is left unpaid
// becomes past_due, and answer renders the answer.
func (s *Service) changeSubscription(ctx context.Context, call payments.Call, id, op string, invoicing bool, paymentBehavior string,
	apply changeFunc, answer func(*pay.Subscription, *changeStep) (any, error)) (*payments.Answer, error) {
	scope := call.Scope
	step := func(ctx context.Context, tx *store.Tx) (*pay.Subscription, *changeStep, error) {
		sub, err := tx.FindSubscription(ctx, scope, id)
		if err != nil {
			return nil, nil, pay.NotFoundAs(err, "subscription", id, "id")
		}
		now, err := s.clockTime(ctx, tx, scope, sub.TestClock, 0)
		if err != nil {
			return nil, nil, err
		}
		st := &changeStep{Object: "subscription_change", Subscription: sub.ID, collect: paymentBehavior != DefaultIncomplete}
		if err := apply(ctx, tx, sub, now, st); err != nil {
			return nil, nil, err
		}
		return sub, st, nil
	}
	if !invoicing {
		return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
			sub, st, err := step(ctx, tx)
			if err != nil {
				return nil, err
			}
			return answer(sub, st)
		})
	}
	first, err := s.payments.Write(ctx, payments.Call{Scope: scope, Key: stepKey(call, op)}, func(ctx context.Context, tx *store.Tx) (any, error) {
		_, st, err := step(ctx, tx)
		return st, err
	})
	if err != nil {
		return nil, err
	}
	st, err := readStep(first)
	if err != nil {
		return nil, err
	}
	if st.Invoice != "" && paymentBehavior != DefaultIncomplete {
		if err := s.collectChange(ctx, scope, st.Invoice); err != nil {
			return nil, err
		}
	}
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		sub, err := tx.FindSubscription(ctx, scope, st.Subscription)
		if err != nil {
			return nil, err
		}
		if err := s.settleChange(ctx, tx, sub, st); err != nil {
			return nil, err
		}
		return answer(sub, st)
	})
}

// readStep reads the first step's answer.
func readStep(a *payments.Answer) (*changeStep, error) {
	if st, ok := a.Object.(*changeStep); ok {
		return st, nil
	}
	var st changeStep
	if err := json.Unmarshal(a.Body, &st); err != nil || st.Subscription == "" {
		return nil, fmt.Errorf("billing: no subscription change in answer %s", a.Body)
	}
	return &st, nil
}

// collectChange charges the invoice a change made, once: an invoice that
// is paid, or whose attempt had an outcome (a retry of the change after a
// decline), is left as it is. A charge refused before it is made (no
// payment method) leaves the invoice open, as a decline does.
func (s *Service) collectChange(ctx context.Context, scope pay.Scope, invoiceID string) error {
	inv, err := s.db.FindInvoice(ctx, scope, invoiceID)
	if err != nil {
		return err
	}
	if inv.Status != pay.InvoiceStatusOpen || inv.CollectionMethod != pay.CollectCharge || (inv.Attempted && inv.PayAttempt == 0) {
		return nil
	}
	// Stripe charges a subscription change's invoice off-session: the
	// merchant, not the customer, makes the change.
	_, err = s.PayInvoice(ctx, payments.Plain(scope), invoiceID, PayParams{})
	if pe, ok := pay.AsError(err); ok && pe.Status < 500 {
		return nil // paid or settled by a retry, or not chargeable: read on
	}
	return err
}

// settleChange sets the status a change's invoice leaves the subscription
// in: a charge_automatically subscription whose invoice was not paid (a
// decline, no payment method, or default_incomplete) is past_due.
func (s *Service) settleChange(ctx context.Context, tx *store.Tx, sub *pay.Subscription, st *changeStep) error {
	if st.Invoice == "" || sub.LatestInvoice != st.Invoice || sub.Ended() || sub.CollectionMethod != pay.CollectCharge ||
		sub.Status != pay.SubscriptionActive {
		return nil
	}
	inv, err := tx.FindInvoice(ctx, sub.Scope, st.Invoice)
	if err != nil {
		return err
	}
	if inv.Status == pay.InvoiceStatusPaid || inv.PayAttempt != 0 {
		return nil // paid, or its outcome is not known yet
	}
	before := pay.SubscriptionView(sub)
	sub.Status = pay.SubscriptionPastDue
	return s.saveSubscription(ctx, tx, sub, before)
}

// billed reports whether a subscription of this status is being billed
// for its period: what a change credits or charges prorations for.
func billed(status string) bool {
	return status == pay.SubscriptionActive || status == pay.SubscriptionPastDue || status == pay.SubscriptionUnpaid
}

// applyUpdate applies an update's parameters to sub (step one of
// UpdateSubscription).
func (s *Service) applyUpdate(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, p SubscriptionParams, st *changeStep) error {
	c := p.Changes
	invoicing := c.invoicing(p)
	switch {
	case sub.Ended() && (invoicing || p.DefaultPaymentMethod != nil || p.DefaultTaxRates != nil || p.Description != nil ||
		p.CancelAtPeriodEnd != nil || p.CancelAt != nil || c.PauseCollection != nil || p.TrialMissingPaymentMethod != ""):
		return pay.InvalidRequest("", "", "A canceled subscription can only update its cancellation_details and metadata.")
	case sub.Status == pay.SubscriptionIncomplete && invoicing:
		return pay.InvalidRequest("", "",
			"You cannot update a subscription in `incomplete` status in a way that results in a new invoice or invoice items: pay its first invoice first.")
	case sub.Status == pay.SubscriptionPaused && invoicing:
		return pay.InvalidRequest("", "", "This subscription is paused: resume it (POST /v1/subscriptions/%s/resume) before changing its items, trial or billing cycle.", sub.ID)
	}
	before := pay.SubscriptionView(sub)
	old := snapshot(sub)
	if err := s.applySubscription(ctx, tx, sub, p); err != nil {
		return err
	}
	if err := applyCancellation(sub, p, now); err != nil {
		return err
	}
	if pc := c.PauseCollection; pc != nil {
		if *pc != nil && (*pc).ResumesAt != 0 && (*pc).ResumesAt <= now {
			return pay.InvalidParam("pause_collection[resumes_at]", "pause_collection[resumes_at] must be in the future.")
		}
		sub.PauseCollection = *pc
	}
	if invoicing {
		if err := s.applyBilling(ctx, tx, sub, old, now, p, st); err != nil {
			return err
		}
	}
	if sub.CancelAtPeriodEnd {
		sub.CancelAt = sub.CurrentPeriodEnd // the period may have changed
	}
	return s.saveSubscription(ctx, tx, sub, before)
}

// applyCancellation sets cancel_at_period_end, cancel_at and
// cancellation_details; scheduling a cancellation gives the reason
// cancellation_requested, unscheduling it clears the reason.
func applyCancellation(sub *pay.Subscription, p SubscriptionParams, now int64) error {
	if p.CancelAtPeriodEnd != nil {
		sub.CancelAtPeriodEnd = *p.CancelAtPeriodEnd
		sub.CancelAt = 0
		if sub.CancelAtPeriodEnd {
			sub.CancelAt = sub.CurrentPeriodEnd
		}
	}
	if p.CancelAt != nil {
		if *p.CancelAt != 0 && *p.CancelAt <= now {
			return pay.InvalidParam("cancel_at", "cancel_at must be in the future.")
		}
		if p.CancelAtPeriodEnd != nil && *p.CancelAtPeriodEnd && *p.CancelAt != 0 {
			return pay.InvalidParam("cancel_at", "Pass only one of cancel_at and cancel_at_period_end.")
		}
		sub.CancelAt, sub.CancelAtPeriodEnd = *p.CancelAt, false
	}
	if !sub.Ended() && (p.CancelAt != nil || p.CancelAtPeriodEnd != nil) {
		sub.CancellationReason = ""
		if sub.CancelAt != 0 {
			sub.CancellationReason = pay.CancellationRequested
		}
	}
	setCancellationDetails(sub, p.CancellationComment, p.CancellationFeedback)
	return nil
}

func setCancellationDetails(sub *pay.Subscription, comment, feedback *string) {
	if comment != nil {
		sub.CancellationComment = *comment
	}
	if feedback != nil {
		sub.CancellationFeedback = *feedback
	}
}

// itemSnap is an item as it was before a change.
type itemSnap struct {
	id       string
	price    *pay.Price
	quantity int64
	rates    []*pay.TaxRate
}

// subSnap is what a change needs of the subscription as it was.
type subSnap struct {
	status       string
	periodEnd    int64
	periodLength int64
	recurring    *pay.Recurring
	defaultRates []*pay.TaxRate
	items        []itemSnap
}

func snapshot(sub *pay.Subscription) subSnap {
	sn := subSnap{status: sub.Status, periodEnd: sub.CurrentPeriodEnd, periodLength: sub.PeriodLength(), recurring: sub.Recurring(),
		defaultRates: sub.DefaultTaxRates}
	for _, it := range sub.Items {
		sn.items = append(sn.items, itemSnap{id: it.ID, price: it.Price, quantity: it.Quantity, rates: it.TaxRates})
	}
	return sn
}

// applyBilling applies the changes that may prorate or invoice: the items,
// then the trial or the billing cycle.
func (s *Service) applyBilling(ctx context.Context, tx *store.Tx, sub *pay.Subscription, old subSnap, now int64, p SubscriptionParams, st *changeStep) error {
	c := p.Changes
	at := now
	if c.ProrationDate != nil {
		at = *c.ProrationDate
		if at < sub.CurrentPeriodStart || at > sub.CurrentPeriodEnd {
			return pay.InvalidParam("proration_date", "proration_date must be within the subscription's current period.")
		}
	}
	// What the trial and billing cycle become.
	var startTrial, extendTrial, endTrial bool
	trialing := sub.Status == pay.SubscriptionTrialing
	switch {
	case p.TrialEndNow:
		endTrial = trialing
	case p.TrialEnd != nil:
		switch {
		case *p.TrialEnd <= now:
			return pay.InvalidParam("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future.")
		case c.BillingCycleAnchorNow:
			return pay.InvalidRequest("parameters_exclusive", "trial_end", "Pass only one of trial_end (a future time) and billing_cycle_anchor=now.")
		case trialing:
			extendTrial = true
		case sub.Status == pay.SubscriptionActive:
			startTrial = true
		default:
			return pay.InvalidParam("trial_end", "trial_end can only be changed on a trialing or active subscription: this one is %s.", sub.Status)
		}
	}
	if c.BillingCycleAnchorNow && trialing && !endTrial {
		return pay.InvalidParam("billing_cycle_anchor", "billing_cycle_anchor=now cannot reset a trialing subscription's cycle: end its trial with trial_end=now.")
	}
	if err := s.applyItems(ctx, tx, sub, now, c.ItemChanges, st); err != nil {
		return err
	}
	rec := sub.Recurring()
	newInterval := !pay.SameInterval(rec, old.recurring)
	reset := endTrial || (!trialing && !startTrial && (c.BillingCycleAnchorNow || newInterval))
	prorate := c.ProrationBehavior != NoProrations && billed(old.status)

	var lines []proration
	switch {
	case reset || startTrial:
		if prorate { // credit the unused time of everything billed
			lines = credits(old, old.items)
		}
	case prorate:
		lines = itemProrations(old, sub)
	}
	switch {
	case startTrial:
		sub.Status, sub.TrialStart, sub.TrialEnd = pay.SubscriptionTrialing, now, *p.TrialEnd
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd, sub.BillingCycleAnchor = now, *p.TrialEnd, *p.TrialEnd
		sub.TrialWillEndSent = false
	case extendTrial:
		sub.TrialEnd, sub.CurrentPeriodEnd, sub.BillingCycleAnchor = *p.TrialEnd, *p.TrialEnd, *p.TrialEnd
		sub.TrialWillEndSent = false
	case reset:
		if endTrial {
			sub.Status, sub.TrialEnd = pay.SubscriptionActive, now
		}
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, pay.AddIntervals(now, rec.Interval, rec.IntervalCount, 1)
		sub.BillingCycleAnchor = now
	}
	return s.writeProrations(ctx, tx, sub, old, at, lines, reset, reset || c.ProrationBehavior == AlwaysInvoice, now, st)
}

// applyItems applies item changes to sub and writes its items, recording
// in st the IDs of the items named.
func (s *Service) applyItems(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64, changes []ItemChange, st *changeStep) error {
	if len(changes) == 0 {
		return nil
	}
	oldIDs := map[string]bool{}
	for _, it := range sub.Items {
		oldIDs[it.ID] = true
	}
	touched := map[*pay.SubscriptionItem]bool{}
	named := make([]*pay.SubscriptionItem, len(changes))
	var deleted []string
	lastParam := "items"
	for i, ch := range changes {
		var it *pay.SubscriptionItem
		if ch.ID != "" {
			j := slices.IndexFunc(sub.Items, func(it *pay.SubscriptionItem) bool { return it.ID == ch.ID })
			if j < 0 {
				return pay.NoSuch("subscription item", ch.ID, ch.param("id"))
			}
			it = sub.Items[j]
			if ch.Deleted {
				sub.Items = slices.Delete(sub.Items, j, j+1)
				deleted = append(deleted, it.ID)
				named[i], lastParam = it, ch.param("deleted")
				if ch.Prefix == "" {
					lastParam = "id"
				}
				continue
			}
		} else {
			if ch.Deleted {
				return pay.InvalidParam(ch.param("deleted"), "Pass the id of the subscription item to delete.")
			}
			if ch.Price == "" && ch.PriceData == nil {
				return pay.MissingParam(ch.param("price"))
			}
			it = &pay.SubscriptionItem{Quantity: 1, Created: now}
			sub.Items = append(sub.Items, it)
		}
		named[i], touched[it] = it, true
		if err := s.applySubscriptionItem(ctx, tx, sub, it, ch); err != nil {
			return err
		}
	}
	if len(sub.Items) == 0 {
		return pay.InvalidRequest("", lastParam,
			"A subscription must have at least one active plan. To cancel a subscription, please use the cancel API endpoint.")
	}
	if err := checkItems(sub, changes, named); err != nil {
		return err
	}
	for _, id := range deleted {
		if err := tx.DeleteSubscriptionItem(ctx, sub.Scope, id); err != nil {
			return err
		}
	}
	for _, it := range sub.Items {
		switch {
		case !touched[it]:
		case it.ID == "" || !oldIDs[it.ID]:
			if err := tx.CreateSubscriptionItem(ctx, sub, it); err != nil {
				return err
			}
		default:
			if err := tx.UpdateSubscriptionItem(ctx, sub.Scope, it); err != nil {
				return err
			}
		}
	}
	for _, it := range named {
		st.Items = append(st.Items, it.ID)
	}
	return nil
}

// applySubscriptionItem sets one change's price, quantity, tax rates and
// metadata on it.
func (s *Service) applySubscriptionItem(ctx context.Context, tx *store.Tx, sub *pay.Subscription, it *pay.SubscriptionItem, ch ItemChange) error {
	switch {
	case ch.Price != "" && ch.PriceData != nil:
		return pay.InvalidRequest("parameters_exclusive", ch.param("price"), "Pass only one of price and price_data.")
	case ch.Price != "":
		price, err := tx.FindPrice(ctx, sub.Scope, ch.Price)
		if err != nil {
			return pay.NotFoundAs(err, "price", ch.Price, ch.param("price"))
		}
		if !price.Active && (it.Price == nil || it.Price.ID != price.ID) {
			return pay.InvalidParam(ch.param("price"), "The price specified is inactive. This field only accepts active prices.")
		}
		it.Price = price
	case ch.PriceData != nil:
		price, err := s.inlinePrice(ctx, tx, sub.Scope, ch)
		if err != nil {
			return err
		}
		it.Price = price
	}
	param := ch.param("price")
	switch {
	case it.Price.Recurring == nil:
		return pay.InvalidParam(param, "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.")
	case it.Price.Currency != sub.Currency:
		return pay.InvalidParam(param, "The price specified has currency %s, but the subscription is in %s: all items must have the subscription's currency.",
			it.Price.Currency, sub.Currency)
	}
	if ch.Quantity != nil {
		if *ch.Quantity < 1 {
			return pay.InvalidParam(ch.param("quantity"), "Quantity must be at least 1.")
		}
		it.Quantity = *ch.Quantity
	}
	if ch.TaxRates != nil {
		rates, err := checkTaxRates(ctx, tx, sub.Scope, *ch.TaxRates, ch.param("tax_rates"))
		if err != nil {
			return err
		}
		it.TaxRates = rates
	}
	it.Metadata = ch.Metadata.Apply(it.Metadata)
	if err := pay.CheckMetadata(it.Metadata); err != nil {
		if e, ok := pay.AsError(err); ok {
			e.Param = ch.param("metadata")
		}
		return err
	}
	return nil
}

// inlinePrice makes the new, inactive recurring price of ch.PriceData,
// with price.created.
func (s *Service) inlinePrice(ctx context.Context, tx *store.Tx, scope pay.Scope, ch ItemChange) (*pay.Price, error) {
	d := ch.PriceData
	if _, err := tx.FindProduct(ctx, scope, d.Product); err != nil {
		return nil, pay.NotFoundAs(err, "product", d.Product, ch.param("price_data")+"[product]")
	}
	rec := d.Recurring
	price := &pay.Price{Scope: scope, Product: d.Product, Currency: d.Currency, UnitAmount: d.UnitAmount, Recurring: &rec,
		TaxBehavior: d.TaxBehavior}
	if price.TaxBehavior == "" {
		price.TaxBehavior = pay.TaxBehaviorUnspecified
	}
	if err := tx.CreatePrice(ctx, price); err != nil {
		return nil, err
	}
	return price, payments.Emit(ctx, tx, scope, pay.EventPriceCreated, price.ID, pay.PriceView(price), nil)
}

// checkItems checks the items a change leaves: at most
// pay.MaxSubscriptionItems, each price once, one interval.
func checkItems(sub *pay.Subscription, changes []ItemChange, named []*pay.SubscriptionItem) error {
	if len(sub.Items) > pay.MaxSubscriptionItems {
		return pay.InvalidParam("items", "A subscription can have at most %d items.", pay.MaxSubscriptionItems)
	}
	// Name the parameter of the change that made an item wrong, if one did.
	param := func(it *pay.SubscriptionItem) string {
		for i, n := range named {
			if n == it && !changes[i].Deleted {
				return changes[i].param("price")
			}
		}
		return "items"
	}
	seen := map[string]bool{}
	first := sub.Items[0]
	rec := first.Price.Recurring
	for _, it := range sub.Items {
		switch {
		case seen[it.Price.ID]:
			return pay.InvalidParam(param(it), "Cannot add multiple subscription items with the same price: %s.", it.Price.ID)
		case !pay.SameInterval(it.Price.Recurring, rec):
			name := param(it)
			if name == "items" {
				name = param(first)
			}
			return pay.InvalidParam(name, "The subscription's items would bill every %d %s and every %d %s: all items must have the same recurring interval (change them all at once).",
				rec.IntervalCount, rec.Interval, it.Price.Recurring.IntervalCount, it.Price.Recurring.Interval)
		}
		seen[it.Price.ID] = true
	}
	return nil
}
