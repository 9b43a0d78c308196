package payments

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Checkout session lifetimes: Stripe's expires_at range, the original
// product's expires_in range, and its 30-minute default.
const (
	checkoutDefaultTTL = 30 * time.Minute
	checkoutMinTTL     = 5 * time.Minute
	checkoutMaxTTL     = 24 * time.Hour
)

// MaxLineItems bounds a checkout session's line items.
const MaxLineItems = 100

// CheckoutParams are a new checkout session's parameters, checked as far
// as they can be without the project and its objects. ExpiresAt (Stripe's)
// and ExpiresIn (the original product's, in seconds) are exclusive.
type CheckoutParams struct {
	Currency             string
	LineItems            []pay.LineItem
	SuccessURL           string
	CancelURL            string
	Customer             string
	CustomerEmail        *string
	ClientReferenceID    *string
	Metadata             pay.MetadataUpdate
	ExpiresAt, ExpiresIn *int64
	// PaymentIntentData: what the payment intent a payment makes gets.
	PIMetadata            pay.MetadataUpdate
	PIDescription         *string
	PICaptureMethod       *string
	PIStatementDescriptor *string
}

// CreateCheckoutSession creates a hosted checkout session.
func (s *Service) CreateCheckoutSession(ctx context.Context, call Call, p CheckoutParams) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		exp, err := checkoutExpiry(tx.Now, p.ExpiresAt, p.ExpiresIn)
		if err != nil {
			return nil, err
		}
		cs := &pay.CheckoutSession{Scope: call.Scope, ExpiresAt: exp, Mode: "payment", Status: pay.CheckoutOpen, PaymentStatus: "unpaid",
			Currency: p.Currency, LineItems: p.LineItems, SuccessURL: p.SuccessURL, CancelURL: p.CancelURL, Customer: p.Customer,
			Metadata: p.Metadata.Apply(nil), PIMetadata: p.PIMetadata.Apply(nil)}
		for _, li := range p.LineItems {
			cs.AmountTotal += li.Total()
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&cs.CustomerEmail, p.CustomerEmail)
		set(&cs.ClientReferenceID, p.ClientReferenceID)
		set(&cs.PIDescription, p.PIDescription)
		set(&cs.PICaptureMethod, p.PICaptureMethod)
		set(&cs.PIStatementDescriptor, p.PIStatementDescriptor)
		if err := s.checkCheckout(ctx, tx, cs); err != nil {
			return nil, err
		}
		if err := tx.CreateCheckoutSession(ctx, cs); err != nil {
			return nil, err
		}
		return cs, nil
	})
}

// checkCheckout validates what depends on the project and its objects, and
// the line items again (a caller other than the API, which checks them
// first with messages of its own, may pass anything).
func (s *Service) checkCheckout(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession) error {
	if len(cs.LineItems) == 0 || len(cs.LineItems) > MaxLineItems {
		return pay.InvalidParam("line_items", "line_items must have between 1 and %d items.", MaxLineItems)
	}
	for i, li := range cs.LineItems {
		switch {
		case li.Quantity < 1 || li.Quantity > 999999:
			return pay.InvalidParam(fmt.Sprintf("line_items[%d][quantity]", i), "quantity must be between 1 and 999999.")
		case li.UnitAmount < 0 || li.UnitAmount > 99999999:
			return pay.InvalidParam(fmt.Sprintf("line_items[%d][price_data][unit_amount]", i), "unit_amount must be between 0 and 99999999.")
		case li.Name == "":
			return pay.InvalidParam(fmt.Sprintf("line_items[%d][price_data][product_data][name]", i), "Each line item needs a name.")
		}
	}
	if !s.CurrencyAllowed(cs.Scope, cs.Currency) {
		return pay.InvalidParam("line_items[0][price_data][currency]", "Currency %q is not enabled for this project.", pay.Clip(cs.Currency, 10))
	}
	if cs.AmountTotal < pay.MinimumAmount(cs.Currency) || cs.AmountTotal > 99999999 {
		return pay.InvalidRequest("amount_too_small", "line_items", "The total must be between %d and 99999999 %s.", pay.MinimumAmount(cs.Currency), cs.Currency)
	}
	if err := pay.CheckMetadata(cs.Metadata); err != nil {
		return err
	}
	if cs.Customer != "" {
		return requireCustomer(ctx, tx, cs.Scope, cs.Customer, "customer")
	}
	return nil
}

