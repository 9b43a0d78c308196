package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// ConfirmParams are a confirmation's own parameters.
type ConfirmParams struct {
	// PaymentMethod replaces the intent's payment method, if not nil.
	PaymentMethod *string
	// OffSession marks a merchant-initiated payment: the customer is not
	// there to authenticate.
	OffSession bool
	// Recurring marks a payment of a subscription: the card is flagged as
	// held for recurring payments (rtAgreementType=recurring), and an
	// off-session one is a continuous-authority MIT (type 9), as the
	// Cardstream credential-on-file matrix says (§8.4).
	Recurring    bool
	ReceiptEmail *string
	// ReturnURL is where the customer's browser goes after 3-D Secure
	// (return_url); "" answers a challenge with use_stripe_sdk instead of
	// redirect_to_url.
	ReturnURL string
	// RequestThreeDS is payment_method_options[card][request_three_d_secure],
	// if sent: automatic, any or challenge.
	RequestThreeDS *string
	// ErrorOnRequiresAction (error_on_requires_action) fails the payment
	// with authentication_required instead of waiting in requires_action.
	ErrorOnRequiresAction bool
}

// CreatePaymentIntent creates a payment intent from upd (Amount and
// Currency set), and with confirm confirms it at once: then a refusal
// before the gateway call leaves nothing behind. A Stripe test
// payment-method ID in upd (pm_card_visa) is tokenised first.
func (s *Service) CreatePaymentIntent(ctx context.Context, call Call, upd pay.PaymentIntentUpdate, confirm bool, opts ConfirmParams) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error {
		fresh, err := s.tokeniseTestID(ctx, st, upd.PaymentMethod, "payment_method")
		if err != nil {
			return err
		}
		// build makes the new intent, with its ID; the caller stores it and
		// records its payment_intent.created event.
		build := func(tx *store.Tx) (*pay.PaymentIntent, *pay.PaymentMethod, error) {
			pi := &pay.PaymentIntent{Scope: st.scope, Status: pay.StatusRequiresPaymentMethod, CaptureMethod: "automatic"}
			pm, err := s.applyIntentChange(ctx, tx, pi, upd, fresh)
			if err != nil {
				return nil, nil, err
			}
			if fresh != nil {
				if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
					return nil, nil, err
				}
			}
			if pi.PaymentMethod != "" {
				pi.Status = pay.StatusRequiresConfirmation
			}
			tx.NewPaymentIntent(pi)
			return pi, pm, nil
		}
		if confirm {
			return s.confirm(ctx, st, "", opts, build)
		}
		// No gateway call: one transaction writes the intent and its
		// answer, so a crash leaves either both or neither.
		return st.commit(ctx, func(tx *store.Tx) (any, error) {
			pi, _, err := build(tx)
			if err != nil {
				return nil, err
			}
			if err := tx.CreatePaymentIntent(ctx, pi); err != nil {
				return nil, err
			}
			return pi, Emit(ctx, tx, st.scope, pay.EventPaymentIntentCreated, pi.ID, pay.PaymentIntentView(pi), nil)
		})
	})
}

// UpdatePaymentIntent changes a payment intent. Amount, currency, payment
// method, customer and capture method change only before confirmation. A
// Stripe test payment-method ID in upd is tokenised first.
func (s *Service) UpdatePaymentIntent(ctx context.Context, call Call, id string, upd pay.PaymentIntentUpdate) (*Answer, error) {
	return s.withCard(ctx, call, upd.PaymentMethod, "payment_method", func(ctx context.Context, tx *store.Tx, fresh *pay.PaymentMethod) (any, error) {
		pi, err := tx.FindPaymentIntent(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		editable := pi.Editable()
		if !editable && (upd.Amount != nil || upd.Currency != nil || upd.PaymentMethod != nil || upd.Customer != nil || upd.CaptureMethod != nil) {
			return nil, pi.UnexpectedState("update")
		}
		before := pay.PaymentIntentView(pi)
		if _, err := s.applyIntentChange(ctx, tx, pi, upd, fresh); err != nil {
			return nil, err
		}
		if fresh != nil {
			if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
				return nil, err
			}
		}
		if editable {
			pi.Status = pay.StatusRequiresPaymentMethod
			if pi.PaymentMethod != "" {
				pi.Status = pay.StatusRequiresConfirmation
			}
		}
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return nil, err
		}
		return pi, EmitUpdate(ctx, tx, call.Scope, pay.EventPaymentIntentUpdated, pi.ID, before, pay.PaymentIntentView(pi))
	})
}

