package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/loop"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Gateway op timing. An op's owner (the request that recorded it, or a
// reconciler) holds it for opLease and renews that while it waits on the
// gateway; the reconciler acts only on ops whose lease has lapsed (their
// owner died, or gave them up with the outcome unknown). A sale may be
// resent only within Cardstream's duplicate window, where the gateway
// itself refuses a second identical charge; an attempt whose outcome is
// still unknown is tried again after retryAfter.
const (
	opLease         = 15 * time.Second
	retryAfter      = 30 * time.Second
	duplicateWindow = 300 * time.Second
	resendMargin    = 30 * time.Second
)

// newOwner returns a fresh owner token for gateway op leases.
func newOwner() string { return "own_" + pay.RandomString(16) }

// holdLease renews op's lease every third of opLease until the returned
// stop is called (stop waits for the renewer to end, so no renewal follows
// it). An owner that cannot renew keeps waiting on the gateway: whoever
// takes the op over after the lease settles it through the same
// idempotent steps.
func (s *Service) holdLease(op *pay.GatewayOp) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop.Every(ctx, opLease/3, func() {
			if err := s.db.RenewGatewayOp(ctx, op.ID, op.Owner, opLease); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "renew gateway op lease", "op", op.ID, "err", err)
				if errors.Is(err, pay.ErrNotFound) {
					cancel() // settled, or taken over
				}
			}
		})
	}()
	return func() { cancel(); <-done }
}

// Reconcile settles, once, every pending gateway op whose lease has lapsed.
func (s *Service) Reconcile(ctx context.Context) error {
	ops, err := s.db.FindStaleGatewayOps(ctx, s.now().Unix(), 100)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if err := s.reconcileOp(ctx, op); err != nil {
			s.log.ErrorContext(ctx, "reconcile gateway op", "op", op.ID, "kind", op.Kind, "err", err)
		}
	}
	return nil
}

// reconcileOp takes an op over, if nobody holds it, and settles it.
func (s *Service) reconcileOp(ctx context.Context, op *pay.GatewayOp) error {
	owner := newOwner()
	if ok, err := s.db.AcquireGatewayOp(ctx, op.ID, owner, opLease); err != nil || !ok {
		return err
	}
	op, raw, err := s.db.FindGatewayOp(ctx, op.ID)
	if err != nil {
		return err
	}
	op.Owner = owner
	defer s.holdLease(op)()
	gw, err := s.gateways.For(op.Scope.Livemode)
	if err != nil {
		return err
	}
	switch op.Kind {
	case "sale":
		var req saleOp
		if err := json.Unmarshal(raw, &req); err != nil {
			return err
		}
		if s.now().Sub(time.Unix(op.Created, 0)) > duplicateWindow-resendMargin {
			return s.needsOperator(ctx, op, "sale outcome unknown and the gateway's duplicate window has passed")
		}
		res, callErr := req.send(ctx, gw, op.TransactionUnique, op.ObjectID)
		return s.settleOrRetry(ctx, op, callErr, func(tx *store.Tx) (any, error) {
			return s.settleSale(ctx, tx, op, nil, res, callErr, &req.threeDSContext)
		})
	case "setup":
		// A verification moves no money: one whose outcome was lost is
		// given up, and the customer confirms again.
		return s.settleOrRetry(ctx, op, nil, func(tx *store.Tx) (any, error) {
			si, err := tx.FindSetupIntent(ctx, op.Scope, op.ObjectID)
			if err != nil {
				return nil, err
			}
			if err := finishOp(ctx, tx, op, pay.OpDone, "verification outcome unknown: given up"); err != nil {
				return nil, err
			}
			return s.failSetup(ctx, tx, op, si, &pay.Error{Status: http.StatusPaymentRequired, Type: pay.ErrorTypeCard, Code: "processing_error",
				Message: "An error occurred while processing your card. Try again in a little bit."})
		})
	case "3ds":
		var req threeDSOp
		if err := json.Unmarshal(raw, &req); err != nil {
			return err
		}
		return s.reconcileThreeDS(ctx, gw, op, req)
	case "capture", "cancel":
		var req mgmtOp
		if err := json.Unmarshal(raw, &req); err != nil {
			return err
		}
		return s.reconcileManagement(ctx, gw, op, req)
	case "refund":
		var req refundOp
		if err := json.Unmarshal(raw, &req); err != nil {
			return err
		}
		return s.reconcileRefund(ctx, gw, op, req)
	}
	return s.needsOperator(ctx, op, "unknown op kind")
}

