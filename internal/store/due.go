package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
)

// Kinds of DueJob.
const (
	DueSubscription = "subscription"
	DueInvoice      = "invoice"
)

// DueJob is a row the billing scheduler has claimed: a subscription or an
// invoice whose next action is due at Due.
type DueJob struct {
	Kind  string // DueSubscription or DueInvoice
	ID    string
	Scope pay.Scope
	Due   int64
	// Subscription is the subscription the row belongs to: its own ID for
	// a subscription, "" for an invoice made by hand. The scheduler runs
	// one subscription's jobs in order, never at once.
	Subscription string
}

// dueTables are the scheduler's tables, with the column naming each row's
// subscription.
var dueTables = []struct{ kind, table, subscription string }{
	{DueSubscription, "subscriptions", "id"},
	{DueInvoice, "invoices", "subscription_id"},
}

// ClaimDue claims, for lease, up to limit subscriptions and up to limit
// invoices on test clock clock ("": the wall clock) whose next action is
// due at or before due and that no other instance holds a claim on at now,
// earliest first. On PostgreSQL rows that a concurrent claim has locked are
// skipped (FOR UPDATE SKIP LOCKED) rather than waited for; SQLite has one
// writer, so claims never overlap. Jobs come back in due order.
func (db *DB) ClaimDue(ctx context.Context, clock string, due int64, now time.Time, lease time.Duration, limit int) ([]DueJob, error) {
	skip := ""
	if db.dialect == Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	var jobs []DueJob
	err := db.Tx(ctx, func(tx *Tx) error {
		jobs = jobs[:0]
		for _, t := range dueTables {
			rows, err := tx.tx.QueryContext(ctx, `UPDATE `+t.table+` SET claimed_until = $4 WHERE id IN (
				SELECT id FROM `+t.table+` WHERE test_clock = $1 AND next_action_at > 0 AND next_action_at <= $2 AND claimed_until <= $3
				ORDER BY next_action_at, id LIMIT $5`+skip+`)
				RETURNING id, project_id, livemode, next_action_at, `+t.subscription,
				clock, due, now.Unix(), now.Add(lease).Unix(), limit)
			if err != nil {
				return fmt.Errorf("claim due %ss: %w", t.kind, err)
			}
			for rows.Next() {
				j := DueJob{Kind: t.kind}
				if err := rows.Scan(&j.ID, &j.Scope.ProjectID, &j.Scope.Livemode, &j.Due, &j.Subscription); err != nil {
					rows.Close()
					return fmt.Errorf("claim due %ss: %w", t.kind, err)
				}
				jobs = append(jobs, j)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("claim due %ss: %w", t.kind, err)
			}
		}
		return nil
	})
	slices.SortFunc(jobs, func(a, b DueJob) int {
		if a.Due != b.Due {
			return int(a.Due - b.Due)
		}
		return strings.Compare(a.Kind+a.ID, b.Kind+b.ID)
	})
	return jobs, err
}

// ReleaseDue ends the claims on jobs, so that their rows' next actions,
// when due, are found at once rather than when the lease ends.
func (db *DB) ReleaseDue(ctx context.Context, jobs []DueJob) error {
	return db.Tx(ctx, func(tx *Tx) error {
		for _, t := range dueTables {
			var ids []any
			for _, j := range jobs {
				if j.Kind == t.kind {
					ids = append(ids, j.ID)
				}
			}
			for len(ids) > 0 {
				n := min(len(ids), 500)
				marks := make([]string, n)
				for i := range marks {
					marks[i] = fmt.Sprintf("$%d", i+1)
				}
				if _, err := tx.tx.ExecContext(ctx, `UPDATE `+t.table+` SET claimed_until = 0 WHERE id IN (`+strings.Join(marks, ", ")+`)`, ids[:n]...); err != nil {
					return fmt.Errorf("release due %ss: %w", t.kind, err)
				}
				ids = ids[n:]
			}
		}
		return nil
	})
}

// HasDue reports whether any subscription or invoice on test clock clock
// has a next action due at or before due, claimed or not.
func (db *DB) HasDue(ctx context.Context, clock string, due int64) (bool, error) {
	for _, t := range dueTables {
		var one int
		err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+t.table+`
			WHERE test_clock = $1 AND next_action_at > 0 AND next_action_at <= $2 LIMIT 1) AS due`, clock, due).Scan(&one)
		if err != nil {
			return false, fmt.Errorf("find due %ss: %w", t.kind, err)
		}
		if one > 0 {
			return true, nil
		}
	}
	return false, nil
}

// SubscriptionInvoicesDue reports whether an invoice of the subscription
// has a scheduler step due by the time by.
func (tx *Tx) SubscriptionInvoicesDue(ctx context.Context, scope pay.Scope, subscription string, by int64) (bool, error) {
	var due bool
	err := tx.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE project_id = $1 AND livemode = $2 AND subscription_id = $3
		AND next_action_at > 0 AND next_action_at <= $4)`, scope.ProjectID, scope.Livemode, subscription, by).Scan(&due)
	if err != nil {
		return false, fmt.Errorf("invoices due of %s: %w", subscription, err)
	}
	return due, nil
}