// applyIntentChange sets the sent fields on pi and checks them against the
// project's currencies and the scope's objects. It returns the payment
// method it checked, if one was sent. fresh, if not nil, is the payment
// method this call made from the Stripe test ID in ch, and stands for it
// (the caller saves it once the change is checked).
func (s *Service) applyIntentChange(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent, ch pay.PaymentIntentUpdate, fresh *pay.PaymentMethod) (*pay.PaymentMethod, error) {
	if fresh != nil {
		ch.PaymentMethod = &fresh.ID
	}
	ch.Apply(pi)
	if !s.CurrencyAllowed(pi.Scope, pi.Currency) {
		return nil, pay.InvalidParam("currency", "Currency %q is not enabled for this project.", pay.Clip(pi.Currency, 10))
	}
	if pi.Amount < pay.MinimumAmount(pi.Currency) {
		return nil, pay.InvalidRequest("amount_too_small", "amount", "Amount must be at least %d %s.", pay.MinimumAmount(pi.Currency), pi.Currency)
	}
	if pi.Amount > 99999999 {
		return nil, pay.InvalidRequest("amount_too_large", "amount", "Amount must be no more than 99999999.")
	}
	if ch.Customer != nil && *ch.Customer != "" {
		if err := requireCustomer(ctx, tx, pi.Scope, *ch.Customer, "customer"); err != nil {
			return nil, err
		}
	}
	var pm *pay.PaymentMethod
	if ch.PaymentMethod != nil && *ch.PaymentMethod != "" {
		var err error
		if pm = fresh; pm == nil {
			if pm, err = tx.FindPaymentMethod(ctx, pi.Scope, *ch.PaymentMethod); err != nil {
				return nil, pay.NotFoundAs(err, "PaymentMethod", *ch.PaymentMethod, "payment_method")
			}
		}
		if pm.Customer != "" && pi.Customer != "" && pm.Customer != pi.Customer {
			return nil, pay.InvalidParam("payment_method", "The PaymentMethod %s belongs to another customer.", pm.ID)
		}
	}
	return pm, pay.CheckMetadata(pi.Metadata)
}

// ConfirmPaymentIntent charges a payment intent's card.
func (s *Service) ConfirmPaymentIntent(ctx context.Context, call Call, id string, opts ConfirmParams) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error { return s.confirm(ctx, st, id, opts, nil) })
}

// saleOp is what a pending sale's gateway op keeps to resend the identical
// request after a failure (never card data: the card is behind XRef).
type saleOp struct {
	PaymentMethod string                     `json:"payment_method"`
	XRef          string                     `json:"xref"`
	Amount        int64                      `json:"amount"`
	Currency      string                     `json:"currency"`
	Type          cardstream.TransactionType `json:"type"`
	Agreement     cardstream.AgreementType   `json:"agreement"`
	Initiator     string                     `json:"initiator"`
	CaptureDelay  int                        `json:"capture_delay"`
	// TestDecline is the card's pay.CardDetails.TestDecline (test mode
	// only): the sale declines as Stripe's decline test card would.
	TestDecline string `json:"test_decline,omitempty"`
	// ThreeDS asks the gateway for 3-D Secure (a customer-initiated sale).
	threeDSContext
	// ThreeDSMonth (test mode only) is the expiry month the sale is sent
	// with, which picks the simulator's 3-D Secure outcome (threeDSMonth).
	ThreeDSMonth int `json:"three_ds_month,omitempty"`
}

// threeDSContext is what a sale that may need 3-D Secure, and each
// continuation of it, carries: the page's token, the address the ACS posts
// back to (threeDSRedirectURL, with the token) and the caller's
// return_url.
type threeDSContext struct {
	ThreeDS     bool   `json:"three_ds,omitempty"`
	NoAction    bool   `json:"no_action,omitempty"` // error_on_requires_action
	Token       string `json:"three_ds_token,omitempty"`
	RedirectURL string `json:"three_ds_redirect_url,omitempty"`
	ReturnURL   string `json:"return_url,omitempty"`
	// Method: the continuation is of the method (device fingerprint)
	// step, so a final answer to it is frictionless.
	Method bool `json:"three_ds_method,omitempty"`
}

