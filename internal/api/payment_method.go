package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// readCard reads card[number|exp_month|exp_year|cvc].
func readCard(p *params) (payments.CardInput, bool) {
	sub, ok := p.Sub("card")
	if !ok {
		return payments.CardInput{}, false
	}
	var c payments.CardInput
	c.Number = sub.RequireString("number")
	c.ExpMonth = sub.RequireInt64("exp_month")
	c.ExpYear = sub.RequireInt64("exp_year")
	c.CVC, _ = sub.String("cvc")
	return c, true
}

func readBilling(p *params) (*pay.BillingDetails, bool) {
	sub, ok := p.Sub("billing_details")
	if !ok {
		return nil, false
	}
	var b pay.BillingDetails
	for _, f := range []struct {
		name string
		dst  *string
		max  int
	}{{"name", &b.Name, 256}, {"email", &b.Email, 512}, {"phone", &b.Phone, 40}} {
		if v := sub.OptString(f.name); v != nil {
			if len(*v) > f.max {
				sub.Fail(f.name, "parameter_invalid_string_too_long", "This value is too long.")
			}
			*f.dst = *v
		}
	}
	if b.Email != "" && !plausibleEmail(b.Email) {
		sub.Fail("email", "email_invalid", "Invalid email address.")
	}
	if addr, ok := sub.Sub("address"); ok {
		a := readAddress(addr, func(f string) {
			addr.Fail(f, "parameter_invalid_string_too_long", "This value must be at most 200 characters.")
		})
		b.Address = &a
	}
	return &b, true
}

func (s *Server) createPaymentMethod(r *http.Request, p *params) (opFunc, error) {
	if typ := p.RequireString("type"); typ != "" && typ != "card" {
		return nil, pay.InvalidParam("type", "Only payment methods of type card are supported.")
	}
	card, ok := readCard(p)
	if !ok && !p.Has("card") {
		p.Missing("card")
	}
	var billing pay.BillingDetails
	if b, ok := readBilling(p); ok {
		billing = *b
	}
	md := readMetadata(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.CreatePaymentMethod(ctx, call, card, billing, md)
	}, nil
}

func (s *Server) retrievePaymentMethod(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		if payments.IsTestPaymentMethodID(id) {
			return s.payments.TestPaymentMethod(ctx, scope, id)
		}
		pm, err := s.db.FindPaymentMethod(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
		}
		return pm, nil
	}, nil
}

func (s *Server) updatePaymentMethod(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var u payments.PaymentMethodUpdate
	u.Billing, _ = readBilling(p)
	if sub, ok := p.Sub("card"); ok {
		u.ExpMonth, u.ExpYear = sub.OptInt64("exp_month"), sub.OptInt64("exp_year")
	}
	u.Metadata = readMetadata(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.UpdatePaymentMethod(ctx, call, id, u)
	}, nil
}

func (s *Server) listPaymentMethods(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	f := store.PaymentMethodFilter{Customer: r.PathValue("customer")}
	if c, ok := p.String("customer"); ok && f.Customer == "" {
		f.Customer = c
	}
	if t, ok := p.String("type"); ok && t != "" {
		if t != "card" {
			p.Fail("type", "parameter_invalid", "Only payment methods of type card are supported.")
		}
		f.Type = t
	}
	url := "/v1/payment_methods"
	if id := r.PathValue("customer"); id != "" {
		url = "/v1/customers/" + id + "/payment_methods"
	}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		if f.Customer != "" {
			if _, err := s.db.FindCustomer(ctx, scope, f.Customer); err != nil {
				return nil, pay.NotFoundAs(err, "customer", f.Customer, "customer")
			}
		}
		l, err := s.db.FindPaymentMethods(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("payment_method", url, l, pay.PaymentMethodView), nil
	}, nil
}

// attachPaymentMethod attaches a payment method (or a Stripe test ID, which
// is tokenised first) to a customer.
func (s *Server) attachPaymentMethod(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	customer := p.RequireString("customer")
	p.stageIf("payment_method", &id)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.AttachPaymentMethod(ctx, call, id, customer)
	}, nil
}

func (s *Server) detachPaymentMethod(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.DetachPaymentMethod(ctx, call, id)
	}, nil
}
