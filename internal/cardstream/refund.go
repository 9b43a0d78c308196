package cardstream

import (
	"cmp"
	"context"
	"fmt"
)

// RefundMethod says how Refund gave the money back.
type RefundMethod string

// Refund methods (§8.2).
const (
	// RefundCancelled: the whole unsettled transaction was voided (CANCEL).
	RefundCancelled RefundMethod = "cancel"
	// RefundRecaptured: an unsettled transaction was captured again for a
	// lower amount (CAPTURE).
	RefundRecaptured RefundMethod = "capture"
	// RefundRefunded: a settled sale was refunded (REFUND_SALE).
	RefundRefunded RefundMethod = "refund_sale"
)

// RefundRequest gives back all or part of a sale.
type RefundRequest struct {
	XRef string
	// Amount to give back in minor units; 0 means everything that is left.
	Amount int64
	// TransactionUnique is used for a REFUND_SALE; generated when empty.
	// Pass a stable value to make a retried Refund safe.
	TransactionUnique string
	// Remaining, when not 0, is what the caller's ledger says is left of
	// the sale (captured less refunded). If the QUERY shows another amount
	// left, Refund sends nothing and fails with ErrLedgerMismatch: the
	// amounts it would send are computed from a ledger that is wrong.
	Remaining int64
}

// RefundResult is the outcome of Refund: the management answer (embedded)
// and the QUERY that chose the method.
type RefundResult struct {
	Method RefundMethod
	// Refunded is the amount given back in minor units.
	Refunded int64
	*Result
	Query *Result
}

// Refund implements the void/refund strategy of §8.2: QUERY the xref; if
// the transaction is approved or captured (not yet settled) CANCEL it for a
// full refund or CAPTURE the remainder for a partial one; if it is accepted
// (settled) send REFUND_SALE; refuse any other state with ErrNotRefundable.
//
// It relies on QUERY reporting "amount" as the amount that is (or will be)
// settled and "amountRefunded" as the total refunded so far. A non-approved
// management answer is returned as a RefundResult with its Result set, not
// as an error; check RefundResult.Err().
func (c *Client) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	if req.Amount < 0 {
		return nil, fmt.Errorf("cardstream refund: %w: negative amount", ErrInvalidRequest)
	}
	q, err := c.Query(ctx, QueryRequest{XRef: req.XRef})
	if err != nil {
		return nil, fmt.Errorf("cardstream refund %s: %w", req.XRef, err)
	}
	if !q.Approved() {
		return nil, fmt.Errorf("cardstream refund %s: query: %w", req.XRef, q.Err())
	}
	if req.Remaining != 0 && (q.State == StateApproved || q.State == StateCaptured || q.State == StateAccepted) {
		if left := leftAt(q); left != req.Remaining {
			return nil, fmt.Errorf("cardstream refund %s: %w: %d left at the gateway, %d in the ledger", req.XRef, ErrLedgerMismatch, left, req.Remaining)
		}
	}
	switch q.State {
	case StateApproved, StateCaptured:
		return c.voidOrRecapture(ctx, q, req)
	case StateAccepted:
		return c.refundSettled(ctx, q, req)
	}
	return nil, fmt.Errorf("cardstream refund %s: %w: state %q", req.XRef, ErrNotRefundable, q.State)
}

// leftAt is what a QUERY shows is left of a sale to refund: before
// settlement the amount it will settle for, after it that less the
// REFUND_SALEs made.
func leftAt(q *Result) int64 {
	if q.State == StateAccepted {
		return q.Amount - q.AmountRefunded
	}
	return cmp.Or(q.Amount, q.AmountReceived)
}

// voidOrRecapture handles a transaction that has not settled yet.
func (c *Client) voidOrRecapture(ctx context.Context, q *Result, req RefundRequest) (*RefundResult, error) {
	current := leftAt(q)
	refund, err := refundAmount(req, current)
	if err != nil {
		return nil, err
	}
	out := &RefundResult{Method: RefundCancelled, Refunded: refund, Query: q}
	if refund == current {
		out.Result, err = c.Cancel(ctx, CancelRequest{XRef: req.XRef})
	} else {
		out.Method = RefundRecaptured
		out.Result, err = c.Capture(ctx, CaptureRequest{XRef: req.XRef, Amount: current - refund})
	}
	if err != nil {
		return nil, fmt.Errorf("cardstream refund %s: %w", req.XRef, err)
	}
	return out, nil
}

// refundSettled handles a settled sale.
func (c *Client) refundSettled(ctx context.Context, q *Result, req RefundRequest) (*RefundResult, error) {
	refund, err := refundAmount(req, q.Amount-q.AmountRefunded)
	if err != nil {
		return nil, err
	}
	res, err := c.RefundSale(ctx, RefundSaleRequest{XRef: req.XRef, Amount: refund, TransactionUnique: req.TransactionUnique})
	if err != nil {
		return nil, fmt.Errorf("cardstream refund %s: %w", req.XRef, err)
	}
	return &RefundResult{Method: RefundRefunded, Refunded: refund, Result: res, Query: q}, nil
}

// refundAmount resolves the amount to give back out of what is left.
func refundAmount(req RefundRequest, left int64) (int64, error) {
	if left <= 0 {
		return 0, fmt.Errorf("cardstream refund %s: %w: nothing left to refund", req.XRef, ErrNotRefundable)
	}
	if req.Amount == 0 {
		return left, nil
	}
	if req.Amount > left {
		return 0, fmt.Errorf("cardstream refund %s: %w: %d exceeds the %d left", req.XRef, ErrNotRefundable, req.Amount, left)
	}
	return req.Amount, nil
}
