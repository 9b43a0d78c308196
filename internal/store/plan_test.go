package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// byIDTables are the tables whose objects are looked up by ID within a scope.
var byIDTables = []string{"customers", "payment_methods", "payment_intents", "charges", "refunds",
	"events", "checkout_sessions", "webhook_endpoints", "gateway_ops", "tax_rates", "test_clocks", "products", "prices"}

// listByEmail is the shape of the query FindCustomers makes for an email
// filter, with a cursor (list.go).
const listByEmail = `SELECT id FROM customers WHERE project_id = $1 AND livemode = $2 AND email_index = $3
	AND (created, id) < ($4, $5) ORDER BY created DESC, id DESC LIMIT $6`

// TestListByEmailUsesTheEmailIndex plans a list of customers by email on an
// empty, never analyzed table. Before migration 0006 both databases read
// customers_list backwards and filtered every row of the project by email
// (PostgreSQL in its generic plan, SQLite with a cursor).
func TestListByEmailUsesTheEmailIndex(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		detail := sqlitePlan(t, storetest.OpenSQLite(t), listByEmail, "proj_x", false, "e", 1, "cus_x", 11)
		if !strings.Contains(detail, "customers_email") {
			t.Errorf("plan %q, want customers_email", detail)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		conn := genericPlans(t, storetest.OpenPostgres(t))
		plan := explain(t, conn, "by_email(text, boolean, text, bigint, text, bigint)", listByEmail, `'proj_x', false, 'e', 1, 'cus_x', 11`)
		if !strings.Contains(plan, "using customers_email") || strings.Contains(plan, "Filter") {
			t.Errorf("plan:\n%swant an index scan of customers_email with every condition in it", plan)
		}
	})
}

// TestLookupsByIDUseThePrimaryKey plans the by-ID lookups and writes on
// empty, never analyzed tables, as PostgreSQL plans them for a connection's
// prepared statements (a generic plan), and checks that they use the primary
// key. Written as plain "id = $1 AND project_id = $2 AND livemode = $3", the
// payment tables' lookups chose their (project_id, livemode, customer_id, …)
// index instead and read the whole project at every lookup.
func TestLookupsByIDUseThePrimaryKey(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := storetest.OpenSQLite(t)
		for _, table := range byIDTables {
			for _, q := range byIDStatements(table) {
				if strings.HasSuffix(q, "FOR UPDATE") {
					continue // SQLite has no row locks
				}
				detail := sqlitePlan(t, db, q, "x", "proj_x", false)
				if want := "sqlite_autoindex_" + table + "_1 (id=?)"; !strings.Contains(detail, want) {
					t.Errorf("%s\nplan %q, want it to use %s", q, detail, want)
				}
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		conn := genericPlans(t, storetest.OpenPostgres(t))
		for _, table := range byIDTables {
			for i, q := range byIDStatements(table) {
				name := fmt.Sprintf("%s_%d(text, text, boolean)", table, i)
				// An index-only scan of it too (products' key has the scope's columns).
				if plan := explain(t, conn, name, q, `'x', 'proj_x', false`); !strings.Contains(plan, "Scan using "+table+"_pkey") {
					t.Errorf("%s\nplan:\n%swant the primary key", q, plan)
				}
			}
		}
	})
}

// sqlitePlan returns the detail of SQLite's plan for query with args, a
// query whose plan is one step.
func sqlitePlan(t *testing.T, db *store.DB, query string, args ...any) string {
	t.Helper()
	var id, parent, notused int
	var detail string
	if err := db.RawQueryRow(context.Background(), `EXPLAIN QUERY PLAN `+query, args...).Scan(&id, &parent, &notused, &detail); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return detail
}

// genericPlans opens a session of its own on db's PostgreSQL schema in which
// prepared statements get generic plans at once, as a connection's prepared
// statements do after five runs.
func genericPlans(t *testing.T, db *store.DB) *sql.Conn {
	t.Helper()
	ctx := context.Background()
	var schema string
	if err := db.RawQueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv(storetest.PostgresURLEnv))
	if err != nil {
		t.Fatal(err)
	}
	v := u.Query()
	v.Set("search_path", schema)
	u.RawQuery = v.Encode()
	pool, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	conn, err := pool.Conn(ctx) // PREPARE and the plan mode belong to one session
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	return conn
}

