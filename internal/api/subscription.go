package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// notYet refuses a Stripe subscription parameter this slice does not
// serve, naming it, instead of ignoring it.
func notYet(p *params, names ...string) {
	for _, n := range names {
		if p.Has(n) {
			p.Fail(n, "parameter_unsupported", fmt.Sprintf("%s is not supported yet on subscriptions.", n))
		}
	}
}

// readSubscriptionTerms reads what create and update share.
func readSubscriptionTerms(p *params, sp *billing.SubscriptionParams) {
	sp.DefaultPaymentMethod = readClearableString(p, "default_payment_method")
	sp.DefaultTaxRates = readIDList(p, "default_tax_rates")
	sp.Description = readText(p, "description", 500)
	sp.Metadata = readMetadata(p)
	if ts, ok := p.Sub("trial_settings"); ok {
		eb, ok := ts.Sub("end_behavior")
		if !ok {
			ts.Missing("end_behavior")
		}
		v := eb.RequireString("missing_payment_method")
		if v != "" && !oneOf(v, []string{pay.TrialEndCreateInvoice, pay.TrialEndCancel, pay.TrialEndPause}) {
			eb.Fail("missing_payment_method", "parameter_invalid",
				"trial_settings[end_behavior][missing_payment_method] must be create_invoice, cancel or pause.")
		}
		sp.TrialMissingPaymentMethod = v
	}
}

func (s *Server) createSubscription(r *http.Request, p *params) (opFunc, error) {
	var sp billing.SubscriptionParams
	sp.Customer = p.RequireString("customer")
	subs, ok := p.Slice("items")
	switch {
	case !ok:
		p.Missing("items")
	case len(subs) == 0 || len(subs) > pay.MaxSubscriptionItems:
		p.Fail("items", "parameter_invalid", fmt.Sprintf("items must have between 1 and %d entries.", pay.MaxSubscriptionItems))
	}
	for _, sub := range subs {
		var ip billing.SubscriptionItemParams
		ip.Price = sub.RequireString("price")
		if ip.Quantity = sub.OptInt64("quantity"); ip.Quantity != nil && (*ip.Quantity < 1 || *ip.Quantity > 1000000) {
			sub.Fail("quantity", "parameter_invalid_integer", "quantity must be a whole number from 1 to 1000000.")
		}
		if sub.Has("tax_rates") {
			if ids, ok := sub.StringSlice("tax_rates"); ok {
				ip.TaxRates = &ids
			}
		}
		if m, present, _ := sub.Map("metadata"); present {
			ip.Metadata = m
		}
		for _, n := range []string{"price_data", "discounts", "billing_thresholds", "plan"} {
			if sub.Has(n) {
				sub.Fail(n, "parameter_unsupported", n+" is not supported yet on subscription items: pass price.")
			}
		}
		sp.Items = append(sp.Items, ip)
	}
	if sp.TrialPeriodDays = p.OptInt64("trial_period_days"); sp.TrialPeriodDays != nil && (*sp.TrialPeriodDays < 0 || *sp.TrialPeriodDays > 730) {
		p.Fail("trial_period_days", "parameter_invalid_integer", "trial_period_days must be between 0 and 730.")
	}
	if p.Has("trial_end") {
		sp.TrialEnd, sp.TrialEndNow = readTrialEnd(p)
		if sp.TrialPeriodDays != nil {
			p.Fail("trial_end", "parameter_invalid", "Pass only one of trial_end and trial_period_days.")
		}
	}
	sp.BillingCycleAnchor = p.OptInt64("billing_cycle_anchor")
	if cm, ok := p.String("collection_method"); ok {
		if !oneOf(cm, []string{pay.CollectCharge, pay.CollectSend}) {
			p.Fail("collection_method", "parameter_invalid", "collection_method must be charge_automatically or send_invoice.")
		}
		sp.CollectionMethod = cm
	}
	if sp.DaysUntilDue = p.OptInt64("days_until_due"); sp.DaysUntilDue != nil && (*sp.DaysUntilDue < 0 || *sp.DaysUntilDue > 1825) {
		p.Fail("days_until_due", "parameter_invalid_integer", "days_until_due must be between 0 and 1825.")
	}
	if pb, ok := p.String("payment_behavior"); ok {
		if !oneOf(pb, []string{billing.AllowIncomplete, billing.DefaultIncomplete, billing.ErrorIfIncomplete}) {
			p.Fail("payment_behavior", "parameter_invalid",
				"payment_behavior must be allow_incomplete, default_incomplete or error_if_incomplete (pending_if_incomplete is not supported yet).")
		}
		sp.PaymentBehavior = pb
	}
	readSubscriptionTerms(p, &sp)
	notYet(p, "add_invoice_items", "application_fee_percent", "automatic_tax", "backdate_start_date", "billing_cycle_anchor_config",
		"billing_mode", "billing_thresholds", "cancel_at", "cancel_at_period_end", "coupon", "discounts", "invoice_settings",
		"off_session", "on_behalf_of", "payment_settings", "pending_invoice_item_interval", "promotion_code", "proration_behavior",
		"transfer_data", "trial_from_plan", "default_source", "currency")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreateSubscription(ctx, call, sp)
	}, nil
}

