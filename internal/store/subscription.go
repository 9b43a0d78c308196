package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

const subscriptionColumns = `id, project_id, livemode, created, customer_id, status, next_action_at, test_clock, default_tax_rates, data`

const subscriptionItemColumns = `id, project_id, livemode, created, subscription_id, price_id, quantity, tax_rates, metadata`

// subscriptionData returns the data column of s: every field the columns
// do not hold.
func subscriptionData(s *pay.Subscription) (string, error) {
	c := *s
	c.DefaultTaxRates, c.Items = nil, nil
	c.ID, c.Scope, c.Created, c.Customer, c.Status, c.NextActionAt, c.TestClock = "", pay.Scope{}, 0, "", "", 0, ""
	b, err := json.Marshal(&c)
	return string(b), err
}

// scanSubscription scans a row; the default tax rates' IDs are returned
// for loadSubscription.
func scanSubscription(row interface{ Scan(...any) error }) (*pay.Subscription, string, error) {
	var (
		s           pay.Subscription
		scope       pay.Scope
		id, cus, st string
		created     int64
		next        int64
		clock, tr   string
		data        string
	)
	if err := row.Scan(&id, &scope.ProjectID, &scope.Livemode, &created, &cus, &st, &next, &clock, &tr, &data); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal([]byte(data), &s); err != nil {
		return nil, "", fmt.Errorf("subscription %s: %w", id, err)
	}
	s.ID, s.Scope, s.Created, s.Customer, s.Status, s.NextActionAt, s.TestClock = id, scope, created, cus, st, next, clock
	return &s, tr, nil
}

// subscriptionItemsQuery reads a subscription's items, oldest first, each
// with its price (of the subscription's scope, $2 and $3), in one query; an
// item whose price is missing fails to scan, as it failed to be found.
var subscriptionItemsQuery = `SELECT i.` + strings.ReplaceAll(subscriptionItemColumns, ", ", ", i.") + `, p.` +
	strings.ReplaceAll(strings.Join(strings.Fields(priceColumns), " "), ", ", ", p.") + `
	FROM subscription_items i LEFT JOIN prices p ON p.id = i.price_id AND (p.project_id = $2 AND p.livemode = $3) IS TRUE
	WHERE i.subscription_id = $1 ORDER BY i.created, i.id`

// loadSubscription reads a scanned subscription's tax rates and items
// (with their prices).
func (db *DB) loadSubscription(ctx context.Context, q querier, s *pay.Subscription, rates string) error {
	var err error
	if s.DefaultTaxRates, err = db.loadTaxRates(ctx, q, s.Scope, rates); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, subscriptionItemsQuery, s.ID, s.Scope.ProjectID, s.Scope.Livemode)
	if err != nil {
		return fmt.Errorf("find subscription items: %w", err)
	}
	var rateIDs []string
	s.Items = nil
	for rows.Next() {
		var (
			it        pay.SubscriptionItem
			scope     pay.Scope
			price     string
			trs, meta string
		)
		p, err := scanPrice(rowPrefix{rows, []any{&it.ID, &scope.ProjectID, &scope.Livemode, &it.Created, &it.Subscription, &price,
			&it.Quantity, &trs, &meta}})
		if err != nil {
			rows.Close()
			return fmt.Errorf("find subscription items: %w", err)
		}
		if meta != "{}" {
			if err := json.Unmarshal([]byte(meta), &it.Metadata); err != nil {
				rows.Close()
				return fmt.Errorf("subscription item %s metadata: %w", it.ID, err)
			}
		}
		it.Price = p
		s.Items = append(s.Items, &it)
		rateIDs = append(rateIDs, trs)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find subscription items: %w", err)
	}
	for i, it := range s.Items {
		if it.TaxRates, err = db.loadTaxRates(ctx, q, s.Scope, rateIDs[i]); err != nil {
			return err
		}
		it.CurrentPeriodStart, it.CurrentPeriodEnd = s.CurrentPeriodStart, s.CurrentPeriodEnd
	}
	return nil
}

