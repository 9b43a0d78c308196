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
	ms, err := db.knownMigrations()
	if err != nil {
		return 0, 0, err
	}
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		return 0, known, fmt.Errorf("store: migrations table: %w", err)
	}
	err = db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&applied)
	return applied, known, err
}

// Migrate applies the migrations the database lacks, each in its own
// transaction. It refuses to touch a database whose schema is newer than this
// binary knows. Several instances may call it at once on PostgreSQL: an
// advisory lock serialises them.
func (db *DB) Migrate(ctx context.Context) error {
	applied, known, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if applied > known {
		return fmt.Errorf("store: database schema version %d is newer than this binary knows (%d): upgrade calmonypay", applied, known)
	}
	ms, err := db.knownMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= applied {
			continue
		}
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
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

// CheckSchema returns an error unless the database is exactly at this
// binary's schema version.
func (db *DB) CheckSchema(ctx context.Context) error {
	applied, known, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if applied != known {
		return fmt.Errorf("store: database schema version %d, this binary needs %d: run calmonypay migrate", applied, known)
	}
	return nil
}
