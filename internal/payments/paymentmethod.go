package payments

import (
	"context"
	"errors"
	"net/http"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// PaymentMethodUpdate is a payment method update: fields left nil are
// unchanged.
type PaymentMethodUpdate struct {
	Billing           *pay.BillingDetails
	ExpMonth, ExpYear *int64
	Metadata          pay.MetadataUpdate
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
// transaction; it answers a call whose idempotency key is already used
// before the gateway call (steps.peek). The returned payment method is not
// yet saved.
//
// In test mode one of Stripe's test cards is verified as the Cardstream
// test card that stands in for it (TestCard), without the billing address,
// which the stand-in's address check could only fail.
func (s *Service) tokenise(ctx context.Context, st *steps, card CardInput, billing pay.BillingDetails) (*pay.PaymentMethod, error) {
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
	test, isTest := FindTestCard(card)
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
			return nil, GatewayUnavailable(errors.New("every verification was answered as a duplicate"))
		}
		pm = &pay.PaymentMethod{ID: pay.NewID(pay.PrefixPaymentMethod), Scope: scope, Type: "card", Billing: billing}
		// A wrong security code declines the card, as Stripe's default rules do.
		res, err = gw.Verify(ctx, cardstream.VerifyRequest{Card: verified.Gateway(), TransactionUnique: pm.ID, OrderRef: pm.ID,
			Customer: customer, Checks: cardstream.CheckPrefs{CV2: cardstream.StrictCV2CheckPref}})
		if err != nil {
			return nil, GatewayUnavailable(err)
		}
	}
	if !res.Approved() {
		return nil, DeclineError(res)
	}
	pm.Card = CardDetails(card, res, s.cardFingerprint(scope, card))
	if isTest {
		test.Describe(&pm.Card)
	}
	pm.XRef = res.XRef
	return pm, nil
}

// cardFingerprint is a card's fingerprint: the same for the same number
// within a project, and nothing else's.
func (s *Service) cardFingerprint(scope pay.Scope, card CardInput) string {
	return s.keys.BlindIndex("card/"+scope.ProjectID, card.Gateway().Digits())[:16]
}

// verifyAttempts bounds the verifications of one card in one call.
const verifyAttempts = 3

// tokeniseTestID makes a payment method (not yet saved) from the Stripe
// test ID that id names, if it names one (pm_card_visa): its test card,
// tokenised. Live mode has no test cards. For any other ID it returns nil.
func (s *Service) tokeniseTestID(ctx context.Context, st *steps, id *string, param string) (*pay.PaymentMethod, error) {
	if id == nil {
		return nil, nil
	}
	card, ok := TestPaymentMethodCard(*id, s.now())
	switch {
	case !ok:
		return nil, nil
	case st.scope.Livemode:
		return nil, pay.NoSuch("PaymentMethod", *id, param)
	}
	return s.tokenise(ctx, st, card, pay.BillingDetails{})
}

// withCard runs fn, a write that may name a payment method (pmID, in
// parameter param). When pmID is a Stripe test payment-method ID
// (pm_card_visa), its test card is tokenised first, a gateway call that
// cannot be made inside a transaction, and fn gets the new payment method
// (not yet saved) as fresh.
func (s *Service) withCard(ctx context.Context, call Call, pmID *string, param string,
	fn func(ctx context.Context, tx *store.Tx, fresh *pay.PaymentMethod) (any, error)) (*Answer, error) {
	if pmID == nil || !IsTestPaymentMethodID(*pmID) {
		return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) { return fn(ctx, tx, nil) })
	}
	return s.run(ctx, call, func(ctx context.Context, st *steps) error {
		fresh, err := s.tokeniseTestID(ctx, st, pmID, param)
		if err != nil {
			return err
		}
		return st.commit(ctx, func(tx *store.Tx) (any, error) { return fn(ctx, tx, fresh) })
	})
}

// TestPaymentMethod is a Stripe test ID (pm_card_visa) as Stripe shows it
// in test mode: a payment method of its test card. Nothing is stored or
// sent to the gateway (every use of the ID makes a payment method of its
// own), and it is the same every time: created is the project's creation,
// the card is not yet checked.
func (s *Service) TestPaymentMethod(ctx context.Context, scope pay.Scope, id string) (*pay.PaymentMethod, error) {
	card, ok := TestPaymentMethodCard(id, s.now())
	if !ok || scope.Livemode {
		return nil, pay.NoSuch("PaymentMethod", id, "id")
	}
	project, err := s.db.FindProject(ctx, scope.ProjectID)
	if err != nil {
		return nil, err
	}
	test, _ := FindTestCard(card)
	pm := &pay.PaymentMethod{ID: id, Scope: scope, Created: project.Created, Type: "card",
		Card: CardDetails(card, nil, s.cardFingerprint(scope, card))}
	test.Describe(&pm.Card)
	return pm, nil
}

// CreatePaymentMethod tokenises a card (see tokenise) and saves it. A
// decline is answered, and kept under the call's key.
func (s *Service) CreatePaymentMethod(ctx context.Context, call Call, card CardInput, billing pay.BillingDetails, md pay.MetadataUpdate) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error {
		pm, err := s.tokenise(ctx, st, card, billing)
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
			return pm, nil
		})
	})
}

