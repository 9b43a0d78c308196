package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// readCustomerChange reads a customer create or update.
func readCustomerChange(p *params) pay.CustomerUpdate {
	var ch pay.CustomerUpdate
	ch.Email = readText(p, "email", 512)
	if ch.Email != nil && *ch.Email != "" && !plausibleEmail(*ch.Email) {
		p.Fail("email", "email_invalid", "Invalid email address.")
	}
	ch.Name = readText(p, "name", 256)
	ch.Phone = readText(p, "phone", 40)
	ch.Description = readText(p, "description", 5000)
	if ch.TaxExempt = p.OptString("tax_exempt"); ch.TaxExempt != nil && !oneOf(*ch.TaxExempt, pay.TaxExemptValues) {
		p.Fail("tax_exempt", "parameter_invalid", "tax_exempt must be one of none, exempt or reverse.")
	}
	ch.Address = readAddressParam(p, "address")
	ch.Shipping = readShipping(p)
	if sub, ok := p.Sub("invoice_settings"); ok {
		ch.DefaultPaymentMethod = sub.OptString("default_payment_method")
	}
	ch.Metadata = readMetadata(p)
	return ch
}

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

func (s *Server) createCustomer(r *http.Request, p *params) (cardWrite, error) {
	ch := readCustomerChange(p)
	pmID := p.OptString("payment_method")
	return cardWrite{paymentMethod: pmID, fn: func(ctx context.Context, tx *store.Tx, scope pay.Scope, fresh *pay.PaymentMethod) (any, error) {
		return s.newCustomer(ctx, tx, scope, ch, pmID, fresh)
	}}, nil
}

// newCustomer creates a customer and attaches to it the payment method
// pmID names, if any: fresh, when this request made it from a Stripe test
// ID, else a stored one. Every check comes before the first write (a staged
// commit keeps what was written before an error it answers).
func (s *Server) newCustomer(ctx context.Context, tx *store.Tx, scope pay.Scope, ch pay.CustomerUpdate, pmID *string, fresh *pay.PaymentMethod) (any, error) {
	c := &pay.Customer{Scope: scope}
	ch.Apply(c)
	if err := pay.CheckMetadata(c.Metadata); err != nil {
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
	v := pay.CustomerView(c)
	if err := s.emit(ctx, tx, scope, pay.EventCustomerCreated, c.ID, v, nil); err != nil {
		return nil, err
	}
	if pm != nil {
		if _, err := s.attach(ctx, tx, pm, fresh != nil, c.ID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (s *Server) retrieveCustomer(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		c, err := s.db.FindCustomer(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "customer", id, "id")
		}
		return pay.CustomerView(c), nil
	}, nil
}

func (s *Server) updateCustomer(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	ch := readCustomerChange(p)
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		c, err := tx.FindCustomer(ctx, scope, id)
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
		after := pay.CustomerView(c)
		return after, s.emitUpdate(ctx, tx, scope, pay.EventCustomerUpdated, c.ID, before, after)
	}, nil
}

func (s *Server) deleteCustomer(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		if err := tx.DeleteCustomer(ctx, scope, id); err != nil {
			return nil, pay.NotFoundAs(err, "customer", id, "id")
		}
		// A deleted customer's cards are detached, as Stripe does, each with
		// its event.
		detached, err := tx.DetachCustomerPaymentMethods(ctx, scope, id)
		if err != nil {
			return nil, err
		}
		for _, pm := range detached {
			if err := s.emit(ctx, tx, scope, pay.EventPaymentMethodDetached, pm.ID, pay.PaymentMethodView(pm), nil); err != nil {
				return nil, err
			}
		}
		v := pay.DeletedObject{ID: id, Object: "customer", Deleted: true}
		return v, s.emit(ctx, tx, scope, pay.EventCustomerDeleted, id, v, nil)
	}, nil
}

func (s *Server) listCustomers(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.CustomerFilter
	if e := readText(p, "email", 512); e != nil {
		f.Email = *e
	}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindCustomers(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("customer", "/v1/customers", l, pay.CustomerView), nil
	}, nil
}
