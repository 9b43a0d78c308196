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

// RefundParams are a refund's parameters: the payment intent or the charge
// to refund (at least one), and the amount (positive; nil: all that is
// left).
type RefundParams struct {
	PaymentIntent, Charge string
	Amount                *int64
	Reason                *string
	Metadata              pay.MetadataUpdate
}

// refundOp is what a pending refund's gateway op keeps.
type refundOp struct {
	XRef   string `json:"xref"`
	Amount int64  `json:"amount"`
	// Captured and Refunded are the charge's amounts before this refund, so
	// a recovery can tell from a QUERY whether it landed.
	Captured int64 `json:"captured"`
	Refunded int64 `json:"refunded"`
}

// CreateRefund refunds a captured charge, in full or in part. Refunds of
// one charge reach the gateway one at a time (see lockingCharge).
func (s *Service) CreateRefund(ctx context.Context, call Call, p RefundParams) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error {
		gw, err := s.gateways.For(st.scope.Livemode)
		if err != nil {
			return err
		}
		var req refundOp
		err = s.lockingCharge(ctx, func() error {
			return st.prepare(ctx, func(tx *store.Tx) error {
				ch, err := refundableCharge(ctx, tx, st.scope, p.PaymentIntent, p.Charge)
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
				if p.Amount != nil {
					// The gateway reads 0 as "all that is left".
					if *p.Amount < 1 {
						return pay.InvalidRequest("parameter_invalid_integer", "amount", "amount must be a positive integer.")
					}
					if *p.Amount > left {
						return pay.InvalidRequest("amount_too_large", "amount", "Refund amount (%d) is greater than the amount left to refund (%d).", *p.Amount, left)
					}
					req.Amount = *p.Amount
				}
				re := &pay.Refund{ID: pay.NewID(pay.PrefixRefund), Scope: st.scope, Charge: ch.ID, PaymentIntent: ch.PaymentIntent,
					Amount: req.Amount, Currency: ch.Currency, Status: pay.RefundPending, Metadata: p.Metadata.Apply(nil)}
				if p.Reason != nil {
					re.Reason = *p.Reason
				}
				if err := pay.CheckMetadata(re.Metadata); err != nil {
					return err
				}
				if err := tx.CreateRefund(ctx, re); err != nil {
					return err
				}
				if err := st.recordOp(ctx, tx, st.newOp(st.scope, "refund", re.ID, re.ID), req, re); err != nil {
					return err
				}
				return Emit(ctx, tx, st.scope, pay.EventRefundCreated, re.ID, pay.RefundView(re), nil)
			})
		})
		if err != nil {
			return err
		}
		op := st.op
		res, callErr := gw.Refund(ctx, req.request(op.TransactionUnique))
		return st.settle(ctx, func(tx *store.Tx) (any, error) { return s.settleRefund(ctx, tx, op, res, callErr) })
	})
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
func (s *Service) lockingCharge(ctx context.Context, prepare func() error) error {
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
func refundableCharge(ctx context.Context, tx *store.Tx, scope pay.Scope, piID, chID string) (*pay.Charge, error) {
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
func (s *Service) settleRefund(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, res *cardstream.RefundResult, callErr error) (any, error) {
	if errors.Is(callErr, cardstream.ErrLedgerMismatch) {
		return s.park(ctx, tx, op, callErr.Error())
	}
	re, err := tx.FindRefund(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	if uncertain(callErr) && !errors.Is(callErr, cardstream.ErrNotRefundable) {
		s.log.WarnContext(ctx, "gateway refund outcome unknown; the reconciler will settle it", "op", op.ID, "err", callErr)
		return re, errNoOutcome
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
func (s *Service) failRefund(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, res *cardstream.Result, why error) (any, error) {
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
	if err := EmitUpdate(ctx, tx, op.Scope, pay.EventRefundUpdated, re.ID, before, pay.RefundView(re)); err != nil {
		return nil, err
	}
	return nil, gatewayRefused("refund", res, why)
}

// completeRefund marks a refund succeeded and adds it to its charge.
func (s *Service) completeRefund(ctx context.Context, tx *store.Tx, re *pay.Refund, method, txnID string, before any) (any, error) {
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
	if err := EmitUpdate(ctx, tx, re.Scope, pay.EventRefundUpdated, re.ID, before, pay.RefundView(re)); err != nil {
		return nil, err
	}
	return re, Emit(ctx, tx, re.Scope, pay.EventChargeRefunded, ch.ID, pay.ChargeView(ch), nil)
}

// UpdateRefund changes a refund's metadata.
func (s *Service) UpdateRefund(ctx context.Context, call Call, id string, md pay.MetadataUpdate) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		re, err := tx.FindRefund(ctx, call.Scope, id)
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
		return re, EmitUpdate(ctx, tx, call.Scope, pay.EventRefundUpdated, re.ID, before, pay.RefundView(re))
	})
}

// UpdateCharge changes a charge's description (if not nil) and metadata.
func (s *Service) UpdateCharge(ctx context.Context, call Call, id string, description *string, md pay.MetadataUpdate) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		c, err := tx.FindCharge(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "charge", id, "id")
		}
		before := pay.ChargeView(c)
		if description != nil {
			c.Description = *description
		}
		if c.Metadata = md.Apply(c.Metadata); len(c.Metadata) > pay.MaxMetadataKeys {
			return nil, pay.CheckMetadata(c.Metadata)
		}
		if err := tx.UpdateCharge(ctx, c); err != nil {
			return nil, err
		}
		return c, EmitUpdate(ctx, tx, call.Scope, pay.EventChargeUpdated, c.ID, before, pay.ChargeView(c))
	})
}
