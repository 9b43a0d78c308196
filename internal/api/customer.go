package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// nullString marshals "" as null, as Stripe shows unset strings.
type nullString string

func (s nullString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return jsonString(string(s)), nil
}

type addressView struct {
	City       nullString `json:"city"`
	Country    nullString `json:"country"`
	Line1      nullString `json:"line1"`
	Line2      nullString `json:"line2"`
	PostalCode nullString `json:"postal_code"`
	State      nullString `json:"state"`
}

func newAddressView(a *pay.Address) *addressView {
	if a == nil {
		return nil
	}
	return &addressView{City: nullString(a.City), Country: nullString(a.Country), Line1: nullString(a.Line1),
		Line2: nullString(a.Line2), PostalCode: nullString(a.PostalCode), State: nullString(a.State)}
}

type shippingView struct {
	Address *addressView `json:"address"`
	Name    nullString   `json:"name"`
	Phone   nullString   `json:"phone"`
}

type invoiceSettingsView struct {
	CustomFields         any        `json:"custom_fields"`
	DefaultPaymentMethod nullString `json:"default_payment_method"`
	Footer               any        `json:"footer"`
	RenderingOptions     any        `json:"rendering_options"`
}

// customerJSON is the customer object as Stripe's API version 2026-03-25.dahlia shows it.
type customerJSON struct {
	ID                  string              `json:"id"`
	Object              string              `json:"object"`
	Address             *addressView        `json:"address"`
	Balance             int64               `json:"balance"`
	Created             int64               `json:"created"`
	Currency            any                 `json:"currency"`
	DefaultSource       any                 `json:"default_source"`
	Delinquent          bool                `json:"delinquent"`
	Description         nullString          `json:"description"`
	Discount            any                 `json:"discount"`
	Email               nullString          `json:"email"`
	InvoicePrefix       string              `json:"invoice_prefix"`
	InvoiceSettings     invoiceSettingsView `json:"invoice_settings"`
	Livemode            bool                `json:"livemode"`
	Metadata            map[string]string   `json:"metadata"`
	Name                nullString          `json:"name"`
	NextInvoiceSequence int64               `json:"next_invoice_sequence"`
	Phone               nullString          `json:"phone"`
	PreferredLocales    []string            `json:"preferred_locales"`
	Shipping            *shippingView       `json:"shipping"`
	TaxExempt           string              `json:"tax_exempt"`
	TestClock           any                 `json:"test_clock"`
}

type deletedJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func customerView(c *pay.Customer) any {
	if c.Deleted {
		return deletedJSON{ID: c.ID, Object: "customer", Deleted: true}
	}
	v := customerJSON{
		ID: c.ID, Object: "customer", Address: newAddressView(c.Address), Created: c.Created,
		Description: nullString(c.Description), Email: nullString(c.Email), Livemode: c.Scope.Livemode,
		InvoicePrefix:   strings.ToUpper(c.ID[len(pay.PrefixCustomer):][:8]),
		InvoiceSettings: invoiceSettingsView{DefaultPaymentMethod: nullString(c.DefaultPaymentMethod)},
		Metadata:        c.Metadata, Name: nullString(c.Name), NextInvoiceSequence: 1, Phone: nullString(c.Phone),
		PreferredLocales: []string{}, TaxExempt: c.TaxExempt,
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if c.Shipping != nil {
		v.Shipping = &shippingView{Address: newAddressView(&c.Shipping.Address), Name: nullString(c.Shipping.Name), Phone: nullString(c.Shipping.Phone)}
	}
	return v
}

// customerChange is a parsed create or update: nil fields are not sent.
type customerChange struct {
	email, name, phone, description, taxExempt, defaultPM *string
	address                                               **pay.Address // non-nil: set (nil inside: unset)
	shipping                                              **pay.Shipping
	metadata                                              metadataChange
}

func readCustomerChange(p *params) customerChange {
	var ch customerChange
	ch.email = readText(p, "email", 512)
	if ch.email != nil && *ch.email != "" && !plausibleEmail(*ch.email) {
		p.Fail("email", "email_invalid", "Invalid email address.")
	}
	ch.name = readText(p, "name", 256)
	ch.phone = readText(p, "phone", 40)
	ch.description = readText(p, "description", 5000)
	if ch.taxExempt = p.OptString("tax_exempt"); ch.taxExempt != nil && !oneOf(*ch.taxExempt, pay.TaxExemptValues) {
		p.Fail("tax_exempt", "parameter_invalid", "tax_exempt must be one of none, exempt or reverse.")
	}
	ch.address = readAddressParam(p, "address")
	ch.shipping = readShipping(p)
	if sub, ok := p.Sub("invoice_settings"); ok {
		ch.defaultPM = sub.OptString("default_payment_method")
	}
	ch.metadata = readMetadata(p)
	return ch
}

func (ch customerChange) apply(c *pay.Customer) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Email, ch.email)
	set(&c.Name, ch.name)
	set(&c.Phone, ch.phone)
	set(&c.Description, ch.description)
	set(&c.TaxExempt, ch.taxExempt)
	set(&c.DefaultPaymentMethod, ch.defaultPM)
	if ch.address != nil {
		c.Address = *ch.address
	}
	if ch.shipping != nil {
		c.Shipping = *ch.shipping
	}
	c.Metadata = ch.metadata.apply(c.Metadata)
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
		return notFoundAs(err, "PaymentMethod", c.DefaultPaymentMethod, param)
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
func (s *Server) newCustomer(ctx context.Context, tx *store.Tx, scope pay.Scope, ch customerChange, pmID *string, fresh *pay.PaymentMethod) (any, error) {
	c := &pay.Customer{Scope: scope}
	ch.apply(c)
	if err := checkMetadata(c.Metadata); err != nil {
		return nil, err
	}
	pm := fresh
	if pm == nil && pmID != nil && *pmID != "" {
		var err error
		if pm, err = tx.FindPaymentMethod(ctx, scope, *pmID); err != nil {
			return nil, notFoundAs(err, "PaymentMethod", *pmID, "payment_method")
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
	v := customerView(c)
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
			return nil, notFoundAs(err, "customer", id, "id")
		}
		return customerView(c), nil
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
			return nil, notFoundAs(err, "customer", id, "id")
		}
		before := customerView(c)
		ch.apply(c)
		if err := checkMetadata(c.Metadata); err != nil {
			return nil, err
		}
		if err := checkDefaultPaymentMethod(ctx, tx, c); err != nil {
			return nil, err
		}
		if err := tx.UpdateCustomer(ctx, c); err != nil {
			return nil, err
		}
		after := customerView(c)
		return after, s.emitUpdate(ctx, tx, scope, pay.EventCustomerUpdated, c.ID, before, after)
	}, nil
}

func (s *Server) deleteCustomer(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		if err := tx.DeleteCustomer(ctx, scope, id); err != nil {
			return nil, notFoundAs(err, "customer", id, "id")
		}
		// A deleted customer's cards are detached, as Stripe does, each with
		// its event.
		detached, err := tx.DetachCustomerPaymentMethods(ctx, scope, id)
		if err != nil {
			return nil, err
		}
		for _, pm := range detached {
			if err := s.emit(ctx, tx, scope, pay.EventPaymentMethodDetached, pm.ID, paymentMethodView(pm), nil); err != nil {
				return nil, err
			}
		}
		v := deletedJSON{ID: id, Object: "customer", Deleted: true}
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
		return newList("customer", "/v1/customers", l, customerView), nil
	}, nil
}