// checkoutExpiry takes Stripe's expires_at or the original product's
// expires_in (seconds), within 5 minutes and 24 hours; 30 minutes by default.
func checkoutExpiry(now time.Time, at, in *int64) (int64, error) {
	switch {
	case at != nil && in != nil:
		return 0, pay.InvalidParam("expires_in", "You may pass only one of expires_at and expires_in.")
	case in != nil:
		if *in < int64(checkoutMinTTL/time.Second) || *in > int64(checkoutMaxTTL/time.Second) {
			return 0, pay.InvalidParam("expires_in", "expires_in must be between 300 and 86400 seconds.")
		}
		return now.Unix() + *in, nil
	case at != nil:
		d := time.Unix(*at, 0).Sub(now)
		if d < checkoutMinTTL || d > checkoutMaxTTL {
			return 0, pay.InvalidParam("expires_at", "expires_at must be between 5 minutes and 24 hours from now.")
		}
		return *at, nil
	}
	return now.Add(checkoutDefaultTTL).Unix(), nil
}

// ExpireCheckoutSession expires an open checkout session.
func (s *Service) ExpireCheckoutSession(ctx context.Context, call Call, id string) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		cs, err := tx.FindCheckoutSessionByID(ctx, id)
		if err == nil && (cs.Scope != call.Scope || cs.Internal()) {
			err = pay.ErrNotFound // an invoice's or a portal's session is internal
		}
		if err != nil {
			return nil, pay.NotFoundAs(err, "checkout.session", id, "id")
		}
		if cs.Status != pay.CheckoutOpen {
			return nil, pay.InvalidRequest("checkout_session_unexpected_state", "", "Only open Checkout Sessions can be expired; this one is %s.", cs.Status)
		}
		return s.expire(ctx, tx, cs)
	})
}

func (s *Service) expire(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession) (any, error) {
	cs.Status = pay.CheckoutExpired
	if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
		return nil, err
	}
	if cs.Internal() {
		return cs, nil // no checkout.session events
	}
	return cs, Emit(ctx, tx, cs.Scope, pay.EventCheckoutSessionExpired, cs.ID, pay.CheckoutSessionView(cs, s.publicURL), nil)
}

