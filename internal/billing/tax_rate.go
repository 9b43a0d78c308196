package billing

import (
	"context"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// TaxRateParams are a new tax rate's fields. Percentage and Inclusive are
// fixed for the rate's life; Fields holds the others (DisplayName is
// required), which UpdateTaxRate may change later. Active defaults to true.
type TaxRateParams struct {
	Percentage pay.Percent
	Inclusive  bool
	Fields     pay.TaxRateUpdate
}

// CreateTaxRate creates a tax rate and its tax_rate.created event in one
// transaction, and answers the *pay.TaxRate.
func (s *Service) CreateTaxRate(ctx context.Context, call payments.Call, p TaxRateParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		t := &pay.TaxRate{Scope: call.Scope, Active: true, Percentage: p.Percentage, Inclusive: p.Inclusive}
		p.Fields.Apply(t)
		if err := t.Check(); err != nil {
			return nil, err
		}
		if err := tx.CreateTaxRate(ctx, t); err != nil {
			return nil, err
		}
		return t, payments.Emit(ctx, tx, call.Scope, pay.EventTaxRateCreated, t.ID, pay.TaxRateView(t), nil)
	})
}

// UpdateTaxRate changes a tax rate's mutable fields and emits
// tax_rate.updated with what changed (no change, no event), in one
// transaction, and answers the *pay.TaxRate. A rate of another project or
// mode does not exist (resource_missing).
func (s *Service) UpdateTaxRate(ctx context.Context, call payments.Call, id string, ch pay.TaxRateUpdate) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		t, err := tx.FindTaxRate(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "tax rate", id, "id")
		}
		before := pay.TaxRateView(t)
		ch.Apply(t)
		if err := t.Check(); err != nil {
			return nil, err
		}
		if err := tx.UpdateTaxRate(ctx, t); err != nil {
			return nil, err
		}
		return t, payments.EmitUpdate(ctx, tx, call.Scope, pay.EventTaxRateUpdated, t.ID, before, pay.TaxRateView(t))
	})
}
