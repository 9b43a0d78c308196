package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// A customer replaces their card from the customer portal through the
// machinery of hosted checkout: an internal checkout session of mode
// "setup" bound to the portal session (CheckoutSession.PortalSession)
// makes a signed hosted VERIFY of amount 0 (tokenise only), and the
// gateway's result comes back to the checkout callback under the same
// rules (SEC-05): the signature is always verified, the merchant,
// currency, orderRef and transactionUnique must be this session's, and a
// result recorded once is never recorded again. A verified card becomes
// the customer's default payment method and, through InvoiceHooks, its
// subscriptions' default.

// What the portal page is told of a card replacement, in its query
// (?card=…).
const (
	PortalCardUpdated     = "updated"
	PortalCardDeclined    = "declined"
	PortalCardCancelled   = "cancelled"
	PortalCardUnconfirmed = "unconfirmed" // the result could not be verified
	PortalCardNotSaved    = "not_saved"   // verified, but the session could no longer save it
)

// portalCardTTL is how long a card replacement's session lives (the
// gateway's page an hour).
const portalCardTTL = time.Hour

// StartPortalCardUpdate makes, for a press of "replace card" on the portal
// page at page, the internal checkout session whose hosted VERIFY saves a
// new card for the portal session's customer. ps must be usable; that it
// still is when the result arrives is checked then.
func (s *Service) StartPortalCardUpdate(ctx context.Context, ps *pay.PortalSession, page string) (*pay.CheckoutSession, error) {
	var cs *pay.CheckoutSession
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		c, err := tx.FindCustomer(ctx, ps.Scope, ps.Customer)
		if err == nil && c.Deleted {
			err = pay.ErrNotFound
		}
		if err != nil {
			return err
		}
		cs = &pay.CheckoutSession{Scope: ps.Scope, PortalSession: ps.ID, ExpiresAt: tx.Now.Add(portalCardTTL).Unix(), Mode: "setup",
			Status: pay.CheckoutOpen, PaymentStatus: "no_payment_required", Currency: s.firstCurrency(ps.Scope),
			SuccessURL: portalPageWith(page, PortalCardUpdated), CancelURL: portalPageWith(page, PortalCardUnconfirmed),
			Customer: c.ID, CustomerEmail: c.Email,
			LineItems: []pay.LineItem{{ID: pay.NewID(pay.PrefixLineItem), Name: "Card replacement", Quantity: 1}}}
		return tx.CreateCheckoutSession(ctx, cs)
	})
	return cs, err
}

// firstCurrency is the first of the project's currencies, which a VERIFY
// names although it moves no money.
func (s *Service) firstCurrency(scope pay.Scope) string {
	if list := s.currencies.Get()[scope.ProjectID]; len(list) > 0 {
		return list[0]
	}
	return "gbp"
}

func portalPageWith(page, result string) string { return page + "?card=" + result }

// portalPage is the portal page of a card replacement's session.
func portalPage(cs *pay.CheckoutSession) string {
	page, _, _ := strings.Cut(cs.SuccessURL, "?")
	return page
}

// errNotVerify refuses a result of a card replacement that is not a
// VERIFY's.
var errNotVerify = errors.New("the result of a card replacement is not a VERIFY's")

