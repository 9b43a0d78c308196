// Package storetest opens migrated stores for tests: SQLite always, and
// PostgreSQL when CALMONY_TEST_POSTGRES_URL is set.
package storetest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/store"
)

// PostgresURLEnv names the variable that enables the PostgreSQL runs.
const PostgresURLEnv = "CALMONY_TEST_POSTGRES_URL"

// Keys returns a fresh keyring.
func Keys(tb testing.TB) *secret.Keyring {
	tb.Helper()
	master, err := secret.ParseKey(secret.NewKey())
	if err != nil {
		tb.Fatal(err)
	}
	k, err := secret.New(master)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// OpenSQLite returns a migrated store on a fresh SQLite file.
func OpenSQLite(tb testing.TB) *store.DB {
	tb.Helper()
	return open(tb, filepath.Join(tb.TempDir(), "calmony.db"), nil)
}

// OpenWithClock is OpenSQLite, or OpenPostgres if postgres is set, with
// now as the store's clock (nil: time.Now).
func OpenWithClock(tb testing.TB, postgres bool, now func() time.Time) *store.DB {
	tb.Helper()
	if postgres {
		return openPostgres(tb, nil, now)
	}
	return open(tb, filepath.Join(tb.TempDir(), "calmony.db"), now)
}

// OpenPostgres returns a migrated store in a fresh PostgreSQL schema, dropped
// when the test ends. It skips the test unless CALMONY_TEST_POSTGRES_URL is set.
func OpenPostgres(tb testing.TB) *store.DB {
	tb.Helper()
	return OpenPostgresWith(tb, nil)
}

// OpenPostgresWith is OpenPostgres with the server settings params for every
// connection (for example default_transaction_isolation).
func OpenPostgresWith(tb testing.TB, params url.Values) *store.DB {
	tb.Helper()
	return openPostgres(tb, params, nil)
}

func openPostgres(tb testing.TB, params url.Values, now func() time.Time) *store.DB {
	tb.Helper()
	return open(tb, postgresDSN(tb, params), now)
}

// DSN returns the DSN of a fresh, empty database (a PostgreSQL schema
// dropped when the test ends, or an SQLite file), for tests that open it
// more than once. PostgreSQL tests are skipped unless
// CALMONY_TEST_POSTGRES_URL is set.
func DSN(tb testing.TB, postgres bool) string {
	tb.Helper()
	if postgres {
		return postgresDSN(tb, nil)
	}
	return filepath.Join(tb.TempDir(), "calmony.db")
}

func postgresDSN(tb testing.TB, params url.Values) string {
	tb.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		tb.Skip(PostgresURLEnv + " is not set")
	}
	schema := "t_" + strings.ToLower(pay.RandomString(16))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(tb testing.TB, dsn string, now func() time.Time) *store.DB {
	tb.Helper()
	return OpenDSN(tb, dsn, Keys(tb), now)
}

// OpenDSN opens the database at dsn (from DSN) with keys, migrates it
// unless it is already, and closes it when the test ends: a second store
// on one database is a second instance of the server.
func OpenDSN(tb testing.TB, dsn string, keys *secret.Keyring, now func() time.Time) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DSN: dsn, Keys: keys, MaxConns: 4, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// Run runs fn as a subtest against SQLite, and against PostgreSQL when
// CALMONY_TEST_POSTGRES_URL is set.
func Run(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	Dialects(t, func(t *testing.T, postgres bool) { fn(t, OpenWithClock(t, postgres, nil)) })
}

// Dialects runs fn as a parallel subtest for SQLite and one for
// PostgreSQL, for tests that open their stores themselves (with
// OpenWithClock, or through a whole server). The PostgreSQL one is skipped,
// with a visible reason, unless CALMONY_TEST_POSTGRES_URL is set.
func Dialects(t *testing.T, fn func(t *testing.T, postgres bool)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, false)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if os.Getenv(PostgresURLEnv) == "" {
			t.Skip(PostgresURLEnv + " is not set")
		}
		fn(t, true)
	})
}

// Project creates a project with the given name and returns its test-mode scope.
func Project(tb testing.TB, db *store.DB) pay.Scope {
	tb.Helper()
	p := &pay.Project{Name: "Test project"}
	if err := db.Tx(context.Background(), func(tx *store.Tx) error { return tx.CreateProject(context.Background(), p) }); err != nil {
		tb.Fatal(err)
	}
	return pay.Scope{ProjectID: p.ID}
}
