package payments

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// 3-D Secure (cardstream-protocol.md §5.4). A customer-initiated sale is
// sent with threeDSRedirectURL; when the gateway answers 65802 with a
// challenge, the intent waits in requires_action with the challenge
// (pay.ThreeDSAction) and its next_action points the customer's browser at
// the hosted 3-D Secure page, which posts the challenge to the issuer's
// ACS. The ACS posts its answer back to that redirect URL, and
// ContinueThreeDS sends it to the gateway as the continuation: a gateway op
// of its own (kind "3ds"), recorded with the intent moved to processing
// before the call, so that a second answer, a replay or a crash never sends
// it twice, and the reconciler can finish it (reconcileThreeDS).

// ErrThreeDSRefused is ContinueThreeDS's answer to a continuation that is
// not the intent's (unknown intent, wrong token) or comes when the intent
// awaits no authentication (completed, replayed, cancelled): nothing was
// changed or sent.
var ErrThreeDSRefused = errors.New("payments: no 3-D Secure authentication of this payment is awaited at this address")

// requireAction records a challenge: the intent waits for the customer.
func (s *Service) requireAction(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, pi *pay.PaymentIntent, res *cardstream.Result, tds *threeDSContext) (any, error) {
	a := &pay.ThreeDSAction{Token: tds.Token, ReturnURL: tds.ReturnURL, Ref: res.ThreeDS.Ref, URL: res.ThreeDS.URL, XRef: res.XRef,
		Page: s.publicURL + pay.ThreeDSPagePath + pi.ID + "?token=" + tds.Token}
	for _, f := range res.ThreeDS.Request {
		a.Request = append(a.Request, [2]string{f.Name, f.Value})
	}
	if a.XRef == "" && pi.Action != nil {
		a.XRef = pi.Action.XRef
	}
	if !cardstream.AbsoluteURL(a.URL) {
		s.log.ErrorContext(ctx, "3-D Secure challenge without a usable ACS address", "payment_intent", pi.ID, "op", op.ID)
		pi.Action = nil
		pm, err := tx.FindPaymentMethod(ctx, op.Scope, pi.PaymentMethod)
		if err != nil {
			return nil, err
		}
		return s.failSale(ctx, tx, op, pi, newCharge(pi, pm, res), AuthenticationFailure())
	}
	pi.Status, pi.Action = pay.StatusRequiresAction, a
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	if op.Kind == "3ds" {
		// A further step (the challenge after the method step): the
		// intent was already requires_action; no second event.
		return pi, nil
	}
	return pi, Emit(ctx, tx, op.Scope, pay.EventPaymentIntentRequiresAction, pi.ID, pay.PaymentIntentView(pi), nil)
}

// AuthenticationFailure is the error of a payment whose 3-D Secure
// authentication failed, as Stripe's last_payment_error shows it.
func AuthenticationFailure() *pay.Error {
	return &pay.Error{Status: http.StatusPaymentRequired, Type: pay.ErrorTypeInvalidRequest, Code: "payment_intent_authentication_failure",
		Message: "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."}
}

// threeDSResult is the 3-D Secure result a gateway answer carries, as
// Stripe's charge shows it; nil when no 3-D Secure ran. flow is challenge,
// frictionless, or "" when not known (the hosted page's).
func threeDSResult(res *cardstream.Result, flow string) *pay.ThreeDSecureResult {
	letter := res.ThreeDSAuthenticated
	if letter == "" {
		return nil
	}
	r := &pay.ThreeDSecureResult{Letter: letter, ECI: res.Fields.Get("threeDSECI"), TransactionID: res.Fields.Get("threeDSXID"),
		Version: res.Fields.Get("threeDSVersion"), AuthenticationFlow: flow}
	if r.Version == "" {
		r.Version = res.Fields.Get("threeDSDetails[version]")
	}
	switch letter {
	case "Y":
		r.Result = "authenticated"
	case "A":
		r.Result = "attempt_acknowledged"
	case "N":
		r.Result, r.ResultReason = "failed", "abandoned"
	case "R":
		r.Result, r.ResultReason = "failed", "rejected"
	case "U":
		r.Result, r.ResultReason, r.AuthenticationFlow = "not_supported", "card_not_enrolled", ""
	case "I":
		r.Result, r.AuthenticationFlow = "exempted", ""
	default:
		r.Result, r.ResultReason = "processing_error", "protocol_error"
	}
	return r
}

