package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/calmony/calmonypay/internal/pay"
)

// revenueQuery and dailyRevenueQuery read payment_intents_status alone
// (TestDashboardQueriesUseTheStatusIndex).
const (
	revenueQuery = `SELECT currency, CAST(SUM(amount_received) AS BIGINT), COUNT(*) FROM payment_intents
		WHERE project_id = $1 AND livemode = $2 AND status = 'succeeded' AND created >= $3 GROUP BY currency`
	// created is never negative, so created - created % 86400 is the
	// midnight before it on both databases.
	dailyRevenueQuery = `SELECT created - created % 86400 AS day, currency, CAST(SUM(amount_received) AS BIGINT), COUNT(*)
		FROM payment_intents
		WHERE project_id = $1 AND livemode = $2 AND status = 'succeeded' AND created >= $3 AND created < $4
		GROUP BY 1, 2 ORDER BY 1, 2`
)

// RevenueTotal is one currency's takings: the amount received and the count
// of succeeded payment intents, and the amount refunded.
type RevenueTotal struct {
	Currency                string
	Amount, Refunded, Count int64
}

// RevenueSummary adds up, per currency, the succeeded payment intents
// created at or after since (their amount_received, and how many), and the
// succeeded refunds created at or after since (refunds made in the period,
// whenever their payment was). Currencies come in alphabetical order; a
// currency with refunds only has Amount and Count 0.
//
// The sums read payment_intents_status (migration 0023), which covers
// them: the cost grows with the payments in the period (about 40,000 for
// 30 days of the seeded project), not with the table.
func (db *DB) RevenueSummary(ctx context.Context, scope pay.Scope, since int64) ([]RevenueTotal, error) {
	byCur := map[string]*RevenueTotal{}
	get := func(cur string) *RevenueTotal {
		t := byCur[cur]
		if t == nil {
			t = &RevenueTotal{Currency: cur}
			byCur[cur] = t
		}
		return t
	}
	rows, err := db.read.QueryContext(ctx, revenueQuery,
		scope.ProjectID, scope.Livemode, since)
	if err != nil {
		return nil, fmt.Errorf("revenue summary: %w", err)
	}
	for rows.Next() {
		var (
			cur           string
			amount, count int64
		)
		if err := rows.Scan(&cur, &amount, &count); err != nil {
			rows.Close()
			return nil, fmt.Errorf("revenue summary: %w", err)
		}
		t := get(cur)
		t.Amount, t.Count = amount, count
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("revenue summary: %w", err)
	}
	rows, err = db.read.QueryContext(ctx, `SELECT currency, CAST(SUM(amount) AS BIGINT) FROM refunds
		WHERE project_id = $1 AND livemode = $2 AND status = 'succeeded' AND created >= $3 GROUP BY currency`,
		scope.ProjectID, scope.Livemode, since)
	if err != nil {
		return nil, fmt.Errorf("revenue summary refunds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cur    string
			amount int64
		)
		if err := rows.Scan(&cur, &amount); err != nil {
			return nil, fmt.Errorf("revenue summary refunds: %w", err)
		}
		get(cur).Refunded = amount
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("revenue summary refunds: %w", err)
	}
	out := make([]RevenueTotal, 0, len(byCur))
	for _, t := range byCur {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b RevenueTotal) int {
		if a.Currency < b.Currency {
			return -1
		}
		if a.Currency > b.Currency {
			return 1
		}
		return 0
	})
	return out, nil
}

// DayRevenue is one UTC day's succeeded payments in one currency: Day is
// the unix time of the day's midnight (UTC).
type DayRevenue struct {
	Day           int64
	Currency      string
	Amount, Count int64
}

// DailyRevenue adds up the succeeded payment intents created in
// [from, to), per UTC day and currency, in order of day then currency.
// Days without payments are absent: the caller fills the gaps of its chart.
func (db *DB) DailyRevenue(ctx context.Context, scope pay.Scope, from, to int64) ([]DayRevenue, error) {
	rows, err := db.read.QueryContext(ctx, dailyRevenueQuery,
		scope.ProjectID, scope.Livemode, from, to)
	if err != nil {
		return nil, fmt.Errorf("daily revenue: %w", err)
	}
	defer rows.Close()
	var out []DayRevenue
	for rows.Next() {
		var d DayRevenue
		if err := rows.Scan(&d.Day, &d.Currency, &d.Amount, &d.Count); err != nil {
			return nil, fmt.Errorf("daily revenue: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily revenue: %w", err)
	}
	return out, nil
}
