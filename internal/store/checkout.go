package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

const checkoutColumns = `id, project_id, livemode, created, expires_at, mode, status, payment_status, currency, amount_total, line_items,
	success_url, cancel_url, customer_id, customer_email, client_reference_id, metadata, pi_data, payment_intent_id, attempt, last_attempt,
	paid_xref, paid_after_expiry, invoice_id, other_xrefs, declined, portal_session_id`

// piData is the payment_intent_data column.
type piData struct {
	Metadata      map[string]string `json:"metadata,omitempty"`
	Description   string            `json:"description,omitempty"`
	CaptureMethod string            `json:"capture_method,omitempty"`
	Descriptor    string            `json:"statement_descriptor,omitempty"`
}

func (db *DB) scanCheckout(row interface{ Scan(...any) error }) (*pay.CheckoutSession, error) {
	var (
		cs                                pay.CheckoutSession
		items, metadata, pid, lastAttempt string
		otherXRefs, declined              string
		email                             []byte
	)
	err := row.Scan(&cs.ID, &cs.Scope.ProjectID, &cs.Scope.Livemode, &cs.Created, &cs.ExpiresAt, &cs.Mode, &cs.Status, &cs.PaymentStatus,
		&cs.Currency, &cs.AmountTotal, &items, &cs.SuccessURL, &cs.CancelURL, &cs.Customer, &email, &cs.ClientReferenceID, &metadata, &pid,
		&cs.PaymentIntent, &cs.Attempt, &lastAttempt, &cs.PaidXRef, &cs.PaidAfterExpiry, &cs.Invoice, &otherXRefs, &declined, &cs.PortalSession)
	if err != nil {
		return nil, err
	}
	cs.OtherXRefs, cs.Declined = strings.Fields(otherXRefs), strings.Fields(declined)
	var d piData
	for _, f := range []struct {
		raw string
		dst any
	}{{items, &cs.LineItems}, {metadata, &cs.Metadata}, {pid, &d}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return nil, fmt.Errorf("checkout session %s: %w", cs.ID, err)
		}
	}
	cs.PIMetadata, cs.PIDescription, cs.PICaptureMethod, cs.PIStatementDescriptor = d.Metadata, d.Description, d.CaptureMethod, d.Descriptor
	if lastAttempt != "" {
		cs.LastAttempt = &pay.CheckoutAttempt{}
		if err := json.Unmarshal([]byte(lastAttempt), cs.LastAttempt); err != nil {
			return nil, fmt.Errorf("checkout session %s: %w", cs.ID, err)
		}
	}
	if cs.CustomerEmail, err = db.openString(email, sealAAD("cs", cs.ID, "email")); err != nil {
		return nil, fmt.Errorf("checkout session %s: %w", cs.ID, err)
	}
	return &cs, nil
}

// checkoutArgs are a new session's column values, in checkoutColumns order.
func checkoutArgs(db *DB, cs *pay.CheckoutSession) []any {
	items, _ := json.Marshal(cs.LineItems)
	pid, _ := json.Marshal(piData{Metadata: cs.PIMetadata, Description: cs.PIDescription, CaptureMethod: cs.PICaptureMethod,
		Descriptor: cs.PIStatementDescriptor})
	return []any{cs.ID, cs.Scope.ProjectID, cs.Scope.Livemode, cs.Created, cs.ExpiresAt, cs.Mode, cs.Status, cs.PaymentStatus, cs.Currency,
		cs.AmountTotal, string(items), cs.SuccessURL, cs.CancelURL, cs.Customer, db.sealOptional(cs.CustomerEmail, sealAAD("cs", cs.ID, "email")),
		cs.ClientReferenceID, metadataJSON(cs.Metadata), string(pid), cs.PaymentIntent, cs.Attempt, "", cs.PaidXRef, cs.PaidAfterExpiry,
		cs.Invoice, strings.Join(cs.OtherXRefs, " "), strings.Join(cs.Declined, " "), cs.PortalSession}
}