// rowPrefix scans a row whose first columns go to prefix and the rest to
// what Scan is given, so that one row can be scanned by two scan functions.
type rowPrefix struct {
	row    interface{ Scan(...any) error }
	prefix []any
}

func (r rowPrefix) Scan(dest ...any) error { return r.row.Scan(append(r.prefix, dest...)...) }

// CreateSubscription inserts a subscription and its items, filling in
// their IDs and creation times (the subscription's Created is kept if set).
func (tx *Tx) CreateSubscription(ctx context.Context, s *pay.Subscription) error {
	s.ID = pay.NewID(pay.PrefixSubscription)
	if s.Created == 0 {
		s.Created = tx.unix()
	}
	row, err := subscriptionRow(s)
	if err != nil {
		return err
	}
	if _, err = tx.tx.ExecContext(ctx, insertSQL("subscriptions", subscriptionColumns, len(row), 1), row...); err != nil {
		return fmt.Errorf("create subscription: %w", err)
	}
	for _, it := range s.Items {
		it.ID, it.Subscription, it.Created = pay.NewID(pay.PrefixSubscriptionItem), s.ID, s.Created
		it.CurrentPeriodStart, it.CurrentPeriodEnd = s.CurrentPeriodStart, s.CurrentPeriodEnd
		row := subscriptionItemRow(s, it)
		if _, err := tx.tx.ExecContext(ctx, insertSQL("subscription_items", subscriptionItemColumns, len(row), 1), row...); err != nil {
			return fmt.Errorf("create subscription item: %w", err)
		}
	}
	return nil
}

// UpdateSubscription writes a subscription's own fields (not its items,
// whose copies of its period it refreshes). One the transaction has locked
// is written with its next statement on PostgreSQL (deferred.go).
func (tx *Tx) UpdateSubscription(ctx context.Context, s *pay.Subscription) error {
	data, err := subscriptionData(s)
	if err != nil {
		return err
	}
	for _, it := range s.Items {
		it.CurrentPeriodStart, it.CurrentPeriodEnd = s.CurrentPeriodStart, s.CurrentPeriodEnd
	}
	query := `UPDATE subscriptions SET status = $4, next_action_at = $5, default_tax_rates = $6, data = $7 ` + whereID
	args := []any{s.ID, s.Scope.ProjectID, s.Scope.Livemode, s.Status, s.NextActionAt, strings.Join(pay.TaxRateIDs(s.DefaultTaxRates), ","), data}
	if row := "subscriptions/" + s.ID; tx.locked[row] {
		err = tx.tx.updateLater(ctx, row, query, args...)
	} else {
		err = tx.expectOne(tx.tx.ExecContext(ctx, query, args...))
	}
	if err != nil {
		return fmt.Errorf("update subscription %s: %w", s.ID, err)
	}
	return nil
}

// FindSubscription returns a subscription of the scope with its items.
func (db *DB) FindSubscription(ctx context.Context, scope pay.Scope, id string) (*pay.Subscription, error) {
	return db.findSubscription(ctx, db.read, scope, id, "")
}

// FindSubscription returns a subscription within the transaction, locked
// on PostgreSQL so that its changes serialise.
func (tx *Tx) FindSubscription(ctx context.Context, scope pay.Scope, id string) (*pay.Subscription, error) {
	s, err := tx.db.findSubscription(ctx, tx.tx, scope, id, tx.db.forUpdate())
	if err == nil && tx.db.dialect == Postgres {
		tx.lock("subscriptions/" + s.ID)
	}
	return s, err
}

func (db *DB) findSubscription(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.Subscription, error) {
	s, rates, err := scanSubscription(q.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find subscription "+id)
	}
	return s, db.loadSubscription(ctx, q, s, rates)
}

