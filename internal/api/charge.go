package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

func (s *Server) updateCharge(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	description := readText(p, "description", 1000)
	md := readMetadata(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.UpdateCharge(ctx, call, id, description, md)
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