// ExpireCheckoutSessions marks overdue open sessions expired, once, and
// returns how many it expired.
func (s *Service) ExpireCheckoutSessions(ctx context.Context) (int, error) {
	ids, err := s.db.FindOverdueCheckoutSessions(ctx, s.now().Unix(), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			cs, err := tx.FindCheckoutSessionByID(ctx, id)
			if err != nil || cs.Status != pay.CheckoutOpen {
				return err // paid or expired meanwhile
			}
			n++
			_, err = s.expire(ctx, tx, cs)
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// callbackURL is where the gateway sends the shopper's browser (redirect)
// and its own server-to-server copy (channel=callback) of a session's result.
func (s *Service) callbackURL(id string, serverToServer bool) string {
	u := s.publicURL + CheckoutCallbackPath + "?session_id=" + url.QueryEscape(id)
	if serverToServer {
		u += "&channel=callback"
	}
	return u
}

// Lengths of an attempt's random nonce and of its MAC (hex: 64 bits).
const (
	attemptNonceLen = 10
	attemptMACLen   = 16
)

// attemptUnique is the transactionUnique of a hosted payment attempt of a
// session: "{session}-{nonce}-{mac}", a fresh random nonce per page view
// (so a retry after a decline is not refused as a duplicate) and a MAC,
// under the server's keyring, binding it to the session. The page records
// nothing, yet a verified gateway result can still be required to carry an
// attempt this server made for this session (isAttempt); the attempt is
// recorded when its result arrives.
func (s *Service) attemptUnique(session, nonce string) string {
	return session + "-" + nonce + "-" + s.keys.MAC([]byte("checkout attempt\x00" + session + "\x00" + nonce))[:attemptMACLen]
}

// isAttempt reports whether unique is attemptUnique of the session for
// some nonce.
func (s *Service) isAttempt(session, unique string) bool {
	rest, ok := strings.CutPrefix(unique, session+"-")
	nonce, _, _ := strings.Cut(rest, "-")
	return ok && len(nonce) == attemptNonceLen && subtle.ConstantTimeCompare([]byte(unique), []byte(s.attemptUnique(session, nonce))) == 1
}

// HostedForm builds the signed SALE of a new attempt at paying the
// session on the gateway's hosted page. It records nothing (see
// attemptUnique). A test-mode session on a server whose sandbox browsers
// cannot reach fails with ErrNoHostedSandbox.
func (s *Service) HostedForm(cs *pay.CheckoutSession) (*cardstream.HostedForm, error) {
	gw, err := s.gateways.For(cs.Scope.Livemode)
	if err != nil {
		return nil, err
	}
	action := "SALE"
	if cs.Setup() {
		action = "VERIFY" // a portal's card replacement: amount 0, tokenise only
	}
	req := cardstream.HostedRequest{Action: action, Type: cardstream.TypeECOM, Amount: cs.AmountTotal,
		CurrencyCode: CurrencyNumeric(cs.Currency), TransactionUnique: s.attemptUnique(cs.ID, pay.RandomString(attemptNonceLen)), OrderRef: cs.ID,
		RedirectURL: s.callbackURL(cs.ID, false), CallbackURL: s.callbackURL(cs.ID, true), FormResponsive: true, AllowCancel: true,
		Customer: cardstream.Customer{Email: cs.CustomerEmail},
		// A wrong security code declines the card, as on the Direct API.
		Extra: cardstream.Fields{{Name: "cv2CheckPref", Value: cardstream.StrictCV2CheckPref}}}
	if cs.PICaptureMethod == "manual" {
		req.CaptureDelay = -1
	}
	return gw.Hosted(req)
}

// Errors of CompleteHostedPayment.
var (
	// ErrCallbackRejected marks a callback that failed verification or
	// matching: nothing was recorded.
	ErrCallbackRejected = errors.New("checkout callback rejected")
	// ErrNoGateway: no gateway (so no signature key) is configured for the
	// session's mode, and an unverifiable callback is never processed.
	ErrNoGateway = errors.New("no gateway is configured for the session's mode")
)

// CompleteHostedPayment records the gateway's result of a hosted payment
// of the session, from the shopper's browser (a signed POST from the
// gateway's page) or the gateway's own server-to-server copy, in any order
// and possibly more than once, and returns where to send the shopper. r is
// authenticated by its signature alone, which is never skipped unless the
// test-mode bypass was set explicitly (Config.SkipCallbackSignature).
func (s *Service) CompleteHostedPayment(ctx context.Context, r *http.Request, cs *pay.CheckoutSession) (string, error) {
	gw, err := s.gateways.For(cs.Scope.Livemode)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoGateway, err)
	}
	res, err := s.verifyCallback(r, gw, cs)
	if err != nil {
		return "", err
	}
	var (
		target string
		refund *pay.GatewayOp
	)
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		target, refund, err = s.applyCallback(ctx, tx, cs.ID, res)
		return err
	})
	if err == nil && refund != nil {
		if err := s.crashAt("refund-recorded"); err != nil {
			return "", err
		}
		s.sendRefundNow(ctx, refund)
	}
	return target, err
}