// SubscriptionStatus returns a subscription's status alone, within the
// transaction, locked on PostgreSQL as FindSubscription locks it.
func (tx *Tx) SubscriptionStatus(ctx context.Context, scope pay.Scope, id string) (string, error) {
	var status string
	err := tx.tx.QueryRowContext(ctx, `SELECT status FROM subscriptions `+whereID+tx.db.forUpdate(), id, scope.ProjectID, scope.Livemode).Scan(&status)
	if err != nil {
		return "", notFound(err, "find subscription "+id)
	}
	if tx.db.dialect == Postgres {
		tx.lock("subscriptions/" + id)
	}
	return status, nil
}

// SubscriptionFilter narrows FindSubscriptions; zero fields do not filter.
type SubscriptionFilter struct {
	Customer, Price string
	// Status is a status, "all", "ended" (canceled or incomplete_expired)
	// or "" (every status but canceled, as Stripe lists by default).
	Status string
}

// FindSubscriptions lists the scope's subscriptions, newest first.
func (db *DB) FindSubscriptions(ctx context.Context, scope pay.Scope, f SubscriptionFilter, page pay.Page) (pay.List[*pay.Subscription], error) {
	var rates []string
	l, err := list(ctx, db.read, listSpec{
		kind: "subscription", table: "subscriptions", columns: subscriptionColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Customer != "" {
				fmt.Fprintf(q, ` AND customer_id = %s`, q.arg(f.Customer))
			}
			switch f.Status {
			case "":
				fmt.Fprintf(q, ` AND status <> %s`, q.arg(pay.SubscriptionCanceled))
			case "all":
			case "ended":
				fmt.Fprintf(q, ` AND status IN (%s, %s)`, q.arg(pay.SubscriptionCanceled), q.arg(pay.SubscriptionIncompleteExpired))
			default:
				fmt.Fprintf(q, ` AND status = %s`, q.arg(f.Status))
			}
			if f.Price != "" {
				fmt.Fprintf(q, ` AND id IN (SELECT subscription_id FROM subscription_items WHERE project_id = %s AND livemode = %s AND price_id = %s)`,
					q.arg(scope.ProjectID), q.arg(scope.Livemode), q.arg(f.Price))
			}
		},
	}, func(rows *sql.Rows) (*pay.Subscription, error) {
		s, r, err := scanSubscription(rows)
		rates = append(rates, r)
		return s, err
	})
	if err != nil {
		return l, err
	}
	for i, s := range l.Data {
		if err := db.loadSubscription(ctx, db.read, s, rates[i]); err != nil {
			return l, err
		}
	}
	return l, nil
}

// CreateSubscriptionItem inserts a new item of subscription s, filling in
// its ID and subscription (its Created is kept if set: the subscription's
// clock).
func (tx *Tx) CreateSubscriptionItem(ctx context.Context, s *pay.Subscription, it *pay.SubscriptionItem) error {
	it.ID, it.Subscription = pay.NewID(pay.PrefixSubscriptionItem), s.ID
	it.CurrentPeriodStart, it.CurrentPeriodEnd = s.CurrentPeriodStart, s.CurrentPeriodEnd
	if it.Created == 0 {
		it.Created = tx.unix()
	}
	row := subscriptionItemRow(s, it)
	if _, err := tx.tx.ExecContext(ctx, insertSQL("subscription_items", subscriptionItemColumns, len(row), 1), row...); err != nil {
		return fmt.Errorf("create subscription item: %w", err)
	}
	return nil
}

// subscriptionRow returns the values of a new subscription's row
// (subscriptionColumns).
func subscriptionRow(s *pay.Subscription) ([]any, error) {
	data, err := subscriptionData(s)
	if err != nil {
		return nil, err
	}
	return []any{s.ID, s.Scope.ProjectID, s.Scope.Livemode, s.Created, s.Customer, s.Status, s.NextActionAt, s.TestClock,
		strings.Join(pay.TaxRateIDs(s.DefaultTaxRates), ","), data}, nil
}

