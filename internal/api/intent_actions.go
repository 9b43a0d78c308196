package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// mgmtOp is what a pending capture or cancel op keeps.
type mgmtOp struct {
	XRef   string `json:"xref"`
	Charge string `json:"charge"`
	Amount int64  `json:"amount,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func (s *Server) capturePaymentIntent(r *http.Request, p *params) (stagedFunc, error) {
	id := r.PathValue("id")
	amount := p.OptInt64("amount_to_capture")
	if amount != nil && *amount < 1 {
		p.Fail("amount_to_capture", "parameter_invalid_integer", "amount_to_capture must be a positive integer.")
	}
	md := readMetadata(p)
	descriptor := readDescriptor(p, "statement_descriptor")
	readDescriptor(p, "statement_descriptor_suffix") // checked, not kept: there is no prefix to add it to
	p.Ignore("final_capture")
	return func(ctx context.Context, st *stage) error {
		gw, err := s.gateways.For(st.scope.Livemode)
		if err != nil {
			return err
		}
		var req mgmtOp
		err = st.prepare(ctx, func(tx *store.Tx) error {
			pi, err := tx.FindPaymentIntent(ctx, st.scope, id)
			if err != nil {
				return pay.NotFoundAs(err, "payment_intent", id, "id")
			}
			if !pi.Capturable() {
				return pi.UnexpectedState("capture")
			}
			req.Amount = pi.AmountCapturable
			if amount != nil {
				if *amount > pi.AmountCapturable {
					return pay.InvalidRequest("amount_too_large", "amount_to_capture",
						"The amount to capture (%d) is more than the amount capturable (%d).", *amount, pi.AmountCapturable)
				}
				req.Amount = *amount
			}
			ch, err := tx.FindCharge(ctx, st.scope, pi.LatestCharge)
			if err != nil {
				return err
			}
			req.XRef, req.Charge = ch.XRef, ch.ID
			if pi.Metadata = md.Apply(pi.Metadata); len(pi.Metadata) > pay.MaxMetadataKeys {
				return pay.CheckMetadata(pi.Metadata)
			}
			if descriptor != nil {
				pi.StatementDescriptor = *descriptor
			}
			return st.startIntentOp(ctx, tx, pi, true, "capture", pi.ID+"-capture", req)
		})
		if err != nil {
			return err
		}
		op := st.op
		res, callErr := gw.Capture(ctx, cardstream.CaptureRequest{XRef: req.XRef, Amount: req.Amount})
		return st.settle(ctx, func(tx *store.Tx) (any, error) { return s.settleCapture(ctx, tx, op, req, res, callErr) })
	}, nil
}

// settleCapture records a capture's outcome; see settleSale.
func (s *Server) settleCapture(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, req mgmtOp, res *cardstream.Result, callErr error) (any, error) {
	return s.settleManagement(ctx, tx, op, "capture", res, callErr, func(pi *pay.PaymentIntent, ch *pay.Charge) (any, error) {
		ch.Captured, ch.AmountCaptured = true, req.Amount
		if err := tx.UpdateCharge(ctx, ch); err != nil {
			return nil, err
		}
		pi.Status, pi.AmountReceived, pi.AmountCapturable = pay.StatusSucceeded, req.Amount, 0
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return nil, err
		}
		v := pay.PaymentIntentView(pi)
		return v, s.emit(ctx, tx, op.Scope, pay.EventPaymentIntentSucceeded, pi.ID, v, nil)
	})
}

// settleManagement records the outcome of a capture or void of an
// authorisation: an unknown outcome leaves the intent processing for the
// reconciler (errNoOutcome), a refusal puts it back to requires_capture,
// and an approval runs approved on the intent and its charge. An op
// settled already by someone else changes nothing (errSettledElsewhere).
func (s *Server) settleManagement(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, action string, res *cardstream.Result, callErr error,
	approved func(pi *pay.PaymentIntent, ch *pay.Charge) (any, error)) (any, error) {
	pi, err := tx.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	if uncertain(callErr) {
		s.log.WarnContext(ctx, "gateway "+action+" outcome unknown; the reconciler will settle it", "op", op.ID, "err", callErr)
		return pay.PaymentIntentView(pi), errNoOutcome
	}
	if err := finishOp(ctx, tx, op, pay.OpDone, outcomeNote(res, callErr)); err != nil {
		return nil, err
	}
	if callErr != nil || !res.Approved() {
		pi.Status = pay.StatusRequiresCapture
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return nil, err
		}
		return nil, gatewayRefused(action, res, callErr)
	}
	ch, err := tx.FindCharge(ctx, op.Scope, pi.LatestCharge)
	if err != nil {
		return nil, err
	}
	return approved(pi, ch)
}

func outcomeNote(res *cardstream.Result, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Outcome.String()
}

// gatewayRefused is the answer when the gateway refused a management action.
func gatewayRefused(action string, res *cardstream.Result, err error) *pay.Error {
	msg := "The card gateway refused to " + action + " the payment."
	if res != nil {
		msg += " Gateway response: " + pay.Clip(res.ResponseMessage, 100) + "."
	}
	return &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state", Message: msg, Err: err}
}

func (s *Server) cancelPaymentIntent(r *http.Request, p *params) (stagedFunc, error) {
	id := r.PathValue("id")
	reason := p.OptString("cancellation_reason")
	if reason != nil && !pay.IsCancellationReason(*reason) {
		p.Fail("cancellation_reason", "parameter_invalid", "cancellation_reason must be one of duplicate, fraudulent, requested_by_customer or abandoned.")
	}
	return func(ctx context.Context, st *stage) error {
		why := ""
		if reason != nil {
			why = *reason
		}
		pi, err := s.db.FindPaymentIntent(ctx, st.scope, id)
		if err != nil {
			return pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		if !pi.Capturable() {
			// Nothing is held at the gateway: cancelling is a local change.
			return st.commit(ctx, func(tx *store.Tx) (any, error) { return s.cancelLocally(ctx, tx, st.scope, id, why) })
		}
		return s.cancelAuthorisation(ctx, st, id, why)
	}, nil
}

func (s *Server) cancelLocally(ctx context.Context, tx *store.Tx, scope pay.Scope, id, reason string) (any, error) {
	pi, err := tx.FindPaymentIntent(ctx, scope, id)
	if err != nil {
		return nil, pay.NotFoundAs(err, "payment_intent", id, "id")
	}
	if !pi.Confirmable() { // nothing held at the gateway
		return nil, pi.UnexpectedState("cancel")
	}
	return s.markCanceled(ctx, tx, pi, reason)
}

func (s *Server) markCanceled(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent, reason string) (any, error) {
	pi.Status, pi.CanceledAt, pi.CancellationReason, pi.AmountCapturable = pay.StatusCanceled, tx.Now.Unix(), reason, 0
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	v := pay.PaymentIntentView(pi)
	return v, s.emit(ctx, tx, pi.Scope, pay.EventPaymentIntentCanceled, pi.ID, v, nil)
}

// cancelAuthorisation voids an authorised, uncaptured payment at the gateway.
func (s *Server) cancelAuthorisation(ctx context.Context, st *stage, id, reason string) error {
	gw, err := s.gateways.For(st.scope.Livemode)
	if err != nil {
		return err
	}
	req := mgmtOp{Reason: reason}
	err = st.prepare(ctx, func(tx *store.Tx) error {
		pi, err := tx.FindPaymentIntent(ctx, st.scope, id)
		if err != nil {
			return pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		if !pi.Capturable() {
			return pi.UnexpectedState("cancel")
		}
		ch, err := tx.FindCharge(ctx, st.scope, pi.LatestCharge)
		if err != nil {
			return err
		}
		req.XRef, req.Charge, req.Amount = ch.XRef, ch.ID, ch.Amount
		return st.startIntentOp(ctx, tx, pi, true, "cancel", pi.ID+"-cancel", req)
	})
	if err != nil {
		return err
	}
	op := st.op
	res, callErr := gw.Cancel(ctx, cardstream.CancelRequest{XRef: req.XRef})
	return st.settle(ctx, func(tx *store.Tx) (any, error) { return s.settleCancel(ctx, tx, op, req, res, callErr) })
}

// settleCancel records a void's outcome; see settleSale.
func (s *Server) settleCancel(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, req mgmtOp, res *cardstream.Result, callErr error) (any, error) {
	return s.settleManagement(ctx, tx, op, "cancel", res, callErr, func(pi *pay.PaymentIntent, ch *pay.Charge) (any, error) {
		// The authorisation is released: Stripe shows the uncaptured charge as refunded.
		ch.AmountRefunded = ch.Amount
		if err := tx.UpdateCharge(ctx, ch); err != nil {
			return nil, err
		}
		return s.markCanceled(ctx, tx, pi, req.Reason)
	})
}