// threeDSOp is what a continuation's gateway op keeps (sealed): enough to
// send it again, or to find its outcome with a QUERY of XRef.
type threeDSOp struct {
	Ref      string      `json:"ref"`
	Response [][2]string `json:"response"`
	XRef     string      `json:"xref"`
	Amount   int64       `json:"amount"`
	Currency string      `json:"currency"`
	threeDSContext
}

func (o threeDSOp) send(ctx context.Context, gw Gateway) (*cardstream.Result, error) {
	resp := make(cardstream.Fields, 0, len(o.Response))
	for _, f := range o.Response {
		resp = append(resp, cardstream.Field{Name: f[0], Value: f[1]})
	}
	res, err := gw.ContinueThreeDS(ctx, cardstream.ThreeDSContinueRequest{Ref: o.Ref, Response: resp})
	if err != nil || !res.Approved() {
		// A refusal (a garbled or crossed answer, an expired challenge)
		// echoes only what was sent: there is no amount to check.
		return res, err
	}
	// An authorisation must be of this payment: else its outcome is
	// unknown to us (the reconciler's QUERY, then an operator).
	if err := res.Match(cardstream.Expectation{Amount: o.Amount, CurrencyCode: CurrencyNumeric(o.Currency), XRef: o.XRef}); err != nil {
		return nil, fmt.Errorf("3-D Secure continuation: %w", err)
	}
	return res, nil
}

// ThreeDSOutcome is where a payment intent or setup intent stands after a
// continuation: what the 3-D Secure page needs to send the browser on.
type ThreeDSOutcome struct {
	// Object is payment_intent or setup_intent.
	Object, ID, ClientSecret, Status string
	// Action is the next step while Status is requires_action.
	Action *pay.ThreeDSAction
	// ReturnURL is the confirmation's return_url ("" if none).
	ReturnURL string
}

// awaiting returns the pending 3-D Secure step of the intent (pi_ or
// seti_) id, if token is its token, read through the read pool.
func (s *Service) awaiting(ctx context.Context, id, token string) (pay.Scope, *pay.ThreeDSAction, error) {
	var (
		scope  pay.Scope
		status string
		a      *pay.ThreeDSAction
	)
	switch {
	case strings.HasPrefix(id, pay.PrefixSetupIntent):
		si, err := s.db.FindSetupIntentByID(ctx, id)
		if err != nil {
			return scope, nil, err
		}
		scope, status, a = si.Scope, si.Status, si.Action
	default:
		pi, err := s.db.FindPaymentIntentByID(ctx, id)
		if err != nil {
			return scope, nil, err
		}
		scope, status, a = pi.Scope, pi.Status, pi.Action
	}
	if status != pay.StatusRequiresAction || a == nil || token == "" || subtle.ConstantTimeCompare([]byte(a.Token), []byte(token)) != 1 {
		return scope, nil, ErrThreeDSRefused
	}
	return scope, a, nil
}

// methodAnswer reports whether response is the answer to a method step:
// threeDSMethodData alone (what the ACS's method page posts back, or
// pay.ThreeDSMethodTimeout).
func methodAnswer(response [][2]string) bool {
	return len(response) == 1 && response[0][0] == "threeDSMethodData" && response[0][1] != ""
}

// answers reports whether response answers the step a: a method step's
// answer for a method step, any other for a challenge. So an answer
// replayed from an earlier step (the method step's, once the challenge is
// awaited) is refused.
func answers(a *pay.ThreeDSAction, response [][2]string) bool {
	if a.Method() {
		return methodAnswer(response)
	}
	for _, f := range response {
		if f[0] == "threeDSMethodData" {
			return false
		}
	}
	return true
}

