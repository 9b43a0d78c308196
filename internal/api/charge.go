package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

func (s *Server) retrieveCharge(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		c, err := s.db.FindCharge(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "charge", id, "id")
		}
		return pay.ChargeView(c), nil
	}, nil
}

func (s *Server) updateCharge(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	description := readText(p, "description", 1000)
	md := readMetadata(p)
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		c, err := tx.FindCharge(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "charge", id, "id")
		}
		before := pay.ChargeView(c)
		if description != nil {
			c.Description = *description
		}
		if c.Metadata = md.Apply(c.Metadata); len(c.Metadata) > pay.MaxMetadataKeys {
			return nil, pay.CheckMetadata(c.Metadata)
		}
		if err := tx.UpdateCharge(ctx, c); err != nil {
			return nil, err
		}
		after := pay.ChargeView(c)
		return after, s.emitUpdate(ctx, tx, scope, pay.EventChargeUpdated, c.ID, before, after)
	}, nil
}

func (s *Server) listCharges(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.ChargeFilter
	f.PaymentIntent, _ = p.String("payment_intent")
	f.Customer, _ = p.String("customer")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindCharges(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("charge", "/v1/charges", l, pay.ChargeView), nil
	}, nil
}
