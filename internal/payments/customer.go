package payments

import (
	"context"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// checkDefaultPaymentMethod requires
// invoice_settings[default_payment_method] to be attached to the customer
// (nothing is attached to one not yet created).
func checkDefaultPaymentMethod(ctx context.Context, tx *store.Tx, c *pay.Customer) error {
	if c.DefaultPaymentMethod == "" {
		return nil
	}
	const param = "invoice_settings[default_payment_method]"
	pm, err := tx.FindPaymentMethod(ctx, c.Scope, c.DefaultPaymentMethod)
	if err != nil {
		return pay.NotFoundAs(err, "PaymentMethod", c.DefaultPaymentMethod, param)
	}
	if pm.Customer == "" || pm.Customer != c.ID {
		return pay.InvalidParam(param, "The PaymentMethod %s is not attached to this customer: attach it first.", pm.ID)
	}
	return nil
}

// checkTestClock requires a new customer's test_clock, if any, to be a
// test clock of the customer's scope, in test mode.
func checkTestClock(ctx context.Context, tx *store.Tx, c *pay.Customer) error {
	if c.TestClock == "" {
		return nil
	}
	if err := pay.CheckTestMode(c.Scope, "test_clock"); err != nil {
		return err
	}
	_, err := tx.FindTestClock(ctx, c.Scope, c.TestClock)
	return pay.NotFoundAs(err, "test clock", c.TestClock, "test_clock")
}

// CreateCustomer creates a customer and attaches to it the payment method
// pmID names, if any (a Stripe test ID is tokenised first). Every check
// comes before the first write (a staged commit keeps what was written
// before an error it answers).
func (s *Service) CreateCustomer(ctx context.Context, call Call, ch pay.CustomerUpdate, pmID *string) (*Answer, error) {
	return s.withCard(ctx, call, pmID, "payment_method", func(ctx context.Context, tx *store.Tx, fresh *pay.PaymentMethod) (any, error) {
		scope := call.Scope
		c := &pay.Customer{Scope: scope}
		ch.Apply(c)
		if err := pay.CheckMetadata(c.Metadata); err != nil {
			return nil, err
		}
		if err := checkTestClock(ctx, tx, c); err != nil {
			return nil, err
		}
		pm := fresh
		if pm == nil && pmID != nil && *pmID != "" {
			var err error
			if pm, err = tx.FindPaymentMethod(ctx, scope, *pmID); err != nil {
				return nil, pay.NotFoundAs(err, "PaymentMethod", *pmID, "payment_method")
			}
		}
		if pm != nil {
			if err := checkAttach(pm, "", "payment_method"); err != nil {
				return nil, err
			}
			if c.DefaultPaymentMethod == *pmID {
				c.DefaultPaymentMethod = pm.ID // a test ID names the payment method made from it
			}
		}
		// The only payment method a new customer has is pm.
		if pm == nil || c.DefaultPaymentMethod != pm.ID {
			if err := checkDefaultPaymentMethod(ctx, tx, c); err != nil {
				return nil, err
			}
		}
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return nil, err
		}
		if err := Emit(ctx, tx, scope, pay.EventCustomerCreated, c.ID, pay.CustomerView(c), nil); err != nil {
			return nil, err
		}
		if pm != nil {
			if _, err := s.attach(ctx, tx, pm, fresh != nil, c.ID); err != nil {
				return nil, err
			}
		}
		return c, nil
	})
}

// UpdateCustomer changes a customer.
func (s *Service) UpdateCustomer(ctx context.Context, call Call, id string, ch pay.CustomerUpdate) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		c, err := tx.FindCustomer(ctx, call.Scope, id)
		if err == nil && c.Deleted {
			err = pay.ErrNotFound
		}
		if err != nil {
			return nil, pay.NotFoundAs(err, "customer", id, "id")
		}
		before := pay.CustomerView(c)
		ch.Apply(c)
		if err := pay.CheckMetadata(c.Metadata); err != nil {
			return nil, err
		}
		if err := checkDefaultPaymentMethod(ctx, tx, c); err != nil {
			return nil, err
		}
		if err := tx.UpdateCustomer(ctx, c); err != nil {
			return nil, err
		}
		return c, EmitUpdate(ctx, tx, call.Scope, pay.EventCustomerUpdated, c.ID, before, pay.CustomerView(c))
	})
}

// DeleteCustomer deletes a customer and detaches its payment methods, as
// Stripe does, each with its event.
func (s *Service) DeleteCustomer(ctx context.Context, call Call, id string) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		return DeleteCustomerTx(ctx, tx, call.Scope, id)
	})
}

// DeleteCustomerTx is DeleteCustomer's work in the caller's transaction:
// for billing, which deletes a test clock's customers with the clock.
func DeleteCustomerTx(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) (pay.DeletedObject, error) {
	v := pay.DeletedObject{ID: id, Object: "customer", Deleted: true}
	if err := tx.DeleteCustomer(ctx, scope, id); err != nil {
		return v, pay.NotFoundAs(err, "customer", id, "id")
	}
	detached, err := tx.DetachCustomerPaymentMethods(ctx, scope, id)
	if err != nil {
		return v, err
	}
	for _, pm := range detached {
		if err := Emit(ctx, tx, scope, pay.EventPaymentMethodDetached, pm.ID, pay.PaymentMethodView(pm), nil); err != nil {
			return v, err
		}
	}
	return v, Emit(ctx, tx, scope, pay.EventCustomerDeleted, id, v, nil)
}
