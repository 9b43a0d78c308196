package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// On PostgreSQL every statement is a network round trip, and a request's
// transaction is a handful of them (BEGIN, an insert or two, its event, its
// idempotency record, COMMIT). Inserts whose outcome nobody looks at (an
// object's row, written with a fresh ID) need not be a round trip of their
// own: they wait in the transaction (execLater) and travel with the next
// statement that can carry them, as data-modifying WITH queries in front of
// it (fused). Such a statement must not read the tables the waiting inserts
// write, since all parts of one statement see the same snapshot; CreateEvent
// and RecordIdempotent qualify. Any other statement, and COMMIT, first sends
// what is waiting, in one round trip of its own (flush), so every statement
// still sees every earlier write. An error in a waiting insert surfaces at the statement that
// carries or flushes it, and fails the transaction all the same.
//
// On SQLite (the writer has no round trips) execLater executes at once.

// deferred holds a PostgreSQL transaction's waiting inserts.
type deferred struct {
	stmts []deferredStmt
	err   error // the first failed flush: the transaction's real cause of failure
}

type deferredStmt struct {
	query string
	args  []any
}

// execLater runs a statement whose result is not needed, at once on SQLite,
// with the next statement on PostgreSQL.
func (c txConn) execLater(ctx context.Context, query string, args ...any) error {
	if c.later == nil {
		_, err := c.ExecContext(ctx, query, args...)
		return err
	}
	c.later.stmts = append(c.later.stmts, deferredStmt{query, args})
	return nil
}

// flush sends the waiting statements, together in one round trip. A
// failure is kept for DB.Tx, which reports it: PostgreSQL fails every later
// statement of the transaction with a less helpful "transaction is aborted".
func (c txConn) flush(ctx context.Context) {
	if c.later == nil || len(c.later.stmts) == 0 {
		return
	}
	var q string
	var args []any
	if len(c.later.stmts) == 1 {
		q, args = c.later.stmts[0].query, c.later.stmts[0].args
		c.later.stmts = nil
	} else {
		q, args = c.fused("SELECT 1", nil)
	}
	if _, err := c.Tx.ExecContext(ctx, q, args...); err != nil && c.later.err == nil {
		c.later.err = err
	}
}

// placeholder matches a $N parameter in our SQL texts, which use "$" for
// nothing else.
var placeholder = regexp.MustCompile(`\$(\d+)`)

// fused returns query with the waiting statements in front of it as WITH
// queries, and their arguments after its own, and forgets them. Only a
// statement that reads none of the tables they write may carry them.
func (c txConn) fused(query string, args []any) (string, []any) {
	if c.later == nil || len(c.later.stmts) == 0 {
		return query, args
	}
	var with strings.Builder
	with.WriteString("WITH ")
	all := args
	for i, s := range c.later.stmts {
		offset := len(all)
		shifted := placeholder.ReplaceAllStringFunc(s.query, func(p string) string {
			n, _ := strconv.Atoi(p[1:])
			return "$" + strconv.Itoa(n+offset)
		})
		fmt.Fprintf(&with, "deferred_%d AS (%s), ", i, shifted)
		all = append(all[:len(all):len(all)], s.args...)
	}
	c.later.stmts = nil
	if rest, ok := strings.CutPrefix(query, "WITH "); ok {
		return with.String() + rest, all
	}
	return strings.TrimSuffix(with.String(), ", ") + " " + query, all
}
