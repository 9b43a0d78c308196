package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
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

func (s *Server) createCustomer(r *http.Request, p *params) (opFunc, error) {
	ch := readCustomerChange(p)
	ch.TestClock = p.OptString("test_clock") // at creation only
	pmID := p.OptString("payment_method")
	p.stageIf("customer", pmID)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.CreateCustomer(ctx, call, ch, pmID)
	}, nil
}

func (s *Server) updateCustomer(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	ch := readCustomerChange(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.UpdateCustomer(ctx, call, id, ch)
	}, nil
}

func (s *Server) deleteCustomer(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.DeleteCustomer(ctx, call, id)
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
