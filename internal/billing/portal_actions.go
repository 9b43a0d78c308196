package billing

import (
	"context"
	"errors"
	"slices"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// What a customer does on the portal pages. Each action checks that the
// session's configuration allows it and that the object is the session's
// customer's (another customer's does not exist for it), then runs the
// API's operation with no idempotency key, so that it writes and emits
// exactly what the API would. The caller (package hosted) has checked
// that the session is usable.

// ErrPortalNotAllowed: the session's configuration does not allow the
// action.
var ErrPortalNotAllowed = errors.New("the portal's configuration does not allow this")

// PortalConfiguration returns the configuration of a portal session.
func (s *Service) PortalConfiguration(ctx context.Context, ps *pay.PortalSession) (*pay.PortalConfiguration, error) {
	return s.db.FindPortalConfiguration(ctx, ps.Scope, ps.Configuration)
}

// portalSubscription returns the session customer's subscription id, or
// a not-found error if it is anyone else's.
func (s *Service) portalSubscription(ctx context.Context, ps *pay.PortalSession, id string) (*pay.Subscription, error) {
	sub, err := s.db.FindSubscription(ctx, ps.Scope, id)
	if err == nil && sub.Customer != ps.Customer {
		err = pay.ErrNotFound
	}
	if err != nil {
		return nil, pay.NotFoundAs(err, "subscription", id, "subscription")
	}
	return sub, nil
}

// PortalCancelSubscription cancels the customer's subscription as the
// configuration says: at the period's end (cancel_at_period_end, which
// the customer may undo until then) or at once (prorated if its
// proration_behavior is create_prorations), with the customer's reason as
// cancellation_details.feedback if the configuration offers it.
func (s *Service) PortalCancelSubscription(ctx context.Context, ps *pay.PortalSession, subID, reason string) (*payments.Answer, error) {
	cfg, err := s.PortalConfiguration(ctx, ps)
	if err != nil {
		return nil, err
	}
	sc := &cfg.Features.SubscriptionCancel
	if !sc.Enabled {
		return nil, ErrPortalNotAllowed
	}
	var feedback *string
	if reason != "" {
		if !sc.ReasonEnabled || !slices.Contains(sc.ReasonOptions, reason) {
			return nil, pay.InvalidParam("reason", "This cancellation reason is not one offered.")
		}
		feedback = &reason
	}
	sub, err := s.portalSubscription(ctx, ps, subID)
	if err != nil {
		return nil, err
	}
	call := payments.Plain(ps.Scope)
	if sc.Mode == pay.PortalCancelImmediately {
		return s.CancelSubscription(ctx, call, sub.ID, CancelParams{Prorate: sc.ProrationBehavior == CreateProrations, Feedback: feedback})
	}
	yes := true
	return s.UpdateSubscription(ctx, call, sub.ID, SubscriptionParams{CancelAtPeriodEnd: &yes, Changes: Changes{CancellationFeedback: feedback}})
}

// PortalResumeSubscription undoes a cancellation at the period's end while
// the period lasts (Stripe's portal's "Renew").
func (s *Service) PortalResumeSubscription(ctx context.Context, ps *pay.PortalSession, subID string) (*payments.Answer, error) {
	sub, err := s.portalSubscription(ctx, ps, subID)
	if err != nil {
		return nil, err
	}
	if sub.Ended() || (!sub.CancelAtPeriodEnd && sub.CancelAt == 0) {
		return nil, pay.InvalidRequest("", "subscription", "This subscription is not set to end, so there is nothing to resume.")
	}
	no, zero := false, int64(0)
	p := SubscriptionParams{CancelAtPeriodEnd: &no}
	if sub.CancelAt != 0 && !sub.CancelAtPeriodEnd {
		p = SubscriptionParams{CancelAt: &zero}
	}
	return s.UpdateSubscription(ctx, payments.Plain(ps.Scope), sub.ID, p)
}

// PortalSwitchPrice switches the customer's one-item subscription to
// price, one the configuration lists, prorated as the configuration says.
func (s *Service) PortalSwitchPrice(ctx context.Context, ps *pay.PortalSession, subID, price string) (*payments.Answer, error) {
	cfg, err := s.PortalConfiguration(ctx, ps)
	if err != nil {
		return nil, err
	}
	if !cfg.Features.CanSwitchPrices() {
		return nil, ErrPortalNotAllowed
	}
	if !cfg.Features.AllowsPrice(price) {
		return nil, pay.InvalidParam("price", "This plan is not one you can switch to here.")
	}
	sub, err := s.portalSubscription(ctx, ps, subID)
	if err != nil {
		return nil, err
	}
	if len(sub.Items) != 1 || sub.Ended() {
		return nil, pay.InvalidRequest("", "subscription", "This subscription's plan cannot be changed here.")
	}
	if sub.Items[0].Price.ID == price {
		return nil, pay.InvalidParam("price", "This subscription is on that plan already.")
	}
	return s.UpdateSubscription(ctx, payments.Plain(ps.Scope), sub.ID, SubscriptionParams{Changes: Changes{
		ItemChanges:       []ItemChange{{ID: sub.Items[0].ID, Price: price, Prefix: "items[0]"}},
		ProrationBehavior: cfg.Features.SubscriptionUpdate.ProrationBehavior}})
}

// PortalUpdateCustomer changes the customer's email and address, as far
// as the configuration allows (a field it does not allow is refused).
func (s *Service) PortalUpdateCustomer(ctx context.Context, ps *pay.PortalSession, email *string, address **pay.Address) (*payments.Answer, error) {
	cfg, err := s.PortalConfiguration(ctx, ps)
	if err != nil {
		return nil, err
	}
	f := &cfg.Features
	if email != nil && !f.AllowsCustomerUpdate("email") || address != nil && !f.AllowsCustomerUpdate("address") {
		return nil, ErrPortalNotAllowed
	}
	return s.payments.UpdateCustomer(ctx, payments.Plain(ps.Scope), ps.Customer, pay.CustomerUpdate{Email: email, Address: address})
}
