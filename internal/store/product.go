package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/calmony/calmonypay/internal/pay"
)

const productColumns = `id, project_id, livemode, created, updated, name, active, description, default_price, images, marketing_features,
	metadata, statement_descriptor, unit_label, url`

func scanProduct(row interface{ Scan(...any) error }) (*pay.Product, error) {
	var (
		p                          pay.Product
		images, features, metadata string
	)
	err := row.Scan(&p.ID, &p.Scope.ProjectID, &p.Scope.Livemode, &p.Created, &p.Updated, &p.Name, &p.Active, &p.Description,
		&p.DefaultPrice, &images, &features, &metadata, &p.StatementDescriptor, &p.UnitLabel, &p.URL)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, raw string
		dst       any
	}{{"images", images, &p.Images}, {"marketing features", features, &p.MarketingFeatures}, {"metadata", metadata, &p.Metadata}} {
		if f.raw == "[]" || f.raw == "{}" {
			continue // the usual case needs no decoding
		}
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return nil, fmt.Errorf("product %s %s: %w", p.ID, f.name, err)
		}
	}
	return &p, nil
}

// listJSON is a list of strings as its column holds it.
func listJSON(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a slice of strings always marshals
	return string(b)
}

// isUniqueViolation reports whether err is a unique or primary key
// violation, on either database.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// conflict turns a unique violation into pay.ErrConflict, wrapped.
func conflict(err error, what string) error {
	if isUniqueViolation(err) {
		return fmt.Errorf("%s: %w", what, pay.ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// CreateProduct inserts a product, filling in its creation and update
// times, and its ID unless the caller chose one. A chosen ID that the scope
// already has is pay.ErrConflict: such an insert is sent at once, so that
// its failure is the caller's to answer (on PostgreSQL a deferred one
// would fail the whole transaction at commit).
func (tx *Tx) CreateProduct(ctx context.Context, p *pay.Product) error {
	chosen := p.ID != ""
	if !chosen {
		p.ID = pay.NewID(pay.PrefixProduct)
	}
	p.Created, p.Updated = tx.unix(), tx.unix()
	query := `INSERT INTO products (` + productColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	args := []any{p.ID, p.Scope.ProjectID, p.Scope.Livemode, p.Created, p.Updated, p.Name, p.Active, p.Description, p.DefaultPrice,
		listJSON(p.Images), listJSON(p.MarketingFeatures), metadataJSON(p.Metadata), p.StatementDescriptor, p.UnitLabel, p.URL}
	if !chosen {
		if err := tx.tx.execLater(ctx, query, args...); err != nil {
			return fmt.Errorf("create product: %w", err)
		}
		return nil
	}
	if _, err := tx.tx.ExecContext(ctx, query, args...); err != nil {
		return conflict(err, "create product "+p.ID)
	}
	return nil
}

// UpdateProduct writes every mutable field of p, its update time included.
func (tx *Tx) UpdateProduct(ctx context.Context, p *pay.Product) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE products SET updated = $4, name = $5, active = $6, description = $7,
		default_price = $8, images = $9, marketing_features = $10, metadata = $11, statement_descriptor = $12, unit_label = $13, url = $14
		`+whereID,
		p.ID, p.Scope.ProjectID, p.Scope.Livemode, p.Updated, p.Name, p.Active, p.Description, p.DefaultPrice, listJSON(p.Images),
		listJSON(p.MarketingFeatures), metadataJSON(p.Metadata), p.StatementDescriptor, p.UnitLabel, p.URL))
	if err != nil {
		return fmt.Errorf("update product %s: %w", p.ID, err)
	}
	return nil
}

// DeleteProduct deletes a product's row: its ID is free again, as Stripe's
// are. The caller checks first that it has no prices.
func (tx *Tx) DeleteProduct(ctx context.Context, scope pay.Scope, id string) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `DELETE FROM products `+whereID, id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	return nil
}

// FindProduct returns a product of the scope.
func (db *DB) FindProduct(ctx context.Context, scope pay.Scope, id string) (*pay.Product, error) {
	return findProduct(ctx, db.read, scope, id, "")
}

// FindProduct returns a product within the transaction, locked on
// PostgreSQL so that concurrent changes of it (and of its prices, which
// lock it too) serialise.
func (tx *Tx) FindProduct(ctx context.Context, scope pay.Scope, id string) (*pay.Product, error) {
	return findProduct(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

// ReadProduct returns a product within the transaction without locking
// it, for a look that changes nothing of it (its name on an invoice line):
// every subscription to a product would otherwise queue behind the one
// lock.
func (tx *Tx) ReadProduct(ctx context.Context, scope pay.Scope, id string) (*pay.Product, error) {
	return findProduct(ctx, tx.tx, scope, id, "")
}

func findProduct(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.Product, error) {
	p, err := scanProduct(q.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products `+whereID+suffix, id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find product "+id)
	}
	return p, nil
}

// ProductHasPrices reports whether a product has any price, active or not.
func (tx *Tx) ProductHasPrices(ctx context.Context, scope pay.Scope, product string) (bool, error) {
	var one int
	err := tx.tx.QueryRowContext(ctx, `SELECT 1 FROM prices WHERE project_id = $1 AND livemode = $2 AND product_id = $3 LIMIT 1`,
		scope.ProjectID, scope.Livemode, product).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("prices of product %s: %w", product, err)
	}
	return true, nil
}

// ProductFilter narrows FindProducts. Zero fields do not filter.
type ProductFilter struct {
	Active *bool
	IDs    []string
	URL    string
	// None: the filter matches no product (shippable=true: every product
	// is a service).
	None bool
}

// FindProducts lists the scope's products, newest first.
func (db *DB) FindProducts(ctx context.Context, scope pay.Scope, f ProductFilter, page pay.Page) (pay.List[*pay.Product], error) {
	return list(ctx, db.read, listSpec{
		kind: "product", table: "products", columns: productColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.None {
				q.WriteString(` AND FALSE`)
			}
			if f.Active != nil {
				fmt.Fprintf(q, ` AND active = %s`, q.arg(*f.Active))
			}
			if f.URL != "" {
				fmt.Fprintf(q, ` AND url = %s`, q.arg(f.URL))
			}
			writeIn(q, "id", f.IDs)
		},
	}, func(rows *sql.Rows) (*pay.Product, error) { return scanProduct(rows) })
}

// writeIn adds " AND col IN (…)" for a non-empty list of values.
func writeIn(q *query, col string, values []string) {
	if len(values) == 0 {
		return
	}
	fmt.Fprintf(q, ` AND %s IN (`, col)
	for i, v := range values {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(q.arg(v))
	}
	q.WriteString(`)`)
}

// SearchProducts returns a page of the scope's products that match sq,
// newest first.
func (db *DB) SearchProducts(ctx context.Context, scope pay.Scope, sq pay.SearchQuery, page pay.SearchPage) (pay.SearchResult[*pay.Product], error) {
	spec := listSpec{kind: "product", table: "products", columns: productColumns, scope: scope}
	return search(ctx, db, spec, sq, page, func(rows *sql.Rows) (*pay.Product, error) { return scanProduct(rows) },
		func(p *pay.Product) pay.SearchCursor { return pay.SearchCursor{Created: p.Created, ID: p.ID} })
}
