package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// ---- invoice items ----

const invoiceItemColumns = `id, project_id, livemode, created, customer_id, invoice_id, price_id, product_id, currency, unit_amount,
	quantity, amount, description, period_start, period_end, tax_rates, metadata, line_id, test_clock, subscription_id,
	subscription_item_id, proration`

// scanInvoiceItem scans a row; the tax rates' IDs are left in ids for
// loadItemRates.
func scanInvoiceItem(row interface{ Scan(...any) error }) (*pay.InvoiceItem, string, error) {
	var (
		ii          pay.InvoiceItem
		rates, meta string
	)
	err := row.Scan(&ii.ID, &ii.Scope.ProjectID, &ii.Scope.Livemode, &ii.Created, &ii.Customer, &ii.Invoice, &ii.Price, &ii.Product,
		&ii.Currency, &ii.UnitAmount, &ii.Quantity, &ii.Amount, &ii.Description, &ii.PeriodStart, &ii.PeriodEnd, &rates, &meta,
		&ii.LineID, &ii.TestClock, &ii.Subscription, &ii.SubscriptionItem, &ii.Proration)
	if err != nil {
		return nil, "", err
	}
	if meta != "{}" {
		if err := json.Unmarshal([]byte(meta), &ii.Metadata); err != nil {
			return nil, "", fmt.Errorf("invoice item %s metadata: %w", ii.ID, err)
		}
	}
	return &ii, rates, nil
}

