package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

type refundJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	BalanceTransaction any               `json:"balance_transaction"`
	Charge             string            `json:"charge"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	FailureReason      nullString        `json:"failure_reason,omitempty"`
	Metadata           map[string]string `json:"metadata"`
	PaymentIntent      nullString        `json:"payment_intent"`
	Reason             nullString        `json:"reason"`
	ReceiptNumber      any               `json:"receipt_number"`
	Status             string            `json:"status"`
}

func refundView(r *pay.Refund) any {
	return refundJSON{ID: r.ID, Object: "refund", Amount: r.Amount, Charge: r.Charge, Created: r.Created, Currency: r.Currency,
		FailureReason: nullString(r.FailureReason), Metadata: nonNil(r.Metadata), PaymentIntent: nullString(r.PaymentIntent),
		Reason: nullString(r.Reason), Status: r.Status}
}

var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

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
	if reason != nil && *reason != "" && !oneOf(*reason, refundReasons) {
		p.Fail("reason", "parameter_invalid", "reason must be one of duplicate, fraudulent or requested_by_customer.")
	}
	md := readMetadata(p)
	p.Ignore("refund_application_fee", "reverse_transfer", "instructions_email")
	return func(ctx context.Context, st *stage) error {
		gw, err := s.gateways.For(st.scope.Livemode)
		if err != nil {
			return err
		}
		var (
			re  *pay.Refund
			op  *pay.GatewayOp
			req refundOp
		)
		err = st.prepare(ctx, func(tx *store.Tx) error {
			ch, err := s.refundableCharge(ctx, tx, st.scope, piID, chID)
			if err != nil {
				return err
			}
			taken, err := tx.PendingRefundTotal(ctx, ch.ID)
			if err != nil {
				return err
			}
			left := ch.AmountCaptured - taken
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
			re = &pay.Refund{ID: pay.NewID(pay.PrefixRefund), Scope: st.scope, Charge: ch.ID, PaymentIntent: ch.PaymentIntent,
				Amount: req.Amount, Currency: ch.Currency, Status: pay.RefundPending, Metadata: md.apply(nil)}
			if reason != nil {
				re.Reason = *reason
			}
			if err := checkMetadata(re.Metadata); err != nil {
				return err
			}
			if err := tx.CreateRefund(ctx, re); err != nil {
				return err
			}
			op = &pay.GatewayOp{Scope: st.scope, Kind: "refund", ObjectID: re.ID, TransactionUnique: re.ID}
			raw, _ := json.Marshal(req)
			if err := tx.CreateGatewayOp(ctx, op, raw); err != nil {
				return err
			}
			return s.emit(ctx, tx, st.scope, "refund.created", re.ID, refundView(re), nil)
		})
		if err != nil {
			return err
		}
		res, callErr := gw.Refund(ctx, cardstream.RefundRequest{XRef: req.XRef, Amount: req.Amount, TransactionUnique: op.TransactionUnique})
		return st.commit(ctx, func(tx *store.Tx) (any, error) { return s.settleRefund(ctx, tx, op, res, callErr) })
	}, nil
}

// refundableCharge finds the captured charge a refund names.
func (s *Server) refundableCharge(ctx context.Context, tx *store.Tx, scope pay.Scope, piID, chID string) (*pay.Charge, error) {
	if chID == "" {
		pi, err := tx.FindPaymentIntent(ctx, scope, piID)
		if err != nil {
			return nil, notFoundAs(err, "payment_intent", piID, "payment_intent")
		}
		if pi.Status != pay.StatusSucceeded {
			return nil, pay.InvalidRequest("payment_intent_unexpected_state", "payment_intent",
				"This PaymentIntent (%s) does not have a successful charge to refund: its status is %s.", pi.ID, pi.Status)
		}
		chID = pi.LatestCharge
	}
	ch, err := tx.FindCharge(ctx, scope, chID)
	if err != nil {
		return nil, notFoundAs(err, "charge", chID, "charge")
	}
	if piID != "" && ch.PaymentIntent != piID {
		return nil, pay.InvalidParam("charge", "Charge %s does not belong to PaymentIntent %s.", ch.ID, piID)
	}
	if !ch.Captured || ch.Status != "succeeded" {
		return nil, pay.InvalidRequest("charge_not_refundable", "charge", "Charge %s has no captured funds to refund.", ch.ID)
	}
	return ch, nil
}

// settleRefund records a refund's outcome; see settleSale.
func (s *Server) settleRefund(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, res *cardstream.RefundResult, callErr error) (any, error) {
	re, err := tx.FindRefund(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	if uncertain(callErr) && !errors.Is(callErr, cardstream.ErrNotRefundable) {
		s.log.WarnContext(ctx, "gateway refund outcome unknown; the reconciler will settle it", "op", op.ID, "err", callErr)
		return refundView(re), nil
	}
	var result *cardstream.Result
	if res != nil {
		result = res.Result
	}
	if err := tx.FinishGatewayOp(ctx, op.ID, pay.OpDone, outcomeNote(result, callErr)); err != nil {
		if errors.Is(err, pay.ErrNotFound) {
			return refundView(re), nil
		}
		return nil, err
	}
	before := refundView(re)
	if callErr != nil || !res.Approved() {
		re.Status, re.FailureReason = pay.RefundFailed, "unknown"
		if err := tx.UpdateRefund(ctx, re); err != nil {
			return nil, err
		}
		if err := s.emitUpdate(ctx, tx, op.Scope, "refund.updated", re.ID, before, refundView(re)); err != nil {
			return nil, err
		}
		return nil, gatewayRefused("refund", result, callErr)
	}
	return s.completeRefund(ctx, tx, re, string(res.Method), res.TransactionID, before)
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
	v := refundView(re)
	if err := s.emitUpdate(ctx, tx, re.Scope, "refund.updated", re.ID, before, v); err != nil {
		return nil, err
	}
	return v, s.emit(ctx, tx, re.Scope, "charge.refunded", ch.ID, chargeView(ch), nil)
}

func (s *Server) retrieveRefund(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		re, err := s.db.FindRefund(ctx, scope, id)
		if err != nil {
			return nil, notFoundAs(err, "refund", id, "id")
		}
		return refundView(re), nil
	}, nil
}

func (s *Server) updateRefund(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	md := readMetadata(p)
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		re, err := tx.FindRefund(ctx, scope, id)
		if err != nil {
			return nil, notFoundAs(err, "refund", id, "id")
		}
		before := refundView(re)
		if re.Metadata = md.apply(re.Metadata); len(re.Metadata) > maxMetadataKeys {
			return nil, checkMetadata(re.Metadata)
		}
		if err := tx.UpdateRefund(ctx, re); err != nil {
			return nil, err
		}
		after := refundView(re)
		return after, s.emitUpdate(ctx, tx, scope, "refund.updated", re.ID, before, after)
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
		return newList("refund", "/v1/refunds", l, refundView), nil
	}, nil
}
