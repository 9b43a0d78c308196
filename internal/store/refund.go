package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

const refundColumns = `id, project_id, livemode, created, charge_id, payment_intent_id, amount, currency, reason, status, failure_reason,
	metadata, method, gateway_txn_id`

func scanRefund(row interface{ Scan(...any) error }) (*pay.Refund, error) {
	var (
		r        pay.Refund
		metadata string
	)
	err := row.Scan(&r.ID, &r.Scope.ProjectID, &r.Scope.Livemode, &r.Created, &r.Charge, &r.PaymentIntent, &r.Amount, &r.Currency, &r.Reason,
		&r.Status, &r.FailureReason, &metadata, &r.Method, &r.GatewayTxnID)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &r.Metadata); err != nil {
		return nil, fmt.Errorf("refund %s metadata: %w", r.ID, err)
	}
	return &r, nil
}

// CreateRefund inserts a refund. r.ID may be preset.
func (tx *Tx) CreateRefund(ctx context.Context, r *pay.Refund) error {
	if r.ID == "" {
		r.ID = pay.NewID(pay.PrefixRefund)
	}
	r.Created = tx.unix()
	row := refundRow(r)
	if _, err := tx.tx.ExecContext(ctx, insertSQL("refunds", refundColumns, len(row), 1), row...); err != nil {
		return fmt.Errorf("create refund: %w", err)
	}
	return nil
}

// refundRow returns the values of a new refund's row (refundColumns).
func refundRow(r *pay.Refund) []any {
	return []any{r.ID, r.Scope.ProjectID, r.Scope.Livemode, r.Created, r.Charge, r.PaymentIntent, r.Amount, r.Currency, r.Reason, r.Status,
		r.FailureReason, metadataJSON(r.Metadata), r.Method, r.GatewayTxnID}
}

// UpdateRefund writes a refund's status, outcome and metadata.
func (tx *Tx) UpdateRefund(ctx context.Context, r *pay.Refund) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE refunds SET status = $4, failure_reason = $5, metadata = $6, method = $7, gateway_txn_id = $8
		`+whereID,
		r.ID, r.Scope.ProjectID, r.Scope.Livemode, r.Status, r.FailureReason, metadataJSON(r.Metadata), r.Method, r.GatewayTxnID))
	if err != nil {
		return fmt.Errorf("update refund %s: %w", r.ID, err)
	}
	return nil
}

// FindRefund returns a refund of the scope.
func (db *DB) FindRefund(ctx context.Context, scope pay.Scope, id string) (*pay.Refund, error) {
	return db.findRefund(ctx, db.read, scope, id, "")
}

// FindRefund returns a refund within the transaction, locked on PostgreSQL.
func (tx *Tx) FindRefund(ctx context.Context, scope pay.Scope, id string) (*pay.Refund, error) {
	return tx.db.findRefund(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findRefund(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.Refund, error) {
	r, err := scanRefund(q.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM refunds `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find refund "+id)
	}
	return r, nil
}

// RefundFilter narrows FindRefunds.
type RefundFilter struct {
	Charge        string
	PaymentIntent string
}

// FindRefunds lists the scope's refunds, newest first.
func (db *DB) FindRefunds(ctx context.Context, scope pay.Scope, f RefundFilter, page pay.Page) (pay.List[*pay.Refund], error) {
	return list(ctx, db.read, listSpec{
		kind: "refund", table: "refunds", columns: refundColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Charge != "" {
				fmt.Fprintf(q, ` AND charge_id = %s`, q.arg(f.Charge))
			}
			if f.PaymentIntent != "" {
				fmt.Fprintf(q, ` AND payment_intent_id = %s`, q.arg(f.PaymentIntent))
			}
		},
	}, func(rows *sql.Rows) (*pay.Refund, error) { return scanRefund(rows) })
}

// UnsettledRefund returns a refund of the charge whose outcome is not
// recorded yet (pending, or requires_action while it waits for an
// operator), or nil. Call it with the charge locked (FindCharge): a pending
// refund is the charge's refund claim, held from before its gateway call
// until its outcome is recorded, so refunds of one charge never overlap at
// the gateway.
func (tx *Tx) UnsettledRefund(ctx context.Context, chargeID string) (*pay.Refund, error) {
	r, err := scanRefund(tx.tx.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM refunds
		WHERE charge_id = $1 AND status IN ('pending', 'requires_action') LIMIT 1`, chargeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}