// loadTaxRates reads the scope's tax rates of ids ("a,b"), in that order.
func (db *DB) loadTaxRates(ctx context.Context, q querier, scope pay.Scope, ids string) ([]*pay.TaxRate, error) {
	if ids == "" {
		return nil, nil
	}
	var out []*pay.TaxRate
	for _, id := range strings.Split(ids, ",") {
		t, err := db.findTaxRate(ctx, q, scope, id, "")
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (db *DB) findItems(ctx context.Context, q querier, query string, args ...any) ([]*pay.InvoiceItem, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find invoice items: %w", err)
	}
	var (
		out []*pay.InvoiceItem
		ids []string
	)
	for rows.Next() {
		ii, rates, err := scanInvoiceItem(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("find invoice items: %w", err)
		}
		out, ids = append(out, ii), append(ids, rates)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find invoice items: %w", err)
	}
	for i, ii := range out {
		if ii.TaxRates, err = db.loadTaxRates(ctx, q, ii.Scope, ids[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateInvoiceItem inserts an invoice item, filling in its ID, line ID
// and creation time (kept if set: a test clock's time).
func (tx *Tx) CreateInvoiceItem(ctx context.Context, ii *pay.InvoiceItem) error {
	ii.ID = pay.NewID(pay.PrefixInvoiceItem)
	ii.LineID = pay.NewID(pay.PrefixInvoiceLine)
	if ii.Created == 0 {
		ii.Created = tx.unix()
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO invoice_items (`+invoiceItemColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
		$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		ii.ID, ii.Scope.ProjectID, ii.Scope.Livemode, ii.Created, ii.Customer, ii.Invoice, ii.Price, ii.Product, ii.Currency, ii.UnitAmount,
		ii.Quantity, ii.Amount, ii.Description, ii.PeriodStart, ii.PeriodEnd, strings.Join(pay.TaxRateIDs(ii.TaxRates), ","),
		metadataJSON(ii.Metadata), ii.LineID, ii.TestClock, ii.Subscription, ii.SubscriptionItem, ii.Proration)
	if err != nil {
		return fmt.Errorf("create invoice item: %w", err)
	}
	return nil
}

// UpdateInvoiceItem writes an item's fields.
func (tx *Tx) UpdateInvoiceItem(ctx context.Context, ii *pay.InvoiceItem) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE invoice_items SET invoice_id = $4, price_id = $5, product_id = $6, currency = $7,
		unit_amount = $8, quantity = $9, amount = $10, description = $11, period_start = $12, period_end = $13, tax_rates = $14,
		metadata = $15 `+whereID,
		ii.ID, ii.Scope.ProjectID, ii.Scope.Livemode, ii.Invoice, ii.Price, ii.Product, ii.Currency, ii.UnitAmount, ii.Quantity, ii.Amount,
		ii.Description, ii.PeriodStart, ii.PeriodEnd, strings.Join(pay.TaxRateIDs(ii.TaxRates), ","), metadataJSON(ii.Metadata)))
	if err != nil {
		return fmt.Errorf("update invoice item %s: %w", ii.ID, err)
	}
	return nil
}

// DeleteInvoiceItem removes an item.
func (tx *Tx) DeleteInvoiceItem(ctx context.Context, scope pay.Scope, id string) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `DELETE FROM invoice_items `+whereID, id, scope.ProjectID, scope.Livemode))
}

// FindInvoiceItem returns an invoice item of the scope.
func (db *DB) FindInvoiceItem(ctx context.Context, scope pay.Scope, id string) (*pay.InvoiceItem, error) {
	return db.findInvoiceItem(ctx, db.read, scope, id, "")
}

// FindInvoiceItem returns an invoice item within the transaction, locked
// on PostgreSQL.
func (tx *Tx) FindInvoiceItem(ctx context.Context, scope pay.Scope, id string) (*pay.InvoiceItem, error) {
	return tx.db.findInvoiceItem(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findInvoiceItem(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.InvoiceItem, error) {
	ii, rates, err := scanInvoiceItem(q.QueryRowContext(ctx, `SELECT `+invoiceItemColumns+` FROM invoice_items `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find invoice item "+id)
	}
	if ii.TaxRates, err = db.loadTaxRates(ctx, q, scope, rates); err != nil {
		return nil, err
	}
	return ii, nil
}

// FindInvoiceItemsOf returns the items on an invoice, oldest first,
// locked on PostgreSQL.
func (tx *Tx) FindInvoiceItemsOf(ctx context.Context, scope pay.Scope, invoiceID string) ([]*pay.InvoiceItem, error) {
	return tx.db.findItems(ctx, tx.tx, `SELECT `+invoiceItemColumns+` FROM invoice_items
		WHERE project_id = $1 AND livemode = $2 AND invoice_id = $3 ORDER BY created, id`+tx.db.forUpdate(),
		scope.ProjectID, scope.Livemode, invoiceID)
}

// FindPendingInvoiceItems returns a customer's pending items in currency
// that an invoice of subscription may take, oldest first, locked on
// PostgreSQL: the items of no subscription, subscription's own (its
// prorations) and those an ended subscription left (a cancellation's
// credit); never another live subscription's. A manual invoice passes
// subscription "".
func (tx *Tx) FindPendingInvoiceItems(ctx context.Context, scope pay.Scope, customer, currency, subscription string) ([]*pay.InvoiceItem, error) {
	return tx.db.findItems(ctx, tx.tx, `SELECT `+invoiceItemColumns+` FROM invoice_items
		WHERE project_id = $1 AND livemode = $2 AND customer_id = $3 AND invoice_id = '' AND currency = $4
		AND (subscription_id IN ('', $5) OR EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = invoice_items.subscription_id
			AND s.status IN ($6, $7))) ORDER BY created, id`+tx.db.forUpdate(),
		scope.ProjectID, scope.Livemode, customer, currency, subscription, pay.SubscriptionCanceled, pay.SubscriptionIncompleteExpired)
}

// FindPendingSubscriptionItems returns subscription's own pending invoice
// items (its prorations), oldest first, locked on PostgreSQL.
func (tx *Tx) FindPendingSubscriptionItems(ctx context.Context, scope pay.Scope, subscription string) ([]*pay.InvoiceItem, error) {
	return tx.db.findItems(ctx, tx.tx, `SELECT `+invoiceItemColumns+` FROM invoice_items
		WHERE project_id = $1 AND livemode = $2 AND subscription_id = $3 AND invoice_id = '' ORDER BY created, id`+tx.db.forUpdate(),
		scope.ProjectID, scope.Livemode, subscription)
}

// InvoiceItemFilter narrows FindInvoiceItems; zero fields do not filter.
type InvoiceItemFilter struct {
	Customer, Invoice string
	Pending           *bool
}

// FindInvoiceItems lists the scope's invoice items, newest first.
func (db *DB) FindInvoiceItems(ctx context.Context, scope pay.Scope, f InvoiceItemFilter, page pay.Page) (pay.List[*pay.InvoiceItem], error) {
	var ids []string
	l, err := list(ctx, db.read, listSpec{
		kind: "invoice item", table: "invoice_items", columns: invoiceItemColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Customer != "" {
				fmt.Fprintf(q, ` AND customer_id = %s`, q.arg(f.Customer))
			}
			if f.Invoice != "" {
				fmt.Fprintf(q, ` AND invoice_id = %s`, q.arg(f.Invoice))
			}
			if f.Pending != nil && *f.Pending {
				q.WriteString(` AND invoice_id = ''`)
			} else if f.Pending != nil {
				q.WriteString(` AND invoice_id <> ''`)
			}
		},
	}, func(rows *sql.Rows) (*pay.InvoiceItem, error) {
		ii, rates, err := scanInvoiceItem(rows)
		ids = append(ids, rates)
		return ii, err
	})
	if err != nil {
		return l, err
	}
	for i, ii := range l.Data {
		if ii.TaxRates, err = db.loadTaxRates(ctx, db.read, scope, ids[i]); err != nil {
			return l, err
		}
	}
	return l, nil
}

// ---- invoices ----

const invoiceColumns = `id, project_id, livemode, created, customer_id, status, collection_method, number, token, data, pii`

// invoicePII is the sealed part of an invoice row.
type invoicePII struct {
	Name               string       `json:"name,omitempty"`
	Email              string       `json:"email,omitempty"`
	Address            *pay.Address `json:"address,omitempty"`
	ConfirmationSecret string       `json:"confirmation_secret,omitempty"`
}

func invoiceAAD(id string) []byte { return []byte("invoice/" + id + "/pii") }

func (db *DB) scanInvoice(row interface{ Scan(...any) error }) (*pay.Invoice, error) {
	var (
		id, data      string
		number, token sql.NullString
		sealed        []byte
		inv           pay.Invoice
		scope         pay.Scope
		created       int64
		cust, st, cm  string
	)
	if err := row.Scan(&id, &scope.ProjectID, &scope.Livemode, &created, &cust, &st, &cm, &number, &token, &data, &sealed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), &inv); err != nil {
		return nil, fmt.Errorf("invoice %s: %w", id, err)
	}
	inv.ID, inv.Scope, inv.Created, inv.Customer, inv.Status, inv.CollectionMethod = id, scope, created, cust, st, cm
	inv.Number, inv.Token = number.String, token.String
	if sealed != nil {
		plain, err := db.keys.Open(sealed, invoiceAAD(id))
		if err != nil {
			return nil, fmt.Errorf("invoice %s personal data: %w", id, err)
		}
		var p invoicePII
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, fmt.Errorf("invoice %s personal data: %w", id, err)
		}
		inv.CustomerName, inv.CustomerEmail, inv.CustomerAddress, inv.ConfirmationSecret = p.Name, p.Email, p.Address, p.ConfirmationSecret
	}
	return &inv, nil
}

// invoiceRow returns the values of an invoice's data, number, token and
// pii columns.
func (db *DB) invoiceRow(inv *pay.Invoice) (data string, number, token any, sealed []byte, err error) {
	c := *inv
	c.CustomerName, c.CustomerEmail, c.CustomerAddress = "", "", nil
	b, err := json.Marshal(&c)
	if err != nil {
		return "", nil, nil, nil, err
	}
	if inv.Number != "" {
		number = inv.Number
	}
	if inv.Token != "" {
		token = inv.Token
	}
	if inv.CustomerName != "" || inv.CustomerEmail != "" || inv.CustomerAddress != nil || inv.ConfirmationSecret != "" {
		plain, err := json.Marshal(invoicePII{Name: inv.CustomerName, Email: inv.CustomerEmail, Address: inv.CustomerAddress,
			ConfirmationSecret: inv.ConfirmationSecret})
		if err != nil {
			return "", nil, nil, nil, err
		}
		sealed = db.keys.Seal(plain, invoiceAAD(inv.ID))
	}
	return string(b), number, token, sealed, nil
}

// CreateInvoice inserts an invoice, filling in its ID (kept if set: one
// the caller needed beforehand, from pay.NewID) and creation time (kept if
// set: a test clock's time).
func (tx *Tx) CreateInvoice(ctx context.Context, inv *pay.Invoice) error {
	if inv.ID == "" {
		inv.ID = pay.NewID(pay.PrefixInvoice)
	}
	if inv.Created == 0 {
		inv.Created = tx.unix()
	}
	row, err := tx.db.newInvoiceRow(inv)
	if err != nil {
		return err
	}
	// A new row with a new ID, no number and a random token: nothing
	// to wait for (execLater).
	if err := tx.tx.execLater(ctx, insertSQL("invoices", invoiceInsertColumns, len(row), 1), row...); err != nil {
		return fmt.Errorf("create invoice: %w", err)
	}
	return nil
}

// invoiceInsertColumns are the columns newInvoiceRow fills.
const invoiceInsertColumns = invoiceColumns + `, test_clock, subscription_id, next_action_at`

// newInvoiceRow returns the values of a new invoice's row
// (invoiceInsertColumns).
func (db *DB) newInvoiceRow(inv *pay.Invoice) ([]any, error) {
	data, number, token, sealed, err := db.invoiceRow(inv)
	if err != nil {
		return nil, err
	}
	return []any{inv.ID, inv.Scope.ProjectID, inv.Scope.Livemode, inv.Created, inv.Customer, inv.Status, inv.CollectionMethod, number, token,
		data, sealed, inv.TestClock, inv.Subscription, inv.NextActionAt()}, nil
}

// UpdateInvoice writes an invoice whole, with the time of the scheduler's
// next work on it (pay.Invoice.NextActionAt). A number another invoice of the
// scope has is pay.ErrConflict. An invoice the transaction has locked keeps
// its number (numbers come from NextInvoiceNumber) and is written with the
// next statement on PostgreSQL (deferred.go).
func (tx *Tx) UpdateInvoice(ctx context.Context, inv *pay.Invoice) error {
	data, number, token, sealed, err := tx.db.invoiceRow(inv)
	if err != nil {
		return err
	}
	query := `UPDATE invoices SET status = $4, collection_method = $5, number = $6, token = $7, data = $8,
		pii = $9, next_action_at = $10 ` + whereID
	args := []any{inv.ID, inv.Scope.ProjectID, inv.Scope.Livemode, inv.Status, inv.CollectionMethod, number, token, data, sealed, inv.NextActionAt()}
	if row := "invoices/" + inv.ID; tx.locked[row] {
		err = tx.tx.updateLater(ctx, row, query, args...)
	} else {
		err = tx.expectOne(tx.tx.ExecContext(ctx, query, args...))
	}
	if err != nil {
		return conflict(err, "update invoice "+inv.ID)
	}
	return nil
}

// DeleteInvoice removes a (draft) invoice.
func (tx *Tx) DeleteInvoice(ctx context.Context, scope pay.Scope, id string) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `DELETE FROM invoices `+whereID, id, scope.ProjectID, scope.Livemode))
}

