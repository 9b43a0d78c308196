package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// query builds SQL text with numbered placeholders.
type query struct {
	strings.Builder
	args []any
}

// arg appends a value and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// listSpec describes one paged list query over a table that has id,
// project_id, livemode and created columns.
type listSpec struct {
	kind    string // the object name used in errors, e.g. "customer"
	table   string
	columns string
	scope   pay.Scope
	where   func(q *query) // adds " AND …" filters
	page    pay.Page
	// anyMode lists both modes' rows of the project (the table's rows
	// belong to a project, not a mode).
	anyMode bool
	// after, instead of page's cursors, starts the page below a known
	// (created, id): search results page by position, not by an object.
	after *pay.SearchCursor
}

// from writes the FROM and WHERE clauses of s's rows, before any cursor.
func (s listSpec) from(q *query) {
	fmt.Fprintf(q, ` FROM %s WHERE project_id = %s`, s.table, q.arg(s.scope.ProjectID))
	if !s.anyMode {
		fmt.Fprintf(q, ` AND livemode = %s`, q.arg(s.scope.Livemode))
	}
	if s.where != nil {
		s.where(q)
	}
	addRange(q, "created", s.page.Created)
}

// list runs a keyset-paged query, newest first, and scans each row with scan.
func list[T any](ctx context.Context, db querier, s listSpec, scan func(*sql.Rows) (T, error)) (pay.List[T], error) {
	var out pay.List[T]
	q := &query{}
	q.WriteString(`SELECT ` + s.columns)
	s.from(q)
	order := "DESC"
	cursor, param, cmp := s.page.StartingAfter, "starting_after", "<"
	if s.page.EndingBefore != "" {
		cursor, param, cmp, order = s.page.EndingBefore, "ending_before", ">", "ASC"
	}
	if s.after != nil {
		fmt.Fprintf(q, ` AND (created, id) < (%s, %s)`, q.arg(s.after.Created), q.arg(s.after.ID))
	}
	if cursor != "" {
		var created int64
		where, args := whereID, []any{cursor, s.scope.ProjectID, s.scope.Livemode}
		if s.anyMode {
			where, args = `WHERE id = $1 AND project_id = $2`, args[:2]
		}
		err := db.QueryRowContext(ctx, `SELECT created FROM `+s.table+` `+where, args...).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return out, pay.NoSuch(s.kind, cursor, param)
		} else if err != nil {
			return out, fmt.Errorf("list %s cursor: %w", s.table, err)
		}
		fmt.Fprintf(q, ` AND (created, id) %s (%s, %s)`, cmp, q.arg(created), q.arg(cursor))
	}
	fmt.Fprintf(q, ` ORDER BY created %s, id %s LIMIT %s`, order, order, q.arg(s.page.Limit+1))
	rows, err := db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return out, fmt.Errorf("list %s: %w", s.table, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return out, fmt.Errorf("list %s: %w", s.table, err)
		}
		out.Data = append(out.Data, v)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("list %s: %w", s.table, err)
	}
	if len(out.Data) > s.page.Limit {
		out.Data, out.HasMore = out.Data[:s.page.Limit], true
	}
	if order == "ASC" {
		slices.Reverse(out.Data) // pages are always newest first
	}
	return out, nil
}

func addRange(q *query, col string, r pay.Range) {
	for _, b := range []struct {
		op string
		v  *int64
	}{{">", r.Gt}, {">=", r.Gte}, {"<", r.Lt}, {"<=", r.Lte}} {
		if b.v != nil {
			fmt.Fprintf(q, ` AND %s %s %s`, col, b.op, q.arg(*b.v))
		}
	}
}

// count returns how many rows s selects, whatever the page.
func count(ctx context.Context, db querier, s listSpec) (int64, error) {
	q := &query{}
	q.WriteString(`SELECT COUNT(*)`)
	s.from(q)
	var n int64
	if err := db.QueryRowContext(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", s.table, err)
	}
	return n, nil
}
