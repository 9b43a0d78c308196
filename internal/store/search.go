package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// searchField is a field a search may name: how the query language may use
// it and the column it reads.
type searchField struct {
	kind   pay.SearchKind
	column string
}

// searchable lists the fields each searchable table has. A customer's email
// is found through its blind index; the rest of a customer's personal data
// is sealed whole and cannot be searched.
var searchable = map[string]map[string]searchField{
	"customers": {
		"email":    {pay.SearchIndexed, "email_index"},
		"name":     {pay.SearchEncrypted, ""},
		"phone":    {pay.SearchEncrypted, ""},
		"created":  {pay.SearchNumber, "created"},
		"metadata": {pay.SearchMetadata, "metadata"},
	},
	"payment_intents": {
		"amount":   {pay.SearchNumber, "amount"},
		"created":  {pay.SearchNumber, "created"},
		"currency": {pay.SearchToken, "currency"},
		"customer": {pay.SearchToken, "customer_id"},
		"status":   {pay.SearchToken, "status"},
		"metadata": {pay.SearchMetadata, "metadata"},
	},
	"charges": {
		"amount":         {pay.SearchNumber, "amount"},
		"created":        {pay.SearchNumber, "created"},
		"currency":       {pay.SearchToken, "currency"},
		"customer":       {pay.SearchToken, "customer_id"},
		"payment_intent": {pay.SearchToken, "payment_intent_id"},
		"status":         {pay.SearchToken, "status"},
		"metadata":       {pay.SearchMetadata, "metadata"},
	},
	"products": {
		"active":      {pay.SearchBool, "active"},
		"created":     {pay.SearchNumber, "created"},
		"description": {pay.SearchToken, "description"},
		"metadata":    {pay.SearchMetadata, "metadata"},
		"name":        {pay.SearchToken, "name"},
		"url":         {pay.SearchToken, "url"},
	},
	"prices": {
		"active":     {pay.SearchBool, "active"},
		"created":    {pay.SearchNumber, "created"},
		"currency":   {pay.SearchToken, "currency"},
		"lookup_key": {pay.SearchToken, "lookup_key"},
		"metadata":   {pay.SearchMetadata, "metadata"},
		"product":    {pay.SearchToken, "product_id"},
		"type":       {pay.SearchToken, "CASE WHEN recurring_interval = '' THEN 'one_time' ELSE 'recurring' END"},
	},
}

// SearchFields returns what a search of table (customers, payment_intents,
// charges, products, prices) may ask about, for pay.ParseSearchQuery.
func SearchFields(table string) pay.SearchFields {
	f := pay.SearchFields{Resource: strings.ReplaceAll(table, "_", " "), Kinds: map[string]pay.SearchKind{}}
	for name, field := range searchable[table] {
		f.Kinds[name] = field.kind
	}
	return f
}

// SearchCustomers returns a page of the scope's customers that match sq and
// are not deleted, newest first.
func (db *DB) SearchCustomers(ctx context.Context, scope pay.Scope, sq pay.SearchQuery, page pay.SearchPage) (pay.SearchResult[*pay.Customer], error) {
	spec := listSpec{kind: "customer", table: "customers", columns: customerColumns, scope: scope,
		where: func(q *query) { q.WriteString(` AND NOT deleted`) }}
	return search(ctx, db, spec, sq, page, func(rows *sql.Rows) (*pay.Customer, error) { return db.scanCustomer(rows) },
		func(c *pay.Customer) pay.SearchCursor { return pay.SearchCursor{Created: c.Created, ID: c.ID} })
}

// SearchPaymentIntents returns a page of the scope's payment intents that
// match sq, newest first.
func (db *DB) SearchPaymentIntents(ctx context.Context, scope pay.Scope, sq pay.SearchQuery, page pay.SearchPage) (pay.SearchResult[*pay.PaymentIntent], error) {
	spec := listSpec{kind: "payment_intent", table: "payment_intents", columns: piColumns, scope: scope}
	return search(ctx, db, spec, sq, page, func(rows *sql.Rows) (*pay.PaymentIntent, error) { return db.scanPaymentIntent(rows) },
		func(pi *pay.PaymentIntent) pay.SearchCursor { return pay.SearchCursor{Created: pi.Created, ID: pi.ID} })
}

