package api

import (
	"context"
	"fmt"
	"net/http"

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
	if p.Has("default_payment_method") {
		if p.Unset("default_payment_method") {
			sp.DefaultPaymentMethod = new(string)
		} else {
			sp.DefaultPaymentMethod = p.OptString("default_payment_method")
		}
	}
	if p.Has("default_tax_rates") {
		if p.Unset("default_tax_rates") {
			sp.DefaultTaxRates = &[]string{}
		} else if ids, ok := p.StringSlice("default_tax_rates"); ok {
			sp.DefaultTaxRates = &ids
		}
	}
	sp.Description = readText(p, "description", 500)
	sp.Metadata = readMetadata(p)
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
		if p.Param("trial_end") == "now" {
			sp.TrialEnd, sp.TrialEndNow = new(int64), true
		} else {
			sp.TrialEnd = p.OptInt64("trial_end")
		}
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
		"transfer_data", "trial_from_plan", "trial_settings", "default_source", "currency")
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
	notYet(p, "items", "proration_behavior", "proration_date", "billing_cycle_anchor", "trial_end", "trial_from_plan",
		"pause_collection", "payment_behavior", "collection_method", "days_until_due", "add_invoice_items", "automatic_tax",
		"discounts", "invoice_settings", "off_session", "on_behalf_of", "payment_settings", "pending_invoice_item_interval",
		"transfer_data", "trial_settings", "cancellation_details", "default_source", "application_fee_percent", "billing_thresholds")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdateSubscription(ctx, call, id, sp)
	}, nil
}

func (s *Server) cancelSubscription(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	for _, n := range []string{"invoice_now", "prorate"} {
		if b := p.OptBool(n); b != nil && *b {
			p.Fail(n, "parameter_unsupported", n+"=true is not supported yet: a canceled subscription's final invoice and proration come later.")
		}
	}
	notYet(p, "cancellation_details")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CancelSubscription(ctx, call, id)
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
