package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// The /v1/subscription_items writes are subscription updates of one item
// change each (billing.UpdateSubscriptionItem): the same operation, checks
// and prorations as items[] on POST /v1/subscriptions/{id}.

// readItemWrite reads what a subscription item write shares with an
// update: the change, and how it is prorated and paid.
func readItemWrite(p *params, sp *billing.SubscriptionParams, ch billing.ItemChange) {
	sp.ItemChanges = []billing.ItemChange{ch}
	sp.ProrationBehavior = readProrationBehavior(p)
	sp.ProrationDate = p.OptInt64("proration_date")
	sp.PaymentBehavior = readUpdatePaymentBehavior(p)
	notYet(p, "off_session")
}

func (s *Server) createSubscriptionItem(r *http.Request, p *params) (opFunc, error) {
	var sp billing.SubscriptionParams
	subID := p.RequireString("subscription")
	ch := readItemChange(p, "", false)
	if ch.Price == "" && ch.PriceData == nil {
		p.Missing("price")
	}
	readItemWrite(p, &sp, ch)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdateSubscriptionItem(ctx, call, subID, sp)
	}, nil
}

// itemWrite runs a change of the existing item id on its subscription.
func (s *Server) itemWrite(id string, sp billing.SubscriptionParams) opFunc {
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		// An item never moves to another subscription, so the lookup
		// outside the change's transaction is safe.
		subID, err := s.db.FindItemSubscription(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "subscription item", id, "id")
		}
		return s.billing.UpdateSubscriptionItem(ctx, call, subID, sp)
	}
}

func (s *Server) updateSubscriptionItem(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var sp billing.SubscriptionParams
	ch := readItemChange(p, "", false)
	ch.ID = id
	readItemWrite(p, &sp, ch)
	return s.itemWrite(id, sp), nil
}

func (s *Server) deleteSubscriptionItem(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var sp billing.SubscriptionParams
	p.OptBool("clear_usage") // licensed prices only: there is no usage to clear
	readItemWrite(p, &sp, billing.ItemChange{ID: id, Deleted: true})
	return s.itemWrite(id, sp), nil
}

func (s *Server) listSubscriptionItems(r *http.Request, p *params) (readFunc, error) {
	page := readCursor(p)
	subID := p.RequireString("subscription")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		sub, err := s.db.FindSubscription(ctx, scope, subID)
		if err != nil {
			return nil, pay.NotFoundAs(err, "subscription", subID, "subscription")
		}
		// A subscription has at most pay.MaxSubscriptionItems items, in
		// creation order: the page is cut from them.
		items := sub.Items
		if page.StartingAfter != "" {
			i := slices.IndexFunc(items, func(it *pay.SubscriptionItem) bool { return it.ID == page.StartingAfter })
			if i < 0 {
				return nil, pay.NoSuch("subscription item", page.StartingAfter, "starting_after")
			}
			items = items[i+1:]
		}
		if page.EndingBefore != "" {
			i := slices.IndexFunc(items, func(it *pay.SubscriptionItem) bool { return it.ID == page.EndingBefore })
			if i < 0 {
				return nil, pay.NoSuch("subscription item", page.EndingBefore, "ending_before")
			}
			items = items[max(0, i-page.Limit):i]
		}
		l := pay.List[*pay.SubscriptionItem]{Data: items}
		if len(items) > page.Limit {
			l.Data, l.HasMore = items[:page.Limit], true
		}
		return newList("subscription_item", "/v1/subscription_items", l, func(it *pay.SubscriptionItem) any { return pay.ItemView(it) }), nil
	}, nil
}
