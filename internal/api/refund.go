package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

func (s *Server) createRefund(r *http.Request, p *params) (opFunc, error) {
	var rp payments.RefundParams
	rp.PaymentIntent, _ = p.String("payment_intent")
	rp.Charge, _ = p.String("charge")
	if rp.PaymentIntent == "" && rp.Charge == "" {
		p.Missing("payment_intent")
	}
	if rp.Amount = p.OptInt64("amount"); rp.Amount != nil && *rp.Amount < 1 {
		p.Fail("amount", "parameter_invalid_integer", "amount must be a positive integer.")
	}
	if rp.Reason = p.OptString("reason"); rp.Reason != nil && *rp.Reason != "" && !pay.IsRefundReason(*rp.Reason) {
		p.Fail("reason", "parameter_invalid", "reason must be one of duplicate, fraudulent or requested_by_customer.")
	}
	rp.Metadata = readMetadata(p)
	p.Ignore("refund_application_fee", "reverse_transfer", "instructions_email")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.CreateRefund(ctx, call, rp)
	}, nil
}

func (s *Server) updateRefund(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	md := readMetadata(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.UpdateRefund(ctx, call, id, md)
	}, nil
}

func (s *Server) listRefunds(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.RefundFilter
	f.Charge, _ = p.String("charge")
	f.PaymentIntent, _ = p.String("payment_intent")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindRefunds(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("refund", "/v1/refunds", l, pay.RefundView), nil
	}, nil
}
