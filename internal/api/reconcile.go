package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Reconciler timing. A gateway op still pending after staleAfter lost its
// answer (a timeout, or a crash between the call and the database write).
// A sale may be resent only within Cardstream's duplicate window, where the
// gateway itself refuses a second identical charge.
const (
	staleAfter      = 30 * time.Second
	duplicateWindow = 300 * time.Second
	resendMargin    = 30 * time.Second
)

// RunReconciler settles stale gateway ops every interval until ctx ends.
func (s *Server) RunReconciler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "reconcile gateway operations", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reconcile settles every stale pending gateway op once.
func (s *Server) Reconcile(ctx context.Context) error {
	ops, err := s.db.FindStaleGatewayOps(ctx, s.now().Add(-staleAfter).Unix(), 100)
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

func (s *Server) reconcileOp(ctx context.Context, op *pay.GatewayOp) error {
	_, raw, err := s.db.FindGatewayOp(ctx, op.ID)
	if err != nil {
		return err
	}
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
		res, callErr := gw.Sale(ctx, req.request(op.TransactionUnique, op.ObjectID))
		return s.settleOrTouch(ctx, op, callErr, func(tx *store.Tx) error {
			_, err := s.settleSale(ctx, tx, op, nil, res, callErr)
			return ignoreClientError(err)
		})
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
func (s *Server) reconcileManagement(ctx context.Context, gw interface {
	Query(context.Context, cardstream.QueryRequest) (*cardstream.Result, error)
	Capture(context.Context, cardstream.CaptureRequest) (*cardstream.Result, error)
	Cancel(context.Context, cardstream.CancelRequest) (*cardstream.Result, error)
}, op *pay.GatewayOp, req mgmtOp) error {
	q, err := gw.Query(ctx, cardstream.QueryRequest{XRef: req.XRef})
	if err != nil {
		return s.touch(ctx, op, "query failed: "+err.Error())
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
	return s.settleOrTouch(ctx, op, callErr, func(tx *store.Tx) error {
		var err error
		if op.Kind == "capture" {
			_, err = s.settleCapture(ctx, tx, op, req, res, callErr)
		} else {
			_, err = s.settleCancel(ctx, tx, op, req, res, callErr)
		}
		return ignoreClientError(err)
	})
}

// reconcileRefund QUERYs the sale and works out from its amounts whether the
// refund landed; if not, it sends it again (a REFUND_SALE keeps its
// transactionUnique, so the gateway refuses a duplicate).
func (s *Server) reconcileRefund(ctx context.Context, gw interface {
	Query(context.Context, cardstream.QueryRequest) (*cardstream.Result, error)
	Refund(context.Context, cardstream.RefundRequest) (*cardstream.RefundResult, error)
}, op *pay.GatewayOp, req refundOp) error {
	q, err := gw.Query(ctx, cardstream.QueryRequest{XRef: req.XRef})
	if err != nil {
		return s.touch(ctx, op, "query failed: "+err.Error())
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
		return s.db.Tx(ctx, func(tx *store.Tx) error {
			if err := tx.FinishGatewayOp(ctx, op.ID, pay.OpDone, "found at the gateway by the reconciler"); err != nil {
				return ignoreNotFound(err)
			}
			re, err := tx.FindRefund(ctx, op.Scope, op.ObjectID)
			if err != nil {
				return err
			}
			_, err = s.completeRefund(ctx, tx, re, string(method), "", refundView(re))
			return err
		})
	}
	if s.now().Sub(time.Unix(op.Created, 0)) > duplicateWindow-resendMargin {
		return s.needsOperator(ctx, op, "refund not visible at the gateway and the duplicate window has passed")
	}
	res, callErr := gw.Refund(ctx, cardstream.RefundRequest{XRef: req.XRef, Amount: req.Amount, TransactionUnique: op.TransactionUnique})
	return s.settleOrTouch(ctx, op, callErr, func(tx *store.Tx) error {
		_, err := s.settleRefund(ctx, tx, op, res, callErr)
		return ignoreClientError(err)
	})
}

// settleOrTouch records an outcome, or, when the outcome is still unknown,
// notes another attempt so the op waits staleAfter before the next one.
func (s *Server) settleOrTouch(ctx context.Context, op *pay.GatewayOp, callErr error, settle func(tx *store.Tx) error) error {
	if uncertain(callErr) {
		return s.touch(ctx, op, "attempt failed: "+callErr.Error())
	}
	return s.db.Tx(ctx, settle)
}

func (s *Server) touch(ctx context.Context, op *pay.GatewayOp, note string) error {
	return ignoreNotFound(s.db.Tx(ctx, func(tx *store.Tx) error { return tx.TouchGatewayOp(ctx, op.ID, clip(note, 500)) }))
}

// needsOperator parks an op whose outcome cannot be known safely; the
// payment stays as it is (processing) until an operator settles it.
func (s *Server) needsOperator(ctx context.Context, op *pay.GatewayOp, why string) error {
	s.log.ErrorContext(ctx, "gateway operation needs an operator", "op", op.ID, "kind", op.Kind, "object", op.ObjectID, "why", why)
	return ignoreNotFound(s.db.Tx(ctx, func(tx *store.Tx) error { return tx.FinishGatewayOp(ctx, op.ID, pay.OpAttention, why) }))
}

// ignoreClientError drops the card or state error a settle answers the
// client with: in the reconciler its writes are what matter, and they are
// committed with it.
func ignoreClientError(err error) error {
	if _, ok := pay.AsError(err); ok {
		return nil
	}
	return err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, pay.ErrNotFound) {
		return nil
	}
	return err
}

// ResolveGatewayOp settles an op parked for an operator. For a sale the
// operator gives the xref of the gateway transaction found for it (for
// example in Cardstream's MMS): it is QUERYed, checked to carry the op's
// transactionUnique, and its outcome recorded. notCharged instead records
// that no transaction exists, so the payment intent needs a new attempt.
// Other kinds are reconciled again from a QUERY of their sale.
func (s *Server) ResolveGatewayOp(ctx context.Context, id, xref string, notCharged bool) error {
	op, _, err := s.db.FindGatewayOp(ctx, id)
	if err != nil {
		return err
	}
	if op.State != pay.OpAttention {
		return fmt.Errorf("gateway op %s is %s, not waiting for an operator", id, op.State)
	}
	if op.Kind != "sale" {
		if err := s.db.Tx(ctx, func(tx *store.Tx) error { return tx.ReopenGatewayOp(ctx, id) }); err != nil {
			return err
		}
		op.State = pay.OpPending
		return s.reconcileOp(ctx, op)
	}
	var res *cardstream.Result
	if !notCharged {
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
		var err error
		if notCharged {
			pi, ferr := tx.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
			if ferr != nil {
				return ferr
			}
			_, err = s.failSale(ctx, tx, op, pi, nil, &pay.Error{Status: 402, Type: pay.ErrorTypeCard, Code: "processing_error",
				Message: "The payment could not be completed. Try again."})
		} else {
			_, err = s.settleSale(ctx, tx, op, nil, res, nil)
		}
		return ignoreClientError(err)
	})
}