// FindInvoice returns an invoice of the scope.
func (db *DB) FindInvoice(ctx context.Context, scope pay.Scope, id string) (*pay.Invoice, error) {
	return db.findInvoice(ctx, db.read, scope, id, "")
}

// FindInvoice returns an invoice within the transaction, locked on
// PostgreSQL so that its changes serialise.
func (tx *Tx) FindInvoice(ctx context.Context, scope pay.Scope, id string) (*pay.Invoice, error) {
	inv, err := tx.db.findInvoice(ctx, tx.tx, scope, id, tx.db.forUpdate())
	if err == nil && tx.db.dialect == Postgres {
		tx.lock("invoices/" + inv.ID)
	}
	return inv, err
}

// ReadInvoice returns an invoice within the transaction without locking
// it, for a look that must not take the lock (or a second connection).
func (tx *Tx) ReadInvoice(ctx context.Context, scope pay.Scope, id string) (*pay.Invoice, error) {
	return tx.db.findInvoice(ctx, tx.tx, scope, id, "")
}

func (db *DB) findInvoice(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.Invoice, error) {
	inv, err := db.scanInvoice(q.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices `+whereID+suffix, id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find invoice "+id)
	}
	return inv, nil
}

// FindInvoiceByToken returns the finalised invoice whose hosted page token
// is token, of any project: the token is the shopper's only credential.
func (db *DB) FindInvoiceByToken(ctx context.Context, token string) (*pay.Invoice, error) {
	inv, err := db.scanInvoice(db.read.QueryRowContext(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE token = $1`, token))
	if err != nil {
		return nil, notFound(err, "find invoice by token")
	}
	return inv, nil
}