// UpdatePaymentMethod changes a payment method's billing details, expiry
// and metadata.
func (s *Service) UpdatePaymentMethod(ctx context.Context, call Call, id string, u PaymentMethodUpdate) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		pm, err := tx.FindPaymentMethod(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
		}
		before := pay.PaymentMethodView(pm)
		if u.Billing != nil {
			mergeBilling(&pm.Billing, *u.Billing)
		}
		if u.ExpMonth != nil {
			if *u.ExpMonth < 1 || *u.ExpMonth > 12 {
				return nil, pay.InvalidParam("card[exp_month]", "exp_month must be between 1 and 12.")
			}
			pm.Card.ExpMonth = int(*u.ExpMonth)
		}
		if u.ExpYear != nil {
			if *u.ExpYear < int64(tx.Now.Year()) || *u.ExpYear > int64(tx.Now.Year())+50 {
				return nil, pay.InvalidParam("card[exp_year]", "exp_year must be this year or later.")
			}
			pm.Card.ExpYear = int(*u.ExpYear)
		}
		pm.Metadata = u.Metadata.Apply(pm.Metadata)
		if err := pay.CheckMetadata(pm.Metadata); err != nil {
			return nil, err
		}
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return nil, err
		}
		return pm, EmitUpdate(ctx, tx, call.Scope, pay.EventPaymentMethodUpdated, pm.ID, before, pay.PaymentMethodView(pm))
	})
}

// mergeBilling applies sent billing fields; empty strings unset.
func mergeBilling(dst *pay.BillingDetails, src pay.BillingDetails) {
	dst.Name, dst.Email, dst.Phone = src.Name, src.Email, src.Phone
	if src.Address != nil {
		dst.Address = src.Address
	}
}

// AttachPaymentMethod attaches a payment method (or a Stripe test ID,
// which is tokenised first) to a customer.
func (s *Service) AttachPaymentMethod(ctx context.Context, call Call, id, customer string) (*Answer, error) {
	return s.withCard(ctx, call, &id, "id", func(ctx context.Context, tx *store.Tx, fresh *pay.PaymentMethod) (any, error) {
		if err := requireCustomer(ctx, tx, call.Scope, customer, "customer"); err != nil {
			return nil, err
		}
		pm := fresh
		if pm == nil {
			var err error
			if pm, err = tx.FindPaymentMethod(ctx, call.Scope, id); err != nil {
				return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
			}
		}
		if err := checkAttach(pm, customer, ""); err != nil {
			return nil, err
		}
		return s.attach(ctx, tx, pm, fresh != nil, customer)
	})
}

// checkAttach refuses to attach pm to customer ("" for one not yet
// created) if it is attached to another, or if it is one of Stripe's
// decline test cards, which Stripe declines on attach.
func checkAttach(pm *pay.PaymentMethod, customer, param string) error {
	if pm.Customer != "" && pm.Customer != customer {
		return pay.InvalidRequest("payment_method_unexpected_state", param, "The payment method you provided has already been attached to a customer.")
	}
	return AttachDecline(pm.Card)
}

// attach attaches pm, checked with checkAttach, to customer in tx: a
// payment method made in this call (fresh) is inserted, a stored one
// updated.
func (s *Service) attach(ctx context.Context, tx *store.Tx, pm *pay.PaymentMethod, fresh bool, customer string) (any, error) {
	pm.Customer = customer
	write := tx.UpdatePaymentMethod
	if fresh {
		write = tx.CreatePaymentMethod
	}
	if err := write(ctx, pm); err != nil {
		return nil, err
	}
	return pm, Emit(ctx, tx, pm.Scope, pay.EventPaymentMethodAttached, pm.ID, pay.PaymentMethodView(pm), nil)
}

// DetachPaymentMethod detaches a payment method from its customer, and
// unsets it as the customer's default payment method if it was.
func (s *Service) DetachPaymentMethod(ctx context.Context, call Call, id string) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		pm, err := tx.FindPaymentMethod(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "PaymentMethod", id, "id")
		}
		if pm.Customer == "" {
			return nil, pay.InvalidRequest("payment_method_unexpected_state", "", "The payment method %s is not attached to a customer.", id)
		}
		// The customer's default, if it was, is unset, as Stripe does.
		c, err := tx.FindCustomer(ctx, call.Scope, pm.Customer)
		if err != nil {
			return nil, err
		}
		if c.DefaultPaymentMethod == pm.ID {
			before := pay.CustomerView(c)
			c.DefaultPaymentMethod = ""
			if err := tx.UpdateCustomer(ctx, c); err != nil {
				return nil, err
			}
			if err := EmitUpdate(ctx, tx, call.Scope, pay.EventCustomerUpdated, c.ID, before, pay.CustomerView(c)); err != nil {
				return nil, err
			}
		}
		pm.Customer = ""
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return nil, err
		}
		return pm, Emit(ctx, tx, call.Scope, pay.EventPaymentMethodDetached, pm.ID, pay.PaymentMethodView(pm), nil)
	})
}

// requireCustomer checks that a customer exists in the scope and is not deleted.
func requireCustomer(ctx context.Context, tx *store.Tx, scope pay.Scope, id, param string) error {
	c, err := tx.FindCustomer(ctx, scope, id)
	if err == nil && c.Deleted {
		err = pay.ErrNotFound
	}
	return pay.NotFoundAs(err, "customer", id, param)
}
