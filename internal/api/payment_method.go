package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/calmony/calmonypay/internal/cardstream"
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

// gatewayCustomer is the billing contact as gateway customer fields, which
// also drive the gateway's address checks.
func gatewayCustomer(b pay.BillingDetails) cardstream.Customer {
	c := cardstream.Customer{Name: b.Name, Email: b.Email, Phone: b.Phone}
	if a := b.Address; a != nil {
		c.Address, c.Town, c.County, c.Postcode, c.CountryCode = joinNonEmpty(a.Line1, a.Line2), a.City, a.State, a.PostalCode, a.Country
	}
	return c
}

func joinNonEmpty(parts ...string) string {
	out := ""
	for _, p := range parts {
		if p != "" {
			if out != "" {
				out += ", "
			}
			out += p
		}
	}
	return out
}

// tokenise validates a card and stores it through a gateway VERIFY (amount
// 0). It makes the gateway call itself, so it must not run inside a
// transaction; it answers a request whose idempotency key is already used
// before the call (stage.peek). The returned payment method is not yet saved.
//
// In test mode one of Stripe's test cards is verified as the Cardstream
// test card that stands in for it (payments.TestCard), without the billing
// address, which the stand-in's address check could only fail.
func (s *Server) tokenise(ctx context.Context, st *stage, card payments.CardInput, billing pay.BillingDetails) (*pay.PaymentMethod, error) {
	if err := card.Validate(s.now()); err != nil {
		return nil, err
	}
	scope := st.scope
	gw, err := s.gateways.For(scope.Livemode)
	if err != nil {
		return nil, err
	}
	if err := st.peek(ctx); err != nil {
		return nil, err
	}
	verified, customer := card, gatewayCustomer(billing)
	test, isTest := payments.FindTestCard(card)
	isTest = isTest && !scope.Livemode
	if isTest {
		verified, customer.Address, customer.Postcode = test.StandIn(s.now()), "", ""
	}
	var (
		pm  *pay.PaymentMethod
		res *cardstream.Result
	)
	// A duplicate answer means an earlier copy of this VERIFY landed and its
	// answer was lost (the client's resend after a timeout). A verification
	// moves no money, so it is simply made again under a new ID.
	for attempt := 0; attempt == 0 || res.Outcome == cardstream.OutcomeDuplicate; attempt++ {
		if attempt == verifyAttempts {
			return nil, payments.GatewayUnavailable(errors.New("every verification was answered as a duplicate"))
		}
		pm = &pay.PaymentMethod{ID: pay.NewID(pay.PrefixPaymentMethod), Scope: scope, Type: "card", Billing: billing}
		// A wrong security code declines the card, as Stripe's default rules do.
		res, err = gw.Verify(ctx, cardstream.VerifyRequest{Card: verified.Gateway(), TransactionUnique: pm.ID, OrderRef: pm.ID,
			Customer: customer, Checks: cardstream.CheckPrefs{CV2: cardstream.StrictCV2CheckPref}})
		if err != nil {
			return nil, payments.GatewayUnavailable(err)
		}
	}
	if !res.Approved() {
		return nil, payments.DeclineError(res)
	}
	pm.Card = payments.CardDetails(card, res, s.cardFingerprint(scope, card))
	if isTest {
		test.Describe(&pm.Card)
	}
	pm.XRef = res.XRef
	return pm, nil
}

// cardFingerprint is a card's fingerprint: the same for the same number
// within a project, and nothing else's.
func (s *Server) cardFingerprint(scope pay.Scope, card payments.CardInput) string {
	return s.keys.BlindIndex("card/"+scope.ProjectID, card.Gateway().Digits())[:16]
}

// verifyAttempts bounds the verifications of one card in one request.
const verifyAttempts = 3

