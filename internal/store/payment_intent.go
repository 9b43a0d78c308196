package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

const piColumns = `id, project_id, livemode, created, amount, currency, status, capture_method, customer_id, payment_method_id,
	description, statement_descriptor, receipt_email, setup_future_usage, metadata, amount_capturable, amount_received,
	canceled_at, cancellation_reason, last_error, latest_charge, client_secret, attempt, three_d_secure`

func (db *DB) scanPaymentIntent(row interface{ Scan(...any) error }) (*pay.PaymentIntent, error) {
	var (
		pi                         pay.PaymentIntent
		metadata, lastErr          string
		receiptEmail, clientSecret []byte
		threeDS                    []byte
	)
	err := row.Scan(&pi.ID, &pi.Scope.ProjectID, &pi.Scope.Livemode, &pi.Created, &pi.Amount, &pi.Currency, &pi.Status, &pi.CaptureMethod,
		&pi.Customer, &pi.PaymentMethod, &pi.Description, &pi.StatementDescriptor, &receiptEmail, &pi.SetupFutureUsage, &metadata,
		&pi.AmountCapturable, &pi.AmountReceived, &pi.CanceledAt, &pi.CancellationReason, &lastErr, &pi.LatestCharge, &clientSecret, &pi.Attempt, &threeDS)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &pi.Metadata); err != nil {
		return nil, fmt.Errorf("payment intent %s metadata: %w", pi.ID, err)
	}
	if lastErr != "" {
		pi.LastError = &pay.LastPaymentError{}
		if err := json.Unmarshal([]byte(lastErr), pi.LastError); err != nil {
			return nil, fmt.Errorf("payment intent %s last error: %w", pi.ID, err)
		}
	}
	if pi.ReceiptEmail, err = db.openString(receiptEmail, sealAAD("pi", pi.ID, "receipt_email")); err != nil {
		return nil, fmt.Errorf("payment intent %s: %w", pi.ID, err)
	}
	if pi.ClientSecret, err = db.openString(clientSecret, sealAAD("pi", pi.ID, "client_secret")); err != nil {
		return nil, fmt.Errorf("payment intent %s: %w", pi.ID, err)
	}
	tds, err := db.openString(threeDS, sealAAD("pi", pi.ID, "three_d_secure"))
	if err != nil {
		return nil, fmt.Errorf("payment intent %s: %w", pi.ID, err)
	}
	if tds != "" {
		var st threeDSState
		if err := json.Unmarshal([]byte(tds), &st); err != nil {
			return nil, fmt.Errorf("payment intent %s three_d_secure: %w", pi.ID, err)
		}
		pi.RequestThreeDS, pi.Action = st.Request, st.Action
	}
	return &pi, nil
}

// threeDSState is the three_d_secure column.
type threeDSState struct {
	Request string             `json:"request,omitempty"`
	Action  *pay.ThreeDSAction `json:"action,omitempty"`
}

// sealThreeDS returns the three_d_secure column of pi (nil when empty).
func (db *DB) sealThreeDS(pi *pay.PaymentIntent) []byte {
	if pi.RequestThreeDS == "" && pi.Action == nil {
		return nil
	}
	b, _ := json.Marshal(threeDSState{Request: pi.RequestThreeDS, Action: pi.Action})
	return db.keys.Seal(b, sealAAD("pi", pi.ID, "three_d_secure"))
}

func lastErrorJSON(e *pay.LastPaymentError) string {
	if e == nil {
		return ""
	}
	b, _ := json.Marshal(e)
	return string(b)
}

func (db *DB) sealOptional(s string, aad []byte) []byte {
	if s == "" {
		return nil
	}
	return db.keys.Seal([]byte(s), aad)
}

// NewPaymentIntent fills in a new payment intent's ID, creation time and
// client secret, for a caller that needs them before CreatePaymentIntent.
func (tx *Tx) NewPaymentIntent(pi *pay.PaymentIntent) {
	pi.ID = pay.NewID(pay.PrefixPaymentIntent)
	pi.Created = tx.unix()
	pi.ClientSecret = pi.ID + "_secret_" + pay.RandomString(24)
}

// CreatePaymentIntent inserts a payment intent, filling in its ID, creation
// time and client secret unless NewPaymentIntent did.
func (tx *Tx) CreatePaymentIntent(ctx context.Context, pi *pay.PaymentIntent) error {
	if pi.ID == "" {
		tx.NewPaymentIntent(pi)
	}
	row := tx.db.paymentIntentRow(pi)
	if err := tx.tx.execLater(ctx, insertSQL("payment_intents", piColumns, len(row), 1), row...); err != nil {
		return fmt.Errorf("create payment intent: %w", err)
	}
	return nil
}

// paymentIntentRow returns the values of a new payment intent's row
// (piColumns), sealed where they must be.
func (db *DB) paymentIntentRow(pi *pay.PaymentIntent) []any {
	return []any{pi.ID, pi.Scope.ProjectID, pi.Scope.Livemode, pi.Created, pi.Amount, pi.Currency, pi.Status, pi.CaptureMethod, pi.Customer,
		pi.PaymentMethod, pi.Description, pi.StatementDescriptor, db.sealOptional(pi.ReceiptEmail, sealAAD("pi", pi.ID, "receipt_email")),
		pi.SetupFutureUsage, metadataJSON(pi.Metadata), pi.AmountCapturable, pi.AmountReceived, pi.CanceledAt, pi.CancellationReason,
		lastErrorJSON(pi.LastError), pi.LatestCharge, db.keys.Seal([]byte(pi.ClientSecret), sealAAD("pi", pi.ID, "client_secret")), pi.Attempt,
		db.sealThreeDS(pi)}
}

