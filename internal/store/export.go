package store

import (
	"context"
	"database/sql"
)

// RawQueryRow runs a read query directly. It exists for tests and tools that
// must look at stored bytes (for example to check that data is encrypted).
func (db *DB) RawQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.DB.QueryRowContext(ctx, query, args...)
}

// RawExec runs a statement directly on the writer, outside any transaction
// helper. It exists for tests and maintenance tools.
func (db *DB) RawExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, query, args...)
}
