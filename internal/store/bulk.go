package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// insertSQL returns an INSERT of rows rows of n values each into table's
// columns: ($1, …, $n), ($n+1, …), …. The one-row inserts of the Create
// methods and InsertBulk's multi-row ones share it and the row functions
// (customerRow, paymentIntentRow, …), so their columns cannot drift apart.
func insertSQL(table, columns string, n, rows int) string {
	return insertText(table, columns, n, rows, true)
}

// insertText is insertSQL with numbered ($N) or, for SQLite's multi-row
// inserts, anonymous (?) placeholders: SQLite's parser looks each $N up in
// a list of the names seen so far, which made a 30,000-parameter insert
// spend most of its time parsing.
func insertText(table, columns string, n, rows int, numbered bool) string {
	var b strings.Builder
	b.Grow(len(table) + len(columns) + 32 + rows*n*5)
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(columns)
	b.WriteString(") VALUES ")
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			if numbered {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
				p++
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// maxBulkParams bounds the parameters of one multi-row INSERT: SQLite
// allows 32,766 and PostgreSQL 65,535.
const maxBulkParams = 30000

// Bulk is a set of new objects that InsertBulk writes with multi-row
// INSERTs: the development seed (calmonypay dev seed) and benchmarks. Each
// object's ID and Created must be set and are kept; the rows are sealed and
// indexed as the Create methods do. Unlike them, InsertBulk queues no
// webhook deliveries for the events, draws no invoice numbers (set them, and
// the customers' InvoiceSequence to match) and checks nothing: its caller
// makes consistent objects.
type Bulk struct {
	Customers      []*pay.Customer
	PaymentMethods []*pay.PaymentMethod
	PaymentIntents []*pay.PaymentIntent
	Charges        []*pay.Charge
	Refunds        []*pay.Refund
	Subscriptions  []*pay.Subscription // with their Items (IDs and Created set)
	Invoices       []*pay.Invoice
	Events         []*pay.Event
}

// Len is the number of rows b holds.
func (b *Bulk) Len() int {
	n := len(b.Customers) + len(b.PaymentMethods) + len(b.PaymentIntents) + len(b.Charges) + len(b.Refunds) +
		len(b.Subscriptions) + len(b.Invoices) + len(b.Events)
	for _, s := range b.Subscriptions {
		n += len(s.Items)
	}
	return n
}

// InsertBulk writes b's objects, parents before children.
func (tx *Tx) InsertBulk(ctx context.Context, b *Bulk) error {
	db := tx.db
	var rows [][]any
	add := func(row []any, err error) error {
		rows = append(rows, row)
		return err
	}
	flush := func(table, columns string) error {
		err := tx.insertRows(ctx, table, columns, rows)
		rows = rows[:0]
		return err
	}
	for _, c := range b.Customers {
		if err := add(db.customerRow(c)); err != nil {
			return fmt.Errorf("bulk customers: %w", err)
		}
	}
	if err := flush("customers", customerInsertColumns); err != nil {
		return err
	}
	for _, pm := range b.PaymentMethods {
		if err := add(db.paymentMethodRow(pm)); err != nil {
			return fmt.Errorf("bulk payment methods: %w", err)
		}
	}
	if err := flush("payment_methods", pmColumns); err != nil {
		return err
	}
	for _, pi := range b.PaymentIntents {
		_ = add(db.paymentIntentRow(pi), nil)
	}
	if err := flush("payment_intents", piColumns); err != nil {
		return err
	}
	for _, c := range b.Charges {
		_ = add(db.chargeRow(c), nil)
	}
	if err := flush("charges", chargeColumns); err != nil {
		return err
	}
	for _, r := range b.Refunds {
		_ = add(refundRow(r), nil)
	}
	if err := flush("refunds", refundColumns); err != nil {
		return err
	}
	for _, s := range b.Subscriptions {
		if err := add(subscriptionRow(s)); err != nil {
			return fmt.Errorf("bulk subscriptions: %w", err)
		}
	}
	if err := flush("subscriptions", subscriptionColumns); err != nil {
		return err
	}
	for _, s := range b.Subscriptions {
		for _, it := range s.Items {
			_ = add(subscriptionItemRow(s, it), nil)
		}
	}
	if err := flush("subscription_items", subscriptionItemColumns); err != nil {
		return err
	}
	for _, inv := range b.Invoices {
		if err := add(db.newInvoiceRow(inv)); err != nil {
			return fmt.Errorf("bulk invoices: %w", err)
		}
	}
	if err := flush("invoices", invoiceInsertColumns); err != nil {
		return err
	}
	for _, e := range b.Events {
		if e.APIVersion == "" {
			e.APIVersion = pay.APIVersion
		}
		_ = add(db.eventRow(e), nil)
	}
	return flush("events", eventColumns)
}

// insertRows writes rows into table's columns, as many to a statement as
// maxBulkParams allows.
func (tx *Tx) insertRows(ctx context.Context, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows[0])
	per := maxBulkParams / n
	args := make([]any, 0, min(per, len(rows))*n)
	for len(rows) > 0 {
		chunk := rows[:min(per, len(rows))]
		rows = rows[len(chunk):]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		text := insertText(table, columns, n, len(chunk), tx.db.dialect == Postgres)
		if _, err := tx.tx.ExecContext(ctx, text, args...); err != nil {
			return fmt.Errorf("bulk insert %s: %w", table, err)
		}
	}
	return nil
}

// Analyze refreshes the planner's statistics of every table after a bulk
// load. On PostgreSQL it vacuums too (VACUUM (ANALYZE)), which marks the
// new pages all-visible: until then an index-only scan, such as the
// dashboard's revenue sums, reads every row's page as well (176 ms instead
// of about 10 for 30 days of the seeded project). SQLite's planner has no
// statistics until asked.
func (db *DB) Analyze(ctx context.Context) error {
	stmt := "ANALYZE"
	if db.dialect == Postgres {
		stmt = "VACUUM (ANALYZE)"
	}
	if _, err := db.write.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