// send makes the sale: at the gateway, unless it is of a Stripe decline
// test card whose decline the simulator cannot produce, which is declined
// here (DeclineTestSale).
func (o saleOp) send(ctx context.Context, gw Gateway, transactionUnique, orderRef string) (*cardstream.Result, error) {
	req := cardstream.SaleRequest{Amount: o.Amount, CurrencyCode: CurrencyNumeric(o.Currency), Type: o.Type, XRef: o.XRef,
		Agreement: o.Agreement, Initiator: o.Initiator, TransactionUnique: transactionUnique, OrderRef: orderRef, CaptureDelay: o.CaptureDelay}
	if res := DeclineTestSale(o.TestDecline, &req); res != nil {
		return res, nil
	}
	if o.ThreeDS {
		req.ThreeDS = &cardstream.ThreeDSOptions{RedirectURL: o.RedirectURL}
	}
	if o.ThreeDSMonth != 0 && o.TestDecline != "expired_card" {
		// The xref's card with the expiry replaced, as a renewed card's.
		req.Extra = append(req.Extra, cardstream.Field{Name: "cardExpiryMonth", Value: fmt.Sprintf("%02d", o.ThreeDSMonth)},
			cardstream.Field{Name: "cardExpiryYear", Value: fmt.Sprintf("%02d", (time.Now().Year()+2)%100)})
	}
	return gw.Sale(ctx, req)
}

