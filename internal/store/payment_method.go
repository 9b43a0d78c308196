package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

const pmColumns = `id, project_id, livemode, created, customer_id, type, card, billing, xref, metadata`

func sealAAD(kind, id, col string) []byte { return []byte(kind + "/" + id + "/" + col) }

// sealJSON marshals v and seals it; a nil result for a zero value keeps the
// column NULL.
func (db *DB) sealJSON(v any, aad []byte) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return db.keys.Seal(b, aad), nil
}

func (db *DB) openJSON(sealed []byte, aad []byte, v any) error {
	if sealed == nil {
		return nil
	}
	b, err := db.keys.Open(sealed, aad)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (db *DB) openString(sealed []byte, aad []byte) (string, error) {
	if sealed == nil {
		return "", nil
	}
	b, err := db.keys.Open(sealed, aad)
	return string(b), err
}

func (db *DB) scanPaymentMethod(row interface{ Scan(...any) error }) (*pay.PaymentMethod, error) {
	var (
		pm             pay.PaymentMethod
		card, metadata string
		billing, xref  []byte
	)
	if err := row.Scan(&pm.ID, &pm.Scope.ProjectID, &pm.Scope.Livemode, &pm.Created, &pm.Customer, &pm.Type, &card, &billing, &xref, &metadata); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(card), &pm.Card); err != nil {
		return nil, fmt.Errorf("payment method %s card: %w", pm.ID, err)
	}
	if err := json.Unmarshal([]byte(metadata), &pm.Metadata); err != nil {
		return nil, fmt.Errorf("payment method %s metadata: %w", pm.ID, err)
	}
	if err := db.openJSON(billing, sealAAD("pm", pm.ID, "billing"), &pm.Billing); err != nil {
		return nil, fmt.Errorf("payment method %s billing: %w", pm.ID, err)
	}
	var err error
	if pm.XRef, err = db.openString(xref, sealAAD("pm", pm.ID, "xref")); err != nil {
		return nil, fmt.Errorf("payment method %s xref: %w", pm.ID, err)
	}
	return &pm, nil
}

// CreatePaymentMethod inserts a tokenised card. pm.ID may be preset (the
// gateway call that tokenised it used it as its reference).
func (tx *Tx) CreatePaymentMethod(ctx context.Context, pm *pay.PaymentMethod) error {
	if pm.ID == "" {
		pm.ID = pay.NewID(pay.PrefixPaymentMethod)
	}
	pm.Created = tx.unix()
	row, err := tx.db.paymentMethodRow(pm)
	if err != nil {
		return err
	}
	err = tx.tx.execLater(ctx, insertSQL("payment_methods", pmColumns, len(row), 1), row...)
	if err != nil {
		return fmt.Errorf("create payment method: %w", err)
	}
	return nil
}

// paymentMethodRow returns the values of a new payment method's row
// (pmColumns), sealed where they must be.
func (db *DB) paymentMethodRow(pm *pay.PaymentMethod) ([]any, error) {
	card, _ := json.Marshal(pm.Card)
	billing, err := db.sealJSON(pm.Billing, sealAAD("pm", pm.ID, "billing"))
	if err != nil {
		return nil, err
	}
	return []any{pm.ID, pm.Scope.ProjectID, pm.Scope.Livemode, pm.Created, pm.Customer, pm.Type, string(card), billing,
		db.keys.Seal([]byte(pm.XRef), sealAAD("pm", pm.ID, "xref")), metadataJSON(pm.Metadata)}, nil
}

// UpdatePaymentMethod writes pm's customer, card expiry, billing details and metadata.
func (tx *Tx) UpdatePaymentMethod(ctx context.Context, pm *pay.PaymentMethod) error {
	card, _ := json.Marshal(pm.Card)
	billing, err := tx.db.sealJSON(pm.Billing, sealAAD("pm", pm.ID, "billing"))
	if err != nil {
		return err
	}
	err = tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE payment_methods SET customer_id = $4, card = $5, billing = $6, metadata = $7
		`+whereID,
		pm.ID, pm.Scope.ProjectID, pm.Scope.Livemode, pm.Customer, string(card), billing, metadataJSON(pm.Metadata)))
	if err != nil {
		return fmt.Errorf("update payment method %s: %w", pm.ID, err)
	}
	return nil
}

// FindPaymentMethod returns a payment method of the scope.
func (db *DB) FindPaymentMethod(ctx context.Context, scope pay.Scope, id string) (*pay.PaymentMethod, error) {
	return db.findPaymentMethod(ctx, db.read, scope, id, "")
}

// FindPaymentMethod returns a payment method within the transaction, locked on PostgreSQL.
func (tx *Tx) FindPaymentMethod(ctx context.Context, scope pay.Scope, id string) (*pay.PaymentMethod, error) {
	return tx.db.findPaymentMethod(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findPaymentMethod(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.PaymentMethod, error) {
	pm, err := db.scanPaymentMethod(q.QueryRowContext(ctx, `SELECT `+pmColumns+` FROM payment_methods `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find payment method "+id)
	}
	return pm, nil
}

// PaymentMethodFilter narrows FindPaymentMethods.
type PaymentMethodFilter struct {
	Customer string
	Type     string
}

// FindPaymentMethods lists the scope's payment methods, newest first.
func (db *DB) FindPaymentMethods(ctx context.Context, scope pay.Scope, f PaymentMethodFilter, page pay.Page) (pay.List[*pay.PaymentMethod], error) {
	return list(ctx, db.read, listSpec{
		kind: "payment_method", table: "payment_methods", columns: pmColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Customer != "" {
				fmt.Fprintf(q, ` AND customer_id = %s`, q.arg(f.Customer))
			}
			if f.Type != "" {
				fmt.Fprintf(q, ` AND type = %s`, q.arg(f.Type))
			}
		},
	}, func(rows *sql.Rows) (*pay.PaymentMethod, error) { return db.scanPaymentMethod(rows) })
}

// DetachCustomerPaymentMethods detaches every payment method of a deleted
// customer and returns them, detached, oldest first.
func (tx *Tx) DetachCustomerPaymentMethods(ctx context.Context, scope pay.Scope, customer string) ([]*pay.PaymentMethod, error) {
	rows, err := tx.tx.QueryContext(ctx, `UPDATE payment_methods SET customer_id = '' WHERE project_id = $1 AND livemode = $2 AND customer_id = $3
		RETURNING `+pmColumns, scope.ProjectID, scope.Livemode, customer)
	if err != nil {
		return nil, fmt.Errorf("detach payment methods of %s: %w", customer, err)
	}
	defer rows.Close()
	var out []*pay.PaymentMethod
	for rows.Next() {
		pm, err := tx.db.scanPaymentMethod(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, pm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("detach payment methods of %s: %w", customer, err)
	}
	// RETURNING gives no order; IDs sort by creation.
	slices.SortFunc(out, func(a, b *pay.PaymentMethod) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
