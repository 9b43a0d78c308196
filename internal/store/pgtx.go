package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgTx is a PostgreSQL transaction on one connection of the pool that saves
// the round trips of BEGIN and COMMIT where it can. database/sql sends each
// as a round trip of its own: two of a keyed create's four, and six of a
// payment flow's fifteen. Here:
//
//   - BEGIN waits for the first statement that writes, or that locks rows
//     (SELECT … FOR UPDATE), and travels with it in one round trip (a
//     pipeline of both). Plain reads before it run on their own: under READ
//     COMMITTED every statement sees the latest committed rows, inside a
//     transaction or not, so they see what they would have seen after BEGIN.
//   - COMMIT travels with the statements still waiting (deferred.go), in one
//     round trip.
//   - A transaction whose only writes are waiting statements sends them as
//     its one statement and no BEGIN or COMMIT at all: one statement is
//     atomic by itself.
type pgTx struct {
	conn  *sql.Conn
	begun bool
	trips int64 // round trips so far
}

// pgBegin names the isolation level that the store's transactions are
// written for, whatever the server's default: they lock the rows they
// change (SELECT … FOR UPDATE), and their reads before BEGIN are only
// equivalent to reads inside the transaction under READ COMMITTED.
const pgBegin = "BEGIN ISOLATION LEVEL READ COMMITTED"

// pgStmt is one statement of a batch.
type pgStmt struct {
	query string
	args  []any
}

// send sends stmts in one round trip (a pgx batch), and read reads their
// results in order. PostgreSQL skips the statements after one that fails.
func (t *pgTx) send(ctx context.Context, stmts []pgStmt, read func(pgx.BatchResults) error) error {
	t.trips++
	return t.conn.Raw(func(driverConn any) error {
		b := &pgx.Batch{}
		for _, s := range stmts {
			b.Queue(s.query, s.args...)
		}
		br := driverConn.(*stdlib.Conn).Conn().SendBatch(ctx, b)
		if err := read(br); err != nil {
			br.Close()
			return err
		}
		return br.Close()
	})
}

// exec runs a statement that returns no rows, beginning the transaction with it.
func (t *pgTx) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	if t.begun {
		t.trips++
		return t.conn.ExecContext(ctx, query, args...)
	}
	var tag pgconn.CommandTag
	err := t.beginWith(ctx, query, args, func(br pgx.BatchResults) (err error) {
		tag, err = br.Exec()
		return err
	})
	if err != nil {
		return nil, err
	}
	return rowsAffected(tag.RowsAffected()), nil
}

// beginWith sends BEGIN and query in one round trip; read reads query's result.
func (t *pgTx) beginWith(ctx context.Context, query string, args []any, read func(pgx.BatchResults) error) error {
	return t.send(ctx, []pgStmt{{query: pgBegin}, {query: query, args: args}}, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		t.begun = true
		return read(br)
	})
}

// needsTx reports whether a query must run inside the transaction: it writes
// (a data-modifying WITH, or RETURNING) or locks rows, whose locks would
// otherwise end with the statement. Plain reads need not.
func needsTx(query string) bool {
	return !strings.HasPrefix(query, "SELECT ") || strings.Contains(query, " FOR UPDATE")
}

func (t *pgTx) query(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	if !t.begun && needsTx(query) {
		// The rows would come back as pgx's, not database/sql's: BEGIN goes alone.
		t.trips++
		if _, err := t.conn.ExecContext(ctx, pgBegin); err != nil {
			return nil, err
		}
		t.begun = true
	}
	t.trips++
	return t.conn.QueryContext(ctx, query, args...)
}

// queryRow runs a query for one row. One that needs the transaction begins
// it in the same round trip, when the row is scanned.
func (t *pgTx) queryRow(ctx context.Context, query string, args []any) row {
	if t.begun || !needsTx(query) {
		t.trips++
		return t.conn.QueryRowContext(ctx, query, args...)
	}
	return rowFunc(func(dest ...any) error {
		return t.beginWith(ctx, query, args, func(br pgx.BatchResults) error { return br.QueryRow().Scan(dest...) })
	})
}

// errCommitRolledBack means PostgreSQL answered COMMIT with ROLLBACK: the
// transaction had failed before it.
var errCommitRolledBack = errors.New("the transaction had failed and was rolled back")

// commit sends the waiting statement, if any (last), and COMMIT. A failure of
// last is returned as lastErr, and one of COMMIT itself as err.
func (t *pgTx) commit(ctx context.Context, last *pgStmt) (lastErr, err error) {
	switch {
	case !t.begun && last == nil: // nothing was written
		return nil, nil
	case !t.begun:
		t.trips++
		_, err := t.conn.ExecContext(ctx, last.query, last.args...)
		return err, nil
	}
	stmts := []pgStmt{{query: "COMMIT"}}
	if last != nil {
		stmts = append([]pgStmt{*last}, stmts...)
	}
	var tags []pgconn.CommandTag
	err = t.send(ctx, stmts, func(br pgx.BatchResults) error {
		for range stmts {
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			tags = append(tags, tag)
		}
		return nil
	})
	switch {
	case err != nil && last != nil && len(tags) == 0:
		return err, nil
	case err != nil:
		return nil, err
	}
	t.begun = false
	if tags[len(tags)-1].String() != "COMMIT" {
		return nil, errCommitRolledBack
	}
	return nil, nil
}

// rollback ends a transaction that failed, whatever its context does. A
// connection left inside a transaction is not reused: the pool's session
// reset discards it.
func (t *pgTx) rollback(ctx context.Context) {
	if t.begun {
		t.trips++
		t.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		t.begun = false
	}
}

// rowsAffected is the sql.Result of a pipelined statement.
type rowsAffected int64

func (n rowsAffected) LastInsertId() (int64, error) {
	return 0, errors.New("store: LastInsertId is not supported")
}
func (n rowsAffected) RowsAffected() (int64, error) { return int64(n), nil }

// row is what QueryRowContext returns: an *sql.Row, or a rowFunc.
type row interface{ Scan(dest ...any) error }

// rowFunc is a row whose query runs when it is scanned.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }
