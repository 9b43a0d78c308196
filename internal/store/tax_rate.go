package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

const taxRateColumns = `id, project_id, livemode, created, active, display_name, description, percentage, inclusive, country, state,
	jurisdiction, jurisdiction_level, tax_type, metadata`

func scanTaxRate(row interface{ Scan(...any) error }) (*pay.TaxRate, error) {
	var (
		t        pay.TaxRate
		metadata string
	)
	err := row.Scan(&t.ID, &t.Scope.ProjectID, &t.Scope.Livemode, &t.Created, &t.Active, &t.DisplayName, &t.Description, &t.Percentage,
		&t.Inclusive, &t.Country, &t.State, &t.Jurisdiction, &t.JurisdictionLevel, &t.TaxType, &metadata)
	if err != nil {
		return nil, err
	}
	if metadata != "{}" {
		if err := json.Unmarshal([]byte(metadata), &t.Metadata); err != nil {
			return nil, fmt.Errorf("tax rate %s metadata: %w", t.ID, err)
		}
	}
	return &t, nil
}

// CreateTaxRate inserts a tax rate, filling in its ID and creation time.
func (tx *Tx) CreateTaxRate(ctx context.Context, t *pay.TaxRate) error {
	t.ID = pay.NewID(pay.PrefixTaxRate)
	t.Created = tx.unix()
	err := tx.tx.execLater(ctx, `INSERT INTO tax_rates (`+taxRateColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		t.ID, t.Scope.ProjectID, t.Scope.Livemode, t.Created, t.Active, t.DisplayName, t.Description, int64(t.Percentage), t.Inclusive,
		t.Country, t.State, t.Jurisdiction, t.JurisdictionLevel, t.TaxType, metadataJSON(t.Metadata))
	if err != nil {
		return fmt.Errorf("create tax rate: %w", err)
	}
	return nil
}

// UpdateTaxRate writes a tax rate's mutable fields: everything but its
// percentage and whether it is inclusive, which never change.
func (tx *Tx) UpdateTaxRate(ctx context.Context, t *pay.TaxRate) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE tax_rates SET active = $4, display_name = $5, description = $6, country = $7,
		state = $8, jurisdiction = $9, jurisdiction_level = $10, tax_type = $11, metadata = $12
		`+whereID,
		t.ID, t.Scope.ProjectID, t.Scope.Livemode, t.Active, t.DisplayName, t.Description, t.Country, t.State, t.Jurisdiction,
		t.JurisdictionLevel, t.TaxType, metadataJSON(t.Metadata)))
	if err != nil {
		return fmt.Errorf("update tax rate %s: %w", t.ID, err)
	}
	return nil
}

// FindTaxRate returns a tax rate of the scope.
func (db *DB) FindTaxRate(ctx context.Context, scope pay.Scope, id string) (*pay.TaxRate, error) {
	return db.findTaxRate(ctx, db.read, scope, id, "")
}

// FindTaxRate returns a tax rate within the transaction, locked on
// PostgreSQL so that concurrent updates serialise.
func (tx *Tx) FindTaxRate(ctx context.Context, scope pay.Scope, id string) (*pay.TaxRate, error) {
	return tx.db.findTaxRate(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findTaxRate(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.TaxRate, error) {
	t, err := scanTaxRate(q.QueryRowContext(ctx, `SELECT `+taxRateColumns+` FROM tax_rates `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find tax rate "+id)
	}
	return t, nil
}

// TaxRateFilter narrows FindTaxRates; nil fields do not filter.
type TaxRateFilter struct {
	Active, Inclusive *bool
}

// FindTaxRates lists the scope's tax rates, newest first.
func (db *DB) FindTaxRates(ctx context.Context, scope pay.Scope, f TaxRateFilter, page pay.Page) (pay.List[*pay.TaxRate], error) {
	return list(ctx, db.read, listSpec{
		kind: "tax rate", table: "tax_rates", columns: taxRateColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Active != nil {
				fmt.Fprintf(q, ` AND active = %s`, q.arg(*f.Active))
			}
			if f.Inclusive != nil {
				fmt.Fprintf(q, ` AND inclusive = %s`, q.arg(*f.Inclusive))
			}
		},
	}, func(rows *sql.Rows) (*pay.TaxRate, error) { return scanTaxRate(rows) })
}
