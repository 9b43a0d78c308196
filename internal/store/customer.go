package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

// customerPII is the encrypted part of a customer row.
type customerPII struct {
	Email    string        `json:"email,omitempty"`
	Name     string        `json:"name,omitempty"`
	Phone    string        `json:"phone,omitempty"`
	Address  *pay.Address  `json:"address,omitempty"`
	Shipping *pay.Shipping `json:"shipping,omitempty"`
}

const customerColumns = `id, project_id, livemode, created, pii, description, metadata, tax_exempt, default_payment_method, deleted, test_clock, invoice_prefix, invoice_sequence`

func piiAAD(id string) []byte { return []byte("customer/" + id + "/pii") }

func (db *DB) scanCustomer(row interface{ Scan(...any) error }) (*pay.Customer, error) {
	var (
		c        pay.Customer
		sealed   []byte
		metadata string
	)
	err := row.Scan(&c.ID, &c.Scope.ProjectID, &c.Scope.Livemode, &c.Created, &sealed, &c.Description, &metadata, &c.TaxExempt, &c.DefaultPaymentMethod, &c.Deleted, &c.TestClock, &c.InvoicePrefix, &c.InvoiceSequence)
	if err != nil {
		return nil, err
	}
	if metadata != "{}" { // the usual case needs no decoding
		if err := json.Unmarshal([]byte(metadata), &c.Metadata); err != nil {
			return nil, fmt.Errorf("customer %s metadata: %w", c.ID, err)
		}
	}
	if sealed != nil {
		plain, err := db.keys.Open(sealed, piiAAD(c.ID))
		if err != nil {
			return nil, fmt.Errorf("customer %s personal data: %w", c.ID, err)
		}
		var p customerPII
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, fmt.Errorf("customer %s personal data: %w", c.ID, err)
		}
		c.Email, c.Name, c.Phone, c.Address, c.Shipping = p.Email, p.Name, p.Phone, p.Address, p.Shipping
	}
	return &c, nil
}

// sealCustomer returns the encrypted personal data and the email's blind index.
func (db *DB) sealCustomer(c *pay.Customer) (sealed []byte, emailIndex any, err error) {
	p := customerPII{Email: c.Email, Name: c.Name, Phone: c.Phone, Address: c.Address, Shipping: c.Shipping}
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, nil, err
	}
	if c.Email != "" {
		emailIndex = db.keys.BlindIndex(c.Scope.ProjectID, c.Email)
	}
	return db.keys.Seal(plain, piiAAD(c.ID)), emailIndex, nil
}

func metadataJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}

// CreateCustomer inserts a customer, filling in its ID and creation time.
func (tx *Tx) CreateCustomer(ctx context.Context, c *pay.Customer) error {
	c.ID = pay.NewID(pay.PrefixCustomer)
	c.Created = tx.unix()
	if c.TaxExempt == "" {
		c.TaxExempt = "none"
	}
	row, err := tx.db.customerRow(c)
	if err == nil {
		err = tx.tx.execLater(ctx, insertSQL("customers", customerInsertColumns, len(row), 1), row...)
	}
	if err != nil {
		return fmt.Errorf("create customer: %w", err)
	}
	return nil
}

// customerInsertColumns are the columns customerRow fills.
const customerInsertColumns = customerColumns + `, email_index`

// customerRow returns the values of a new customer's row
// (customerInsertColumns), its personal data sealed and its email indexed.
func (db *DB) customerRow(c *pay.Customer) ([]any, error) {
	sealed, emailIndex, err := db.sealCustomer(c)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.Scope.ProjectID, c.Scope.Livemode, c.Created, sealed, c.Description, metadataJSON(c.Metadata), c.TaxExempt,
		c.DefaultPaymentMethod, false, c.TestClock, c.InvoicePrefix, c.InvoiceSequence, emailIndex}, nil
}

// UpdateCustomer writes every field of c over the stored customer.
func (tx *Tx) UpdateCustomer(ctx context.Context, c *pay.Customer) error {
	sealed, emailIndex, err := tx.db.sealCustomer(c)
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	err = tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE customers SET pii = $4, email_index = $5, description = $6, metadata = $7, tax_exempt = $8, default_payment_method = $9
		`+whereID+` AND NOT deleted`,
		c.ID, c.Scope.ProjectID, c.Scope.Livemode, sealed, emailIndex, c.Description, metadataJSON(c.Metadata), c.TaxExempt, c.DefaultPaymentMethod))
	if err != nil {
		return fmt.Errorf("update customer %s: %w", c.ID, err)
	}
	return nil
}

// DeleteCustomer deletes a customer: its personal data, description and
// metadata are erased, and a tombstone remains so the ID keeps answering
// {"deleted": true} and is never reused.
func (tx *Tx) DeleteCustomer(ctx context.Context, scope pay.Scope, id string) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE customers SET pii = NULL, email_index = NULL, description = '', metadata = '{}', default_payment_method = '', deleted = $4
		`+whereID+` AND NOT deleted`, id, scope.ProjectID, scope.Livemode, true))
	if err != nil {
		return fmt.Errorf("delete customer %s: %w", id, err)
	}
	return nil
}

// FindCustomer returns a customer of the scope, deleted or not, for reading.
func (db *DB) FindCustomer(ctx context.Context, scope pay.Scope, id string) (*pay.Customer, error) {
	return db.findCustomer(ctx, db.read, scope, id, "")
}

// FindCustomer returns a customer within the transaction, locking its row on
// PostgreSQL so concurrent updates serialise.
func (tx *Tx) FindCustomer(ctx context.Context, scope pay.Scope, id string) (*pay.Customer, error) {
	return tx.db.findCustomer(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findCustomer(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.Customer, error) {
	c, err := db.scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find customer "+id)
	}
	return c, nil
}

// CustomerFilter narrows FindCustomers.
type CustomerFilter struct {
	Email string // exact, case-sensitive match, as Stripe's
}

// FindCustomers lists the scope's customers that are not deleted, newest first.
func (db *DB) FindCustomers(ctx context.Context, scope pay.Scope, f CustomerFilter, page pay.Page) (pay.List[*pay.Customer], error) {
	return list(ctx, db.read, listSpec{
		kind: "customer", table: "customers", columns: customerColumns, scope: scope, page: page,
		where: func(q *query) {
			q.WriteString(` AND NOT deleted`)
			if f.Email != "" {
				fmt.Fprintf(q, ` AND email_index = %s`, q.arg(db.keys.BlindIndex(scope.ProjectID, f.Email)))
			}
		},
	}, func(rows *sql.Rows) (*pay.Customer, error) { return db.scanCustomer(rows) })
}