// SearchCharges returns a page of the scope's charges that match sq, newest
// first.
func (db *DB) SearchCharges(ctx context.Context, scope pay.Scope, sq pay.SearchQuery, page pay.SearchPage) (pay.SearchResult[*pay.Charge], error) {
	spec := listSpec{kind: "charge", table: "charges", columns: chargeColumns, scope: scope}
	return search(ctx, db, spec, sq, page, func(rows *sql.Rows) (*pay.Charge, error) { return db.scanCharge(rows) },
		func(c *pay.Charge) pay.SearchCursor { return pay.SearchCursor{Created: c.Created, ID: c.ID} })
}

// search runs sq over spec's rows as one keyset page, newest first. The
// query is SQL on both databases, so it pages like any list: the scope's
// rows are read in (created, id) order through its list index and the
// clauses checked on each until the page is full. A clause on metadata
// reads the row's metadata JSON, so a rare value may read every row of the
// scope; total_count always does.
func search[T any](ctx context.Context, db *DB, spec listSpec, sq pay.SearchQuery, page pay.SearchPage,
	scan func(*sql.Rows) (T, error), at func(T) pay.SearchCursor) (pay.SearchResult[T], error) {
	var res pay.SearchResult[T]
	base := spec.where
	spec.where = func(q *query) {
		if base != nil {
			base(q)
		}
		db.writeSearch(q, spec.scope, searchable[spec.table], sq)
	}
	spec.page, spec.after = pay.Page{Limit: page.Limit}, page.After
	l, err := list(ctx, db.read, spec, scan)
	if err != nil {
		return res, err
	}
	res.Data, res.HasMore = l.Data, l.HasMore
	if l.HasMore {
		next := at(l.Data[len(l.Data)-1])
		res.Next = &next
	}
	if page.Count {
		res.Total, err = count(ctx, db.read, spec)
	}
	return res, err
}

// writeSearch adds the query's clauses to a WHERE clause.
func (db *DB) writeSearch(q *query, scope pay.Scope, fields map[string]searchField, sq pay.SearchQuery) {
	join := " AND "
	if sq.Or {
		join = " OR "
	}
	q.WriteString(` AND (`)
	for i, c := range sq.Clauses {
		if i > 0 {
			q.WriteString(join)
		}
		if c.Negate {
			q.WriteString(`NOT `)
		}
		q.WriteString(`(` + db.searchCondition(q, scope, fields[c.Field], c) + `)`)
	}
	q.WriteString(`)`)
}

// searchCondition returns SQL that is true exactly when c matches a row,
// and never NULL, so that NOT negates it.
func (db *DB) searchCondition(q *query, scope pay.Scope, f searchField, c pay.SearchClause) string {
	switch f.kind {
	case pay.SearchBool:
		return fmt.Sprintf(`%s = %s`, f.column, q.arg(c.Value == "true"))
	case pay.SearchNumber:
		op := string(c.Op)
		if c.Op == pay.SearchEq {
			op = "="
		}
		return fmt.Sprintf(`%s %s %s`, f.column, op, q.arg(c.Number))
	case pay.SearchMetadata:
		v := db.metadataValue(q, f.column, c.Key)
		if c.Null {
			return v + ` IS NULL`
		}
		return fmt.Sprintf(`COALESCE(%s = %s, FALSE)`, v, q.arg(c.Value))
	}
	value := c.Value
	switch {
	case c.Null:
		value = "" // unset columns hold '' (or NULL: email_index)
	case f.kind == pay.SearchIndexed:
		value = db.keys.BlindIndex(scope.ProjectID, c.Value)
	}
	return fmt.Sprintf(`COALESCE(%s, '') = %s`, f.column, q.arg(value))
}

// metadataValue returns SQL for the value of key in the JSON object in
// column, NULL when the key is not set. PostgreSQL has ->> for this; on
// SQLite json_each compares the key as it is, where a JSON path would need
// it quoted and SQLite's ->> reads a key starting with $ as a path.
func (db *DB) metadataValue(q *query, column, key string) string {
	if db.dialect == Postgres {
		return fmt.Sprintf(`(%s::jsonb ->> %s::text)`, column, q.arg(key))
	}
	return fmt.Sprintf(`(SELECT value FROM json_each(%s) WHERE key = %s)`, column, q.arg(key))
}
