package store

import (
	"slices"
	"testing"
)

func TestFusedRenumbersAndSplices(t *testing.T) {
	c := txConn{later: &deferred{}}
	c.later.stmts = []deferredStmt{
		{query: `INSERT INTO a (x, y) VALUES ($1, $2)`, args: []any{"a1", "a2"}},
		{query: `INSERT INTO b (x) VALUES ($1)`, args: []any{"b1"}},
	}
	q, args := c.fused(`WITH e AS (INSERT INTO e (x) VALUES ($1)) SELECT id FROM f WHERE y = $2`, []any{"e1", "f2"})
	want := `WITH deferred_0 AS (INSERT INTO a (x, y) VALUES ($3, $4)), deferred_1 AS (INSERT INTO b (x) VALUES ($5)), e AS (INSERT INTO e (x) VALUES ($1)) SELECT id FROM f WHERE y = $2`
	if q != want || !slices.Equal(args, []any{"e1", "f2", "a1", "a2", "b1"}) {
		t.Errorf("fused =\n%s %v\nwant\n%s", q, args, want)
	}
	if len(c.later.stmts) != 0 {
		t.Error("fused statements still waiting")
	}
	c.later.stmts = []deferredStmt{{query: `INSERT INTO a (x) VALUES ($1)`, args: []any{"a1"}}}
	q, args = c.fused(`UPDATE k SET v = $2 WHERE id = $1`, []any{"k1", "v2"})
	if want := `WITH deferred_0 AS (INSERT INTO a (x) VALUES ($3)) UPDATE k SET v = $2 WHERE id = $1`; q != want || len(args) != 3 {
		t.Errorf("fused = %s %v, want %s", q, args, want)
	}
	// Nothing waiting: the statement is unchanged.
	if q, _ := c.fused(`SELECT 1`, nil); q != `SELECT 1` {
		t.Errorf("fused = %s", q)
	}
}