// reconcileManagement QUERYs the sale: if the capture or void is visible
// there it is recorded, otherwise it is sent again (both are safe to repeat).
func (s *Service) reconcileManagement(ctx context.Context, gw interface {
	Query(context.Context, cardstream.QueryRequest) (*cardstream.Result, error)
	Capture(context.Context, cardstream.CaptureRequest) (*cardstream.Result, error)
	Cancel(context.Context, cardstream.CancelRequest) (*cardstream.Result, error)
}, op *pay.GatewayOp, req mgmtOp) error {
	q, err := gw.Query(ctx, cardstream.QueryRequest{XRef: req.XRef})
	if err != nil {
		return s.retryLater(ctx, op, "query failed: "+err.Error())
	}
	done := q.State == cardstream.StateCanceled
	if op.Kind == "capture" {
		done = (q.State == cardstream.StateCaptured || q.State == cardstream.StateAccepted) && q.Amount == req.Amount
	}
	res, callErr := q, error(nil)
	switch {
	case done:
	case q.State == cardstream.StateApproved && op.Kind == "capture":
		res, callErr = gw.Capture(ctx, cardstream.CaptureRequest{XRef: req.XRef, Amount: req.Amount})
	case q.State == cardstream.StateApproved:
		res, callErr = gw.Cancel(ctx, cardstream.CancelRequest{XRef: req.XRef})
	default:
		return s.needsOperator(ctx, op, "the sale is in state "+string(q.State))
	}
	return s.settleOrRetry(ctx, op, callErr, func(tx *store.Tx) (any, error) {
		if op.Kind == "capture" {
			return s.settleCapture(ctx, tx, op, req, res, callErr)
		}
		return s.settleCancel(ctx, tx, op, req, res, callErr)
	})
}

// reconcileRefund QUERYs the sale and works out from its amounts whether the
// refund landed; if not, it sends it again (a REFUND_SALE keeps its
// transactionUnique, so the gateway refuses a duplicate).
func (s *Service) reconcileRefund(ctx context.Context, gw interface {
	Query(context.Context, cardstream.QueryRequest) (*cardstream.Result, error)
	Refund(context.Context, cardstream.RefundRequest) (*cardstream.RefundResult, error)
}, op *pay.GatewayOp, req refundOp) error {
	q, err := gw.Query(ctx, cardstream.QueryRequest{XRef: req.XRef})
	if err != nil {
		return s.retryLater(ctx, op, "query failed: "+err.Error())
	}
	left := req.Captured - req.Refunded // what the charge held before this refund
	var method cardstream.RefundMethod
	switch q.State {
	case cardstream.StateCanceled:
		if req.Amount == left {
			method = cardstream.RefundCancelled
		}
	case cardstream.StateApproved, cardstream.StateCaptured:
		if q.Amount == left-req.Amount {
			method = cardstream.RefundRecaptured
		}
	case cardstream.StateAccepted:
		// Refunds made by lowering the capture before settlement do not count
		// in the gateway's amountRefunded; only REFUND_SALEs do.
		viaRefundSale := req.Refunded - (req.Captured - q.Amount)
		if q.AmountRefunded >= viaRefundSale+req.Amount {
			method = cardstream.RefundRefunded
		}
	}
	if method != "" {
		return s.settleOrRetry(ctx, op, nil, func(tx *store.Tx) (any, error) {
			if err := finishOp(ctx, tx, op, pay.OpDone, "found at the gateway by the reconciler"); err != nil {
				return nil, err
			}
			re, err := tx.FindRefund(ctx, op.Scope, op.ObjectID)
			if err != nil {
				return nil, err
			}
			return s.completeRefund(ctx, tx, re, string(method), "", pay.RefundView(re))
		})
	}
	if s.now().Sub(time.Unix(op.Created, 0)) > duplicateWindow-resendMargin {
		return s.needsOperator(ctx, op, "refund not visible at the gateway and the duplicate window has passed")
	}
	res, callErr := gw.Refund(ctx, req.request(op.TransactionUnique))
	return s.settleOrRetry(ctx, op, callErr, func(tx *store.Tx) (any, error) { return s.settleRefund(ctx, tx, op, res, callErr) })
}

// settleOrRetry records an outcome with settle, and with it the response
// of the request that recorded op under its key; when the outcome is still
// unknown it leaves the op for another attempt after retryAfter.
func (s *Service) settleOrRetry(ctx context.Context, op *pay.GatewayOp, callErr error, settle func(tx *store.Tx) (any, error)) error {
	if uncertain(callErr) {
		return s.retryLater(ctx, op, "attempt failed: "+callErr.Error())
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error { return s.recordOutcome(ctx, tx, op, settle) })
	if errors.Is(err, errSettledElsewhere) {
		return nil
	}
	return err
}

// recordOutcome runs settle for op in tx and stores the response of the
// request that recorded op under its key, rendered as that request asked.
// An outcome still unknown, or parked for an operator, stores nothing.
func (s *Service) recordOutcome(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, settle func(tx *store.Tx) (any, error)) error {
	obj, err := settle(tx)
	if errors.Is(err, errNoOutcome) {
		return nil
	}
	status, body, err := s.render(ctx, tx, op.Scope, obj, err, op.Expand)
	if err != nil {
		return err
	}
	return tx.FinishOpIdempotent(ctx, op, status, body)
}

// retryLater notes a failed attempt at op and gives it up until retryAfter.
func (s *Service) retryLater(ctx context.Context, op *pay.GatewayOp, note string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		return tx.ReleaseGatewayOp(ctx, op.ID, op.Owner, pay.Clip(note, 500), retryAfter)
	})
}

