package api

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

// refundOp is what a pending refund's gateway op keeps.
type refundOp struct {
	XRef   string `json:"xref"`
	Amount int64  `json:"amount"`
	// Captured and Refunded are the charge's amounts before this refund, so
	// a recovery can tell from a QUERY whether it landed.
	Captured int64 `json:"captured"`
	Refunded int64 `json:"refunded"`
}

func (s *Server) createRefund(r *http.Request, p *params) (stagedFunc, error) {
	piID, _ := p.String("payment_intent")
	chID, _ := p.String("charge")
	if piID == "" && chID == "" {
		p.Missing("payment_intent")
	}
	amount := p.OptInt64("amount")
	if amount != nil && *amount < 1 {
		p.Fail("amount", "parameter_invalid_integer", "amount must be a positive integer.")
	}
	reason := p.OptString("reason")
	if reason != nil && *reason != "" && !pay.IsRefundReason(*reason) {
		p.Fail("reason", "parameter_invalid", "reason must be one of duplicate, fraudulent or requested_by_customer.")
	}
	md := readMetadata(p)
	p.Ignore("refund_application_fee", "reverse_transfer", "instructions_email")
	return func(ctx context.Context, st *stage) error {
		gw, err := s.gateways.For(st.scope.Livemode)
		if err != nil {
			return err
		}
		var req refundOp
		err = s.lockingCharge(ctx, func() error {
			return st.prepare(ctx, func(tx *store.Tx) error {
				ch, err := s.refundableCharge(ctx, tx, st.scope, piID, chID)
				if err != nil {
					return err
				}
				// The charge is locked: a pending refund of it is its refund
				// claim, held until that refund's outcome is recorded.
				if other, err := tx.UnsettledRefund(ctx, ch.ID); err != nil {
					return err
				} else if other != nil {
					return &chargeBusy{charge: ch.ID, refund: other}
				}
				left := ch.AmountCaptured - ch.AmountRefunded
				if left <= 0 {
					return pay.InvalidRequest("charge_already_refunded", "", "Charge %s has already been refunded.", ch.ID)
				}
				req = refundOp{XRef: ch.XRef, Amount: left, Captured: ch.AmountCaptured, Refunded: ch.AmountRefunded}
				if amount != nil {
					if *amount > left {
						return pay.InvalidRequest("amount_too_large", "amount", "Refund amount (%d) is greater than the amount left to refund (%d).", *amount, left)
					}
					req.Amount = *amount
				}
				re := &pay.Refund{ID: pay.NewID(pay.PrefixRefund), Scope: st.scope, Charge: ch.ID, PaymentIntent: ch.PaymentIntent,
					Amount: req.Amount, Currency: ch.Currency, Status: pay.RefundPending, Metadata: md.Apply(nil)}
				if reason != nil {
					re.Reason = *reason
				}
				if err := pay.CheckMetadata(re.Metadata); err != nil {
					return err
				}
				if err := tx.CreateRefund(ctx, re); err != nil {
					return err
				}
				v := pay.RefundView(re)
				if err := st.recordOp(ctx, tx, st.newOp(st.scope, "refund", re.ID, re.ID), req, v); err != nil {
					return err
				}
				return s.emit(ctx, tx, st.scope, pay.EventRefundCreated, re.ID, v, nil)
			})
		})
		if err != nil {
			return err
		}
		op := st.op
		res, callErr := gw.Refund(ctx, req.request(op.TransactionUnique))
		return st.settle(ctx, func(tx *store.Tx) (any, error) { return s.settleRefund(ctx, tx, op, res, callErr) })
	}, nil
}

// request is the gateway refund for an op: its amount, and the amount our
// ledger says is left of the sale, which the gateway's QUERY must show
// before anything is sent.
func (o refundOp) request(transactionUnique string) cardstream.RefundRequest {
	return cardstream.RefundRequest{XRef: o.XRef, Amount: o.Amount, TransactionUnique: transactionUnique, Remaining: o.Captured - o.Refunded}
}

// chargeBusy refuses a refund while another refund of the charge has no
// recorded outcome.
type chargeBusy struct {
	charge string
	refund *pay.Refund
}

func (e *chargeBusy) Error() string {
	return "refund " + e.refund.ID + " of charge " + e.charge + " is unsettled"
}

// How long a refund waits for another refund of the same charge to settle,
// and how often it looks, before it answers lock_timeout.
const (
	chargeLockWait = 5 * time.Second
	chargeLockPoll = 50 * time.Millisecond
)

// lockingCharge runs prepare until it no longer finds another refund of the
// charge in flight, for at most chargeLockWait: refunds of one charge reach
// the gateway one at a time, each computed from the ledger the one before
// left. Then it answers as Stripe does for a lock conflict (429
// lock_timeout with Stripe-Should-Retry, which Stripe's SDKs retry). A
// refund parked for an operator blocks the charge until it is resolved.
func (s *Server) lockingCharge(ctx context.Context, prepare func() error) error {
	deadline := time.Now().Add(chargeLockWait)
	for {
		err := prepare()
		var busy *chargeBusy
		if !errors.As(err, &busy) {
			return err
		}
		if busy.refund.Status == pay.RefundRequiresAction {
			return pay.InvalidRequest("refund_requires_operator", "", "Refund %s of charge %s is waiting for an operator to settle it with the gateway; "+
				"no other refund of the charge can start until then.", busy.refund.ID, busy.charge)
		}
		if time.Now().After(deadline) {
			return &pay.Error{Status: http.StatusTooManyRequests, Type: pay.ErrorTypeInvalidRequest, Code: "lock_timeout", ShouldRetry: true,
				Message: fmt.Sprintf("Another refund of charge %s is in progress. Retry the request shortly.", busy.charge)}
		}
		time.Sleep(chargeLockPoll)
	}
}