func (s *Server) updateSubscription(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var sp billing.SubscriptionParams
	readSubscriptionTerms(p, &sp)
	sp.CancelAtPeriodEnd = p.OptBool("cancel_at_period_end")
	if p.Has("cancel_at") {
		if p.Unset("cancel_at") {
			sp.CancelAt = new(int64)
		} else {
			sp.CancelAt = p.OptInt64("cancel_at")
		}
	}
	sp.CancellationComment, sp.CancellationFeedback = readCancellationDetails(p)
	if items, ok := p.Slice("items"); ok {
		if len(items) > 2*pay.MaxSubscriptionItems {
			p.Fail("items", "parameter_invalid", fmt.Sprintf("items may have at most %d entries.", 2*pay.MaxSubscriptionItems))
		}
		for _, it := range items {
			sp.ItemChanges = append(sp.ItemChanges, readItemChange(reader(it), it.Path(), true))
		}
	}
	sp.ProrationBehavior = readProrationBehavior(p)
	sp.ProrationDate = p.OptInt64("proration_date")
	if v, ok := p.String("billing_cycle_anchor"); ok {
		switch v {
		case "now":
			sp.BillingCycleAnchorNow = true
		case "unchanged":
		default:
			p.Fail("billing_cycle_anchor", "parameter_invalid", "billing_cycle_anchor must be now or unchanged on an update.")
		}
	}
	if p.Has("trial_end") {
		sp.TrialEnd, sp.TrialEndNow = readTrialEnd(p)
	}
	sp.PaymentBehavior = readUpdatePaymentBehavior(p)
	if p.Has("pause_collection") {
		pc := new(*pay.PauseCollection)
		if !p.Unset("pause_collection") {
			sub, _ := p.Sub("pause_collection")
			*pc = &pay.PauseCollection{Behavior: sub.RequireString("behavior")}
			if b := (*pc).Behavior; b != "" && !oneOf(b, []string{pay.PauseKeepAsDraft, pay.PauseMarkUncollectible, pay.PauseVoid}) {
				sub.Fail("behavior", "parameter_invalid", "pause_collection[behavior] must be keep_as_draft, mark_uncollectible or void.")
			}
			if at := sub.OptInt64("resumes_at"); at != nil {
				(*pc).ResumesAt = *at
			}
		}
		sp.PauseCollection = pc
	}
	notYet(p, "trial_from_plan", "collection_method", "days_until_due", "add_invoice_items", "automatic_tax",
		"discounts", "invoice_settings", "off_session", "on_behalf_of", "payment_settings", "pending_invoice_item_interval",
		"transfer_data", "default_source", "application_fee_percent", "billing_thresholds")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdateSubscription(ctx, call, id, sp)
	}, nil
}

// readTrialEnd reads trial_end: a unix time, or "now" (now true).
func readTrialEnd(p *params) (end *int64, now bool) {
	if v, _ := p.values["trial_end"].(string); v == "now" {
		p.Ignore("trial_end")
		return new(int64), true
	}
	return p.OptInt64("trial_end"), false
}

// readItemChange reads one change to a subscription's items: an entry of
// items[] on an update (inUpdate, its parameters' names beginning with
// prefix) or a subscription item's own parameters.
func readItemChange(p *params, prefix string, inUpdate bool) billing.ItemChange {
	ch := billing.ItemChange{Prefix: prefix}
	if inUpdate {
		ch.ID, _ = p.String("id")
		if d := p.OptBool("deleted"); d != nil {
			ch.Deleted = *d
		}
		p.OptBool("clear_usage") // licensed prices only: there is no usage to clear
	}
	ch.Price, _ = p.String("price")
	if pd, ok := p.Sub("price_data"); ok {
		d := reader(pd)
		ch.PriceData = &billing.RecurringPriceData{Currency: readCurrency(d), Product: d.RequireString("product"), UnitAmount: readUnitAmount(d)}
		if v := readTaxBehavior(d); v != nil {
			ch.PriceData.TaxBehavior = *v
		}
		if rec, ok := d.Sub("recurring"); ok {
			ch.PriceData.Recurring = *readRecurring(reader(rec), false)
		} else {
			d.Missing("recurring")
		}
	}
	if ch.Quantity = p.OptInt64("quantity"); ch.Quantity != nil && (*ch.Quantity < 1 || *ch.Quantity > 1000000) {
		p.Fail("quantity", "parameter_invalid_integer", "quantity must be a whole number from 1 to 1000000.")
	}
	ch.TaxRates = readIDList(p, "tax_rates")
	ch.Metadata = readMetadata(p)
	for _, n := range []string{"discounts", "billing_thresholds", "plan"} {
		if p.Has(n) {
			p.Fail(n, "parameter_unsupported", n+" is not supported yet on subscription items: pass price.")
		}
	}
	return ch
}

