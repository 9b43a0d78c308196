package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/calmony/calmonypay/internal/pay"
)

const testClockColumns = `id, project_id, livemode, created, name, frozen_time, status, target_frozen_time`

func scanTestClock(row interface{ Scan(...any) error }) (*pay.TestClock, error) {
	var c pay.TestClock
	err := row.Scan(&c.ID, &c.Scope.ProjectID, &c.Scope.Livemode, &c.Created, &c.Name, &c.FrozenTime, &c.Status, &c.TargetFrozenTime)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CreateTestClock inserts a test clock, filling in its ID and creation time.
func (tx *Tx) CreateTestClock(ctx context.Context, c *pay.TestClock) error {
	c.ID = pay.NewID(pay.PrefixTestClock)
	c.Created = tx.unix()
	err := tx.tx.execLater(ctx, `INSERT INTO test_clocks (`+testClockColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, c.Scope.ProjectID, c.Scope.Livemode, c.Created, c.Name, c.FrozenTime, c.Status, c.TargetFrozenTime)
	if err != nil {
		return fmt.Errorf("create test clock: %w", err)
	}
	return nil
}

// UpdateTestClock writes a test clock's frozen time, status and target
// over the stored one, which the transaction has found (and locked).
func (tx *Tx) UpdateTestClock(ctx context.Context, c *pay.TestClock) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE test_clocks SET frozen_time = $4, status = $5, target_frozen_time = $6 `+whereID,
		c.ID, c.Scope.ProjectID, c.Scope.Livemode, c.FrozenTime, c.Status, c.TargetFrozenTime))
	if err != nil {
		return fmt.Errorf("update test clock %s: %w", c.ID, err)
	}
	return nil
}

// FinishTestClockAdvance moves an advancing clock to its target and makes
// it ready, if it is still advancing to target: it reports false, and
// changes nothing, when another instance finished the advance first or the
// clock was deleted meanwhile.
func (tx *Tx) FinishTestClockAdvance(ctx context.Context, id string, target int64) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, `UPDATE test_clocks SET frozen_time = target_frozen_time, status = $2, target_frozen_time = 0
		WHERE id = $1 AND status = $3 AND target_frozen_time = $4`, id, pay.TestClockReady, pay.TestClockAdvancing, target)
	if err != nil {
		return false, fmt.Errorf("finish advance of test clock %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("finish advance of test clock %s: %w", id, err)
	}
	return n == 1, nil
}

// DeleteTestClock deletes a test clock. Its customers are the caller's to
// delete first.
func (tx *Tx) DeleteTestClock(ctx context.Context, scope pay.Scope, id string) error {
	if err := tx.expectOne(tx.tx.ExecContext(ctx, `DELETE FROM test_clocks `+whereID, id, scope.ProjectID, scope.Livemode)); err != nil {
		return fmt.Errorf("delete test clock %s: %w", id, err)
	}
	return nil
}

// FindTestClock returns a test clock of the scope, for reading.
func (db *DB) FindTestClock(ctx context.Context, scope pay.Scope, id string) (*pay.TestClock, error) {
	return findTestClock(ctx, db.read, scope, id, "")
}

// FindTestClock returns a test clock within the transaction, locking its
// row on PostgreSQL so that an advance, its finish and a delete serialise.
func (tx *Tx) FindTestClock(ctx context.Context, scope pay.Scope, id string) (*pay.TestClock, error) {
	return findTestClock(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func findTestClock(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.TestClock, error) {
	c, err := scanTestClock(q.QueryRowContext(ctx, `SELECT `+testClockColumns+` FROM test_clocks `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find test clock "+id)
	}
	return c, nil
}

// FindTestClocks lists the scope's test clocks, newest first.
func (db *DB) FindTestClocks(ctx context.Context, scope pay.Scope, page pay.Page) (pay.List[*pay.TestClock], error) {
	return list(ctx, db.read, listSpec{kind: "test clock", table: "test_clocks", columns: testClockColumns, scope: scope, page: page},
		func(rows *sql.Rows) (*pay.TestClock, error) { return scanTestClock(rows) })
}

// advancingClocks selects the advancing clocks; its condition is
// test_clocks_advancing's, written out so that the planners use that
// partial index.
const advancingClocks = `SELECT ` + testClockColumns + ` FROM test_clocks WHERE status = 'advancing' ORDER BY id LIMIT $1`

// FindAdvancingTestClocks returns up to limit clocks of every project that
// are advancing, in ID order.
func (db *DB) FindAdvancingTestClocks(ctx context.Context, limit int) ([]*pay.TestClock, error) {
	rows, err := db.read.QueryContext(ctx, advancingClocks, limit)
	if err != nil {
		return nil, fmt.Errorf("find advancing test clocks: %w", err)
	}
	defer rows.Close()
	var out []*pay.TestClock
	for rows.Next() {
		c, err := scanTestClock(rows)
		if err != nil {
			return nil, fmt.Errorf("find advancing test clocks: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// clockCustomers selects the customers of a clock ($1) in a scope ($2,
// $3) that are not deleted. test_clock <> ” is customers_test_clock's
// condition, written out so that the planners use that partial index; the
// scope is a filter the planners cannot use as an index condition (see
// whereID), else they read the project's customers instead.
const clockCustomers = `SELECT id FROM customers WHERE test_clock = $1 AND test_clock <> '' AND (project_id = $2 AND livemode = $3) IS TRUE
	AND NOT deleted`

// FindTestClockCustomers returns the IDs of the customers of a test clock
// that are not deleted, in ID (creation) order, locking their rows on
// PostgreSQL.
func (tx *Tx) FindTestClockCustomers(ctx context.Context, scope pay.Scope, clockID string) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, clockCustomers+tx.db.forUpdate(), clockID, scope.ProjectID, scope.Livemode)
	if err != nil {
		return nil, fmt.Errorf("find customers of test clock %s: %w", clockID, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find customers of test clock %s: %w", clockID, err)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, rows.Err()
}