// verifyCallback checks the signature over the body's own fields, then that
// the result is for this session: merchant, amount, currency, and a
// transactionUnique of one of its attempts.
func (s *Service) verifyCallback(r *http.Request, gw Gateway, cs *pay.CheckoutSession) (*cardstream.Result, error) {
	var (
		res *cardstream.Result
		err error
	)
	// The test-mode bypass is decided per callback from the session's own
	// mode: whatever the configuration, a live session's result is always
	// verified.
	if s.skipCallbackSignature && !cs.Scope.Livemode {
		fields, ferr := cardstream.ReadBody(r)
		if ferr != nil {
			return nil, fmt.Errorf("%w: %v", ErrCallbackRejected, ferr)
		}
		res, err = cardstream.NewResult(fields)
	} else {
		res, err = gw.ParseCallback(r)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCallbackRejected, err)
	}
	if err := res.Match(cardstream.Expectation{MerchantID: gw.MerchantID(), Amount: cs.AmountTotal,
		CurrencyCode: CurrencyNumeric(cs.Currency), OrderRef: cs.ID}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCallbackRejected, err)
	}
	if cs.Setup() && res.Action != "VERIFY" {
		return nil, fmt.Errorf("%w: %w (action %q)", ErrCallbackRejected, errNotVerify, pay.Clip(res.Action, 20))
	}
	if !s.isAttempt(cs.ID, res.TransactionUnique) {
		return nil, fmt.Errorf("%w: transactionUnique %q is not an attempt of this session", ErrCallbackRejected, pay.Clip(res.TransactionUnique, 120))
	}
	return res, nil
}

// applyCallback records a verified result and returns where to send the
// shopper, and the gateway op of a refund to send once tx has committed
// (an invoice's payment it could not take). It is idempotent: the same
// result again changes nothing and sends the shopper to the same place.
func (s *Service) applyCallback(ctx context.Context, tx *store.Tx, id string, res *cardstream.Result) (string, *pay.GatewayOp, error) {
	cs, err := tx.FindCheckoutSessionByID(ctx, id)
	if err != nil {
		return "", nil, err
	}
	if cs.Setup() {
		target, err := s.applyCardSetup(ctx, tx, cs, res)
		return target, nil, err
	}
	if !res.Approved() {
		target, err := s.applyDecline(ctx, tx, cs, res)
		return target, nil, err
	}
	if cs.Seen(res.XRef, "", true) {
		return s.paidTarget(cs, res.XRef), nil, nil // already recorded
	}
	pi, err := s.recordHostedPayment(ctx, tx, cs, res)
	if err != nil {
		return "", nil, err
	}
	if cs.Invoice != "" {
		return s.invoicePaid(ctx, tx, cs, pi, res)
	}
	success := strings.ReplaceAll(cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID)
	if cs.PaymentStatus == "paid" {
		// A second payment for a paid session: the money moved, so it is
		// recorded on its own payment intent, flagged for the merchant.
		s.log.ErrorContext(ctx, "checkout session paid twice", "session", cs.ID, "payment_intent", pi.ID)
		cs.OtherXRefs = append(cs.OtherXRefs, res.XRef)
		return success, nil, tx.UpdateCheckoutSession(ctx, cs)
	}
	cs.PaidAfterExpiry = cs.Status == pay.CheckoutExpired || tx.Now.Unix() >= cs.ExpiresAt
	if cs.PaidAfterExpiry {
		s.log.WarnContext(ctx, "checkout session paid after it expired: payment recorded", "session", cs.ID, "payment_intent", pi.ID)
	}
	cs.Attempt++
	cs.Status, cs.PaymentStatus, cs.PaymentIntent, cs.PaidXRef = pay.CheckoutComplete, "paid", pi.ID, res.XRef
	if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
		return "", nil, err
	}
	return success, nil, Emit(ctx, tx, cs.Scope, pay.EventCheckoutSessionCompleted, cs.ID, pay.CheckoutSessionView(cs, s.publicURL), nil)
}

// paidTarget is where a payment of the session, recorded before, sends
// the shopper.
func (s *Service) paidTarget(cs *pay.CheckoutSession, xref string) string {
	if cs.Invoice == "" {
		return strings.ReplaceAll(cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID)
	}
	if xref == cs.PaidXRef {
		return cs.SuccessURL
	}
	return invoicePageWith(invoicePage(cs), InvoicePageRefunded)
}

