package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// knownMigrations lists this binary's migrations for the dialect, in order.
func (db *DB) knownMigrations() ([]migration, error) {
	dir := "migrations/" + string(db.dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: bad migration file name %q", e.Name())
		}
		b, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion returns the newest migration applied to the database (0 for
// an empty one) and the newest this binary knows.
func (db *DB) SchemaVersion(ctx context.Context) (applied, known int, err error) {
	ms, done, err := db.migrationState(ctx)
	if err != nil {
		return 0, 0, err
	}
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	for v := range done {
		applied = max(applied, v)
	}
	return applied, known, nil
}

// migrationState returns the known migrations and the applied versions.
func (db *DB) migrationState(ctx context.Context) ([]migration, map[int]bool, error) {
	ms, err := db.knownMigrations()
	if err != nil {
		return nil, nil, err
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		return nil, nil, fmt.Errorf("store: migrations table: %w", err)
	}
	rows, err := db.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, nil, fmt.Errorf("store: read migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, nil, err
		}
		done[v] = true
	}
	return ms, done, rows.Err()
}

// unknownApplied returns an applied version this binary does not know, or 0.
func unknownApplied(ms []migration, done map[int]bool) int {
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	for v := range done {
		if !known[v] {
			return v
		}
	}
	return 0
}

// Migrate applies the migrations the database lacks, in order, each in its
// own transaction. It refuses to touch a database that has a migration this
// binary does not know (a newer schema). Several instances may call it at
// once on PostgreSQL: an advisory lock serialises them.
func (db *DB) Migrate(ctx context.Context) error {
	ms, done, err := db.migrationState(ctx)
	if err != nil {
		return err
	}
	if v := unknownApplied(ms, done); v != 0 {
		return fmt.Errorf("store: database schema has migration %d, which is newer than this binary knows: upgrade calmonypay", v)
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	// Nothing is read or written with keys that do not fit the data.
	return db.adoptKeys(ctx)
}

func (db *DB) apply(ctx context.Context, m migration) error {
	return db.Tx(ctx, func(tx *Tx) error {
		if db.dialect == Postgres {
			if _, err := tx.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7349201)`); err != nil {
				return fmt.Errorf("store: migration lock: %w", err)
			}
		}
		var done int
		if err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&done); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if done > 0 {
			return nil // another instance applied it meanwhile
		}
		if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`, m.version, m.name, tx.unix())
		return err
	})
}

// CheckSchema returns an error unless the database has exactly this
// binary's migrations.
func (db *DB) CheckSchema(ctx context.Context) error {
	ms, done, err := db.migrationState(ctx)
	if err != nil {
		return err
	}
	if v := unknownApplied(ms, done); v != 0 {
		return fmt.Errorf("store: database has migration %d, newer than this binary knows", v)
	}
	for _, m := range ms {
		if !done[m.version] {
			return fmt.Errorf("store: migration %s is not applied: run calmonypay migrate", m.name)
		}
	}
	return nil
}