// needsOperator parks an op whose outcome cannot be known safely; the
// payment stays as it is (processing) until an operator settles it.
func (s *Service) needsOperator(ctx context.Context, op *pay.GatewayOp, why string) error {
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := s.park(ctx, tx, op, why)
		return err
	})
	if errors.Is(err, errSettledElsewhere) {
		return nil
	}
	return err
}

// park marks op as needing an operator, in tx, and logs it. A parked refund
// shows status requires_action (and a refund.updated event says so); a
// parked sale, capture or cancel leaves its intent processing. It returns
// the object as it now is, with errNoOutcome.
func (s *Service) park(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, why string) (any, error) {
	if err := finishOp(ctx, tx, op, pay.OpAttention, pay.Clip(why, 500)); err != nil {
		return nil, err
	}
	s.log.ErrorContext(ctx, "gateway operation needs an operator: see calmonypay gateway ops", "op", op.ID, "kind", op.Kind, "object", op.ObjectID, "why", why)
	if strings.HasPrefix(op.ObjectID, pay.PrefixSetupIntent) {
		si, err := tx.FindSetupIntent(ctx, op.Scope, op.ObjectID)
		if err != nil {
			return nil, err
		}
		return si, errNoOutcome
	}
	if op.Kind != "refund" {
		pi, err := tx.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
		if err != nil {
			return nil, err
		}
		return pi, errNoOutcome
	}
	re, err := tx.FindRefund(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	before := pay.RefundView(re)
	re.Status = pay.RefundRequiresAction
	if err := tx.UpdateRefund(ctx, re); err != nil {
		return nil, err
	}
	return re, errors.Join(errNoOutcome, EmitUpdate(ctx, tx, op.Scope, pay.EventRefundUpdated, re.ID, before, pay.RefundView(re)))
}

// ResolveGatewayOp settles an op parked for an operator. For a sale the
// operator gives the xref of the gateway transaction found for it (for
// example in Cardstream's MMS): it is QUERYed, checked to carry the op's
// transactionUnique, and its outcome recorded. notCharged instead records
// that the gateway moved no money for the op: a sale was not charged (the
// payment intent needs a new attempt), a refund was not made (it fails).
// Without either, a capture, cancel or refund is reconciled again from a
// QUERY of its sale.
func (s *Service) ResolveGatewayOp(ctx context.Context, id, xref string, notCharged bool) error {
	op, _, err := s.db.FindGatewayOp(ctx, id)
	if err != nil {
		return err
	}
	if op.State != pay.OpAttention {
		return fmt.Errorf("gateway op %s is %s, not waiting for an operator", id, op.State)
	}
	var res *cardstream.Result
	switch {
	case notCharged && (op.Kind == "capture" || op.Kind == "cancel"):
		return fmt.Errorf("a %s is checked at the gateway: resolve %s without --not-charged", op.Kind, id)
	case op.Kind != "sale" && !notCharged:
		if err := s.db.Tx(ctx, func(tx *store.Tx) error { return tx.ReopenGatewayOp(ctx, id) }); err != nil {
			return err
		}
		return s.reconcileOp(ctx, op)
	case op.Kind == "sale" && !notCharged:
		if xref == "" {
			return errors.New("give the xref of the gateway transaction, or say it was not charged")
		}
		gw, err := s.gateways.For(op.Scope.Livemode)
		if err != nil {
			return err
		}
		if res, err = gw.Query(ctx, cardstream.QueryRequest{XRef: xref}); err != nil {
			return err
		}
		if res.TransactionUnique != op.TransactionUnique {
			return fmt.Errorf("transaction %s is not this op's (transactionUnique %q, want %q)", xref, res.TransactionUnique, op.TransactionUnique)
		}
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.ReopenGatewayOp(ctx, id); err != nil {
			return err
		}
		return s.recordOutcome(ctx, tx, op, func(tx *store.Tx) (any, error) {
			switch {
			case op.Kind == "refund":
				return s.failRefund(ctx, tx, op, nil, errors.New("an operator found that the gateway made no refund"))
			case strings.HasPrefix(op.ObjectID, pay.PrefixSetupIntent):
				si, err := tx.FindSetupIntent(ctx, op.Scope, op.ObjectID)
				if err != nil {
					return nil, err
				}
				return s.failSetup(ctx, tx, op, si, &pay.Error{Status: 402, Type: pay.ErrorTypeCard, Code: "processing_error",
					Message: "The card could not be set up. Try again."})
			case notCharged:
				pi, err := tx.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
				if err != nil {
					return nil, err
				}
				return s.failSale(ctx, tx, op, pi, nil, &pay.Error{Status: 402, Type: pay.ErrorTypeCard, Code: "processing_error",
					Message: "The payment could not be completed. Try again."})
			}
			return s.settleSale(ctx, tx, op, nil, res, nil, nil)
		})
	})
}
