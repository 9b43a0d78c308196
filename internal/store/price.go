package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

const priceColumns = `id, project_id, livemode, created, product_id, active, currency, unit_amount, recurring_interval,
	recurring_interval_count, trial_period_days, lookup_key, nickname, tax_behavior, metadata`

func scanPrice(row interface{ Scan(...any) error }) (*pay.Price, error) {
	var (
		p        pay.Price
		r        pay.Recurring
		metadata string
	)
	err := row.Scan(&p.ID, &p.Scope.ProjectID, &p.Scope.Livemode, &p.Created, &p.Product, &p.Active, &p.Currency, &p.UnitAmount,
		&r.Interval, &r.IntervalCount, &r.TrialPeriodDays, &p.LookupKey, &p.Nickname, &p.TaxBehavior, &metadata)
	if err != nil {
		return nil, err
	}
	if r.Interval != "" {
		p.Recurring = &r
	}
	if metadata != "{}" {
		if err := json.Unmarshal([]byte(metadata), &p.Metadata); err != nil {
			return nil, fmt.Errorf("price %s metadata: %w", p.ID, err)
		}
	}
	return &p, nil
}

// recurringColumns are the values of a price's recurring_* columns.
func recurringColumns(r *pay.Recurring) (interval string, count, trial int64) {
	if r == nil {
		return "", 0, 0
	}
	return r.Interval, r.IntervalCount, r.TrialPeriodDays
}

// CreatePrice inserts a price, filling in its creation time and, unless
// the caller chose it already (a product's default price), its ID. An
// active price whose lookup key another active price of the scope has is
// pay.ErrConflict; such an insert is sent at once, so that its failure is
// the caller's to answer.
func (tx *Tx) CreatePrice(ctx context.Context, p *pay.Price) error {
	if p.ID == "" {
		p.ID = pay.NewID(pay.PrefixPrice)
	}
	p.Created = tx.unix()
	interval, count, trial := recurringColumns(p.Recurring)
	query := `INSERT INTO prices (` + priceColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	args := []any{p.ID, p.Scope.ProjectID, p.Scope.Livemode, p.Created, p.Product, p.Active, p.Currency, p.UnitAmount,
		interval, count, trial, p.LookupKey, p.Nickname, p.TaxBehavior, metadataJSON(p.Metadata)}
	if p.LookupKey == "" || !p.Active {
		if err := tx.tx.execLater(ctx, query, args...); err != nil {
			return fmt.Errorf("create price: %w", err)
		}
		return nil
	}
	if _, err := tx.tx.ExecContext(ctx, query, args...); err != nil {
		return conflict(err, "create price")
	}
	return nil
}

// UpdatePrice writes p's mutable fields (active, lookup key, nickname, tax
// behaviour, metadata). A lookup key clash is pay.ErrConflict, as in
// CreatePrice.
func (tx *Tx) UpdatePrice(ctx context.Context, p *pay.Price) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE prices SET active = $4, lookup_key = $5, nickname = $6, tax_behavior = $7, metadata = $8
		`+whereID,
		p.ID, p.Scope.ProjectID, p.Scope.Livemode, p.Active, p.LookupKey, p.Nickname, p.TaxBehavior, metadataJSON(p.Metadata)))
	if err != nil {
		return conflict(err, "update price "+p.ID)
	}
	return nil
}

// FindPrice returns a price of the scope.
func (db *DB) FindPrice(ctx context.Context, scope pay.Scope, id string) (*pay.Price, error) {
	return findPrice(ctx, db.read, scope, id, "")
}

// FindPrice returns a price within the transaction, locked on PostgreSQL.
func (tx *Tx) FindPrice(ctx context.Context, scope pay.Scope, id string) (*pay.Price, error) {
	return findPrice(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func findPrice(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.Price, error) {
	p, err := scanPrice(q.QueryRowContext(ctx, `SELECT `+priceColumns+` FROM prices `+whereID+suffix, id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find price "+id)
	}
	return p, nil
}

// PeekPrice returns a price within the transaction without locking it,
// for a caller that locks its product first (locks are taken product
// first, then price, so that two transactions never wait for each other).
func (tx *Tx) PeekPrice(ctx context.Context, scope pay.Scope, id string) (*pay.Price, error) {
	return findPrice(ctx, tx.tx, scope, id, "")
}

// FindPriceByLookupKey returns the scope's active price with a lookup key,
// locked on PostgreSQL, or pay.ErrNotFound.
func (tx *Tx) FindPriceByLookupKey(ctx context.Context, scope pay.Scope, key string) (*pay.Price, error) {
	p, err := scanPrice(tx.tx.QueryRowContext(ctx, `SELECT `+priceColumns+` FROM prices
		WHERE project_id = $1 AND livemode = $2 AND lookup_key = $3 AND active`+tx.db.forUpdate(), scope.ProjectID, scope.Livemode, key))
	if err != nil {
		return nil, notFound(err, "find price by lookup key")
	}
	return p, nil
}

// PriceFilter narrows FindPrices. Zero fields do not filter.
type PriceFilter struct {
	Active     *bool
	Currency   string
	Product    string
	Type       string // pay.PriceOneTime or pay.PriceRecurring
	Interval   string // recurring[interval]
	LookupKeys []string
	// None: the filter matches no price (recurring[usage_type]=metered).
	None bool
}

// FindPrices lists the scope's prices, newest first.
func (db *DB) FindPrices(ctx context.Context, scope pay.Scope, f PriceFilter, page pay.Page) (pay.List[*pay.Price], error) {
	return list(ctx, db.read, listSpec{
		kind: "price", table: "prices", columns: priceColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.None {
				q.WriteString(` AND FALSE`)
			}
			if f.Active != nil {
				fmt.Fprintf(q, ` AND active = %s`, q.arg(*f.Active))
			}
			if f.Currency != "" {
				fmt.Fprintf(q, ` AND currency = %s`, q.arg(f.Currency))
			}
			if f.Product != "" {
				fmt.Fprintf(q, ` AND product_id = %s`, q.arg(f.Product))
			}
			switch f.Type {
			case pay.PriceOneTime:
				q.WriteString(` AND recurring_interval = ''`)
			case pay.PriceRecurring:
				q.WriteString(` AND recurring_interval <> ''`)
			}
			if f.Interval != "" {
				fmt.Fprintf(q, ` AND recurring_interval = %s`, q.arg(f.Interval))
			}
			writeIn(q, "lookup_key", f.LookupKeys)
		},
	}, func(rows *sql.Rows) (*pay.Price, error) { return scanPrice(rows) })
}

// SearchPrices returns a page of the scope's prices that match sq, newest
// first.
func (db *DB) SearchPrices(ctx context.Context, scope pay.Scope, sq pay.SearchQuery, page pay.SearchPage) (pay.SearchResult[*pay.Price], error) {
	spec := listSpec{kind: "price", table: "prices", columns: priceColumns, scope: scope}
	return search(ctx, db, spec, sq, page, func(rows *sql.Rows) (*pay.Price, error) { return scanPrice(rows) },
		func(p *pay.Price) pay.SearchCursor { return pay.SearchCursor{Created: p.Created, ID: p.ID} })
}