// confirm charges a payment intent's card. Only one confirmation of an
// intent can reach the gateway: preparing it moves the intent to processing
// in a transaction, and a second confirm then finds it processing.
//
// create, if not nil, builds a new intent (id is then unused) in the same
// transaction as the confirmation's preparation, which stores it once, as
// processing, and records its payment_intent.created event as it was built:
// a create with confirm=true that is refused before the gateway call leaves
// nothing behind. It returns the payment method it checked. The event comes
// last, so that on PostgreSQL its statement carries the intent's and the
// op's inserts (store/deferred.go).
func (s *Service) confirm(ctx context.Context, st *steps, id string, opts ConfirmParams,
	create func(tx *store.Tx) (*pay.PaymentIntent, *pay.PaymentMethod, error)) error {
	fresh, err := s.tokeniseTestID(ctx, st, opts.PaymentMethod, "payment_method")
	if err != nil {
		return err
	}
	if fresh != nil {
		opts.PaymentMethod = &fresh.ID
	}
	gw, err := s.gateways.For(st.scope.Livemode)
	if err != nil {
		return err
	}
	var (
		pi  *pay.PaymentIntent
		pm  *pay.PaymentMethod
		req saleOp
	)
	err = st.prepare(ctx, func(tx *store.Tx) error {
		var (
			err     error
			created any // the new intent's payment_intent.created view
		)
		if create != nil { // it returns the payment method it checked, if any
			if pi, pm, err = create(tx); err != nil {
				return err
			}
			created = pay.PaymentIntentView(pi)
		} else if pi, err = tx.FindPaymentIntent(ctx, st.scope, id); err != nil {
			return pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		if !pi.Confirmable() {
			return pi.UnexpectedState("confirm")
		}
		if fresh != nil {
			fresh.Customer = ""
			if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
				return err
			}
		}
		if opts.PaymentMethod != nil {
			pi.PaymentMethod = *opts.PaymentMethod
		}
		if opts.ReceiptEmail != nil {
			pi.ReceiptEmail = *opts.ReceiptEmail
		}
		if opts.RequestThreeDS != nil {
			pi.RequestThreeDS = *opts.RequestThreeDS
		}
		if pi.PaymentMethod == "" {
			return pay.InvalidRequest("payment_intent_unexpected_state", "payment_method",
				"You cannot confirm this PaymentIntent because it's missing a payment method. Pass payment_method.")
		}
		if pm == nil || pm.ID != pi.PaymentMethod {
			if pm, err = tx.FindPaymentMethod(ctx, st.scope, pi.PaymentMethod); err != nil {
				return pay.NotFoundAs(err, "PaymentMethod", pi.PaymentMethod, "payment_method")
			}
		}
		if pm.Customer != "" && pi.Customer != "" && pm.Customer != pi.Customer {
			return pay.InvalidParam("payment_method", "The PaymentMethod %s belongs to another customer.", pm.ID)
		}
		req = newSaleOp(pi, pm, opts)
		if req.ThreeDS && s.publicURL != "" {
			req.Token, req.ReturnURL, req.NoAction = pay.RandomString(32), opts.ReturnURL, opts.ErrorOnRequiresAction
			req.RedirectURL = s.publicURL + pay.ThreeDSPagePath + pi.ID + "/return?token=" + req.Token
		} else {
			req.ThreeDS = false
		}
		pi.LastError, pi.Action = nil, nil
		pi.Attempt++
		if err := st.startIntentOp(ctx, tx, pi, create == nil, "sale", fmt.Sprintf("%s-%d", pi.ID, pi.Attempt), req); err != nil {
			return err
		}
		if created != nil {
			return Emit(ctx, tx, st.scope, pay.EventPaymentIntentCreated, pi.ID, created, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	op := st.op
	res, callErr := req.send(ctx, gw, op.TransactionUnique, pi.ID)
	return st.settle(ctx, func(tx *store.Tx) (any, error) {
		return s.settleSale(ctx, tx, op, pm, res, callErr, &req.threeDSContext)
	})
}

// newSaleOp chooses the Cardstream type and agreement for a charge of a
// stored card (cardstream-protocol.md §8.4): a customer-initiated payment
// is e-commerce on a card on file; an off-session one is merchant-initiated
// and unscheduled.
func newSaleOp(pi *pay.PaymentIntent, pm *pay.PaymentMethod, opts ConfirmParams) saleOp {
	o := saleOp{PaymentMethod: pm.ID, XRef: pm.XRef, Amount: pi.Amount, Currency: pi.Currency,
		Type: cardstream.TypeECOM, Agreement: cardstream.AgreementCardOnFile, Initiator: "consumer"}
	if !pi.Scope.Livemode { // a live card never skips the gateway, whatever it says
		o.TestDecline = pm.Card.TestDecline
	}
	switch {
	case opts.OffSession && opts.Recurring:
		o.Type, o.Agreement, o.Initiator = cardstream.TypeContinuousAuthority, cardstream.AgreementRecurring, "merchant"
	case opts.OffSession:
		o.Type, o.Agreement, o.Initiator = cardstream.TypeMOTO, cardstream.AgreementUnscheduled, "merchant"
	case opts.Recurring:
		o.Agreement = cardstream.AgreementRecurring
	}
	if pi.CaptureMethod == "manual" {
		o.CaptureDelay = -1
	}
	// 3-D Secure: a customer-initiated sale asks for it (live: always, the
	// issuer decides; test mode: as the test card behaves). A
	// merchant-initiated one cannot be challenged: a test card whose issuer
	// would demand it is declined with authentication_required.
	switch live := pi.Scope.Livemode; {
	case !opts.OffSession && live:
		o.ThreeDS = true
	case !opts.OffSession && testThreeDSApplies(pm.Card, pi.RequestThreeDS):
		o.ThreeDS, o.ThreeDSMonth = true, threeDSMonth(pm.Card, pi.RequestThreeDS)
	case opts.OffSession && !live && o.TestDecline == "":
		o.TestDecline = OffSessionAuthentication(pm.Card)
	}
	return o
}

// uncertain reports whether a gateway call's failure leaves its outcome
// unknown (the request may have been processed), as opposed to a refusal
// before anything happened.
func uncertain(err error) bool {
	return err != nil && !errors.Is(err, cardstream.ErrInvalidRequest) && !errors.Is(err, cardstream.ErrInvalidConfig)
}

// settleSale records a sale's outcome on its payment intent. With an
// uncertain failure the intent stays processing and the op pending, for the
// reconciler (errNoOutcome). A duplicate answer means an earlier copy of
// the sale landed and its answer was lost: the op is parked for an
// operator. An op settled already by someone else changes nothing
// (errSettledElsewhere). pm is the card charged, if the caller has it
// (payment methods do not change), or nil to look it up.
//
// tds is the sale's 3-D Secure context (nil when unknown, an operator's
// resolution): a challenge (65802) moves the intent to requires_action with
// it. op.Kind "3ds" is a continuation (ContinueThreeDS).
func (s *Service) settleSale(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, pm *pay.PaymentMethod, res *cardstream.Result, callErr error, tds *threeDSContext) (any, error) {
	pi, err := tx.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	if callErr != nil {
		if uncertain(callErr) {
			s.log.WarnContext(ctx, "gateway sale outcome unknown; the reconciler will settle it", "op", op.ID, "payment_intent", pi.ID, "err", callErr)
			return pi, errNoOutcome
		}
		return s.failSale(ctx, tx, op, pi, nil, GatewayUnavailable(callErr))
	}
	if res.Outcome == cardstream.OutcomeDuplicate {
		return s.park(ctx, tx, op, "gateway reported a duplicate: an earlier copy of this sale landed and its answer was lost")
	}
	if err := finishOp(ctx, tx, op, pay.OpDone, res.Outcome.String()); err != nil {
		return nil, err
	}
	if res.ResponseCode == cardstream.Code3DSAuthRequired && res.ThreeDS != nil && res.ThreeDS.Ref != "" && tds != nil && tds.Token != "" && !tds.NoAction {
		return s.requireAction(ctx, tx, op, pi, res, tds)
	}
	if op.Kind == "3ds" && (res.ResponseCode == cardstream.Code3DSError || res.Outcome == cardstream.OutcomeGatewayError) && pi.Action != nil {
		// The ACS's answer was not accepted (garbled, or not this
		// challenge's) and the challenge is still open: nothing changes.
		s.log.WarnContext(ctx, "3-D Secure continuation refused by the gateway; the intent still awaits authentication",
			"payment_intent", pi.ID, "response_code", res.ResponseCode)
		pi.Status = pay.StatusRequiresAction
		return pi, tx.UpdatePaymentIntent(ctx, pi)
	}
	pi.Action = nil
	if pm == nil || pm.ID != pi.PaymentMethod {
		if pm, err = tx.FindPaymentMethod(ctx, op.Scope, pi.PaymentMethod); err != nil {
			return nil, err
		}
	}
	ch := newCharge(pi, pm, res)
	flow := "frictionless"
	if op.Kind == "3ds" && (tds == nil || !tds.Method) {
		flow = "challenge"
	}
	ch.Card.ThreeDSecure = threeDSResult(res, flow)
	if !res.Approved() {
		e := DeclineError(res)
		if res.ResponseCode == cardstream.Code3DSResultNotAccepted || op.Kind == "3ds" && res.Outcome == cardstream.OutcomeThreeDSRequired ||
			op.Kind == "3ds" && res.Outcome == cardstream.OutcomeInvalidRequest {
			e = AuthenticationFailure()
		}
		return s.failSale(ctx, tx, op, pi, ch, e)
	}
	if r := ch.Card.ThreeDSecure; r != nil && pi.SetupFutureUsage == "off_session" && (r.Result == "authenticated" || r.Result == "attempt_acknowledged") &&
		!pm.Card.SetUpOffSession {
		// Authenticated once for later merchant-initiated payments.
		pm.Card.SetUpOffSession = true
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return nil, err
		}
	}
	ch.ID = pay.NewID(pay.PrefixCharge)
	pi.LatestCharge = ch.ID
	event := pay.EventPaymentIntentSucceeded
	if res.State == cardstream.StateApproved { // authorised, awaiting capture
		pi.Status, pi.AmountCapturable = pay.StatusRequiresCapture, res.AmountReceived
		event = pay.EventPaymentIntentAmountCapturableUpdated
	} else {
		pi.Status, pi.AmountReceived = pay.StatusSucceeded, res.AmountReceived
	}
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	// The charge's insert after the intent's update, so that on PostgreSQL
	// it travels with the event's statement (store/deferred.go).
	if err := tx.CreateCharge(ctx, ch); err != nil {
		return nil, err
	}
	if err := Emit(ctx, tx, op.Scope, event, pi.ID, pay.PaymentIntentView(pi), nil); err != nil {
		return nil, err
	}
	// setup_future_usage with a customer: the card is the customer's from
	// now on, as Stripe attaches it once the payment succeeds.
	if pi.SetupFutureUsage != "" && pi.Customer != "" && pm.Customer == "" {
		pm.Customer = pi.Customer
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return nil, err
		}
		if err := Emit(ctx, tx, op.Scope, pay.EventPaymentMethodAttached, pm.ID, pay.PaymentMethodView(pm), nil); err != nil {
			return nil, err
		}
	}
	return pi, s.invoiceIntentSettled(ctx, tx, pi)
}

// failSale records a refused sale: the intent needs a new payment method,
// the failed charge is kept, and the error is answered (and replayed).
func (s *Service) failSale(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, pi *pay.PaymentIntent, ch *pay.Charge, e *pay.Error) (any, error) {
	if ch != nil {
		ch.Status, ch.FailureCode, ch.FailureMessage, ch.DeclineCode = "failed", e.Code, e.Message, e.DeclineCode
		if err := tx.CreateCharge(ctx, ch); err != nil {
			return nil, err
		}
		pi.LatestCharge = ch.ID
	} else if err := finishOp(ctx, tx, op, pay.OpDone, "refused: "+e.Message); err != nil {
		return nil, err
	}
	pi.Status, pi.LastError = pay.StatusRequiresPaymentMethod, LastPaymentError(e, pi.PaymentMethod)
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	v := pay.PaymentIntentView(pi)
	e.PaymentIntent = v
	// payment_intent.failed is the original product's name; Stripe's
	// libraries and plugins listen for payment_intent.payment_failed.
	for _, typ := range []pay.EventType{pay.EventPaymentIntentFailed, pay.EventPaymentIntentPaymentFailed} {
		if err := Emit(ctx, tx, op.Scope, typ, pi.ID, v, nil); err != nil {
			return nil, err
		}
	}
	if err := s.invoiceIntentSettled(ctx, tx, pi); err != nil {
		return nil, err
	}
	return nil, e
}

// newCharge builds the charge a sale produced.
func newCharge(pi *pay.PaymentIntent, pm *pay.PaymentMethod, res *cardstream.Result) *pay.Charge {
	ch := &pay.Charge{Scope: pi.Scope, PaymentIntent: pi.ID, Customer: pi.Customer, PaymentMethod: pm.ID, Amount: pi.Amount,
		Currency: pi.Currency, Status: "succeeded", Card: pm.Card, Description: pi.Description, AuthCode: res.AuthorisationCode,
		GatewayTxnID: res.TransactionID, XRef: res.XRef, Gateway: res.Fields.Encode()}
	if c := CheckResult(res.Checks.CV2); c == "pass" || c == "fail" {
		ch.Card.CVCCheck = c
	}
	if res.Approved() && res.State != cardstream.StateApproved {
		ch.Captured, ch.AmountCaptured = true, res.AmountReceived
	}
	return ch
}

// startIntentOp records, in prepare's transaction, a gateway call about
// to be made for a payment intent, and moves the intent to processing: a
// second confirm, capture or cancel then finds it busy, and the reconciler
// finds the op if the call's outcome is lost. req is what a resend needs
// (never card data). A new intent (stored false) is inserted here, as
// processing, rather than inserted and then updated.
func (st *steps) startIntentOp(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent, stored bool, kind, unique string, req any) error {
	pi.Status = pay.StatusProcessing
	if err := st.recordOp(ctx, tx, st.newOp(pi.Scope, kind, pi.ID, unique), req, pi); err != nil {
		return err
	}
	if !stored {
		return tx.CreatePaymentIntent(ctx, pi)
	}
	return tx.UpdatePaymentIntent(ctx, pi)
}

// gatewayRefused is the answer when the gateway refused a management action.
func gatewayRefused(action string, res *cardstream.Result, err error) *pay.Error {
	msg := "The card gateway refused to " + action + " the payment."
	if res != nil {
		msg += " Gateway response: " + pay.Clip(res.ResponseMessage, 100) + "."
	}
	return &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state", Message: msg, Err: err}
}

func outcomeNote(res *cardstream.Result, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Outcome.String()
}