// readProrationBehavior reads proration_behavior ("" if not sent).
func readProrationBehavior(p *params) string {
	v, _ := p.String("proration_behavior")
	if v != "" && !oneOf(v, []string{billing.CreateProrations, billing.NoProrations, billing.AlwaysInvoice}) {
		p.Fail("proration_behavior", "parameter_invalid", "proration_behavior must be create_prorations, none or always_invoice.")
	}
	return v
}

// readUpdatePaymentBehavior reads an update's payment_behavior: what
// happens when the invoice a change makes is not paid at once.
func readUpdatePaymentBehavior(p *params) string {
	v, ok := p.String("payment_behavior")
	switch {
	case !ok || v == billing.AllowIncomplete || v == billing.DefaultIncomplete:
	case v == billing.ErrorIfIncomplete || v == "pending_if_incomplete":
		p.Fail("payment_behavior", "parameter_unsupported", "payment_behavior="+v+" is not supported yet on updates: "+
			"a change is applied and its invoice charged; use allow_incomplete (a decline leaves the subscription past_due) or default_incomplete.")
	default:
		p.Fail("payment_behavior", "parameter_invalid",
			"payment_behavior must be allow_incomplete, default_incomplete, error_if_incomplete or pending_if_incomplete.")
	}
	return v
}

// readCancellationDetails reads cancellation_details[comment|feedback]; a
// pointer to "" unsets one.
func readCancellationDetails(p *params) (comment, feedback *string) {
	if !p.Has("cancellation_details") {
		return nil, nil
	}
	if p.Unset("cancellation_details") {
		return new(string), new(string)
	}
	sub, _ := p.Sub("cancellation_details")
	d := reader(sub)
	comment = readText(d, "comment", 5000)
	if feedback = d.OptString("feedback"); feedback != nil && *feedback != "" && !oneOf(*feedback, pay.CancellationFeedbacks) {
		d.Fail("feedback", "parameter_invalid", "cancellation_details[feedback] must be one of "+strings.Join(pay.CancellationFeedbacks, ", ")+".")
	}
	return comment, feedback
}

func (s *Server) cancelSubscription(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var cp billing.CancelParams
	if b := p.OptBool("invoice_now"); b != nil {
		cp.InvoiceNow = *b
	}
	if b := p.OptBool("prorate"); b != nil {
		cp.Prorate = *b
	}
	cp.Comment, cp.Feedback = readCancellationDetails(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CancelSubscription(ctx, call, id, cp)
	}, nil
}

func (s *Server) resumeSubscription(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var rp billing.ResumeParams
	if v, ok := p.String("billing_cycle_anchor"); ok {
		switch v {
		case "unchanged":
			rp.BillingCycleAnchorUnchanged = true
		case "now":
		default:
			p.Fail("billing_cycle_anchor", "parameter_invalid", "billing_cycle_anchor must be now or unchanged.")
		}
	}
	rp.ProrationBehavior = readProrationBehavior(p)
	rp.ProrationDate = p.OptInt64("proration_date")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.ResumeSubscription(ctx, call, id, rp)
	}, nil
}

func (s *Server) listSubscriptions(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.SubscriptionFilter
	f.Customer, _ = p.String("customer")
	f.Price, _ = p.String("price")
	if f.Status, _ = p.String("status"); f.Status != "" && !oneOf(f.Status, append([]string{"all", "ended"}, pay.SubscriptionStatuses...)) {
		p.Fail("status", "parameter_invalid", "status must be a subscription status, all or ended.")
	}
	notYet(p, "collection_method", "current_period_start", "current_period_end", "test_clock", "automatic_tax")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindSubscriptions(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("subscription", "/v1/subscriptions", l, func(sub *pay.Subscription) any { return pay.SubscriptionView(sub) }), nil
	}, nil
}
