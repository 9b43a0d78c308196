package store

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// On PostgreSQL every statement is a network round trip, and a request's
// transaction is a handful of them (BEGIN, an insert or two, its event, its
// idempotency record, COMMIT). Inserts whose outcome nobody looks at (an
// object's row, written with a fresh ID), and updates of a row that the
// transaction has locked (updateLater), need not be a round trip of their
// own: they wait in the transaction (execLater) and travel with the next
// statement that can carry them, as data-modifying WITH queries in front of
// it (fused). Such a statement must not read the tables the waiting
// statements write, since all parts of one statement see the same snapshot;
// CreateEvent, FinishOpIdempotent and RecordIdempotent's update of a known key
// qualify. Any other statement first sends what is waiting, in one round
// trip of its own (flush), so every statement still sees every earlier
// write; COMMIT carries what is still waiting at the end (pgtx.go), usually
// a new idempotency key's row. An error in a waiting statement surfaces at
// the statement that carries or flushes it, and fails the transaction all
// the same.
//
// On SQLite (the writer has no round trips) execLater executes at once.

// deferred holds a PostgreSQL transaction's waiting statements.
type deferred struct {
	stmts []deferredStmt
	err   error // the first failed flush: the transaction's real cause of failure
}

type deferredStmt struct {
	query string
	args  []any
	row   string // the row an update changes ("" for an insert): see updateLater
}

// execLater runs a statement whose result is not needed, at once on SQLite,
// with the next statement on PostgreSQL.
func (c txConn) execLater(ctx context.Context, query string, args ...any) error {
	if c.later == nil {
		_, err := c.ExecContext(ctx, query, args...)
		return err
	}
	c.later.stmts = append(c.later.stmts, deferredStmt{query: query, args: args})
	return nil
}

// updateLater is execLater for an update of one row (row names it, as
// "table/id") that the transaction has locked, so that it is known to be
// there and how many rows the update changed need not be checked. Two
// updates of one row cannot travel in one statement (PostgreSQL would apply
// only one of them), so a second one first sends what is waiting.
func (c txConn) updateLater(ctx context.Context, row, query string, args ...any) error {
	if c.later != nil && slices.ContainsFunc(c.later.stmts, func(s deferredStmt) bool { return s.row == row }) {
		c.flush(ctx)
	}
	if err := c.execLater(ctx, query, args...); err != nil {
		return err
	}
	if c.later != nil {
		c.later.stmts[len(c.later.stmts)-1].row = row
	}
	return nil
}

// flush sends the waiting statements, together in one round trip. A
// failure is kept for DB.Tx, which reports it: PostgreSQL fails every later
// statement of the transaction with a less helpful "transaction is aborted".
func (c txConn) flush(ctx context.Context) {
	last := c.takeWaiting()
	if last == nil {
		return
	}
	if _, err := c.pg.exec(ctx, last.query, last.args); err != nil && c.later.err == nil {
		c.later.err = err
	}
}

// takeWaiting returns the waiting statements as one, and forgets them; nil
// if none are waiting. DB.Tx sends them with COMMIT.
func (c txConn) takeWaiting() *pgStmt {
	if c.later == nil || len(c.later.stmts) == 0 {
		return nil
	}
	if len(c.later.stmts) == 1 {
		s := c.later.stmts[0]
		c.later.stmts = nil
		return &pgStmt{query: s.query, args: s.args}
	}
	q, args := c.fused("SELECT 1", nil)
	return &pgStmt{query: q, args: args}
}

// shiftPlaceholders writes query to b with each $N parameter renumbered
// $N+offset. Our SQL texts use "$" for nothing else.
func shiftPlaceholders(b *strings.Builder, query string, offset int) {
	for {
		i := strings.IndexByte(query, '$')
		if i < 0 {
			b.WriteString(query)
			return
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(query[i+1 : j])
		b.WriteString(query[:i])
		if err != nil { // a "$" without a number: keep it
			b.WriteString(query[i:j])
		} else {
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n + offset))
		}
		query = query[j:]
	}
}

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
		with.WriteString("deferred_" + strconv.Itoa(i) + " AS (")
		shiftPlaceholders(&with, s.query, len(all))
		with.WriteString("), ")
		all = append(all[:len(all):len(all)], s.args...)
	}
	c.later.stmts = nil
	if rest, ok := strings.CutPrefix(query, "WITH "); ok {
		return with.String() + rest, all
	}
	return strings.TrimSuffix(with.String(), ", ") + " " + query, all
}