// UpdatePaymentIntent writes every mutable field of pi. On PostgreSQL, an
// intent this transaction has locked (Tx.FindPaymentIntent) is there, so its
// update waits for the next statement instead of being a round trip of its
// own (deferred.go).
func (tx *Tx) UpdatePaymentIntent(ctx context.Context, pi *pay.PaymentIntent) error {
	query := `UPDATE payment_intents SET amount = $4, currency = $5, status = $6, capture_method = $7,
		customer_id = $8, payment_method_id = $9, description = $10, statement_descriptor = $11, receipt_email = $12, setup_future_usage = $13,
		metadata = $14, amount_capturable = $15, amount_received = $16, canceled_at = $17, cancellation_reason = $18, last_error = $19,
		latest_charge = $20, attempt = $21, three_d_secure = $22
		` + whereID
	args := []any{pi.ID, pi.Scope.ProjectID, pi.Scope.Livemode, pi.Amount, pi.Currency, pi.Status, pi.CaptureMethod, pi.Customer, pi.PaymentMethod,
		pi.Description, pi.StatementDescriptor, tx.db.sealOptional(pi.ReceiptEmail, sealAAD("pi", pi.ID, "receipt_email")), pi.SetupFutureUsage,
		metadataJSON(pi.Metadata), pi.AmountCapturable, pi.AmountReceived, pi.CanceledAt, pi.CancellationReason, lastErrorJSON(pi.LastError),
		pi.LatestCharge, pi.Attempt, tx.db.sealThreeDS(pi)}
	var err error
	if row := "payment_intents/" + pi.ID; tx.locked[row] {
		err = tx.tx.updateLater(ctx, row, query, args...)
	} else {
		err = tx.expectOne(tx.tx.ExecContext(ctx, query, args...))
	}
	if err != nil {
		return fmt.Errorf("update payment intent %s: %w", pi.ID, err)
	}
	return nil
}

// FindPaymentIntent returns a payment intent of the scope.
func (db *DB) FindPaymentIntent(ctx context.Context, scope pay.Scope, id string) (*pay.PaymentIntent, error) {
	return db.findPaymentIntent(ctx, db.read, scope, id, "")
}

// FindPaymentIntent returns a payment intent within the transaction, locked on PostgreSQL.
func (tx *Tx) FindPaymentIntent(ctx context.Context, scope pay.Scope, id string) (*pay.PaymentIntent, error) {
	pi, err := tx.db.findPaymentIntent(ctx, tx.tx, scope, id, tx.db.forUpdate())
	if err == nil && tx.db.dialect == Postgres {
		tx.lock("payment_intents/" + pi.ID)
	}
	return pi, err
}

func (db *DB) findPaymentIntent(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.PaymentIntent, error) {
	pi, err := db.scanPaymentIntent(q.QueryRowContext(ctx, `SELECT `+piColumns+` FROM payment_intents `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find payment intent "+id)
	}
	return pi, nil
}

// FindPaymentIntentByID returns a payment intent by its ID alone, for the
// 3-D Secure page, which knows no scope (its token is checked by the
// caller).
func (db *DB) FindPaymentIntentByID(ctx context.Context, id string) (*pay.PaymentIntent, error) {
	pi, err := db.scanPaymentIntent(db.read.QueryRowContext(ctx, `SELECT `+piColumns+` FROM payment_intents WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find payment intent "+id)
	}
	return pi, nil
}

// PaymentIntentFilter narrows FindPaymentIntents. Zero fields are unset.
type PaymentIntentFilter struct {
	Customer string
	Status   string // exact, e.g. pay.StatusSucceeded
	// AmountGTE and AmountLTE bound the amount (minor units), inclusive.
	AmountGTE, AmountLTE int64
}

// FindPaymentIntents lists the scope's payment intents, newest first.
func (db *DB) FindPaymentIntents(ctx context.Context, scope pay.Scope, f PaymentIntentFilter, page pay.Page) (pay.List[*pay.PaymentIntent], error) {
	return list(ctx, db.read, listSpec{
		kind: "payment_intent", table: "payment_intents", columns: piColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Customer != "" {
				fmt.Fprintf(q, ` AND customer_id = %s`, q.arg(f.Customer))
			}
			if f.Status != "" {
				fmt.Fprintf(q, ` AND status = %s`, q.arg(f.Status))
			}
			if f.AmountGTE != 0 {
				fmt.Fprintf(q, ` AND amount >= %s`, q.arg(f.AmountGTE))
			}
			if f.AmountLTE != 0 {
				fmt.Fprintf(q, ` AND amount <= %s`, q.arg(f.AmountLTE))
			}
		},
	}, func(rows *sql.Rows) (*pay.PaymentIntent, error) { return db.scanPaymentIntent(rows) })
}