// applyCardSetup records a verified result of a card replacement and
// returns where to send the customer. The same result again changes
// nothing.
func (s *Service) applyCardSetup(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession, res *cardstream.Result) (string, error) {
	page := portalPage(cs)
	if !res.Approved() {
		result := PortalCardDeclined
		if res.ResponseCode == cardstream.CodeCancelled {
			result = PortalCardCancelled
		}
		if cs.Status == pay.CheckoutOpen && !cs.Seen("", res.TransactionUnique, false) {
			cs.Attempt++
			cs.NoteDeclined(res.TransactionUnique)
			cs.LastAttempt = &pay.CheckoutAttempt{TransactionUnique: res.TransactionUnique, ResponseCode: res.ResponseCode,
				ResponseMessage: pay.Clip(res.ResponseMessage, 200), At: tx.Now.Unix()}
			if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
				return "", err
			}
		}
		return portalPageWith(page, result), nil
	}
	switch {
	case res.XRef != "" && res.XRef == cs.PaidXRef:
		return cs.SuccessURL, nil // recorded already
	case cs.Seen(res.XRef, "", true):
		return portalPageWith(page, PortalCardNotSaved), nil
	}
	why, err := s.cardSetupRefusal(ctx, tx, cs)
	if err != nil {
		return "", err
	}
	if why != "" {
		// A VERIFY moves no money: a card the session can no longer save
		// is only noted, so that its copies count once.
		s.log.WarnContext(ctx, "portal card replacement not saved", "session", cs.ID, "portal_session", cs.PortalSession, "why", why)
		cs.OtherXRefs = append(cs.OtherXRefs, res.XRef)
		return portalPageWith(page, PortalCardNotSaved), tx.UpdateCheckoutSession(ctx, cs)
	}
	pm, err := s.saveReplacementCard(ctx, tx, cs, res)
	if err != nil {
		return "", err
	}
	cs.Attempt++
	cs.Status, cs.PaidXRef = pay.CheckoutComplete, res.XRef
	if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
		return "", err
	}
	if s.invoices == nil {
		return "", errNoInvoiceHooks
	}
	return cs.SuccessURL, s.invoices.CustomerCardReplaced(ctx, tx, cs.Scope, cs.Customer, pm.ID)
}

// cardSetupRefusal says why a verified card cannot be saved for the
// session's customer ("" if it can): the session saved one already, the
// portal session was revoked or expired, or the customer was deleted.
func (s *Service) cardSetupRefusal(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession) (string, error) {
	if cs.Status == pay.CheckoutComplete {
		return "the session saved a card already", nil
	}
	ps, err := tx.FindPortalSession(ctx, cs.PortalSession)
	if err != nil {
		return "", err
	}
	if ps.Scope != cs.Scope || ps.Customer != cs.Customer {
		return "", fmt.Errorf("card replacement %s: portal session %s is another customer's", cs.ID, ps.ID)
	}
	if !ps.Usable(tx.Now.Unix()) {
		return "the portal session was revoked or expired", nil
	}
	c, err := tx.FindCustomer(ctx, cs.Scope, cs.Customer)
	if err != nil || c.Deleted {
		return "the customer was deleted", ignoreNotFound(err)
	}
	return "", nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, pay.ErrNotFound) {
		return nil
	}
	return err
}

// saveReplacementCard creates the verified card's payment method, attached
// to the customer, and makes it the customer's default, with
// payment_method.attached and customer.updated.
func (s *Service) saveReplacementCard(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession, res *cardstream.Result) (*pay.PaymentMethod, error) {
	c, err := tx.FindCustomer(ctx, cs.Scope, cs.Customer)
	if err != nil {
		return nil, err
	}
	pm := &pay.PaymentMethod{Scope: cs.Scope, Type: "card", Customer: c.ID, Card: hostedCard(res), XRef: res.XRef,
		Billing: pay.BillingDetails{Email: c.Email, Name: c.Name}}
	if r := threeDSResult(res, ""); r != nil && (r.Result == "authenticated" || r.Result == "attempt_acknowledged") {
		pm.Card.SetUpOffSession = true
	}
	if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
		return nil, err
	}
	if err := Emit(ctx, tx, cs.Scope, pay.EventPaymentMethodAttached, pm.ID, pay.PaymentMethodView(pm), nil); err != nil {
		return nil, err
	}
	before := pay.CustomerView(c)
	c.DefaultPaymentMethod = pm.ID
	if err := tx.UpdateCustomer(ctx, c); err != nil {
		return nil, err
	}
	return pm, EmitUpdate(ctx, tx, cs.Scope, pay.EventCustomerUpdated, c.ID, before, pay.CustomerView(c))
}
