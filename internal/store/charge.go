package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

const chargeColumns = `id, project_id, livemode, created, payment_intent_id, customer_id, payment_method_id, amount, amount_captured,
	amount_refunded, currency, status, captured, failure_code, failure_message, decline_code, card, description, metadata, auth_code,
	gateway_txn_id, xref, gateway`

func (db *DB) scanCharge(row interface{ Scan(...any) error }) (*pay.Charge, error) {
	var (
		c              pay.Charge
		card, metadata string
		xref, gateway  []byte
	)
	err := row.Scan(&c.ID, &c.Scope.ProjectID, &c.Scope.Livemode, &c.Created, &c.PaymentIntent, &c.Customer, &c.PaymentMethod, &c.Amount,
		&c.AmountCaptured, &c.AmountRefunded, &c.Currency, &c.Status, &c.Captured, &c.FailureCode, &c.FailureMessage, &c.DeclineCode,
		&card, &c.Description, &metadata, &c.AuthCode, &c.GatewayTxnID, &xref, &gateway)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(card), &c.Card); err != nil {
		return nil, fmt.Errorf("charge %s card: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(metadata), &c.Metadata); err != nil {
		return nil, fmt.Errorf("charge %s metadata: %w", c.ID, err)
	}
	if c.XRef, err = db.openString(xref, sealAAD("ch", c.ID, "xref")); err != nil {
		return nil, fmt.Errorf("charge %s: %w", c.ID, err)
	}
	if c.Gateway, err = db.openString(gateway, sealAAD("ch", c.ID, "gateway")); err != nil {
		return nil, fmt.Errorf("charge %s: %w", c.ID, err)
	}
	return &c, nil
}

// CreateCharge inserts a charge, filling in its creation time and, unless
// preset, its ID.
func (tx *Tx) CreateCharge(ctx context.Context, c *pay.Charge) error {
	if c.ID == "" {
		c.ID = pay.NewID(pay.PrefixCharge)
	}
	c.Created = tx.unix()
	row := tx.db.chargeRow(c)
	if err := tx.tx.execLater(ctx, insertSQL("charges", chargeColumns, len(row), 1), row...); err != nil {
		return fmt.Errorf("create charge: %w", err)
	}
	return nil
}

// chargeRow returns the values of a new charge's row (chargeColumns),
// sealed where they must be.
func (db *DB) chargeRow(c *pay.Charge) []any {
	card, _ := json.Marshal(c.Card)
	return []any{c.ID, c.Scope.ProjectID, c.Scope.Livemode, c.Created, c.PaymentIntent, c.Customer, c.PaymentMethod, c.Amount, c.AmountCaptured,
		c.AmountRefunded, c.Currency, c.Status, c.Captured, c.FailureCode, c.FailureMessage, c.DeclineCode, string(card), c.Description,
		metadataJSON(c.Metadata), c.AuthCode, c.GatewayTxnID, db.sealOptional(c.XRef, sealAAD("ch", c.ID, "xref")),
		db.sealOptional(c.Gateway, sealAAD("ch", c.ID, "gateway"))}
}

// UpdateCharge writes a charge's amounts, status and metadata.
func (tx *Tx) UpdateCharge(ctx context.Context, c *pay.Charge) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE charges SET amount_captured = $4, amount_refunded = $5, status = $6, captured = $7,
		description = $8, metadata = $9 `+whereID,
		c.ID, c.Scope.ProjectID, c.Scope.Livemode, c.AmountCaptured, c.AmountRefunded, c.Status, c.Captured, c.Description, metadataJSON(c.Metadata)))
	if err != nil {
		return fmt.Errorf("update charge %s: %w", c.ID, err)
	}
	return nil
}

// FindCharge returns a charge of the scope.
func (db *DB) FindCharge(ctx context.Context, scope pay.Scope, id string) (*pay.Charge, error) {
	return db.findCharge(ctx, db.read, scope, id, "")
}

// FindCharge returns a charge within the transaction, locked on PostgreSQL.
func (tx *Tx) FindCharge(ctx context.Context, scope pay.Scope, id string) (*pay.Charge, error) {
	return tx.db.findCharge(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findCharge(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.Charge, error) {
	c, err := db.scanCharge(q.QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM charges `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find charge "+id)
	}
	return c, nil
}

// ChargeFilter narrows FindCharges.
type ChargeFilter struct {
	PaymentIntent string
	Customer      string
}

// FindCharges lists the scope's charges, newest first.
func (db *DB) FindCharges(ctx context.Context, scope pay.Scope, f ChargeFilter, page pay.Page) (pay.List[*pay.Charge], error) {
	return list(ctx, db.read, listSpec{
		kind: "charge", table: "charges", columns: chargeColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.PaymentIntent != "" {
				fmt.Fprintf(q, ` AND payment_intent_id = %s`, q.arg(f.PaymentIntent))
			}
			if f.Customer != "" {
				fmt.Fprintf(q, ` AND customer_id = %s`, q.arg(f.Customer))
			}
		},
	}, func(rows *sql.Rows) (*pay.Charge, error) { return db.scanCharge(rows) })
}