// CreateCheckoutSession inserts a session, filling in its ID and creation time.
func (tx *Tx) CreateCheckoutSession(ctx context.Context, cs *pay.CheckoutSession) error {
	prefix := pay.PrefixCheckoutTest
	if cs.Scope.Livemode {
		prefix = pay.PrefixCheckoutLive
	}
	cs.ID = prefix + pay.RandomString(48)
	cs.Created = tx.unix()
	err := tx.tx.execLater(ctx, `INSERT INTO checkout_sessions (`+checkoutColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)`, checkoutArgs(tx.db, cs)...)
	if err != nil {
		return fmt.Errorf("create checkout session: %w", err)
	}
	return nil
}

// UpdateCheckoutSession writes a session's mutable fields: status,
// payment, attempts (and the results recorded) and metadata.
func (tx *Tx) UpdateCheckoutSession(ctx context.Context, cs *pay.CheckoutSession) error {
	last := ""
	if cs.LastAttempt != nil {
		b, _ := json.Marshal(cs.LastAttempt)
		last = string(b)
	}
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE checkout_sessions SET status = $2, payment_status = $3, customer_id = $4, metadata = $5,
		payment_intent_id = $6, attempt = $7, last_attempt = $8, paid_xref = $9, paid_after_expiry = $10, other_xrefs = $11, declined = $12
		WHERE id = $1`,
		cs.ID, cs.Status, cs.PaymentStatus, cs.Customer, metadataJSON(cs.Metadata), cs.PaymentIntent, cs.Attempt, last, cs.PaidXRef, cs.PaidAfterExpiry,
		strings.Join(cs.OtherXRefs, " "), strings.Join(cs.Declined, " ")))
	if err != nil {
		return fmt.Errorf("update checkout session %s: %w", cs.ID, err)
	}
	return nil
}

// FindCheckoutSession returns a merchant's session of the scope (never an
// invoice's, which are internal).
func (db *DB) FindCheckoutSession(ctx context.Context, scope pay.Scope, id string) (*pay.CheckoutSession, error) {
	cs, err := db.scanCheckout(db.read.QueryRowContext(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions `+whereID+` AND invoice_id = '' AND portal_session_id = ''`,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find checkout session "+id)
	}
	return cs, nil
}

// FindCheckoutSessionByID returns a session by ID alone, locked on
// PostgreSQL: the hosted page and the gateway's callbacks know no key, only
// the session's unguessable ID.
func (tx *Tx) FindCheckoutSessionByID(ctx context.Context, id string) (*pay.CheckoutSession, error) {
	cs, err := tx.db.scanCheckout(tx.tx.QueryRowContext(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions WHERE id = $1`+tx.db.forUpdate(), id))
	if err != nil {
		return nil, notFound(err, "find checkout session "+id)
	}
	return cs, nil
}

// FindCheckoutSessionByID reads a session by ID alone.
func (db *DB) FindCheckoutSessionByID(ctx context.Context, id string) (*pay.CheckoutSession, error) {
	cs, err := db.scanCheckout(db.read.QueryRowContext(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find checkout session "+id)
	}
	return cs, nil
}

// FindCheckoutSessions lists the scope's merchant sessions (not invoices'),
// newest first.
func (db *DB) FindCheckoutSessions(ctx context.Context, scope pay.Scope, paymentIntent string, page pay.Page) (pay.List[*pay.CheckoutSession], error) {
	return list(ctx, db.read, listSpec{
		kind: "checkout.session", table: "checkout_sessions", columns: checkoutColumns, scope: scope, page: page,
		where: func(q *query) {
			q.WriteString(` AND invoice_id = '' AND portal_session_id = ''`)
			if paymentIntent != "" {
				fmt.Fprintf(q, ` AND payment_intent_id = %s`, q.arg(paymentIntent))
			}
		},
	}, func(rows *sql.Rows) (*pay.CheckoutSession, error) { return db.scanCheckout(rows) })
}

// FindOverdueCheckoutSessions returns up to limit open sessions whose
// expiry time is before unix time now.
func (db *DB) FindOverdueCheckoutSessions(ctx context.Context, now int64, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM checkout_sessions WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FindOpenInvoiceSession returns the invoice's open session that expires
// after unix time after, locked on PostgreSQL, or pay.ErrNotFound.
func (tx *Tx) FindOpenInvoiceSession(ctx context.Context, invoiceID string, after int64) (*pay.CheckoutSession, error) {
	cs, err := tx.db.scanCheckout(tx.tx.QueryRowContext(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions
		WHERE invoice_id = $1 AND status = 'open' AND expires_at > $2 ORDER BY expires_at DESC LIMIT 1`+tx.db.forUpdate(), invoiceID, after))
	if err != nil {
		return nil, notFound(err, "find open session of invoice "+invoiceID)
	}
	return cs, nil
}