// applyDecline records a failed attempt (declined, or cancelled by the
// shopper) once, unless the session is paid, and returns where to send the
// shopper.
func (s *Service) applyDecline(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession, res *cardstream.Result) (string, error) {
	fresh := cs.PaymentStatus != "paid" && !cs.Seen("", res.TransactionUnique, false)
	if fresh {
		cs.Attempt++
		cs.NoteDeclined(res.TransactionUnique)
		cs.LastAttempt = &pay.CheckoutAttempt{TransactionUnique: res.TransactionUnique, ResponseCode: res.ResponseCode,
			ResponseMessage: pay.Clip(res.ResponseMessage, 200), At: tx.Now.Unix()}
		if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
			return "", err
		}
	}
	if cs.Invoice != "" {
		return s.invoiceDeclined(ctx, tx, cs, res, fresh)
	}
	return cs.CancelURL, nil
}

// recordHostedPayment creates the payment method, payment intent and charge
// of a paid hosted payment.
func (s *Service) recordHostedPayment(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession, res *cardstream.Result) (*pay.PaymentIntent, error) {
	pm := &pay.PaymentMethod{Scope: cs.Scope, Type: "card", Customer: cs.Customer, Card: hostedCard(res), XRef: res.XRef,
		Billing: pay.BillingDetails{Email: cs.CustomerEmail}}
	if cs.Invoice != "" {
		pm.Customer = "" // as Stripe's hosted invoice page, the card is not saved to the customer
	}
	if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
		return nil, err
	}
	if pm.Customer != "" {
		if err := Emit(ctx, tx, cs.Scope, pay.EventPaymentMethodAttached, pm.ID, pay.PaymentMethodView(pm), nil); err != nil {
			return nil, err
		}
	}
	pi := &pay.PaymentIntent{Scope: cs.Scope, Amount: cs.AmountTotal, Currency: cs.Currency, CaptureMethod: "automatic", Customer: cs.Customer,
		PaymentMethod: pm.ID, Description: cs.PIDescription, Metadata: cs.PIMetadata, ReceiptEmail: cs.CustomerEmail,
		StatementDescriptor: cs.PIStatementDescriptor}
	if cs.PICaptureMethod != "" {
		pi.CaptureMethod = cs.PICaptureMethod
	}
	if cs.PaymentStatus == "paid" && cs.Invoice == "" {
		pi.Metadata = map[string]string{"calmony_duplicate_payment_of": cs.ID}
	}
	event := pay.EventPaymentIntentSucceeded
	if res.State == cardstream.StateApproved {
		pi.Status, pi.AmountCapturable, event = pay.StatusRequiresCapture, res.AmountReceived, pay.EventPaymentIntentAmountCapturableUpdated
	} else {
		pi.Status, pi.AmountReceived = pay.StatusSucceeded, res.AmountReceived
	}
	if err := tx.CreatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	ch := newCharge(pi, pm, res)
	ch.Card.ThreeDSecure = threeDSResult(res, "") // the hosted page's 3-D Secure
	if err := tx.CreateCharge(ctx, ch); err != nil {
		return nil, err
	}
	pi.LatestCharge = ch.ID
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	return pi, Emit(ctx, tx, cs.Scope, event, pi.ID, pay.PaymentIntentView(pi), nil)
}

// hostedCard describes the card from the gateway's answer (masked number,
// type, expiry): the hosted page never shows us the card itself.
func hostedCard(res *cardstream.Result) pay.CardDetails {
	mask := res.Card.Mask
	d := pay.CardDetails{Brand: "unknown", Funding: Funding(res.Card.Type),
		Country: Alpha2(res.Card.IssuerCountryCode), ExpMonth: res.Card.ExpiryMonth, CVCCheck: CheckResult(res.Checks.CV2)}
	if len(mask) >= 6 {
		d.Brand = Brand(mask[:6])
	}
	if len(mask) >= 4 {
		d.Last4 = mask[len(mask)-4:]
	}
	if res.Card.ExpiryYear > 0 {
		d.ExpYear = 2000 + res.Card.ExpiryYear%100
	}
	return d
}
