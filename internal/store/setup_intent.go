package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

const setiColumns = `id, project_id, livemode, created, customer_id, payment_method_id, description, usage, status, metadata, last_error,
	cancellation_reason, client_secret, attempt, three_d_secure`

func (db *DB) scanSetupIntent(row interface{ Scan(...any) error }) (*pay.SetupIntent, error) {
	var (
		si                    pay.SetupIntent
		metadata, lastErr     string
		clientSecret, threeDS []byte
	)
	err := row.Scan(&si.ID, &si.Scope.ProjectID, &si.Scope.Livemode, &si.Created, &si.Customer, &si.PaymentMethod, &si.Description, &si.Usage,
		&si.Status, &metadata, &lastErr, &si.CancellationReason, &clientSecret, &si.Attempt, &threeDS)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &si.Metadata); err != nil {
		return nil, fmt.Errorf("setup intent %s metadata: %w", si.ID, err)
	}
	if lastErr != "" {
		si.LastError = &pay.LastPaymentError{}
		if err := json.Unmarshal([]byte(lastErr), si.LastError); err != nil {
			return nil, fmt.Errorf("setup intent %s last error: %w", si.ID, err)
		}
	}
	if si.ClientSecret, err = db.openString(clientSecret, sealAAD("seti", si.ID, "client_secret")); err != nil {
		return nil, fmt.Errorf("setup intent %s: %w", si.ID, err)
	}
	tds, err := db.openString(threeDS, sealAAD("seti", si.ID, "three_d_secure"))
	if err != nil {
		return nil, fmt.Errorf("setup intent %s: %w", si.ID, err)
	}
	if tds != "" {
		var st threeDSState
		if err := json.Unmarshal([]byte(tds), &st); err != nil {
			return nil, fmt.Errorf("setup intent %s three_d_secure: %w", si.ID, err)
		}
		si.RequestThreeDS, si.Action = st.Request, st.Action
	}
	return &si, nil
}

func (db *DB) sealSetupThreeDS(si *pay.SetupIntent) []byte {
	if si.RequestThreeDS == "" && si.Action == nil {
		return nil
	}
	b, _ := json.Marshal(threeDSState{Request: si.RequestThreeDS, Action: si.Action})
	return db.keys.Seal(b, sealAAD("seti", si.ID, "three_d_secure"))
}

// NewSetupIntent fills in a new setup intent's ID, creation time and
// client secret, for a caller that needs them before CreateSetupIntent.
func (tx *Tx) NewSetupIntent(si *pay.SetupIntent) {
	si.ID = pay.NewID(pay.PrefixSetupIntent)
	si.Created = tx.unix()
	si.ClientSecret = si.ID + "_secret_" + pay.RandomString(24)
}

// CreateSetupIntent inserts a setup intent, filling in its ID, creation
// time and client secret unless NewSetupIntent did.
func (tx *Tx) CreateSetupIntent(ctx context.Context, si *pay.SetupIntent) error {
	if si.ID == "" {
		tx.NewSetupIntent(si)
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO setup_intents (`+setiColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		si.ID, si.Scope.ProjectID, si.Scope.Livemode, si.Created, si.Customer, si.PaymentMethod, si.Description, si.Usage, si.Status,
		metadataJSON(si.Metadata), lastErrorJSON(si.LastError), si.CancellationReason,
		tx.db.keys.Seal([]byte(si.ClientSecret), sealAAD("seti", si.ID, "client_secret")), si.Attempt, tx.db.sealSetupThreeDS(si))
	if err != nil {
		return fmt.Errorf("create setup intent: %w", err)
	}
	return nil
}

// UpdateSetupIntent writes every mutable field of si.
func (tx *Tx) UpdateSetupIntent(ctx context.Context, si *pay.SetupIntent) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE setup_intents SET customer_id = $4, payment_method_id = $5, description = $6,
		usage = $7, status = $8, metadata = $9, last_error = $10, cancellation_reason = $11, attempt = $12, three_d_secure = $13
		`+whereID,
		si.ID, si.Scope.ProjectID, si.Scope.Livemode, si.Customer, si.PaymentMethod, si.Description, si.Usage, si.Status,
		metadataJSON(si.Metadata), lastErrorJSON(si.LastError), si.CancellationReason, si.Attempt, tx.db.sealSetupThreeDS(si)))
	if err != nil {
		return fmt.Errorf("update setup intent %s: %w", si.ID, err)
	}
	return nil
}

// FindSetupIntent returns a setup intent of the scope.
func (db *DB) FindSetupIntent(ctx context.Context, scope pay.Scope, id string) (*pay.SetupIntent, error) {
	return db.findSetupIntent(ctx, db.read, scope, id, "")
}

// FindSetupIntent returns a setup intent within the transaction, locked on
// PostgreSQL.
func (tx *Tx) FindSetupIntent(ctx context.Context, scope pay.Scope, id string) (*pay.SetupIntent, error) {
	return tx.db.findSetupIntent(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findSetupIntent(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.SetupIntent, error) {
	si, err := db.scanSetupIntent(q.QueryRowContext(ctx, `SELECT `+setiColumns+` FROM setup_intents `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find setup intent "+id)
	}
	return si, nil
}

// FindSetupIntentByID returns a setup intent by its ID alone, for the 3-D
// Secure page (its token is checked by the caller).
func (db *DB) FindSetupIntentByID(ctx context.Context, id string) (*pay.SetupIntent, error) {
	si, err := db.scanSetupIntent(db.read.QueryRowContext(ctx, `SELECT `+setiColumns+` FROM setup_intents WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find setup intent "+id)
	}
	return si, nil
}

// FindSetupIntents lists the scope's setup intents, newest first, of
// customer if not "".
func (db *DB) FindSetupIntents(ctx context.Context, scope pay.Scope, customer string, page pay.Page) (pay.List[*pay.SetupIntent], error) {
	return list(ctx, db.read, listSpec{
		kind: "setup_intent", table: "setup_intents", columns: setiColumns, scope: scope, page: page,
		where: func(q *query) {
			if customer != "" {
				fmt.Fprintf(q, ` AND customer_id = %s`, q.arg(customer))
			}
		},
	}, func(rows *sql.Rows) (*pay.SetupIntent, error) { return db.scanSetupIntent(rows) })
}