// subscriptionItemRow returns the values of a new item's row
// (subscriptionItemColumns).
func subscriptionItemRow(s *pay.Subscription, it *pay.SubscriptionItem) []any {
	return []any{it.ID, s.Scope.ProjectID, s.Scope.Livemode, it.Created, s.ID, it.Price.ID, it.Quantity,
		strings.Join(pay.TaxRateIDs(it.TaxRates), ","), metadataJSON(it.Metadata)}
}

// UpdateSubscriptionItem writes an item's price, quantity, tax rates and
// metadata.
func (tx *Tx) UpdateSubscriptionItem(ctx context.Context, scope pay.Scope, it *pay.SubscriptionItem) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE subscription_items SET price_id = $4, quantity = $5, tax_rates = $6, metadata = $7 `+whereID,
		it.ID, scope.ProjectID, scope.Livemode, it.Price.ID, it.Quantity, strings.Join(pay.TaxRateIDs(it.TaxRates), ","), metadataJSON(it.Metadata)))
	if err != nil {
		return fmt.Errorf("update subscription item %s: %w", it.ID, err)
	}
	return nil
}

// DeleteSubscriptionItem removes an item.
func (tx *Tx) DeleteSubscriptionItem(ctx context.Context, scope pay.Scope, id string) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `DELETE FROM subscription_items `+whereID, id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return fmt.Errorf("delete subscription item %s: %w", id, err)
	}
	return nil
}

// FindItemSubscription returns the ID of the subscription that item id of
// the scope belongs to.
func (db *DB) FindItemSubscription(ctx context.Context, scope pay.Scope, id string) (string, error) {
	var sub string
	err := db.read.QueryRowContext(ctx, `SELECT subscription_id FROM subscription_items `+whereID, id, scope.ProjectID, scope.Livemode).Scan(&sub)
	if err != nil {
		return "", notFound(err, "find subscription item "+id)
	}
	return sub, nil
}

// FindSubscriptionItem returns an item of the scope, with its
// subscription's current period.
func (db *DB) FindSubscriptionItem(ctx context.Context, scope pay.Scope, id string) (*pay.SubscriptionItem, error) {
	subID, err := db.FindItemSubscription(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	s, err := db.FindSubscription(ctx, scope, subID)
	if err != nil {
		return nil, err
	}
	for _, it := range s.Items {
		if it.ID == id {
			return it, nil
		}
	}
	return nil, fmt.Errorf("find subscription item %s: %w", id, errNotFound) // deleted in between
}

// LiveSubscriptionCurrencies returns the currencies of a customer's
// subscriptions that have not ended (a customer is billed in one).
func (tx *Tx) LiveSubscriptionCurrencies(ctx context.Context, scope pay.Scope, customer string) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT data FROM subscriptions WHERE project_id = $1 AND livemode = $2 AND customer_id = $3
		AND status NOT IN ($4, $5)`, scope.ProjectID, scope.Livemode, customer, pay.SubscriptionCanceled, pay.SubscriptionIncompleteExpired)
	if err != nil {
		return nil, fmt.Errorf("find subscription currencies: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("find subscription currencies: %w", err)
		}
		var s struct{ Currency string }
		if err := json.Unmarshal([]byte(data), &s); err != nil {
			return nil, fmt.Errorf("find subscription currencies: %w", err)
		}
		out = append(out, s.Currency)
	}
	return out, rows.Err()
}

// LiveSubscriptionIDs returns the IDs of a customer's subscriptions that
// have not ended, oldest first.
func (tx *Tx) LiveSubscriptionIDs(ctx context.Context, scope pay.Scope, customer string) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT id FROM subscriptions WHERE project_id = $1 AND livemode = $2 AND customer_id = $3
		AND status NOT IN ($4, $5) ORDER BY created, id`, scope.ProjectID, scope.Livemode, customer, pay.SubscriptionCanceled, pay.SubscriptionIncompleteExpired)
	if err != nil {
		return nil, fmt.Errorf("find live subscriptions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find live subscriptions: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