// tokeniseTestID makes a payment method (not yet saved) from the Stripe
// test ID that id names, if it names one (pm_card_visa): its test card,
// tokenised. Live mode has no test cards. For any other ID it returns nil.
func (s *Server) tokeniseTestID(ctx context.Context, st *stage, id *string, param string) (*pay.PaymentMethod, error) {
	if id == nil {
		return nil, nil
	}
	card, ok := payments.TestPaymentMethodCard(*id, s.now())
	switch {
	case !ok:
		return nil, nil
	case st.scope.Livemode:
		return nil, pay.NoSuch("PaymentMethod", *id, param)
	}
	return s.tokenise(ctx, st, card, pay.BillingDetails{})
}

// testPaymentMethodView answers a retrieve of a Stripe test ID
// (pm_card_visa) in test mode as Stripe does: with a payment method of its
// test card. Nothing is stored or sent to the gateway (every use of the ID
// makes a payment method of its own), and the answer is the same every
// time: created is the project's creation, the card is not yet checked.
func (s *Server) testPaymentMethodView(ctx context.Context, scope pay.Scope, id string) (any, error) {
	card, ok := payments.TestPaymentMethodCard(id, s.now())
	if !ok || scope.Livemode {
		return nil, pay.NoSuch("PaymentMethod", id, "id")
	}
	project, err := s.db.FindProject(ctx, scope.ProjectID)
	if err != nil {
		return nil, err
	}
	test, _ := payments.FindTestCard(card)
	pm := &pay.PaymentMethod{ID: id, Scope: scope, Created: project.Created, Type: "card",
		Card: payments.CardDetails(card, nil, s.cardFingerprint(scope, card))}
	test.Describe(&pm.Card)
	return pay.PaymentMethodView(pm), nil
}

func (s *Server) createPaymentMethod(r *http.Request, p *params) (stagedFunc, error) {
	if typ := p.RequireString("type"); typ != "" && typ != "card" {
		return nil, pay.InvalidParam("type", "Only payment methods of type card are supported.")
	}
	card, ok := readCard(p)
	if !ok && !p.Has("card") {
		p.Missing("card")
	}
	billing, _ := readBilling(p)
	md := readMetadata(p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, st *stage) error {
		var b pay.BillingDetails
		if billing != nil {
			b = *billing
		}
		pm, err := s.tokenise(ctx, st, card, b)
		if err != nil {
			if e, ok := pay.AsError(err); ok && e.Status == http.StatusPaymentRequired {
				return st.commit(ctx, func(tx *store.Tx) (any, error) { return nil, e })
			}
			return err
		}
		pm.Metadata = md.Apply(nil)
		if err := pay.CheckMetadata(pm.Metadata); err != nil {
			return err
		}
		return st.commit(ctx, func(tx *store.Tx) (any, error) {
			if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
				return nil, err
			}
			return pay.PaymentMethodView(pm), nil
		})
	}, nil
}

func (s *Server) retrievePaymentMethod(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		if payments.IsTestPaymentMethodID(id) {
			return s.testPaymentMethodView(ctx, scope, id)
		}
		pm, err := s.db.FindPaymentMethod(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
		}
		return pay.PaymentMethodView(pm), nil
	}, nil
}

func (s *Server) updatePaymentMethod(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	billing, _ := readBilling(p)
	var expMonth, expYear *int64
	if sub, ok := p.Sub("card"); ok {
		expMonth, expYear = sub.OptInt64("exp_month"), sub.OptInt64("exp_year")
	}
	md := readMetadata(p)
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		pm, err := tx.FindPaymentMethod(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
		}
		before := pay.PaymentMethodView(pm)
		if billing != nil {
			mergeBilling(&pm.Billing, *billing)
		}
		if expMonth != nil {
			if *expMonth < 1 || *expMonth > 12 {
				return nil, pay.InvalidParam("card[exp_month]", "exp_month must be between 1 and 12.")
			}
			pm.Card.ExpMonth = int(*expMonth)
		}
		if expYear != nil {
			if *expYear < int64(tx.Now.Year()) || *expYear > int64(tx.Now.Year())+50 {
				return nil, pay.InvalidParam("card[exp_year]", "exp_year must be this year or later.")
			}
			pm.Card.ExpYear = int(*expYear)
		}
		pm.Metadata = md.Apply(pm.Metadata)
		if err := pay.CheckMetadata(pm.Metadata); err != nil {
			return nil, err
		}
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return nil, err
		}
		after := pay.PaymentMethodView(pm)
		return after, s.emitUpdate(ctx, tx, scope, pay.EventPaymentMethodUpdated, pm.ID, before, after)
	}, nil
}

