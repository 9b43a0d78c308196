package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// byIDTables are the tables whose objects are looked up by ID within a scope.
var byIDTables = []string{"customers", "payment_methods", "payment_intents", "charges", "refunds",
	"events", "checkout_sessions", "webhook_endpoints", "gateway_ops"}

// TestLookupsByIDUseThePrimaryKey plans the by-ID lookups and writes on
// empty, never analyzed tables, as PostgreSQL plans them for a connection's
// prepared statements (a generic plan), and checks that they use the primary
// key. Written as plain "id = $1 AND project_id = $2 AND livemode = $3", the
// payment tables' lookups chose their (project_id, livemode, customer_id, …)
// index instead and read the whole project at every lookup.
func TestLookupsByIDUseThePrimaryKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := storetest.OpenSQLite(t)
		for _, table := range byIDTables {
			for _, q := range byIDStatements(table) {
				if strings.HasSuffix(q, "FOR UPDATE") {
					continue // SQLite has no row locks
				}
				var id, parent, notused int
				var detail string
				if err := db.RawQueryRow(ctx, `EXPLAIN QUERY PLAN `+q, "x", "proj_x", false).Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if want := "sqlite_autoindex_" + table + "_1 (id=?)"; !strings.Contains(detail, want) {
					t.Errorf("%s\nplan %q, want it to use %s", q, detail, want)
				}
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		db := storetest.OpenPostgres(t)
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
		defer pool.Close()
		conn, err := pool.Conn(ctx) // PREPARE and the plan mode belong to one session
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
			t.Fatal(err)
		}
		for _, table := range byIDTables {
			for i, q := range byIDStatements(table) {
				name := table + "_" + string(rune('a'+i))
				if _, err := conn.ExecContext(ctx, `PREPARE `+name+`(text, text, boolean) AS `+q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE `+name+`('x', 'proj_x', false)`)
				if err != nil {
					t.Fatal(err)
				}
				var plan strings.Builder
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						t.Fatal(err)
					}
					plan.WriteString(line + "\n")
				}
				rows.Close()
				if want := "Index Scan using " + table + "_pkey"; !strings.Contains(plan.String(), want) {
					t.Errorf("%s\nplan:\n%swant %q", q, plan.String(), want)
				}
			}
		}
	})
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
