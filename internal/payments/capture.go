package payments

import (
	"context"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// CaptureParams are a capture's parameters.
type CaptureParams struct {
	// Amount to capture, positive; nil captures all that is capturable.
	Amount              *int64
	Metadata            pay.MetadataUpdate
	StatementDescriptor *string
}

// mgmtOp is what a pending capture or cancel op keeps.
type mgmtOp struct {
	XRef   string `json:"xref"`
	Charge string `json:"charge"`
	Amount int64  `json:"amount,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// CapturePaymentIntent captures an authorised payment, in full or in part.
func (s *Service) CapturePaymentIntent(ctx context.Context, call Call, id string, p CaptureParams) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error {
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
			if p.Amount != nil {
				// The gateway reads 0 as "all that is authorised".
				if *p.Amount < 1 {
					return pay.InvalidRequest("parameter_invalid_integer", "amount_to_capture", "amount_to_capture must be a positive integer.")
				}
				if *p.Amount > pi.AmountCapturable {
					return pay.InvalidRequest("amount_too_large", "amount_to_capture",
						"The amount to capture (%d) is more than the amount capturable (%d).", *p.Amount, pi.AmountCapturable)
				}
				req.Amount = *p.Amount
			}
			ch, err := tx.FindCharge(ctx, st.scope, pi.LatestCharge)
			if err != nil {
				return err
			}
			req.XRef, req.Charge = ch.XRef, ch.ID
			if pi.Metadata = p.Metadata.Apply(pi.Metadata); len(pi.Metadata) > pay.MaxMetadataKeys {
				return pay.CheckMetadata(pi.Metadata)
			}
			if p.StatementDescriptor != nil {
				pi.StatementDescriptor = *p.StatementDescriptor
			}
			return st.startIntentOp(ctx, tx, pi, true, "capture", pi.ID+"-capture", req)
		})
		if err != nil {
			return err
		}
		op := st.op
		res, callErr := gw.Capture(ctx, cardstream.CaptureRequest{XRef: req.XRef, Amount: req.Amount})
		return st.settle(ctx, func(tx *store.Tx) (any, error) { return s.settleCapture(ctx, tx, op, req, res, callErr) })
	})
}

// settleCapture records a capture's outcome; see settleSale.
func (s *Service) settleCapture(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, req mgmtOp, res *cardstream.Result, callErr error) (any, error) {
	return s.settleManagement(ctx, tx, op, "capture", res, callErr, func(pi *pay.PaymentIntent, ch *pay.Charge) (any, error) {
		ch.Captured, ch.AmountCaptured = true, req.Amount
		if err := tx.UpdateCharge(ctx, ch); err != nil {
			return nil, err
		}
		pi.Status, pi.AmountReceived, pi.AmountCapturable = pay.StatusSucceeded, req.Amount, 0
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return nil, err
		}
		return pi, Emit(ctx, tx, op.Scope, pay.EventPaymentIntentSucceeded, pi.ID, pay.PaymentIntentView(pi), nil)
	})
}

// settleManagement records the outcome of a capture or void of an
// authorisation: an unknown outcome leaves the intent processing for the
// reconciler (errNoOutcome), a refusal puts it back to requires_capture,
// and an approval runs approved on the intent and its charge. An op
// settled already by someone else changes nothing (errSettledElsewhere).
func (s *Service) settleManagement(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, action string, res *cardstream.Result, callErr error,
	approved func(pi *pay.PaymentIntent, ch *pay.Charge) (any, error)) (any, error) {
	pi, err := tx.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	if uncertain(callErr) {
		s.log.WarnContext(ctx, "gateway "+action+" outcome unknown; the reconciler will settle it", "op", op.ID, "err", callErr)
		return pi, errNoOutcome
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

// CancelPaymentIntent cancels a payment intent: locally if nothing is held
// at the gateway, else by voiding its authorisation there. reason is a
// cancellation reason or "".
func (s *Service) CancelPaymentIntent(ctx context.Context, call Call, id, reason string) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error {
		pi, err := s.db.FindPaymentIntent(ctx, st.scope, id)
		if err != nil {
			return pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		if !pi.Capturable() {
			// Nothing is held at the gateway: cancelling is a local change.
			return st.commit(ctx, func(tx *store.Tx) (any, error) { return s.cancelLocally(ctx, tx, st.scope, id, reason) })
		}
		return s.cancelAuthorisation(ctx, st, id, reason)
	})
}

func (s *Service) cancelLocally(ctx context.Context, tx *store.Tx, scope pay.Scope, id, reason string) (any, error) {
	pi, err := tx.FindPaymentIntent(ctx, scope, id)
	if err != nil {
		return nil, pay.NotFoundAs(err, "payment_intent", id, "id")
	}
	if !pi.Confirmable() { // nothing held at the gateway
		return nil, pi.UnexpectedState("cancel")
	}
	return s.markCanceled(ctx, tx, pi, reason)
}

func (s *Service) markCanceled(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent, reason string) (any, error) {
	pi.Status, pi.CanceledAt, pi.CancellationReason, pi.AmountCapturable = pay.StatusCanceled, tx.Now.Unix(), reason, 0
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	return pi, Emit(ctx, tx, pi.Scope, pay.EventPaymentIntentCanceled, pi.ID, pay.PaymentIntentView(pi), nil)
}

// cancelAuthorisation voids an authorised, uncaptured payment at the gateway.
func (s *Service) cancelAuthorisation(ctx context.Context, st *steps, id, reason string) error {
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
func (s *Service) settleCancel(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, req mgmtOp, res *cardstream.Result, callErr error) (any, error) {
	return s.settleManagement(ctx, tx, op, "cancel", res, callErr, func(pi *pay.PaymentIntent, ch *pay.Charge) (any, error) {
		// The authorisation is released: Stripe shows the uncaptured charge as refunded.
		ch.AmountRefunded = ch.Amount
		if err := tx.UpdateCharge(ctx, ch); err != nil {
			return nil, err
		}
		return s.markCanceled(ctx, tx, pi, req.Reason)
	})
}