// refundableCharge finds the captured charge a refund names.
func (s *Server) refundableCharge(ctx context.Context, tx *store.Tx, scope pay.Scope, piID, chID string) (*pay.Charge, error) {
	if chID == "" {
		pi, err := tx.FindPaymentIntent(ctx, scope, piID)
		if err != nil {
			return nil, pay.NotFoundAs(err, "payment_intent", piID, "payment_intent")
		}
		if !pi.Refundable() {
			return nil, pay.InvalidRequest("payment_intent_unexpected_state", "payment_intent",
				"This PaymentIntent (%s) does not have a successful charge to refund: its status is %s.", pi.ID, pi.Status)
		}
		chID = pi.LatestCharge
	}
	ch, err := tx.FindCharge(ctx, scope, chID)
	if err != nil {
		return nil, pay.NotFoundAs(err, "charge", chID, "charge")
	}
	if piID != "" && ch.PaymentIntent != piID {
		return nil, pay.InvalidParam("charge", "Charge %s does not belong to PaymentIntent %s.", ch.ID, piID)
	}
	if !ch.Refundable() {
		return nil, pay.InvalidRequest("charge_not_refundable", "charge", "Charge %s has no captured funds to refund.", ch.ID)
	}
	return ch, nil
}

// settleRefund records a refund's outcome; see settleSale. A refund whose
// QUERY disagreed with our ledger sent nothing and is parked for an
// operator.
func (s *Server) settleRefund(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, res *cardstream.RefundResult, callErr error) (any, error) {
	if errors.Is(callErr, cardstream.ErrLedgerMismatch) {
		return s.park(ctx, tx, op, callErr.Error())
	}
	re, err := tx.FindRefund(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	if uncertain(callErr) && !errors.Is(callErr, cardstream.ErrNotRefundable) {
		s.log.WarnContext(ctx, "gateway refund outcome unknown; the reconciler will settle it", "op", op.ID, "err", callErr)
		return pay.RefundView(re), errNoOutcome
	}
	var result *cardstream.Result
	if res != nil {
		result = res.Result
	}
	if callErr != nil || !res.Approved() {
		return s.failRefund(ctx, tx, op, result, callErr)
	}
	if err := finishOp(ctx, tx, op, pay.OpDone, outcomeNote(result, callErr)); err != nil {
		return nil, err
	}
	return s.completeRefund(ctx, tx, re, string(res.Method), res.TransactionID, pay.RefundView(re))
}

// failRefund records that op's refund was refused (or, from an operator,
// that the gateway made none): the refund fails and the error is answered.
func (s *Server) failRefund(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, res *cardstream.Result, why error) (any, error) {
	if err := finishOp(ctx, tx, op, pay.OpDone, outcomeNote(res, why)); err != nil {
		return nil, err
	}
	re, err := tx.FindRefund(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	before := pay.RefundView(re)
	re.Status, re.FailureReason = pay.RefundFailed, "unknown"
	if err := tx.UpdateRefund(ctx, re); err != nil {
		return nil, err
	}
	if err := s.emitUpdate(ctx, tx, op.Scope, pay.EventRefundUpdated, re.ID, before, pay.RefundView(re)); err != nil {
		return nil, err
	}
	return nil, gatewayRefused("refund", res, why)
}

// completeRefund marks a refund succeeded and adds it to its charge.
func (s *Server) completeRefund(ctx context.Context, tx *store.Tx, re *pay.Refund, method, txnID string, before any) (any, error) {
	re.Status, re.Method, re.GatewayTxnID = pay.RefundSucceeded, method, txnID
	if err := tx.UpdateRefund(ctx, re); err != nil {
		return nil, err
	}
	ch, err := tx.FindCharge(ctx, re.Scope, re.Charge)
	if err != nil {
		return nil, err
	}
	ch.AmountRefunded += re.Amount
	if err := tx.UpdateCharge(ctx, ch); err != nil {
		return nil, err
	}
	v := pay.RefundView(re)
	if err := s.emitUpdate(ctx, tx, re.Scope, pay.EventRefundUpdated, re.ID, before, v); err != nil {
		return nil, err
	}
	return v, s.emit(ctx, tx, re.Scope, pay.EventChargeRefunded, ch.ID, pay.ChargeView(ch), nil)
}

func (s *Server) retrieveRefund(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		re, err := s.db.FindRefund(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "refund", id, "id")
		}
		return pay.RefundView(re), nil
	}, nil
}

func (s *Server) updateRefund(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	md := readMetadata(p)
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		re, err := tx.FindRefund(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "refund", id, "id")
		}
		before := pay.RefundView(re)
		if re.Metadata = md.Apply(re.Metadata); len(re.Metadata) > pay.MaxMetadataKeys {
			return nil, pay.CheckMetadata(re.Metadata)
		}
		if err := tx.UpdateRefund(ctx, re); err != nil {
			return nil, err
		}
		after := pay.RefundView(re)
		return after, s.emitUpdate(ctx, tx, scope, pay.EventRefundUpdated, re.ID, before, after)
	}, nil
}

func (s *Server) listRefunds(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.RefundFilter
	f.Charge, _ = p.String("charge")
	f.PaymentIntent, _ = p.String("payment_intent")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindRefunds(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("refund", "/v1/refunds", l, pay.RefundView), nil
	}, nil
}