// mergeBilling applies sent billing fields; empty strings unset.
func mergeBilling(dst *pay.BillingDetails, src pay.BillingDetails) {
	dst.Name, dst.Email, dst.Phone = src.Name, src.Email, src.Phone
	if src.Address != nil {
		dst.Address = src.Address
	}
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
func (s *Server) attachPaymentMethod(r *http.Request, p *params) (cardWrite, error) {
	id := r.PathValue("id")
	customer := p.RequireString("customer")
	return cardWrite{paymentMethod: &id, param: "id", fn: func(ctx context.Context, tx *store.Tx, scope pay.Scope, fresh *pay.PaymentMethod) (any, error) {
		if err := s.requireCustomer(ctx, tx, scope, customer, "customer"); err != nil {
			return nil, err
		}
		pm := fresh
		if pm == nil {
			var err error
			if pm, err = tx.FindPaymentMethod(ctx, scope, id); err != nil {
				return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
			}
		}
		if err := checkAttach(pm, customer, ""); err != nil {
			return nil, err
		}
		return s.attach(ctx, tx, pm, fresh != nil, customer)
	}}, nil
}

// checkAttach refuses to attach pm to customer ("" for one not yet
// created) if it is attached to another, or if it is one of Stripe's
// decline test cards, which Stripe declines on attach.
func checkAttach(pm *pay.PaymentMethod, customer, param string) error {
	if pm.Customer != "" && pm.Customer != customer {
		return pay.InvalidRequest("payment_method_unexpected_state", param, "The payment method you provided has already been attached to a customer.")
	}
	return payments.AttachDecline(pm.Card)
}

// attach attaches pm, checked with checkAttach, to customer in tx: a
// payment method made in this request (fresh) is inserted, a stored one
// updated.
func (s *Server) attach(ctx context.Context, tx *store.Tx, pm *pay.PaymentMethod, fresh bool, customer string) (any, error) {
	pm.Customer = customer
	write := tx.UpdatePaymentMethod
	if fresh {
		write = tx.CreatePaymentMethod
	}
	if err := write(ctx, pm); err != nil {
		return nil, err
	}
	v := pay.PaymentMethodView(pm)
	return v, s.emit(ctx, tx, pm.Scope, pay.EventPaymentMethodAttached, pm.ID, v, nil)
}

func (s *Server) detachPaymentMethod(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		pm, err := tx.FindPaymentMethod(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
		}
		if pm.Customer == "" {
			return nil, pay.InvalidRequest("payment_method_unexpected_state", "", "The payment method %s is not attached to a customer.", id)
		}
		pm.Customer = ""
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return nil, err
		}
		v := pay.PaymentMethodView(pm)
		return v, s.emit(ctx, tx, scope, pay.EventPaymentMethodDetached, pm.ID, v, nil)
	}, nil
}

// requireCustomer checks that a customer exists in the scope and is not deleted.
func (s *Server) requireCustomer(ctx context.Context, tx *store.Tx, scope pay.Scope, id, param string) error {
	c, err := tx.FindCustomer(ctx, scope, id)
	if err == nil && c.Deleted {
		err = pay.ErrNotFound
	}
	return pay.NotFoundAs(err, "customer", id, param)
}