// explain prepares query as name (its name and parameter types) and returns
// the plan of running it with args.
func explain(t *testing.T, conn *sql.Conn, name, query, args string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `PREPARE `+name+` AS `+query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE `+name[:strings.IndexByte(name, '(')]+`(`+args+`)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// byIDStatements are a read, a locking read and a write by ID of table.
func byIDStatements(table string) []string {
	if table == "gateway_ops" { // by ID and state, not scope: $2 and $3 are unused
		return []string{
			`UPDATE gateway_ops SET note = $2 ` + store.WhereOpPending + ` AND $3`,
			`UPDATE gateway_ops SET note = $2 ` + store.WhereOpAttention + ` AND $3`,
		}
	}
	return []string{
		`SELECT id FROM ` + table + ` ` + store.WhereID,
		`SELECT id FROM ` + table + ` ` + store.WhereID + ` FOR UPDATE`,
		`DELETE FROM ` + table + ` ` + store.WhereID,
	}
}

// TestTestClockQueriesUseTheirIndexes plans the clock loop's query and a
// clock delete's query of its customers on empty, never analyzed tables:
// each uses its partial index rather than reading the table (or, for the
// customers, the project's customers).
func TestTestClockQueriesUseTheirIndexes(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := storetest.OpenSQLite(t)
		if detail := sqlitePlan(t, db, store.AdvancingClocks, 100); !strings.Contains(detail, "test_clocks_advancing") {
			t.Errorf("advancing clocks: plan %q, want test_clocks_advancing", detail)
		}
		if detail := sqlitePlan(t, db, store.ClockCustomers, "clock_x", "proj_x", false); !strings.Contains(detail, "customers_test_clock") {
			t.Errorf("a clock's customers: plan %q, want customers_test_clock", detail)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		conn := genericPlans(t, storetest.OpenPostgres(t))
		if plan := explain(t, conn, "advancing(bigint)", store.AdvancingClocks, `100`); !strings.Contains(plan, "test_clocks_advancing") {
			t.Errorf("advancing clocks: plan:\n%swant test_clocks_advancing", plan)
		}
		if plan := explain(t, conn, "clock_customers(text, text, boolean)", store.ClockCustomers+" FOR UPDATE", `'clock_x', 'proj_x', false`); !strings.Contains(plan, "customers_test_clock") {
			t.Errorf("a clock's customers: plan:\n%swant customers_test_clock", plan)
		}
	})
}

// TestDashboardQueriesUseTheStatusIndex plans the dashboard's revenue sums
// (on empty, never analyzed tables, generic plans on PostgreSQL): both read
// payment_intents_status (migration 0023) and no table row, which keeps the
// 30-day overview under 100 ms on a million payments (BENCHMARKS.md).
func TestDashboardQueriesUseTheStatusIndex(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := storetest.OpenSQLite(t)
		for _, detail := range []string{
			sqlitePlan(t, db, store.RevenueQuery, "proj_x", false, 1),
			sqlitePlan(t, db, store.DailyRevenue, "proj_x", false, 1, 2),
		} {
			if !strings.Contains(detail, "COVERING INDEX payment_intents_status") {
				t.Errorf("plan %q, want the covering index payment_intents_status", detail)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		conn := genericPlans(t, storetest.OpenPostgres(t))
		// On an empty table that autovacuum has visited (reltuples 0) a
		// sequential scan costs nothing and wins; the question is which
		// index a table of any size is read by.
		if _, err := conn.ExecContext(context.Background(), `SET enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		for _, plan := range []string{
			explain(t, conn, "revenue(text, boolean, bigint)", store.RevenueQuery, `'proj_x', false, 1`),
			explain(t, conn, "daily(text, boolean, bigint, bigint)", store.DailyRevenue, `'proj_x', false, 1, 2`),
		} {
			if !strings.Contains(plan, "Index Only Scan using payment_intents_status") {
				t.Errorf("plan:\n%swant an index-only scan of payment_intents_status", plan)
			}
		}
	})
}

// TestLookupsByObjectUseTheirIndexes plans, on never analyzed SQLite tables,
// a payment's events (the dashboard's timeline) and a plain events page:
// the first must read events_object and the second events_list, whose order
// it needs (with an index that led with the scope, migration 0025's first
// draft, SQLite took it for both: 120 ms a page on a seeded project).
func TestLookupsByObjectUseTheirIndexes(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t)
	q, args := store.EventsOfQuery(pay.Scope{ProjectID: "proj_x"}, []string{"pi_x", "ch_x"}, 100)
	if detail := sqlitePlan(t, db, q, args...); !strings.Contains(detail, "INDEX events_object (object_id=?)") {
		t.Errorf("a payment's events: plan %q, want events_object", detail)
	}
	list := `SELECT id FROM events WHERE project_id = $1 AND livemode = $2 ORDER BY created DESC, id DESC LIMIT 21`
	if detail := sqlitePlan(t, db, list, "proj_x", false); !strings.Contains(detail, "INDEX events_list") {
		t.Errorf("an events page: plan %q, want events_list", detail)
	}
}