// ThreeDSPending returns the pending 3-D Secure step of the payment intent
// or setup intent id for the page, or ErrThreeDSRefused when it awaits none
// at this address (unknown, wrong token, not requires_action).
func (s *Service) ThreeDSPending(ctx context.Context, id, token string) (*pay.ThreeDSAction, error) {
	_, a, err := s.awaiting(ctx, id, token)
	if errors.Is(err, pay.ErrNotFound) {
		err = ErrThreeDSRefused
	}
	return a, err
}

// ContinueThreeDS sends what the ACS posted back to the 3-D Secure page
// (response) to the gateway as the continuation of the payment intent's
// sale, or the setup intent's verification, id, and records the outcome:
// succeeded (or requires_capture), or requires_payment_method with
// payment_intent_authentication_failure (setup_intent_…), or
// requires_action again if the gateway asks for another step (the
// challenge after the method step: a gateway op of its own per step, each
// the next attempt's). token is the page's. A continuation that is not
// awaited, or does not answer the awaited step (a method step's answer
// when a challenge is awaited, or the reverse), is refused with
// ErrThreeDSRefused, changing nothing.
func (s *Service) ContinueThreeDS(ctx context.Context, id, token string, response [][2]string) (*ThreeDSOutcome, error) {
	if id == "" || token == "" || len(response) == 0 {
		return nil, ErrThreeDSRefused
	}
	scope, a, err := s.awaiting(ctx, id, token)
	switch {
	case errors.Is(err, pay.ErrNotFound):
		return nil, ErrThreeDSRefused
	case err != nil:
		return nil, err
	case !answers(a, response):
		return nil, ErrThreeDSRefused
	}
	gw, err := s.gateways.For(scope.Livemode)
	if err != nil {
		return nil, err
	}
	setup := strings.HasPrefix(id, pay.PrefixSetupIntent)
	var req threeDSOp
	// check re-checks, in prepare's transaction, that the step is awaited.
	check := func(status string, a *pay.ThreeDSAction) error {
		if status != pay.StatusRequiresAction || a == nil || subtle.ConstantTimeCompare([]byte(a.Token), []byte(token)) != 1 || !answers(a, response) {
			return ErrThreeDSRefused
		}
		req = threeDSOp{Ref: a.Ref, XRef: a.XRef, Response: response,
			threeDSContext: threeDSContext{ThreeDS: true, Token: a.Token, ReturnURL: a.ReturnURL, Method: a.Method()}}
		return nil
	}
	_, err = s.run(ctx, Plain(scope), func(ctx context.Context, st *steps) error {
		err := st.prepare(ctx, func(tx *store.Tx) error {
			if setup {
				si, err := tx.FindSetupIntent(ctx, scope, id)
				if err != nil {
					return ErrThreeDSRefused
				}
				if err := check(si.Status, si.Action); err != nil {
					return err
				}
				si.Attempt++
				si.Status = pay.StatusProcessing
				if err := st.recordOp(ctx, tx, st.newOp(scope, "3ds", si.ID, fmt.Sprintf("%s-%d", si.ID, si.Attempt)), req, si); err != nil {
					return err
				}
				return tx.UpdateSetupIntent(ctx, si)
			}
			pi, err := tx.FindPaymentIntent(ctx, scope, id)
			if err != nil {
				return ErrThreeDSRefused
			}
			if err := check(pi.Status, pi.Action); err != nil {
				return err
			}
			req.Amount, req.Currency = pi.Amount, pi.Currency
			pi.Attempt++
			return st.startIntentOp(ctx, tx, pi, true, "3ds", fmt.Sprintf("%s-%d", pi.ID, pi.Attempt), req)
		})
		if err != nil {
			return err
		}
		op := st.op
		res, callErr := req.send(ctx, gw)
		return st.settle(ctx, func(tx *store.Tx) (any, error) {
			return s.settleThreeDS(ctx, tx, op, res, callErr, &req.threeDSContext)
		})
	})
	if err != nil {
		return nil, err
	}
	// The intent as it now is (an answer may be a decline's error).
	if setup {
		si, err := s.db.FindSetupIntent(ctx, scope, id)
		if err != nil {
			return nil, err
		}
		return &ThreeDSOutcome{Object: "setup_intent", ID: si.ID, ClientSecret: si.ClientSecret, Status: si.Status, Action: si.Action,
			ReturnURL: req.ReturnURL}, nil
	}
	pi, err := s.db.FindPaymentIntent(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	return &ThreeDSOutcome{Object: "payment_intent", ID: pi.ID, ClientSecret: pi.ClientSecret, Status: pi.Status, Action: pi.Action,
		ReturnURL: req.ReturnURL}, nil
}

// settleThreeDS records a continuation's outcome on its payment intent or
// setup intent.
func (s *Service) settleThreeDS(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, res *cardstream.Result, callErr error, tds *threeDSContext) (any, error) {
	if strings.HasPrefix(op.ObjectID, pay.PrefixSetupIntent) {
		return s.settleSetup(ctx, tx, op, res, callErr, tds)
	}
	return s.settleSale(ctx, tx, op, nil, res, callErr, tds)
}

// reconcileThreeDS finishes a continuation whose outcome was lost: a QUERY
// of the sale shows whether it landed (a final state: its outcome is
// recorded) or not (the challenge still open: the continuation is sent
// again, which the gateway takes once).
func (s *Service) reconcileThreeDS(ctx context.Context, gw Gateway, op *pay.GatewayOp, req threeDSOp) error {
	q, err := gw.Query(ctx, cardstream.QueryRequest{XRef: req.XRef})
	if err != nil {
		return s.retryLater(ctx, op, "query failed: "+err.Error())
	}
	if q.State == cardstream.StateReceived {
		res, callErr := req.send(ctx, gw)
		if callErr == nil && res.Outcome == cardstream.OutcomeInvalidRequest {
			// The challenge is gone: the first continuation may have landed
			// meanwhile (its answer lost). Only a QUERY says how it ended.
			if q, err = gw.Query(ctx, cardstream.QueryRequest{XRef: req.XRef}); err != nil || q.State == cardstream.StateReceived {
				return s.retryLater(ctx, op, "3-D Secure continuation refused and the sale not finished yet")
			}
			res = q
		}
		return s.settleOrRetry(ctx, op, callErr, func(tx *store.Tx) (any, error) {
			return s.settleThreeDS(ctx, tx, op, res, callErr, &req.threeDSContext)
		})
	}
	return s.settleOrRetry(ctx, op, nil, func(tx *store.Tx) (any, error) {
		return s.settleThreeDS(ctx, tx, op, q, nil, &req.threeDSContext)
	})
}

// ThreeDSReturn is where the customer's browser goes once the 3-D Secure
// step of o is over: its return_url with payment_intent (setup_intent),
// its client secret and redirect_status added, as Stripe's; "" when the
// confirmation gave no return_url. status is the redirect_status.
func ThreeDSReturn(o *ThreeDSOutcome) (target, status string) {
	switch o.Status {
	case pay.StatusSucceeded, pay.StatusRequiresCapture:
		status = "succeeded"
	case pay.StatusProcessing:
		status = "processing"
	default:
		status = "failed"
	}
	if o.ReturnURL == "" {
		return "", status
	}
	u, err := url.Parse(o.ReturnURL)
	if err != nil {
		return "", status
	}
	q := u.Query()
	q.Set(o.Object, o.ID)
	q.Set(o.Object+"_client_secret", o.ClientSecret)
	q.Set("redirect_status", status)
	u.RawQuery = q.Encode()
	return u.String(), status
}