// InvoiceFilter narrows FindInvoices; zero fields do not filter.
type InvoiceFilter struct {
	Customer, Subscription, Status, CollectionMethod string
}

// FindInvoices lists the scope's invoices, newest first.
func (db *DB) FindInvoices(ctx context.Context, scope pay.Scope, f InvoiceFilter, page pay.Page) (pay.List[*pay.Invoice], error) {
	return list(ctx, db.read, listSpec{
		kind: "invoice", table: "invoices", columns: invoiceColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Customer != "" {
				fmt.Fprintf(q, ` AND customer_id = %s`, q.arg(f.Customer))
			}
			if f.Subscription != "" {
				fmt.Fprintf(q, ` AND subscription_id = %s`, q.arg(f.Subscription))
			}
			if f.Status != "" {
				fmt.Fprintf(q, ` AND status = %s`, q.arg(f.Status))
			}
			if f.CollectionMethod != "" {
				fmt.Fprintf(q, ` AND collection_method = %s`, q.arg(f.CollectionMethod))
			}
		},
	}, func(rows *sql.Rows) (*pay.Invoice, error) { return db.scanInvoice(rows) })
}

// NextInvoiceNumber takes the next number of the customer's invoice
// sequence (1, 2, …) in the transaction and returns it with the prefix the
// customer was given ("" if none: pay.Customer.NumberPrefix). The
// customer's row stays locked until the transaction ends, so concurrent
// finalisations of its invoices never share a number, a rolled-back one
// gives its number back, and other customers' finalisations do not wait.
func (tx *Tx) NextInvoiceNumber(ctx context.Context, scope pay.Scope, customer string) (prefix string, n int64, err error) {
	err = tx.tx.QueryRowContext(ctx, `UPDATE customers SET invoice_sequence = invoice_sequence + 1 `+whereID+`
		RETURNING invoice_prefix, invoice_sequence`, customer, scope.ProjectID, scope.Livemode).Scan(&prefix, &n)
	if err != nil {
		return "", 0, fmt.Errorf("next invoice number of %s: %w", customer, notFound(err, "customer "+customer))
	}
	return prefix, n, nil
}

// SetInvoicePrefix gives the customer an invoice prefix of its own.
func (tx *Tx) SetInvoicePrefix(ctx context.Context, scope pay.Scope, customer, prefix string) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE customers SET invoice_prefix = $4 `+whereID, customer, scope.ProjectID, scope.Livemode, prefix))
	if err != nil {
		return fmt.Errorf("set invoice prefix of %s: %w", customer, err)
	}
	return nil
}

// InvoiceNumberTaken reports whether an invoice of the scope has number.
func (tx *Tx) InvoiceNumberTaken(ctx context.Context, scope pay.Scope, number string) (bool, error) {
	var taken bool
	err := tx.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE project_id = $1 AND livemode = $2 AND number = $3)`,
		scope.ProjectID, scope.Livemode, number).Scan(&taken)
	if err != nil {
		return false, fmt.Errorf("invoice number %s: %w", number, err)
	}
	return taken, nil
}
